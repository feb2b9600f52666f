#include "agent/runtime/spec.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace berth::agent::runtime {
namespace {

namespace bj = boost::json;

ContainerConfig baseConfig() {
  ContainerConfig c;
  c.task_id = "t1";
  c.name = "web";
  c.runtime_id = "t1-web";
  c.rootfs = "/data/tasks/t1/rootfs/web";
  c.netns_path = "/data/tasks/t1/netns";
  c.argv = {"/bin/httpd", "-f"};
  c.env = {"A=1"};
  c.cwd = "/srv";
  c.hostname = "ip-172-31-0-5";
  return c;
}

bj::object spec(const ContainerConfig& c, SpecInputs in = {}) {
  if (in.cgroups_path.empty()) in.cgroups_path = "/berth/t1/web";
  auto s = makeOciSpec(c, in);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s.value_or(bj::object{});
}

std::vector<std::string> strs(const bj::value& v) {
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) out.emplace_back(e.as_string());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const bj::object* findMount(const bj::object& s, std::string_view dest) {
  for (const auto& m : s.at("mounts").as_array())
    if (m.as_object().at("destination").as_string() == dest) return &m.as_object();
  return nullptr;
}

TEST(SpecTest, NamespacesAreNewExceptTheTasksNetwork) {
  auto s = spec(baseConfig());
  std::map<std::string, std::string> ns;
  for (const auto& n : s.at("linux").at("namespaces").as_array()) {
    const auto& o = n.as_object();
    ns[std::string(o.at("type").as_string())] = o.contains("path") ? std::string(o.at("path").as_string()) : "";
  }
  EXPECT_EQ(ns.size(), 5u);
  for (const char* t : {"pid", "mount", "uts", "ipc"}) {
    ASSERT_TRUE(ns.contains(t)) << t;
    EXPECT_EQ(ns[t], "") << t;
  }
  EXPECT_EQ(ns["network"], "/data/tasks/t1/netns");
  EXPECT_FALSE(ns.contains("user"));
}

TEST(SpecTest, NoNetnsPathMeansANewOne) {
  auto c = baseConfig();
  c.netns_path.clear();
  auto s = spec(c);
  for (const auto& n : s.at("linux").at("namespaces").as_array()) EXPECT_FALSE(n.as_object().contains("path"));
}

TEST(SpecTest, DockersDefaultCapabilitiesAndNoNewPrivileges) {
  auto s = spec(baseConfig());
  const auto& proc = s.at("process").as_object();
  EXPECT_TRUE(proc.at("noNewPrivileges").as_bool());
  for (const char* set : {"bounding", "effective", "permitted"}) {
    auto caps = strs(proc.at("capabilities").at(set));
    EXPECT_EQ(caps.size(), 14u) << set;
    for (const char* c : {"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW"})
      EXPECT_TRUE(contains(caps, c)) << c;
    for (const char* c : {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE"})
      EXPECT_FALSE(contains(caps, c)) << c;
  }
  EXPECT_FALSE(proc.at("capabilities").as_object().contains("ambient"));
}

TEST(SpecTest, SeccompAllowsByDefaultAndDeniesDangerousSyscalls) {
  auto s = spec(baseConfig());
  const auto& sc = s.at("linux").at("seccomp").as_object();
  EXPECT_EQ(sc.at("defaultAction").as_string(), "SCMP_ACT_ALLOW");
  const auto& rule = sc.at("syscalls").as_array().at(0).as_object();
  EXPECT_EQ(rule.at("action").as_string(), "SCMP_ACT_ERRNO");
  EXPECT_EQ(rule.at("errnoRet").as_int64(), 1);  // EPERM
  auto names = strs(rule.at("names"));
  for (const char* n : {"mount", "umount2", "kexec_load", "bpf", "ptrace", "reboot", "swapon", "init_module",
                        "finit_module", "delete_module", "unshare", "setns", "keyctl", "open_by_handle_at"})
    EXPECT_TRUE(contains(names, n)) << n;
  for (const char* n : {"read", "write", "clone", "execve", "socket"}) EXPECT_FALSE(contains(names, n)) << n;
}

TEST(SpecTest, MaskedAndReadonlyPathsAsDocker) {
  auto s = spec(baseConfig());
  auto masked = strs(s.at("linux").at("maskedPaths"));
  for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/sys/firmware",
                        "/proc/acpi", "/proc/scsi"})
    EXPECT_TRUE(contains(masked, p)) << p;
  auto ro = strs(s.at("linux").at("readonlyPaths"));
  for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})
    EXPECT_TRUE(contains(ro, p)) << p;
}

TEST(SpecTest, StandardMountsAndBindMounts) {
  auto c = baseConfig();
  c.mounts = {{"/data/tasks/t1/hosts", "/etc/hosts", true}, {"/data/tasks/t1/resolv.conf", "/etc/resolv.conf", false}};
  auto s = spec(c);
  struct Want {
    const char* dest;
    const char* type;
  };
  for (Want w : {Want{"/proc", "proc"}, Want{"/dev", "tmpfs"}, Want{"/dev/pts", "devpts"}, Want{"/dev/shm", "tmpfs"},
                 Want{"/dev/mqueue", "mqueue"}, Want{"/sys", "sysfs"}}) {
    auto m = findMount(s, w.dest);
    ASSERT_NE(m, nullptr) << w.dest;
    EXPECT_EQ(m->at("type").as_string(), w.type) << w.dest;
  }
  EXPECT_TRUE(contains(strs(findMount(s, "/sys")->at("options")), "ro"));
  auto hosts = findMount(s, "/etc/hosts");
  ASSERT_NE(hosts, nullptr);
  EXPECT_EQ(hosts->at("source").as_string(), "/data/tasks/t1/hosts");
  EXPECT_TRUE(contains(strs(hosts->at("options")), "rbind"));
  EXPECT_TRUE(contains(strs(hosts->at("options")), "ro"));
  EXPECT_FALSE(contains(strs(findMount(s, "/etc/resolv.conf")->at("options")), "ro"));
}

TEST(SpecTest, RelativeMountDestinationIsRejected) {
  auto c = baseConfig();
  c.mounts = {{"/x", "etc/hosts", false}};
  EXPECT_EQ(makeOciSpec(c, {}).error().code, ErrorCode::kInvalidArgument);
}

TEST(SpecTest, ProcessFields) {
  auto c = baseConfig();
  c.read_only_rootfs = true;
  auto s = spec(c, SpecInputs{ProcessUser{1000, 1001, {27}}, "/berth/t1/web", {}});
  const auto& p = s.at("process").as_object();
  EXPECT_EQ(strs(p.at("args")), (std::vector<std::string>{"/bin/httpd", "-f"}));
  EXPECT_EQ(p.at("cwd").as_string(), "/srv");
  EXPECT_FALSE(p.at("terminal").as_bool());
  EXPECT_EQ(p.at("user").at("uid").to_number<int64_t>(), 1000);
  EXPECT_EQ(p.at("user").at("gid").to_number<int64_t>(), 1001);
  EXPECT_EQ(p.at("user").at("additionalGids").as_array().at(0).to_number<int64_t>(), 27);
  auto env = strs(p.at("env"));
  EXPECT_TRUE(contains(env, "A=1"));
  EXPECT_TRUE(env[0].starts_with("PATH="));
  EXPECT_TRUE(contains(env, "HOSTNAME=ip-172-31-0-5"));
  EXPECT_EQ(s.at("hostname").as_string(), "ip-172-31-0-5");
  EXPECT_TRUE(s.at("root").at("readonly").as_bool());
  EXPECT_EQ(s.at("root").at("path").as_string(), "/data/tasks/t1/rootfs/web");
  EXPECT_EQ(s.at("linux").at("cgroupsPath").as_string(), "/berth/t1/web");
}

TEST(SpecTest, ImagePathIsKept) {
  auto c = baseConfig();
  c.env = {"PATH=/app/bin"};
  auto env = strs(spec(c).at("process").at("env"));
  EXPECT_EQ(std::count_if(env.begin(), env.end(), [](auto& e) { return e.starts_with("PATH="); }), 1);
  EXPECT_TRUE(contains(env, "PATH=/app/bin"));
}

TEST(SpecTest, RlimitsFromUlimitsWithFargatesNofileDefault) {
  auto c = baseConfig();
  auto def = spec(c).at("process").at("rlimits").as_array();
  ASSERT_EQ(def.size(), 1u);
  EXPECT_EQ(def[0].at("type").as_string(), "RLIMIT_NOFILE");
  EXPECT_EQ(def[0].at("soft").to_number<int64_t>(), 65535);

  SpecInputs capped;
  capped.max_nofile = 20000;  // the host's own hard limit is lower than Fargate's default
  EXPECT_EQ(spec(c, capped).at("process").at("rlimits").as_array()[0].at("hard").to_number<uint64_t>(), 20000u);

  c.ulimits = {{"nofile", 1024, 4096}, {"core", 0, 0}};
  auto r = spec(c).at("process").at("rlimits").as_array();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].at("type").as_string(), "RLIMIT_NOFILE");
  EXPECT_EQ(r[0].at("soft").to_number<uint64_t>(), 1024u);
  EXPECT_EQ(r[0].at("hard").to_number<uint64_t>(), 4096u);
  EXPECT_EQ(r[1].at("type").as_string(), "RLIMIT_CORE");

  c.ulimits = {{"bogus", 1, 1}};
  EXPECT_EQ(makeOciSpec(c, {}).error().code, ErrorCode::kInvalidArgument);
  c.ulimits = {{"nofile", 10, 5}};
  EXPECT_EQ(makeOciSpec(c, {}).error().code, ErrorCode::kInvalidArgument);
}

TEST(SpecTest, RlimitNames) {
  EXPECT_EQ(rlimitType("nofile"), "RLIMIT_NOFILE");
  EXPECT_EQ(rlimitType("msgqueue"), "RLIMIT_MSGQUEUE");
  EXPECT_EQ(rlimitType("rttime"), "RLIMIT_RTTIME");
  EXPECT_EQ(rlimitType("as"), "");
}

TEST(SpecTest, ContainerResources) {
  auto c = baseConfig();
  auto none = spec(c).at("linux").at("resources").as_object();
  EXPECT_FALSE(none.contains("cpu"));
  EXPECT_FALSE(none.contains("memory"));
  // Devices: deny all; runc adds its default allow-list after this rule.
  EXPECT_FALSE(none.at("devices").as_array().at(0).at("allow").as_bool());

  c.cpu_shares = 256;
  c.memory_mib = 128;
  c.memory_reservation_mib = 64;
  auto r = spec(c).at("linux").at("resources").as_object();
  EXPECT_EQ(r.at("cpu").at("shares").as_int64(), 256);
  EXPECT_EQ(r.at("memory").at("limit").as_int64(), 128 << 20);
  EXPECT_EQ(r.at("memory").at("swap").as_int64(), 128 << 20);
  EXPECT_EQ(r.at("memory").at("reservation").as_int64(), 64 << 20);

  c.cpu_shares = 1;  // Docker's minimum is 2
  EXPECT_EQ(spec(c).at("linux").at("resources").at("cpu").at("shares").as_int64(), 2);
}

TEST(SpecTest, InitProcessWrapsTheCommand) {
  auto c = baseConfig();
  c.init_process_enabled = true;
  auto s = spec(c, SpecInputs{{}, "/berth/t1/web", "/usr/lib/berth/berth-monitor"});
  EXPECT_EQ(strs(s.at("process").at("args")),
            (std::vector<std::string>{kInitPathInContainer, "init", "--", "/bin/httpd", "-f"}));
  auto m = findMount(s, kInitPathInContainer);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->at("source").as_string(), "/usr/lib/berth/berth-monitor");
}

TEST(SpecTest, EmptyCommandIsRejected) {
  auto c = baseConfig();
  c.argv.clear();
  EXPECT_FALSE(makeOciSpec(c, {}).has_value());
}

// --- user resolution ---

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "# comment\n"
    "app:x:1000:1000::/home/app:/bin/sh\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "app:x:1000:\n"
    "docker:x:999:app\n";

TEST(ResolveUserTest, EmptyIsRoot) { EXPECT_EQ(resolveUser("", kPasswd, kGroup).value(), ProcessUser{}); }

TEST(ResolveUserTest, NameGetsPrimaryAndSupplementaryGroups) {
  auto u = resolveUser("app", kPasswd, kGroup).value();
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 1000u);
  EXPECT_EQ(u.additional_gids, (std::vector<uint32_t>{10, 999}));
}

TEST(ResolveUserTest, NumericForms) {
  EXPECT_EQ(resolveUser("1000", kPasswd, kGroup).value().gid, 1000u);                   // known uid: its group
  EXPECT_EQ(resolveUser("4242", kPasswd, kGroup).value(), (ProcessUser{4242, 0, {}}));  // unknown: gid 0
  EXPECT_EQ(resolveUser("4242:77", kPasswd, kGroup).value(), (ProcessUser{4242, 77, {}}));
  EXPECT_EQ(resolveUser("app:docker", kPasswd, kGroup).value().gid, 999u);
  EXPECT_EQ(resolveUser("1:wheel", kPasswd, kGroup).value(), (ProcessUser{1, 10, {}}));
  EXPECT_EQ(resolveUser("daemon:5", kPasswd, kGroup).value(), (ProcessUser{1, 5, {}}));
}

TEST(ResolveUserTest, UnknownNamesFail) {
  EXPECT_EQ(resolveUser("nobody", kPasswd, kGroup).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(resolveUser("app:nogroup", kPasswd, kGroup).error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(resolveUser("app:", kPasswd, kGroup).has_value());
  EXPECT_FALSE(resolveUser(":1", kPasswd, kGroup).has_value());
  EXPECT_FALSE(resolveUser("app", "", "").has_value());
}

}  // namespace
}  // namespace berth::agent::runtime
