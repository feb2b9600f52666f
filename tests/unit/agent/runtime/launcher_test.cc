// The launcher's reading of config.json: everything makeOciSpec writes is
// understood, anything else is refused by name. (Launching itself is
// covered by runtime_root_test.cc, which runs every container test with the
// launcher and compares it with runc.)
#include "agent/runtime/launcher.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "agent/runtime/spec.h"
#include "common/json.h"

namespace berth::agent::runtime {
namespace {

namespace bj = boost::json;

ContainerConfig fullConfig() {
  ContainerConfig c;
  c.task_id = "t1";
  c.name = "web";
  c.runtime_id = "t1-web";
  c.rootfs = "/data/tasks/t1/rootfs/web";
  c.netns_path = "/run/netns/t1";
  c.argv = {"/bin/httpd", "-f"};
  c.env = {"A=1"};
  c.cwd = "/srv";
  c.hostname = "ip-172-31-0-5";
  c.read_only_rootfs = true;
  c.init_process_enabled = true;
  c.ulimits = {{"nofile", 100, 200}, {"core", 0, 0}};
  c.mounts = {{"/data/tasks/t1/hosts", "/etc/hosts", true}};
  c.cpu_shares = 128;
  c.memory_mib = 64;
  return c;
}

bj::object specOf(const ContainerConfig& c) {
  SpecInputs in;
  in.cgroups_path = "/berth/t1/web";
  in.init_binary = "/usr/lib/berth/berth-monitor";
  in.user = {1000, 1000, {27, 100}};
  return makeOciSpec(c, in).value();
}

TEST(LauncherSpecTest, ReadsEverythingMakeOciSpecWrites) {
  LaunchSpec s;
  std::string error;
  ASSERT_TRUE(parseLaunchSpec(json::serialize(specOf(fullConfig())), s, error)) << error;
  EXPECT_EQ(s.args, (std::vector<std::string>{"/dev/init", "init", "--", "/bin/httpd", "-f"}));
  EXPECT_EQ(s.cwd, "/srv");
  EXPECT_EQ(s.uid, 1000u);
  EXPECT_EQ(s.gid, 1000u);
  EXPECT_EQ(s.additional_gids, (std::vector<uint32_t>{27, 100}));
  EXPECT_TRUE(s.no_new_privileges);
  EXPECT_EQ(s.root, "/data/tasks/t1/rootfs/web");
  EXPECT_TRUE(s.root_readonly);
  EXPECT_EQ(s.hostname, "ip-172-31-0-5");
  EXPECT_EQ(s.netns_path, "/run/netns/t1");
  EXPECT_EQ(s.clone_flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC);
  // Docker's 14 default capabilities, in all three sets.
  EXPECT_EQ(__builtin_popcountll(s.cap_bounding), 14);
  EXPECT_EQ(s.cap_effective, s.cap_bounding);
  EXPECT_EQ(s.cap_permitted, s.cap_bounding);
  EXPECT_EQ(s.cap_ambient, 0u);
  ASSERT_EQ(s.rlimits.size(), 2u);
  EXPECT_EQ(s.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(s.rlimits[0].soft, 100u);
  EXPECT_EQ(s.rlimits[0].hard, 200u);
  EXPECT_TRUE(s.has_seccomp);
  EXPECT_EQ(s.seccomp_errno, 1);
  EXPECT_EQ(s.seccomp_denied, deniedSyscalls());
  EXPECT_FALSE(s.masked_paths.empty());
  EXPECT_FALSE(s.readonly_paths.empty());

  auto find = [&](const std::string& dest) -> const LaunchMount* {
    for (const auto& m : s.mounts)
      if (m.destination == dest) return &m;
    return nullptr;
  };
  const auto* proc = find("/proc");
  ASSERT_NE(proc, nullptr);
  EXPECT_EQ(proc->type, "proc");
  EXPECT_EQ(proc->flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
  const auto* dev = find("/dev");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->data, "mode=755,size=65536k");
  const auto* hosts = find("/etc/hosts");
  ASSERT_NE(hosts, nullptr);
  EXPECT_EQ(hosts->type, "bind");
  EXPECT_TRUE(hosts->recursive_bind);
  EXPECT_EQ(hosts->flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(hosts->propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  const auto* init = find("/dev/init");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->source, "/usr/lib/berth/berth-monitor");
  EXPECT_FALSE(init->recursive_bind);
  const auto* cg = find("/sys/fs/cgroup");
  ASSERT_NE(cg, nullptr);
  EXPECT_EQ(cg->type, "cgroup");
  EXPECT_TRUE(cg->flags & MS_RDONLY);
}

TEST(LauncherSpecTest, NewNetworkNamespaceWithoutPath) {
  auto c = fullConfig();
  c.netns_path.clear();
  LaunchSpec s;
  std::string error;
  ASSERT_TRUE(parseLaunchSpec(json::serialize(specOf(c)), s, error)) << error;
  EXPECT_TRUE(s.clone_flags & CLONE_NEWNET);
  EXPECT_TRUE(s.netns_path.empty());
}

// Whatever the launcher does not implement is an error naming it, never
// silently ignored.
TEST(LauncherSpecTest, RefusesWhatItDoesNotImplement) {
  struct Case {
    const char* what;
    std::function<void(bj::object&)> edit;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"terminal", [](bj::object& o) { o["process"].as_object()["terminal"] = true; }, "process.terminal"},
      {"apparmor", [](bj::object& o) { o["process"].as_object()["apparmorProfile"] = "x"; }, "apparmorProfile"},
      {"hooks", [](bj::object& o) { o["hooks"] = bj::object{}; }, "hooks"},
      {"user namespace",
       [](bj::object& o) { o["linux"].as_object()["namespaces"].as_array().push_back(bj::object{{"type", "user"}}); },
       "user"},
      {"cgroup namespace",
       [](bj::object& o) { o["linux"].as_object()["namespaces"].as_array().push_back(bj::object{{"type", "cgroup"}}); },
       "cgroup"},
      {"overlay mount",
       [](bj::object& o) {
         o["mounts"].as_array().push_back(bj::object{{"destination", "/x"}, {"type", "overlay"}, {"source", "o"}});
       },
       "overlay"},
      {"seccomp kill",
       [](bj::object& o) { o["linux"].as_object()["seccomp"].as_object()["defaultAction"] = "SCMP_ACT_KILL"; },
       "defaultAction"},
      {"seccomp args",
       [](bj::object& o) {
         o["linux"].as_object()["seccomp"].as_object()["syscalls"].as_array()[0].as_object()["args"] = bj::array{};
       },
       "args"},
      {"unknown capability",
       [](bj::object& o) {
         o["process"].as_object()["capabilities"].as_object()["bounding"].as_array().push_back("CAP_NOPE");
       },
       "CAP_NOPE"},
      {"unknown rlimit",
       [](bj::object& o) {
         o["process"].as_object()["rlimits"].as_array().push_back(
             bj::object{{"type", "RLIMIT_NOPE"}, {"soft", 1}, {"hard", 1}});
       },
       "RLIMIT_NOPE"},
      {"relative cwd", [](bj::object& o) { o["process"].as_object()["cwd"] = "srv"; }, "process.cwd"},
      {"sysctl", [](bj::object& o) { o["linux"].as_object()["sysctl"] = bj::object{}; }, "sysctl"},
      {"no mount namespace",
       [](bj::object& o) {
         auto& ns = o["linux"].as_object()["namespaces"].as_array();
         ns.erase(ns.begin() + 1);  // pid, *mount*, uts, ...
       },
       "mount namespace"},
      {"empty args", [](bj::object& o) { o["process"].as_object()["args"] = bj::array{}; }, "process.args"},
  };
  for (const auto& c : cases) {
    bj::object o = specOf(fullConfig());
    c.edit(o);
    LaunchSpec s;
    std::string error;
    EXPECT_FALSE(parseLaunchSpec(json::serialize(o), s, error)) << c.what;
    EXPECT_NE(error.find(c.expect), std::string::npos) << c.what << ": " << error;
  }
  LaunchSpec s;
  std::string error;
  EXPECT_FALSE(parseLaunchSpec("not json", s, error));
  EXPECT_FALSE(parseLaunchSpec("[]", s, error));
}

}  // namespace
}  // namespace berth::agent::runtime
