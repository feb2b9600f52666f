#include "agent/runtime/spec.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace berth::agent::runtime {
namespace bj = boost::json;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::optional<uint32_t> parseId(std::string_view s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

struct PasswdEntry {
  std::string name;
  uint32_t uid, gid;
};

std::vector<PasswdEntry> parsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (auto line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4 || f[0].empty() || f[0].starts_with("#")) continue;
    auto uid = parseId(f[2]), gid = parseId(f[3]);
    if (uid && gid) out.push_back({std::string(f[0]), *uid, *gid});
  }
  return out;
}

struct GroupEntry {
  std::string name;
  uint32_t gid;
  std::vector<std::string> members;
};

std::vector<GroupEntry> parseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  for (auto line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3 || f[0].empty() || f[0].starts_with("#")) continue;
    auto gid = parseId(f[2]);
    if (!gid) continue;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (f.size() >= 4 && !f[3].empty())
      for (auto m : split(f[3], ',')) g.members.emplace_back(m);
    out.push_back(std::move(g));
  }
  return out;
}

std::string readWhole(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bj::array strings(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

bj::object mount(std::string dest, std::string type, std::string source, std::vector<std::string> options) {
  return bj::object{{"destination", dest}, {"type", type}, {"source", source}, {"options", strings(options)}};
}

}  // namespace

Result<ProcessUser> resolveUser(std::string_view user, std::string_view passwd_text, std::string_view group_text) {
  ProcessUser out;
  if (user.empty()) return out;
  auto passwd = parsePasswd(passwd_text);
  auto groups = parseGroup(group_text);
  std::string_view user_part = user, group_part;
  bool has_group = false;
  if (auto colon = user.find(':'); colon != std::string_view::npos) {
    user_part = user.substr(0, colon);
    group_part = user.substr(colon + 1);
    has_group = true;
    if (group_part.empty()) return fail(ErrorCode::kInvalidArgument, "user '" + std::string(user) + "': empty group");
  }
  if (user_part.empty()) return fail(ErrorCode::kInvalidArgument, "user '" + std::string(user) + "': empty user");
  const PasswdEntry* entry = nullptr;
  if (auto uid = parseId(user_part)) {
    out.uid = *uid;
    out.gid = 0;
    for (const auto& e : passwd)
      if (e.uid == *uid) {
        entry = &e;
        break;
      }
  } else {
    for (const auto& e : passwd)
      if (e.name == user_part) {
        entry = &e;
        break;
      }
    if (!entry)
      return fail(ErrorCode::kInvalidArgument,
                  "unable to find user " + std::string(user_part) + ": no matching entries in passwd file");
    out.uid = entry->uid;
  }
  if (entry) out.gid = entry->gid;
  if (has_group) {
    if (auto gid = parseId(group_part)) {
      out.gid = *gid;
    } else {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupEntry& g) { return g.name == group_part; });
      if (it == groups.end())
        return fail(ErrorCode::kInvalidArgument,
                    "unable to find group " + std::string(group_part) + ": no matching entries in group file");
      out.gid = it->gid;
    }
  }
  if (entry) {
    for (const auto& g : groups) {
      if (g.gid == out.gid) continue;
      if (std::find(g.members.begin(), g.members.end(), entry->name) != g.members.end())
        out.additional_gids.push_back(g.gid);
    }
  }
  return out;
}

Result<ProcessUser> resolveUserInRootfs(std::string_view user, const std::filesystem::path& rootfs) {
  if (user.empty()) return ProcessUser{};
  return resolveUser(user, readWhole(rootfs / "etc/passwd"), readWhole(rootfs / "etc/group"));
}

std::string rlimitType(std::string_view name) {
  static const char* const kNames[] = {"core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
                                       "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  for (const char* n : kNames) {
    if (name == n) {
      std::string t = "RLIMIT_";
      for (char c : name) t += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return t;
    }
  }
  return {};
}

const std::vector<std::string>& defaultCapabilities() {
  // Docker's default set (moby oci/caps/defaults.go).
  static const std::vector<std::string> kCaps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return kCaps;
}

const std::vector<std::string>& deniedSyscalls() {
  // Policy: allow by default, deny (EPERM) an explicit list. Docker's profile
  // is an allow-list whose effect, for a container without extra
  // capabilities, is to refuse roughly these: kernel modules and kexec,
  // mounts and namespace games, clock and swap changes, tracing and
  // cross-process memory access, keyrings, BPF/perf, and NUMA and
  // obsolete calls. A deny-list is shorter to audit and never breaks a
  // program on a syscall newer than the list; the cost is that brand-new
  // dangerous syscalls are allowed until added here.
  static const std::vector<std::string> kDenied = {"acct",
                                                   "add_key",
                                                   "bpf",
                                                   "clock_adjtime",
                                                   "clock_settime",
                                                   "create_module",
                                                   "delete_module",
                                                   "finit_module",
                                                   "fsconfig",
                                                   "fsmount",
                                                   "fsopen",
                                                   "fspick",
                                                   "get_kernel_syms",
                                                   "get_mempolicy",
                                                   "init_module",
                                                   "ioperm",
                                                   "iopl",
                                                   "kcmp",
                                                   "kexec_file_load",
                                                   "kexec_load",
                                                   "keyctl",
                                                   "lookup_dcookie",
                                                   "mbind",
                                                   "mount",
                                                   "mount_setattr",
                                                   "move_mount",
                                                   "move_pages",
                                                   "name_to_handle_at",
                                                   "nfsservctl",
                                                   "open_by_handle_at",
                                                   "open_tree",
                                                   "perf_event_open",
                                                   "pivot_root",
                                                   "process_vm_readv",
                                                   "process_vm_writev",
                                                   "ptrace",
                                                   "query_module",
                                                   "quotactl",
                                                   "reboot",
                                                   "request_key",
                                                   "set_mempolicy",
                                                   "setns",
                                                   "settimeofday",
                                                   "swapoff",
                                                   "swapon",
                                                   "sysfs",
                                                   "umount2",
                                                   "unshare",
                                                   "uselib",
                                                   "userfaultfd",
                                                   "ustat"};
  return kDenied;
}

Result<bj::object> makeOciSpec(const ContainerConfig& config, const SpecInputs& in) {
  if (config.argv.empty()) return fail(ErrorCode::kInvalidArgument, "container " + config.name + ": empty command");
  if (!config.rootfs.is_absolute()) return fail(ErrorCode::kInvalidArgument, "rootfs must be an absolute path");

  // --- process ---
  std::vector<std::string> args;
  if (config.init_process_enabled && !in.init_binary.empty()) {
    args = {kInitPathInContainer, "init", "--"};  // berth-monitor's init mode (monitor.h)
  }
  args.insert(args.end(), config.argv.begin(), config.argv.end());
  std::vector<std::string> env = config.env;
  if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("PATH="); }))
    env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!config.hostname.empty() &&
      std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("HOSTNAME="); }))
    env.push_back("HOSTNAME=" + config.hostname);

  bj::array rlimits;
  bool nofile_set = false;
  for (const auto& u : config.ulimits) {
    std::string type = rlimitType(u.name);
    if (type.empty()) return fail(ErrorCode::kInvalidArgument, "unknown ulimit name '" + u.name + "'");
    if (u.soft > u.hard)
      return fail(ErrorCode::kInvalidArgument, "ulimit " + u.name + ": soft limit exceeds hard limit");
    nofile_set |= type == "RLIMIT_NOFILE";
    rlimits.push_back(bj::object{{"type", type}, {"soft", u.soft}, {"hard", u.hard}});
  }
  if (!nofile_set) {
    uint64_t n = 65535;
    if (in.max_nofile > 0 && in.max_nofile < n) n = in.max_nofile;
    rlimits.push_back(bj::object{{"type", "RLIMIT_NOFILE"}, {"soft", n}, {"hard", n}});
  }

  bj::array gids;
  for (uint32_t g : in.user.additional_gids) gids.push_back(g);
  bj::object user{{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!gids.empty()) user["additionalGids"] = std::move(gids);

  bj::array caps = strings(defaultCapabilities());
  bj::object process{
      {"terminal", false},
      {"user", std::move(user)},
      {"args", strings(args)},
      {"env", strings(env)},
      {"cwd", config.cwd.empty() ? std::string("/") : config.cwd},
      {"capabilities", bj::object{{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", std::move(rlimits)},
      {"noNewPrivileges", true},
  };

  // --- mounts ---
  bj::array mounts{
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
  };
  for (const auto& m : config.mounts) {
    if (!m.destination.starts_with("/"))
      return fail(ErrorCode::kInvalidArgument, "mount destination '" + m.destination + "' is not absolute");
    std::vector<std::string> opts = {"rbind", "rprivate"};
    if (m.read_only) opts.push_back("ro");
    mounts.push_back(mount(m.destination, "bind", m.source.string(), opts));
  }
  if (config.init_process_enabled && !in.init_binary.empty())
    mounts.push_back(mount(kInitPathInContainer, "bind", in.init_binary.string(), {"bind", "ro", "nosuid", "nodev"}));

  // --- linux ---
  bj::array namespaces{bj::object{{"type", "pid"}}, bj::object{{"type", "mount"}}, bj::object{{"type", "uts"}},
                       bj::object{{"type", "ipc"}}};
  bj::object net{{"type", "network"}};
  if (!config.netns_path.empty()) net["path"] = config.netns_path.string();
  namespaces.push_back(std::move(net));

  bj::object resources{{"devices", bj::array{bj::object{{"allow", false}, {"access", "rwm"}}}}};
  if (config.cpu_shares > 0) resources["cpu"] = bj::object{{"shares", config.cpu_shares < 2 ? 2 : config.cpu_shares}};
  bj::object memory;
  if (config.memory_mib > 0) {
    int64_t limit = config.memory_mib << 20;
    memory["limit"] = limit;
    memory["swap"] = limit;  // memory+swap = limit: no swap, as ECS
  }
  if (config.memory_reservation_mib > 0) memory["reservation"] = config.memory_reservation_mib << 20;
  if (!memory.empty()) resources["memory"] = std::move(memory);

  bj::array syscalls{bj::object{{"names", strings(deniedSyscalls())}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}};
  bj::object seccomp{{"defaultAction", "SCMP_ACT_ALLOW"},
                     {"architectures", bj::array{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
                     {"syscalls", std::move(syscalls)}};

  bj::object linux{
      {"namespaces", std::move(namespaces)},
      {"resources", std::move(resources)},
      {"maskedPaths", bj::array{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                "/sys/firmware", "/sys/devices/virtual/powercap"}},
      {"readonlyPaths", bj::array{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
      {"seccomp", std::move(seccomp)},
  };
  if (!in.cgroups_path.empty()) linux["cgroupsPath"] = in.cgroups_path;

  bj::object spec{
      {"ociVersion", "1.0.2"},
      {"process", std::move(process)},
      {"root", bj::object{{"path", config.rootfs.string()}, {"readonly", config.read_only_rootfs}}},
      {"mounts", std::move(mounts)},
      {"linux", std::move(linux)},
  };
  if (!config.hostname.empty()) spec["hostname"] = config.hostname;
  return spec;
}

}  // namespace berth::agent::runtime
