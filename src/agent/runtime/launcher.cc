#include "agent/runtime/launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/json.hpp>

#include "agent/runtime/seccomp_bpf.h"

namespace berth::agent::runtime {
namespace bj = boost::json;

namespace {

// --- parsing -------------------------------------------------------------

constexpr const char* kCapNames[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",         "CAP_FSETID",
    "CAP_KILL",            "CAP_SETGID",       "CAP_SETUID",          "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",     "CAP_NET_RAW",        "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",       "CAP_SYS_MODULE",   "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",     "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",    "CAP_SYS_BOOT",        "CAP_SYS_NICE",       "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",         "CAP_LEASE",          "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",      "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",
    "CAP_WAKE_ALARM",      "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",     "CAP_PERFMON",        "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};
static_assert(sizeof(kCapNames) / sizeof(kCapNames[0]) == CAP_LAST_CAP + 1);

constexpr struct {
  const char* name;
  int resource;
} kRlimits[] = {{"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
                {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},
                {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
                {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
                {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},
                {"RLIMIT_RSS", RLIMIT_RSS},         {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
                {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
                {"RLIMIT_STACK", RLIMIT_STACK}};

constexpr struct {
  const char* name;
  unsigned long set, clear;
} kMountFlags[] = {{"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},         {"nosuid", MS_NOSUID, 0},
                   {"suid", 0, MS_NOSUID},       {"nodev", MS_NODEV, 0},       {"dev", 0, MS_NODEV},
                   {"noexec", MS_NOEXEC, 0},     {"exec", 0, MS_NOEXEC},       {"relatime", MS_RELATIME, 0},
                   {"strictatime", MS_STRICTATIME, 0}, {"noatime", MS_NOATIME, 0}, {"nodiratime", MS_NODIRATIME, 0},
                   {"sync", MS_SYNCHRONOUS, 0}};

constexpr struct {
  const char* name;
  unsigned long flags;
} kPropagation[] = {{"private", MS_PRIVATE},         {"rprivate", MS_PRIVATE | MS_REC}, {"slave", MS_SLAVE},
                    {"rslave", MS_SLAVE | MS_REC},   {"shared", MS_SHARED},             {"rshared", MS_SHARED | MS_REC},
                    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};

// Each parse helper reports the JSON path of what it could not accept.
struct Parser {
  std::string& error;

  bool bad(const std::string& what) {
    if (error.empty()) error = what;
    return false;
  }

  bool strings(const bj::value* v, const char* path, std::vector<std::string>& out) {
    if (!v) return true;
    if (!v->is_array()) return bad(std::string(path) + ": not an array");
    for (const auto& e : v->as_array()) {
      if (!e.is_string()) return bad(std::string(path) + ": not a string");
      out.emplace_back(e.as_string());
    }
    return true;
  }

  bool caps(const bj::object& c, const char* key, uint64_t& mask) {
    std::vector<std::string> names;
    if (!strings(c.if_contains(key), key, names)) return false;
    for (const auto& n : names) {
      int bit = -1;
      for (int i = 0; i <= CAP_LAST_CAP; ++i)
        if (n == kCapNames[i]) bit = i;
      if (bit < 0) return bad("unknown capability " + n);
      mask |= uint64_t{1} << bit;
    }
    return true;
  }

  bool u32(const bj::value* v, const char* path, uint32_t& out) {
    if (!v) return true;
    if (!v->is_int64() && !v->is_uint64()) return bad(std::string(path) + ": not an integer");
    auto n = v->to_number<int64_t>();
    if (n < 0 || n > 0xffffffffLL) return bad(std::string(path) + ": out of range");
    out = static_cast<uint32_t>(n);
    return true;
  }

  bool u64(const bj::value* v, const char* path, uint64_t& out) {
    if (!v || (!v->is_int64() && !v->is_uint64())) return bad(std::string(path) + ": not an integer");
    out = v->is_uint64() ? v->as_uint64() : static_cast<uint64_t>(v->as_int64());
    return true;
  }

  // Accepts only the keys listed: anything else is a feature the launcher
  // does not implement.
  bool only(const bj::object& o, const char* path, std::initializer_list<const char*> keys) {
    for (const auto& kv : o) {
      bool known = false;
      for (const char* k : keys) known |= kv.key() == k;
      if (!known) return bad(std::string(path) + "." + std::string(kv.key()) + ": not supported by berth's launcher");
    }
    return true;
  }

  bool process(const bj::object& p, LaunchSpec& s) {
    if (!only(p, "process", {"terminal", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges"}))
      return false;
    if (const auto* t = p.if_contains("terminal"); t && !(t->is_bool() && !t->as_bool()))
      return bad("process.terminal: only false is supported");
    if (!strings(p.if_contains("args"), "process.args", s.args)) return false;
    if (s.args.empty()) return bad("process.args: empty");
    if (!strings(p.if_contains("env"), "process.env", s.env)) return false;
    if (const auto* c = p.if_contains("cwd")) {
      if (!c->is_string() || !c->as_string().starts_with("/")) return bad("process.cwd: not an absolute path");
      s.cwd = c->as_string();
    }
    if (const auto* u = p.if_contains("user")) {
      if (!u->is_object()) return bad("process.user: not an object");
      const auto& uo = u->as_object();
      if (!only(uo, "process.user", {"uid", "gid", "additionalGids"})) return false;
      if (!u32(uo.if_contains("uid"), "process.user.uid", s.uid) ||
          !u32(uo.if_contains("gid"), "process.user.gid", s.gid))
        return false;
      if (const auto* g = uo.if_contains("additionalGids")) {
        if (!g->is_array()) return bad("process.user.additionalGids: not an array");
        for (const auto& e : g->as_array()) {
          uint32_t gid = 0;
          if (!u32(&e, "process.user.additionalGids", gid)) return false;
          s.additional_gids.push_back(gid);
        }
      }
    }
    if (const auto* c = p.if_contains("capabilities")) {
      if (!c->is_object()) return bad("process.capabilities: not an object");
      const auto& co = c->as_object();
      if (!only(co, "process.capabilities", {"bounding", "effective", "permitted", "inheritable", "ambient"}))
        return false;
      if (!caps(co, "bounding", s.cap_bounding) || !caps(co, "effective", s.cap_effective) ||
          !caps(co, "permitted", s.cap_permitted) || !caps(co, "inheritable", s.cap_inheritable) ||
          !caps(co, "ambient", s.cap_ambient))
        return false;
    }
    if (const auto* r = p.if_contains("rlimits")) {
      if (!r->is_array()) return bad("process.rlimits: not an array");
      for (const auto& e : r->as_array()) {
        if (!e.is_object()) return bad("process.rlimits: not an object");
        const auto& ro = e.as_object();
        const auto* type = ro.if_contains("type");
        if (!type || !type->is_string()) return bad("process.rlimits.type: missing");
        LaunchRlimit l{-1, 0, 0};
        for (const auto& k : kRlimits)
          if (type->as_string() == k.name) l.resource = k.resource;
        if (l.resource < 0) return bad("unknown rlimit " + std::string(type->as_string()));
        if (!u64(ro.if_contains("soft"), "process.rlimits.soft", l.soft) ||
            !u64(ro.if_contains("hard"), "process.rlimits.hard", l.hard))
          return false;
        s.rlimits.push_back(l);
      }
    }
    if (const auto* n = p.if_contains("noNewPrivileges")) {
      if (!n->is_bool()) return bad("process.noNewPrivileges: not a boolean");
      s.no_new_privileges = n->as_bool();
    }
    return true;
  }

  bool mount(const bj::value& v, LaunchSpec& s) {
    if (!v.is_object()) return bad("mounts: not an object");
    const auto& o = v.as_object();
    if (!only(o, "mounts[]", {"destination", "type", "source", "options"})) return false;
    LaunchMount m;
    const auto* d = o.if_contains("destination");
    if (!d || !d->is_string() || !d->as_string().starts_with("/"))
      return bad("mounts[].destination: not an absolute path");
    m.destination = d->as_string();
    if (const auto* t = o.if_contains("type"); t && t->is_string()) m.type = t->as_string();
    if (const auto* src = o.if_contains("source"); src && src->is_string()) m.source = src->as_string();
    std::vector<std::string> options;
    if (!strings(o.if_contains("options"), "mounts[].options", options)) return false;
    bool bind = m.type == "bind";
    for (const auto& opt : options) {
      bool handled = false;
      for (const auto& f : kMountFlags) {
        if (opt == f.name) {
          m.flags = (m.flags | f.set) & ~f.clear;
          handled = true;
        }
      }
      for (const auto& p : kPropagation) {
        if (opt == p.name) {
          m.propagation = p.flags;
          handled = true;
        }
      }
      if (opt == "bind" || opt == "rbind") {
        bind = true;
        m.recursive_bind = opt == "rbind";
        handled = true;
      }
      if (!handled) {
        if (bind) return bad("mounts[" + m.destination + "]: option " + opt + " not supported on a bind mount");
        if (!m.data.empty()) m.data += ",";
        m.data += opt;
      }
    }
    if (bind) m.type = "bind";
    static const char* const kTypes[] = {"proc", "tmpfs", "devpts", "sysfs", "mqueue", "cgroup", "bind"};
    bool known = false;
    for (const char* t : kTypes) known |= m.type == t;
    if (!known) return bad("mounts[" + m.destination + "]: type " + m.type + " not supported by berth's launcher");
    if (bind && !m.source.starts_with("/")) return bad("mounts[" + m.destination + "]: bind source not absolute");
    s.mounts.push_back(std::move(m));
    return true;
  }

  bool seccomp(const bj::object& o, LaunchSpec& s) {
    if (!only(o, "linux.seccomp", {"defaultAction", "architectures", "syscalls"})) return false;
    const auto* def = o.if_contains("defaultAction");
    if (!def || !def->is_string() || def->as_string() != "SCMP_ACT_ALLOW")
      return bad("linux.seccomp.defaultAction: only SCMP_ACT_ALLOW is supported");
    const auto* calls = o.if_contains("syscalls");
    if (calls) {
      if (!calls->is_array()) return bad("linux.seccomp.syscalls: not an array");
      for (const auto& c : calls->as_array()) {
        if (!c.is_object()) return bad("linux.seccomp.syscalls[]: not an object");
        const auto& co = c.as_object();
        if (!only(co, "linux.seccomp.syscalls[]", {"names", "action", "errnoRet"})) return false;
        const auto* action = co.if_contains("action");
        if (!action || !action->is_string() || action->as_string() != "SCMP_ACT_ERRNO")
          return bad("linux.seccomp.syscalls[].action: only SCMP_ACT_ERRNO is supported");
        uint32_t err = 1;  // libseccomp's default errno for SCMP_ACT_ERRNO without errnoRet is EPERM
        if (!u32(co.if_contains("errnoRet"), "linux.seccomp.syscalls[].errnoRet", err)) return false;
        if (s.has_seccomp && static_cast<int>(err) != s.seccomp_errno)
          return bad("linux.seccomp.syscalls: only one errnoRet is supported");
        s.seccomp_errno = static_cast<int>(err);
        s.has_seccomp = true;
        if (!strings(co.if_contains("names"), "linux.seccomp.syscalls[].names", s.seccomp_denied)) return false;
      }
    }
    return true;
  }

  bool linux(const bj::object& l, LaunchSpec& s) {
    // resources and cgroupsPath are berthd's business (the launcher joins
    // the cgroups it is given; see the header).
    if (!only(l, "linux",
              {"namespaces", "resources", "cgroupsPath", "maskedPaths", "readonlyPaths", "seccomp"}))
      return false;
    if (const auto* ns = l.if_contains("namespaces")) {
      if (!ns->is_array()) return bad("linux.namespaces: not an array");
      for (const auto& e : ns->as_array()) {
        if (!e.is_object()) return bad("linux.namespaces[]: not an object");
        const auto& no = e.as_object();
        if (!only(no, "linux.namespaces[]", {"type", "path"})) return false;
        const auto* type = no.if_contains("type");
        const auto* path = no.if_contains("path");
        if (!type || !type->is_string()) return bad("linux.namespaces[].type: missing");
        std::string_view t = type->as_string();
        if (path && (!path->is_string() || t != "network"))
          return bad("linux.namespaces[" + std::string(t) + "].path: only a network namespace can be joined");
        if (t == "pid")
          s.clone_flags |= CLONE_NEWPID;
        else if (t == "mount")
          s.clone_flags |= CLONE_NEWNS;
        else if (t == "uts")
          s.clone_flags |= CLONE_NEWUTS;
        else if (t == "ipc")
          s.clone_flags |= CLONE_NEWIPC;
        else if (t == "network" && path)
          s.netns_path = path->as_string();
        else if (t == "network")
          s.clone_flags |= CLONE_NEWNET;
        else
          return bad("linux.namespaces: " + std::string(t) + " not supported by berth's launcher");
      }
    }
    if ((s.clone_flags & CLONE_NEWNS) == 0) return bad("linux.namespaces: a mount namespace is required");
    if (!strings(l.if_contains("maskedPaths"), "linux.maskedPaths", s.masked_paths)) return false;
    if (!strings(l.if_contains("readonlyPaths"), "linux.readonlyPaths", s.readonly_paths)) return false;
    if (const auto* sc = l.if_contains("seccomp")) {
      if (!sc->is_object()) return bad("linux.seccomp: not an object");
      if (!seccomp(sc->as_object(), s)) return false;
    }
    return true;
  }
};

// --- the child's side ----------------------------------------------------
//
// Everything below runs in a freshly cloned child of a single-threaded
// process, between clone and execve: no allocation-heavy work that could
// fail silently, every failure reported through the error pipe.

struct ChildError {
  int fd;
};

[[noreturn]] void die(int err_fd, const std::string& what, int err) {
  std::string msg = what;
  if (err != 0) msg += ": " + std::string(std::strerror(err));
  (void)!::write(err_fd, msg.data(), msg.size());
  _exit(127);
}

bool writeFile(const std::string& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

int openIn(int root_fd, const std::string& path, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
}

// Creates `path` (relative to the rootfs, symlinks resolved inside it) as a
// directory, or as an empty file when `file`; returns an O_PATH fd of it.
int makeIn(int root_fd, const std::string& path, bool file) {
  int fd = openIn(root_fd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  size_t slash = path.find_last_of('/');
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  int pfd = makeIn(root_fd, parent, false);
  if (pfd < 0) return -1;
  int dfd = openIn(pfd, ".", O_DIRECTORY);
  ::close(pfd);
  if (dfd < 0) return -1;
  if (file) {
    int f = ::openat(dfd, name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f >= 0) ::close(f);
  } else {
    (void)::mkdirat(dfd, name.c_str(), 0755);
  }
  ::close(dfd);
  return openIn(root_fd, path, O_PATH);
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void populateDev(int root_fd, int err_fd) {
  struct Node {
    const char* name;
    unsigned maj, min;
  };
  static const Node kNodes[] = {{"null", 1, 3}, {"zero", 1, 5},    {"full", 1, 7},
                                {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  int dev = openIn(root_fd, "/dev", O_DIRECTORY);
  if (dev < 0) die(err_fd, "open /dev in rootfs", errno);
  for (const auto& n : kNodes) {
    if (::mknodat(dev, n.name, S_IFCHR | 0666, makedev(n.maj, n.min)) != 0 && errno != EEXIST)
      die(err_fd, std::string("mknod /dev/") + n.name, errno);
  }
  static const char* const kLinks[][2] = {{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                                          {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                          {"pts/ptmx", "ptmx"},          {"/proc/kcore", "core"}};
  for (const auto& l : kLinks) {
    // runc links /dev/core only where the kernel has a /proc/kcore.
    if (std::strcmp(l[1], "core") == 0 && ::access("/proc/kcore", F_OK) != 0) continue;
    if (::symlinkat(l[0], dev, l[1]) != 0 && errno != EEXIST) die(err_fd, std::string("symlink /dev/") + l[1], errno);
  }
  ::close(dev);
}

void doMount(const LaunchMount& m, int root_fd, const std::vector<LaunchCgroup>& cgroups, int err_fd) {
  bool file = false;
  if (m.type == "bind") {
    struct stat st {};
    if (::stat(m.source.c_str(), &st) != 0) die(err_fd, "mount source " + m.source, errno);
    file = !S_ISDIR(st.st_mode);
  }
  int target = makeIn(root_fd, m.destination, file);
  if (target < 0) die(err_fd, "mount destination " + m.destination, errno);
  std::string t = fdPath(target);
  const char* data = m.data.empty() ? nullptr : m.data.c_str();
  if (m.type == "bind") {
    unsigned long bind = MS_BIND | (m.recursive_bind ? MS_REC : 0);
    if (::mount(m.source.c_str(), t.c_str(), nullptr, bind, nullptr) != 0)
      die(err_fd, "bind mount " + m.source + " on " + m.destination, errno);
    ::close(target);
    // The new mount is on top of the O_PATH fd's: look the path up again.
    target = openIn(root_fd, m.destination, O_PATH);
    if (target < 0) die(err_fd, "reopen " + m.destination, errno);
    t = fdPath(target);
    if (m.flags != 0 && ::mount(nullptr, t.c_str(), nullptr, MS_BIND | MS_REMOUNT | m.flags, nullptr) != 0)
      die(err_fd, "remount " + m.destination, errno);
  } else if (m.type == "cgroup") {
    // As runc does on v1: a tmpfs with each hierarchy's container cgroup
    // bound under it; on v2 the container's cgroup directory itself.
    bool v2 = !cgroups.empty() && cgroups[0].controller.empty();
    if (v2) {
      if (::mount(cgroups[0].dir.c_str(), t.c_str(), nullptr, MS_BIND, nullptr) != 0)
        die(err_fd, "bind " + cgroups[0].dir, errno);
    } else {
      if (::mount("tmpfs", t.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") != 0)
        die(err_fd, "mount tmpfs on " + m.destination, errno);
      for (const auto& cg : cgroups) {
        int sub = makeIn(root_fd, m.destination + "/" + cg.controller, false);
        if (sub < 0) die(err_fd, "mkdir " + m.destination + "/" + cg.controller, errno);
        std::string st = fdPath(sub);
        if (::mount(cg.dir.c_str(), st.c_str(), nullptr, MS_BIND, nullptr) != 0) die(err_fd, "bind " + cg.dir, errno);
        ::close(sub);
        sub = openIn(root_fd, m.destination + "/" + cg.controller, O_PATH);
        st = fdPath(sub);
        if (::mount(nullptr, st.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    nullptr) != 0)
          die(err_fd, "remount " + cg.dir, errno);
        ::close(sub);
      }
    }
    ::close(target);
    target = openIn(root_fd, m.destination, O_PATH);
    t = fdPath(target);
    if (::mount(nullptr, t.c_str(), nullptr, MS_BIND | MS_REMOUNT | m.flags, nullptr) != 0)
      die(err_fd, "remount " + m.destination, errno);
  } else {
    if (::mount(m.source.c_str(), t.c_str(), m.type.c_str(), m.flags, data) != 0)
      die(err_fd, "mount " + m.type + " on " + m.destination, errno);
    if (m.destination == "/dev" && m.type == "tmpfs") populateDev(root_fd, err_fd);
  }
  if (m.propagation != 0) {
    ::close(target);
    target = openIn(root_fd, m.destination, O_PATH);
    t = fdPath(target);
    if (::mount(nullptr, t.c_str(), nullptr, m.propagation, nullptr) != 0)
      die(err_fd, "set propagation of " + m.destination, errno);
  }
  ::close(target);
}

// After pivot_root: paths are the container's.
void maskAndProtect(const LaunchSpec& s, int err_fd) {
  for (const auto& p : s.masked_paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;  // nothing to mask
    int r = S_ISDIR(st.st_mode) ? ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr)
                                : ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
    if (r != 0) die(err_fd, "mask " + p, errno);
  }
  for (const auto& p : s.readonly_paths) {
    if (::access(p.c_str(), F_OK) != 0) continue;
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
        ::mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr) != 0)
      die(err_fd, "make " + p + " read-only", errno);
  }
}

int capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  d[0] = {static_cast<uint32_t>(effective), static_cast<uint32_t>(permitted), static_cast<uint32_t>(inheritable)};
  d[1] = {static_cast<uint32_t>(effective >> 32), static_cast<uint32_t>(permitted >> 32),
          static_cast<uint32_t>(inheritable >> 32)};
  return static_cast<int>(::syscall(SYS_capset, &h, d));
}

// The last steps, shared by a container's start and an exec into it: user,
// capabilities, rlimits, no_new_privs, cwd, seccomp, then execve. Never
// returns.
[[noreturn]] void becomeProcess(const LaunchSpec& s, const std::vector<std::string>& args, int err_fd,
                                const std::vector<sock_filter>& filter) {
  for (const auto& r : s.rlimits) {
    rlimit l{r.soft, r.hard};
    if (::setrlimit(r.resource, &l) != 0) die(err_fd, "setrlimit", errno);
  }
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if ((s.cap_bounding >> cap) & 1) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) die(err_fd, "drop capability", errno);
  }
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) die(err_fd, "keep capabilities", errno);
  std::vector<gid_t> groups(s.additional_gids.begin(), s.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0) die(err_fd, "setgroups", errno);
  if (::syscall(SYS_setresgid, s.gid, s.gid, s.gid) != 0) die(err_fd, "setgid", errno);
  if (::syscall(SYS_setresuid, s.uid, s.uid, s.uid) != 0) die(err_fd, "setuid", errno);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) die(err_fd, "keep capabilities", errno);
  if (capset(s.cap_effective, s.cap_permitted, s.cap_inheritable) != 0) die(err_fd, "capset", errno);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    die(err_fd, "clear ambient capabilities", errno);
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (((s.cap_ambient >> cap) & 1) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
      die(err_fd, "raise ambient capability", errno);
  }
  if (s.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(err_fd, "no_new_privs", errno);
  if (::chdir(s.cwd.c_str()) != 0) die(err_fd, "chdir to cwd (\"" + s.cwd + "\") set in config.json failed", errno);

  // Resolve the program with the container's PATH, as runc does.
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : s.env)
    if (e.starts_with("PATH=")) path_env = e.substr(5);
  std::string program = args[0];
  if (program.find('/') == std::string::npos) {
    std::string found;
    size_t start = 0;
    while (start <= path_env.size()) {
      size_t colon = path_env.find(':', start);
      std::string dir = path_env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
        found = candidate;
        break;
      }
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (found.empty()) die(err_fd, "exec: \"" + program + "\": executable file not found in $PATH", 0);
    program = found;
  } else if (::access(program.c_str(), F_OK) != 0) {
    die(err_fd, "exec: \"" + program + "\": stat " + program + ": no such file or directory", 0);
  }
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : s.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // The parent's death no longer concerns the program (a container outlives
  // a crashed monitor, as it would under runc).
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (!filter.empty()) {
    sock_fprog prog{static_cast<unsigned short>(filter.size()), const_cast<sock_filter*>(filter.data())};
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) die(err_fd, "load seccomp filter", errno);
  }
  ::execve(program.c_str(), argv.data(), envp.data());
  die(err_fd, "exec " + program, errno);
}

// The monitor blocks and ignores signals for itself; the program starts
// with the defaults.
void resetSignals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void setStdio(const LaunchIo& io, int err_fd) {
  int devnull = -1;
  auto pick = [&](int fd) {
    if (fd >= 0) return fd;
    if (devnull < 0) devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    return devnull;
  };
  int fds[3] = {pick(io.stdin_fd), pick(io.stdout_fd), pick(io.stderr_fd)};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] < 0) die(err_fd, "open /dev/null", errno);
    if (fds[i] == i) {
      ::fcntl(i, F_SETFD, 0);
    } else if (::dup2(fds[i], i) < 0) {
      die(err_fd, "dup2", errno);
    }
  }
  // Nothing else reaches the program (the error pipe closes at exec).
  ::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
}

void joinCgroups(const std::vector<LaunchCgroup>& cgroups, pid_t pid, std::string& error) {
  std::string text = std::to_string(pid);
  for (const auto& cg : cgroups) {
    if (!writeFile(cg.dir + "/cgroup.procs", text)) {
      error = "join cgroup " + cg.dir + ": " + std::strerror(errno);
      return;
    }
  }
}

bool compileFilter(const LaunchSpec& s, std::vector<sock_filter>& filter, std::string& error) {
  if (!s.has_seccomp) return true;
  auto compiled = compileDenyList(s.seccomp_denied, s.seccomp_errno);
  if (!compiled) {
    error = "seccomp: " + compiled.error().message;
    return false;
  }
  filter = std::move(*compiled);
  return true;
}

// Reads the child's verdict: EOF with nothing read means it reached execve.
bool childStarted(int err_fd, pid_t pid, std::string& error) {
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err_fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(err_fd);
  if (msg.empty()) return true;
  error = msg;
  ::waitpid(pid, nullptr, 0);
  return false;
}

}  // namespace

bool parseLaunchSpec(std::string_view config_json, LaunchSpec& out, std::string& error) {
  error.clear();
  out = LaunchSpec{};
  boost::system::error_code ec;
  bj::value v = bj::parse(config_json, ec);
  if (ec || !v.is_object()) {
    error = "config.json: not a JSON object";
    return false;
  }
  Parser p{error};
  const auto& o = v.as_object();
  if (!p.only(o, "", {"ociVersion", "process", "root", "hostname", "mounts", "linux"})) return false;
  const auto* proc = o.if_contains("process");
  if (!proc || !proc->is_object()) return p.bad("process: missing");
  if (!p.process(proc->as_object(), out)) return false;
  const auto* root = o.if_contains("root");
  if (!root || !root->is_object()) return p.bad("root: missing");
  const auto& ro = root->as_object();
  if (!p.only(ro, "root", {"path", "readonly"})) return false;
  const auto* path = ro.if_contains("path");
  if (!path || !path->is_string() || !path->as_string().starts_with("/")) return p.bad("root.path: not absolute");
  out.root = path->as_string();
  if (const auto* r = ro.if_contains("readonly"); r && r->is_bool()) out.root_readonly = r->as_bool();
  if (const auto* h = o.if_contains("hostname")) {
    if (!h->is_string()) return p.bad("hostname: not a string");
    out.hostname = h->as_string();
  }
  if (const auto* m = o.if_contains("mounts")) {
    if (!m->is_array()) return p.bad("mounts: not an array");
    for (const auto& e : m->as_array())
      if (!p.mount(e, out)) return false;
  }
  const auto* l = o.if_contains("linux");
  if (!l || !l->is_object()) return p.bad("linux: missing");
  return p.linux(l->as_object(), out);
}

pid_t launchContainer(const LaunchSpec& spec, const std::vector<LaunchCgroup>& cgroups, const LaunchIo& io,
                      std::string& error) {
  std::vector<sock_filter> filter;
  if (!compileFilter(spec, filter, error)) return -1;
  int netns = -1;
  if (!spec.netns_path.empty()) {
    netns = ::open(spec.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns < 0) {
      error = "open network namespace " + spec.netns_path + ": " + std::strerror(errno);
      return -1;
    }
  }
  int errp[2], gop[2];
  if (::pipe2(errp, O_CLOEXEC) != 0 || ::pipe2(gop, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  // fork semantics (no new stack): the caller is single-threaded.
  long r = ::syscall(SYS_clone, static_cast<unsigned long>(spec.clone_flags) | SIGCHLD, nullptr, nullptr, nullptr,
                     nullptr);
  if (r < 0) {
    error = std::string("clone: ") + std::strerror(errno);
    return -1;
  }
  if (r == 0) {
    int err_fd = errp[1];
    ::close(errp[0]);
    ::close(gop[1]);
    ::prctl(PR_SET_NAME, "berth:[init]", 0, 0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // Wait until the parent has moved us into the container's cgroups.
    char go = 0;
    if (::read(gop[0], &go, 1) != 1 || go != 'g') _exit(127);
    ::close(gop[0]);
    resetSignals();
    ::setsid();
    if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) die(err_fd, "join network namespace", errno);
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
      die(err_fd, "sethostname", errno);
    ::umask(0);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die(err_fd, "make / private", errno);
    if (::mount(spec.root.c_str(), spec.root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      die(err_fd, "bind rootfs", errno);
    int root_fd = ::open(spec.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) die(err_fd, "open rootfs", errno);
    for (const auto& m : spec.mounts) doMount(m, root_fd, cgroups, err_fd);
    if (::chdir(spec.root.c_str()) != 0) die(err_fd, "chdir rootfs", errno);
    if (::syscall(SYS_pivot_root, ".", ".") != 0) die(err_fd, "pivot_root", errno);
    if (::umount2(".", MNT_DETACH) != 0) die(err_fd, "detach the old root", errno);
    if (::chdir("/") != 0) die(err_fd, "chdir /", errno);
    ::close(root_fd);
    maskAndProtect(spec, err_fd);
    if (spec.root_readonly && ::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      die(err_fd, "make the root file system read-only", errno);
    ::umask(022);
    setStdio(io, err_fd);
    becomeProcess(spec, spec.args, err_fd, filter);
  }
  pid_t pid = static_cast<pid_t>(r);
  ::close(errp[1]);
  ::close(gop[0]);
  if (netns >= 0) ::close(netns);
  joinCgroups(cgroups, pid, error);
  if (!error.empty()) {
    ::kill(pid, SIGKILL);
    ::close(gop[1]);
    ::close(errp[0]);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  (void)!::write(gop[1], "g", 1);
  ::close(gop[1]);
  return childStarted(errp[0], pid, error) ? pid : -1;
}

pid_t execInContainer(const LaunchSpec& spec, pid_t target_pid, const std::vector<LaunchCgroup>& cgroups,
                      const std::vector<std::string>& argv, const LaunchIo& io, const std::string& pid_file,
                      std::string& error) {
  if (argv.empty()) {
    error = "exec: empty command";
    return -1;
  }
  std::vector<sock_filter> filter;
  if (!compileFilter(spec, filter, error)) return -1;
  // Open every namespace first (the mount namespace changes what /proc is).
  static const struct {
    const char* name;
    int type;
  } kNs[] = {{"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID},
             {"mnt", CLONE_NEWNS}};
  int fds[5];
  for (int i = 0; i < 5; ++i) {
    std::string p = "/proc/" + std::to_string(target_pid) + "/ns/" + kNs[i].name;
    fds[i] = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) {
      error = "open " + p + ": " + std::strerror(errno);
      for (int j = 0; j < i; ++j) ::close(fds[j]);
      return -1;
    }
  }
  int errp[2], pidp[2];
  if (::pipe2(errp, O_CLOEXEC) != 0 || ::pipe2(pidp, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  // The cgroups are joined by the caller before the fork (so the program
  // is charged to the container from its first page); the namespaces by
  // the child (a pid namespace applies to children only, hence the fork).
  joinCgroups(cgroups, ::getpid(), error);
  if (!error.empty()) return -1;
  pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    int err_fd = errp[1];
    ::close(errp[0]);
    ::close(pidp[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    for (int i = 0; i < 5; ++i) {
      if (::setns(fds[i], kNs[i].type) != 0) die(err_fd, std::string("join ") + kNs[i].name + " namespace", errno);
    }
    // setns of the pid namespace applies to our children: fork once more
    // so the program is inside it, and wait for it as its parent.
    pid_t inner = ::fork();
    if (inner < 0) die(err_fd, "fork", errno);
    if (inner == 0) {
      resetSignals();
      setStdio(io, err_fd);
      becomeProcess(spec, argv, err_fd, filter);
    }
    ::close(err_fd);
    // Who to kill on a timeout: the program itself (its host pid). The
    // pid file is a host path, not visible in the container's mount
    // namespace we are in now: the parent writes it.
    (void)!::write(pidp[1], &inner, sizeof inner);
    ::close(pidp[1]);
    int status = 0;
    while (::waitpid(inner, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    _exit(128 + WTERMSIG(status));
  }
  for (int i = 0; i < 5; ++i) ::close(fds[i]);
  ::close(errp[1]);
  ::close(pidp[1]);
  pid_t inner = 0;
  bool has_inner = ::read(pidp[0], &inner, sizeof inner) == sizeof inner;
  ::close(pidp[0]);
  if (has_inner && !pid_file.empty()) {
    int fd = ::open(pid_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      std::string text = std::to_string(inner) + "\n";
      (void)!::write(fd, text.data(), text.size());
      ::close(fd);
    }
  }
  return childStarted(errp[0], pid, error) ? pid : -1;
}

}  // namespace berth::agent::runtime
