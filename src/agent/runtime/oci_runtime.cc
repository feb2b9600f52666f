#include "agent/runtime/oci_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "agent/runtime/exit_file.h"
#include "agent/runtime/layout.h"
#include "agent/runtime/process.h"
#include "agent/runtime/spec.h"
#include "common/json.h"

namespace berth::agent::runtime {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string key(const ContainerRef& r) { return r.task_id + "/" + r.name; }

std::string readText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Start-path files need to survive a berthd crash, not a power loss (the
// container would not survive that either): no fsync.
Status writeText(const fs::path& p, const std::string& text) {
  int e = writeFileAtomically(p.string(), text, /*durable=*/false);
  if (e != 0) return failErrno("write " + p.string(), e);
  return {};
}

bool validName(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

WallTime wallNow() { return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()); }

// Is `pid` a berth-monitor supervising `runtime_id` in `dir`? Guards
// against pid reuse after a restart. A monitor that started as a spare has
// no id on its command line; it works in its container's directory.
bool isMonitorFor(pid_t pid, const std::string& runtime_id, const fs::path& dir) {
  fs::path proc = fs::path("/proc") / std::to_string(pid);
  std::string cmd = readText(proc / "cmdline");
  std::replace(cmd.begin(), cmd.end(), '\0', ' ');
  if (cmd.find("berth-monitor") == std::string::npos) return false;
  if (cmd.find(" " + runtime_id + " ") != std::string::npos) return true;
  std::error_code ec;
  return fs::equivalent(fs::read_symlink(proc / "cwd", ec), dir, ec);
}

std::optional<ExitStatus> readExit(const fs::path& dir) {
  std::string t = readText(dir / layout::kExitFile);
  if (t.empty()) return std::nullopt;
  return decodeExitStatus(t);
}

Error startError(std::string msg) {
  return Error{ErrorCode::kFailedPrecondition, std::move(msg), "CannotStartContainerError", 0};
}

// Whether `pid` runs the container's program and has a handler installed
// for `sig` (the SigCgt mask of /proc/<pid>/status). False when it cannot be
// read.
bool catchesSignal(int pid, int sig) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    // "Name: runc:[2:INIT]": still the OCI runtime's init, before its execve
    // of the container's program; its (Go) handlers do not count, and a
    // signal it catches is lost to the program.
    // berth's launcher names its child "berth:[init]" until the execve.
    if (line.starts_with("Name:") &&
        (line.find("runc:[") != std::string::npos || line.find("berth:[init]") != std::string::npos))
      return false;
    if (!line.starts_with("SigCgt:")) continue;
    uint64_t mask = std::strtoull(line.c_str() + 7, nullptr, 16);
    return (mask >> (sig - 1)) & 1u;
  }
  return false;
}

}  // namespace

OciRuntime::OciRuntime(RuntimeOptions options, CgroupVersion version)
    : options_(std::move(options)), cgroups_(options_.cgroup_root, version, options_.cgroup_parent) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  refill_ = options_.spare_monitors > 0;  // the watcher starts the first spares
  if (refill_) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  watcher_ = std::thread([this] { watcherLoop(); });
}

OciRuntime::~OciRuntime() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  watcher_.join();
  for (auto& [k, w] : watched_) {
    ::close(w.monitor_pidfd);
    if (w.container_pidfd >= 0) ::close(w.container_pidfd);
  }
  for (int fd : spares_) ::close(fd);  // EOF: the spares exit
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void OciRuntime::setExitCallback(ExitCallback callback) {
  std::lock_guard lock(mu_);
  callback_ = std::move(callback);
}

fs::path OciRuntime::dirOf(const ContainerRef& ref) const {
  return layout::containerDir(options_.data_dir, ref.task_id, ref.name);
}

fs::path OciRuntime::logPath(const ContainerRef& ref) const { return dirOf(ref) / layout::kLogFile; }

std::vector<std::string> OciRuntime::runtimeArgv(std::initializer_list<std::string> rest) const {
  std::vector<std::string> v = {options_.runtime_binary.string(), "--root", options_.runtime_root.string()};
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

Status OciRuntime::createTaskCgroup(const TaskLimits& limits) { return cgroups_.create(limits); }
Status OciRuntime::removeTaskCgroup(const std::string& task_id) { return cgroups_.remove(task_id); }
Result<TaskStats> OciRuntime::taskStats(const std::string& task_id) const { return cgroups_.stats(task_id); }
Result<TaskStats> OciRuntime::containerStats(const ContainerRef& ref) const {
  return cgroups_.stats(ref.task_id + "/" + ref.name);
}

Result<StartedContainer> OciRuntime::start(const ContainerConfig& config) {
  if (!validName(config.task_id) || !validName(config.name) || !validName(config.runtime_id))
    return fail(ErrorCode::kInvalidArgument, "task id, container name and runtime id must match [A-Za-z0-9_.-]+");
  ContainerRef ref{config.task_id, config.name};
  {
    std::lock_guard lock(mu_);
    if (watched_.contains(key(ref)) || !starting_.insert(key(ref)).second)
      return fail(ErrorCode::kAlreadyExists, "container " + key(ref) + " is running");
  }
  struct StartingGuard {
    OciRuntime* self;
    std::string k;
    ~StartingGuard() {
      std::lock_guard lock(self->mu_);
      self->starting_.erase(k);
    }
  } guard{this, key(ref)};
  fs::path dir = dirOf(ref);
  std::error_code ec;
  if (fs::exists(dir / layout::kRuntimeIdFile, ec))
    return fail(ErrorCode::kAlreadyExists, "container " + key(ref) + " exists; remove() it first");
  fs::create_directories(dir / layout::kBundleDir, ec);
  if (ec) return failErrno("mkdir " + dir.string(), ec.value());
  fs::create_directories(options_.runtime_root, ec);
  for (const char* f : {layout::kExitFile, layout::kMonitorPidFile, layout::kContainerPidFile, "runtime.log"})
    fs::remove(dir / f, ec);

  auto user = resolveUserInRootfs(config.user, config.rootfs);
  if (!user) return std::unexpected(startError(user.error().message));
  SpecInputs in;
  in.user = *user;
  in.cgroups_path = cgroups_.containerCgroupsPath(config.task_id, config.name);
  if (config.init_process_enabled) in.init_binary = options_.monitor_binary;
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max != RLIM_INFINITY) in.max_nofile = nofile.rlim_max;
  auto spec = makeOciSpec(config, in);
  if (!spec) return std::unexpected(startError(spec.error().message));
  BERTH_TRY(writeText(dir / layout::kBundleDir / "config.json", json::serialize(*spec)));
  BERTH_TRY(writeText(dir / layout::kRuntimeIdFile, config.runtime_id + "\n"));

  fs::path log = config.log_path.empty() ? dir / layout::kLogFile : config.log_path;
  std::vector<std::string> argv = {options_.monitor_binary.string(), "run", "--dir", dir.string()};
  if (native()) {
    // berth's launcher joins cgroups it is given; it does not make them.
    ContainerLimits limits{config.cpu_shares, config.memory_mib, config.memory_reservation_mib};
    auto dirs = cgroups_.createContainer(config.task_id, config.name, limits);
    if (!dirs) return std::unexpected(startError(dirs.error().message));
    argv.insert(argv.end(), {"--runtime", "native"});
    for (const auto& d : *dirs) argv.insert(argv.end(), {"--cgroup", d.controller + "=" + d.dir.string()});
  } else {
    argv.insert(argv.end(),
                {"--runtime", options_.runtime_binary.string(), "--root", options_.runtime_root.string()});
  }
  argv.insert(argv.end(), {"--id", config.runtime_id, "--log", log.string(), "--oom-file",
                           cgroups_.containerOomFile(config.task_id, config.name).string(), "--sync-fd", "3"});
  // A spare monitor takes the arguments (NUL-separated) on its socket and
  // answers on it; without one (or if it is gone), spawn a monitor.
  int sync[2] = {takeSpare(), -1};
  if (sync[0] >= 0) {
    std::string text;
    for (size_t i = 1; i < argv.size(); ++i) text += argv[i] + '\0';
    bool sent = ::send(sync[0], text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()) &&
                ::shutdown(sync[0], SHUT_WR) == 0;
    if (!sent) {
      ::close(sync[0]);
      sync[0] = -1;
    }
  }
  if (sync[0] < 0) {
    if (::pipe2(sync, O_CLOEXEC) != 0) return failErrno("pipe", errno);
    SpawnOptions so;
    so.pass_fd = sync[1];
    auto child = spawnProcess(argv, so);
    ::close(sync[1]);
    if (!child) {
      ::close(sync[0]);
      return std::unexpected(child.error());
    }
    // The direct child only detaches the real monitor and exits.
    (void)waitChild(*child, 10s);
  }

  std::string reply;
  char buf[1024];
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (reply.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{sync[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = ::read(sync[0], buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(sync[0]);
  reply = trim(reply);
  if (!reply.starts_with("ok ")) {
    std::string msg =
        reply.starts_with("err ") ? reply.substr(4) : "berth-monitor exited without starting the container";
    return std::unexpected(startError(msg));
  }
  Watched w;
  w.ref = ref;
  w.runtime_id = config.runtime_id;
  w.container_pid = std::atoi(reply.c_str() + 3);
  int monitor_pid = std::atoi(readText(dir / layout::kMonitorPidFile).c_str());
  w.monitor_pidfd = monitor_pid > 0 ? openPidfd(monitor_pid) : -1;
  // The container is the monitor's unreaped child until the monitor writes
  // exit.json, so this pidfd names the right process (or fails: exited).
  w.container_pidfd = openPidfd(w.container_pid);
  StartedContainer started{w.container_pid, wallNow()};
  watch(std::move(w));
  return started;
}

void OciRuntime::watch(Watched w) {
  std::string k = key(w.ref);
  std::lock_guard lock(mu_);
  bool gone = w.monitor_pidfd < 0 || fs::exists(dirOf(w.ref) / layout::kExitFile);
  if (!gone) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    // Keys are looked up by pidfd number (unique while open).
    ev.data.u64 = static_cast<uint64_t>(w.monitor_pidfd) + 1;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, w.monitor_pidfd, &ev) != 0) gone = true;
  }
  watched_[k] = std::move(w);
  if (gone) {
    pending_.push_back(k);
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
}

void OciRuntime::watcherLoop() {
  epoll_event events[16];
  while (true) {
    int n = ::epoll_wait(epoll_fd_, events, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    std::vector<std::string> done;
    bool refill = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      refill = std::exchange(refill_, false);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == 0) {
          uint64_t v;
          (void)!::read(wake_fd_, &v, sizeof v);
          continue;
        }
        int fd = static_cast<int>(events[i].data.u64 - 1);
        for (auto& [k, w] : watched_)
          if (w.monitor_pidfd == fd) done.push_back(k);
      }
      done.insert(done.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    for (const auto& k : done) finish(k);
    if (refill) refillSpares();
  }
}

Result<int> OciRuntime::spawnSpare() const {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return failErrno("socketpair", errno);
  SpawnOptions so;
  so.pass_fd = sv[1];
  auto child = spawnProcess({options_.monitor_binary.string(), "spare"}, so);
  ::close(sv[1]);
  if (!child) {
    ::close(sv[0]);
    return std::unexpected(child.error());
  }
  (void)waitChild(*child, 10s);  // it only detaches the spare and exits
  return sv[0];
}

void OciRuntime::refillSpares() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || static_cast<int>(spares_.size()) >= options_.spare_monitors) return;
    }
    auto fd = spawnSpare();
    if (!fd) return;  // start() spawns monitors itself meanwhile
    std::lock_guard lock(mu_);
    spares_.push_back(*fd);
  }
}

int OciRuntime::takeSpare() {
  std::lock_guard lock(mu_);
  int fd = -1;
  if (!spares_.empty()) {
    fd = spares_.back();
    spares_.pop_back();
  }
  if (options_.spare_monitors > 0 && !refill_) {
    refill_ = true;
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  return fd;
}

void OciRuntime::finish(const std::string& k) {
  ExitCallback cb;
  ContainerRef ref;
  {
    std::lock_guard lock(mu_);
    auto it = watched_.find(k);
    if (it == watched_.end()) return;
    Watched& w = it->second;
    ref = w.ref;
    if (w.monitor_pidfd >= 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, w.monitor_pidfd, nullptr);
      ::close(w.monitor_pidfd);
    }
    if (w.container_pidfd >= 0) ::close(w.container_pidfd);
    watched_.erase(it);
    cb = callback_;
  }
  auto status = readExit(dirOf(ref));
  if (!status) {
    // The monitor died without recording an exit (killed from outside):
    // the exit code is unknown; report it as killed.
    status = ExitStatus{137, SIGKILL, false, wallNow()};
  }
  if (cb) cb(ref, *status);
  std::lock_guard lock(mu_);
  exited_cv_.notify_all();
}

Status OciRuntime::signal(const ContainerRef& ref, int sig) {
  if (sig != SIGKILL && sig != SIGSTOP) {
    // The kernel drops a signal to a pid namespace's init that has no
    // handler for it. A container's pid 1 that catches SIGTERM (an init, a
    // server) installs its handler only after exec, so a stop that comes
    // just after the start would be lost and cost the whole stopTimeout.
    // Give pid 1 a moment to install it; one that never catches the signal
    // gets it anyway after 1 s (and SIGKILL after stopTimeout, as on Docker).
    int pid = 0;
    {
      std::lock_guard lock(mu_);
      auto it = watched_.find(key(ref));
      if (it != watched_.end() && it->second.container_pidfd >= 0) pid = it->second.container_pid;
    }
    for (int i = 0; pid > 0 && i < 500 && !catchesSignal(pid, sig); ++i) ::usleep(2000);
  }
  std::lock_guard lock(mu_);
  auto it = watched_.find(key(ref));
  if (it == watched_.end()) {
    if (fs::exists(dirOf(ref) / layout::kExitFile)) return {};
    return fail(ErrorCode::kNotFound, "container " + key(ref) + " is not running");
  }
  int fd = it->second.container_pidfd;
  if (fd < 0) return {};  // exited, report pending
  if (::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) != 0 && errno != ESRCH)
    return failErrno("signal container " + key(ref), errno);
  return {};
}

Result<int> OciRuntime::exec(const ContainerRef& ref, const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout) {
  if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "exec: empty command");
  std::string runtime_id;
  int container_pid = 0;
  {
    std::lock_guard lock(mu_);
    auto it = watched_.find(key(ref));
    if (it == watched_.end()) return fail(ErrorCode::kNotFound, "container " + key(ref) + " is not running");
    runtime_id = it->second.runtime_id;
    container_pid = it->second.container_pid;
  }
  // A unique pid file per exec: health checks of one container may overlap.
  static std::atomic<uint64_t> seq{0};
  fs::path pidfile = dirOf(ref) / ("exec-" + std::to_string(::getpid()) + "-" + std::to_string(++seq) + ".pid");
  std::vector<std::string> cmd;
  if (native()) {
    cmd = {options_.monitor_binary.string(), "exec", "--dir", dirOf(ref).string(), "--pid",
           std::to_string(container_pid), "--pid-file", pidfile.string()};
    for (const auto& d : cgroups_.containerDirs(ref.task_id, ref.name))
      cmd.insert(cmd.end(), {"--cgroup", d.controller + "=" + d.dir.string()});
    cmd.push_back("--");
  } else {
    cmd = runtimeArgv({"exec", "--pid-file", pidfile.string(), runtime_id});
  }
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  auto pid = BERTH_TRY(spawnProcess(cmd));
  auto st = BERTH_TRY(waitChild(pid, timeout));
  std::error_code ec;
  if (!st) {
    int inner = std::atoi(readText(pidfile).c_str());
    if (inner > 0) ::kill(inner, SIGKILL);
    auto late = waitChild(pid, 5s);
    if (!late || !*late) {
      ::kill(pid, SIGKILL);
      (void)waitChild(pid, 5s);
    }
    fs::remove(pidfile, ec);
    return fail(ErrorCode::kResourceExhausted,
                "health check command timed out after " + std::to_string(timeout.count()) + " ms");
  }
  fs::remove(pidfile, ec);
  ExitStatus s = decodeWaitStatus(*st, false);
  return s.exit_code;
}

Status OciRuntime::remove(const ContainerRef& ref) {
  std::string k = key(ref);
  fs::path dir = dirOf(ref);
  {
    std::unique_lock lock(mu_);
    auto it = watched_.find(k);
    if (it != watched_.end() && it->second.container_pidfd >= 0)
      ::syscall(SYS_pidfd_send_signal, it->second.container_pidfd, SIGKILL, nullptr, 0);
    if (!exited_cv_.wait_for(lock, 10s, [&] { return !watched_.contains(k); }))
      return fail(ErrorCode::kFailedPrecondition, "container " + k + " did not exit after SIGKILL");
  }
  std::string runtime_id = trim(readText(dir / layout::kRuntimeIdFile));
  if (native()) {
    BERTH_TRY(cgroups_.removeContainer(ref.task_id, ref.name));
  } else if (!runtime_id.empty()) {
    auto out = runProcess(runtimeArgv({"delete", "--force", runtime_id}), 30s);
    if (!out) return std::unexpected(out.error());
    if (out->status != 0 && out->err.find("does not exist") == std::string::npos &&
        out->err.find("not exist") == std::string::npos)
      return fail(ErrorCode::kIo, "delete " + runtime_id + ": " + trim(out->err));
  }
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename() == layout::kLogFile) continue;
      fs::remove_all(e.path(), ec);
      if (ec) return failErrno("remove " + e.path().string(), ec.value());
    }
  }
  return {};
}

Result<std::vector<RecoveredContainer>> OciRuntime::recover() {
  std::vector<RecoveredContainer> out;
  std::error_code ec;
  fs::path tasks = options_.data_dir / "tasks";
  if (!fs::exists(tasks, ec)) return out;
  for (const auto& t : fs::directory_iterator(tasks, ec)) {
    fs::path cdir = t.path() / "containers";
    if (!fs::is_directory(cdir, ec)) continue;
    for (const auto& c : fs::directory_iterator(cdir, ec)) {
      std::string runtime_id = trim(readText(c.path() / layout::kRuntimeIdFile));
      if (runtime_id.empty()) continue;  // removed (only the log is left)
      RecoveredContainer r;
      r.ref = {t.path().filename().string(), c.path().filename().string()};
      r.runtime_id = runtime_id;
      {
        std::lock_guard lock(mu_);
        if (auto it = watched_.find(key(r.ref)); it != watched_.end()) {
          r.state = ContainerState::kRunning;
          r.pid = it->second.container_pid;
          out.push_back(r);
          continue;
        }
      }
      if (auto st = readExit(c.path())) {
        r.state = ContainerState::kExited;
        r.exit = st;
        out.push_back(r);
        continue;
      }
      int mpid = std::atoi(readText(c.path() / layout::kMonitorPidFile).c_str());
      int mfd = mpid > 0 ? openPidfd(mpid) : -1;
      if (mfd >= 0 && !isMonitorFor(mpid, runtime_id, c.path())) {
        ::close(mfd);
        mfd = -1;
      }
      if (mfd < 0) {
        // The monitor may have written exit.json and exited since we looked.
        if (auto st = readExit(c.path())) {
          r.state = ContainerState::kExited;
          r.exit = st;
        }
        out.push_back(r);
        continue;
      }
      Watched w;
      w.ref = r.ref;
      w.runtime_id = runtime_id;
      w.monitor_pidfd = mfd;
      w.container_pid = std::atoi(readText(c.path() / layout::kContainerPidFile).c_str());
      w.container_pidfd = w.container_pid > 0 ? openPidfd(w.container_pid) : -1;
      r.state = ContainerState::kRunning;
      r.pid = w.container_pid;
      watch(std::move(w));
      out.push_back(r);
    }
  }
  return out;
}

namespace {

std::optional<fs::path> findExecutable(const std::string& name) {
  for (const char* d : {"/usr/sbin/", "/usr/bin/", "/usr/local/sbin/", "/usr/local/bin/", "/sbin/", "/bin/"}) {
    fs::path p = fs::path(d) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir) / name;
    if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<ContainerRuntime>> makeOciRuntime(RuntimeOptions o) {
  if (o.data_dir.empty()) return fail(ErrorCode::kInvalidArgument, "runtime: no data dir");
  CgroupVersion v;
  if (o.cgroup_version) {
    v = *o.cgroup_version;
  } else {
    v = BERTH_TRY(detectCgroupVersion(o.cgroup_root));
  }
  // berth's launcher cannot confine devices on cgroup v2 yet: use runc there.
  if (o.kind == OciRuntimeKind::kNative && v == CgroupVersion::kV2) o.kind = OciRuntimeKind::kRunc;
  const char* name = o.kind == OciRuntimeKind::kCrun ? "crun" : "runc";
  if (o.kind == OciRuntimeKind::kNative) {
    name = "native";
  } else if (o.runtime_binary.empty()) {
    auto found = findExecutable(name);
    if (!found) {
      // Whichever exists: a cgroup-v2-only host may ship only crun (or runc).
      const char* other = o.kind == OciRuntimeKind::kCrun ? "runc" : "crun";
      found = findExecutable(other);
      if (!found)
        return fail(ErrorCode::kFailedPrecondition, std::string("no OCI runtime found (") + name + ", " + other + ")");
      name = other;
      o.kind = o.kind == OciRuntimeKind::kCrun ? OciRuntimeKind::kRunc : OciRuntimeKind::kCrun;
    }
    o.runtime_binary = *found;
  }
  if (o.kind != OciRuntimeKind::kNative && ::access(o.runtime_binary.c_str(), X_OK) != 0)
    return failErrno("OCI runtime " + o.runtime_binary.string(), errno);
  if (o.runtime_root.empty()) o.runtime_root = o.data_dir / "runtime" / name;
  if (o.monitor_binary.empty()) {
    std::error_code ec;
    o.monitor_binary = fs::read_symlink("/proc/self/exe", ec).parent_path() / "berth-monitor";
  }
  if (::access(o.monitor_binary.c_str(), X_OK) != 0)
    return failErrno("berth-monitor at " + o.monitor_binary.string(), errno);
  std::error_code ec;
  fs::create_directories(o.runtime_root, ec);
  if (ec) return failErrno("mkdir " + o.runtime_root.string(), ec.value());
  return std::unique_ptr<ContainerRuntime>(std::make_unique<OciRuntime>(std::move(o), v));
}

}  // namespace berth::agent::runtime
