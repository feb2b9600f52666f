#include "agent/runtime/monitor.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "agent/runtime/exit_file.h"
#include "agent/runtime/launcher.h"
#include "agent/runtime/log_format.h"

// Deliberately plain POSIX: this process exists once per container and must
// stay far below 1 MB of PSS, so no iostreams, no threads, no allocation
// beyond a few strings.

namespace berth::agent::runtime {
namespace {

// --runtime native: berth's own launcher (launcher.h) instead of an OCI
// runtime binary.
constexpr const char* kNativeRuntime = "native";

struct Args {
  std::string dir, runtime, root, id, log, oom_file, pid_file;
  std::vector<LaunchCgroup> cgroups;  // --cgroup <controller>=<dir> (native)
  int sync_fd = -1;
  int target_pid = 0;  // exec: the container's init
};

bool addCgroup(const std::string& v, Args& a) {
  size_t eq = v.find('=');
  if (eq == std::string::npos) return false;
  a.cgroups.push_back({v.substr(0, eq), v.substr(eq + 1)});
  return true;
}

bool readSpec(const std::string& dir, LaunchSpec& spec, std::string& error);

void writeAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // the log disk failed; nothing better to do than go on reaping
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
}

std::string readSmallFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

void diag(const Args& a, const std::string& msg) {
  std::string path = a.dir + "/monitor.err";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string line = msg + "\n";
  writeAll(fd, line.data(), line.size());
  ::close(fd);
}

void sendSync(Args& a, const std::string& msg) {
  if (a.sync_fd < 0) return;
  std::string line = msg + "\n";
  writeAll(a.sync_fd, line.data(), line.size());
  ::close(a.sync_fd);
  a.sync_fd = -1;
}

// The last "msg" of the OCI runtime's log (its JSON log lines), for the
// start error; falls back to the last line.
std::string runtimeError(const Args& a, int status) {
  std::string log = readSmallFile(a.dir + "/runtime.log");
  std::string last;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t nl = log.find('\n', pos);
    if (nl == std::string::npos) nl = log.size();
    std::string line = log.substr(pos, nl - pos);
    if (line.find("\"level\":\"error\"") != std::string::npos || line.find("level=error") != std::string::npos) {
      size_t m = line.find("\"msg\":\"");
      size_t end = m == std::string::npos ? std::string::npos : line.find("\",\"", m + 7);
      if (m == std::string::npos)
        last = line;
      else
        last = line.substr(m + 7, end == std::string::npos ? std::string::npos : end - (m + 7));
    }
    pos = nl + 1;
  }
  if (last.empty())
    last = "OCI runtime exited with status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  for (char& c : last)
    if (c == '\n') c = ' ';
  return last;
}

bool oomKilled(const Args& a) {
  if (a.oom_file.empty()) return false;
  std::string s = readSmallFile(a.oom_file);
  size_t k = s.find("oom_kill ");
  return k != std::string::npos && std::atoll(s.c_str() + k + 9) > 0;
}

WallTime wallNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return WallTime(std::chrono::microseconds(int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000));
}

int parseArgs(int argc, char** argv, Args& a) {
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--dir")
      a.dir = v;
    else if (k == "--runtime")
      a.runtime = v;
    else if (k == "--root")
      a.root = v;
    else if (k == "--id")
      a.id = v;
    else if (k == "--log")
      a.log = v;
    else if (k == "--oom-file")
      a.oom_file = v;
    else if (k == "--sync-fd")
      a.sync_fd = std::atoi(v.c_str());
    else if (k == "--cgroup" && addCgroup(v, a))
      continue;
    else
      return -1;
  }
  return a.dir.empty() || a.runtime.empty() || a.id.empty() || a.log.empty() ? -1 : 0;
}

// The wait status of some exited child without reaping it; 0 when none.
pid_t peekChild(int* status) {
  siginfo_t info{};
  if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return 0;
  *status = info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0) : W_EXITCODE(0, info.si_status);
  return info.si_pid;
}

struct Stream {
  const char* name;
  int fd;
};

// Reads what is available on a stream and appends records to the log.
// Returns false at EOF.
bool pump(Stream& s, int log_fd, std::string& buf) {
  char chunk[16384];
  ssize_t n = ::read(s.fd, chunk, sizeof chunk);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  buf.clear();
  appendLogRecords(buf, s.name, std::string_view(chunk, static_cast<size_t>(n)), ts);
  writeAll(log_fd, buf.data(), buf.size());
  return true;
}

// Detach: a new session, and the starter's child exits at once, so the
// monitor is nobody's child and outlives its starter.
bool detach() {
  if (::setsid() < 0 && errno != EPERM) return false;
  pid_t p = ::fork();
  if (p < 0) return false;
  if (p > 0) _exit(0);
  return true;
}

int runMonitor(Args a) {
  // The paths below must not depend on the working directory we change to.
  for (std::string* path : {&a.dir, &a.log}) {
    if (path->empty() || (*path)[0] == '/') continue;
    char* real = ::realpath(path == &a.dir ? path->c_str() : ".", nullptr);
    if (!real) {
      sendSync(a, std::string("err realpath ") + *path + ": " + std::strerror(errno));
      return 1;
    }
    *path = path == &a.dir ? std::string(real) : std::string(real) + "/" + *path;
    ::free(real);
  }
  // Where recover() recognises a monitor that was a spare (its command line
  // does not name the container).
  if (::chdir(a.dir.c_str()) != 0) {
    sendSync(a, std::string("err chdir ") + a.dir + ": " + std::strerror(errno));
    return 1;
  }
  // The sync pipe must not leak into the OCI runtime or the container.
  if (a.sync_fd >= 0) ::fcntl(a.sync_fd, F_SETFD, FD_CLOEXEC);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  std::string pid_text = std::to_string(::getpid()) + "\n";
  writeFileAtomically(a.dir + "/monitor.pid", pid_text, /*durable=*/false);

  int log_fd = ::open(a.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    sendSync(a, std::string("err cannot open log file ") + a.log + ": " + std::strerror(errno));
    return 1;
  }
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    sendSync(a, std::string("err pipe: ") + std::strerror(errno));
    return 1;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  std::string bundle = a.dir + "/bundle";
  std::string pidfile = a.dir + "/container.pid";
  std::string rtlog = a.dir + "/runtime.log";
  pid_t container_pid = -1;
  bool runtime_done = false;
  pid_t runtime_pid = -1;
  if (a.runtime == kNativeRuntime) {
    LaunchSpec spec;
    std::string error;
    pid_t pid = -1;
    if (readSpec(a.dir, spec, error)) {
      int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      pid = launchContainer(spec, a.cgroups, LaunchIo{devnull, out[1], err[1]}, error);
      ::close(devnull);
    }
    if (pid < 0) {
      diag(a, "start failed: " + error);
      for (char& c : error)
        if (c == '\n') c = ' ';
      sendSync(a, "err " + error);
      return 1;
    }
    writeFileAtomically(pidfile, std::to_string(pid) + "\n", /*durable=*/false);
    container_pid = pid;
    runtime_done = true;
    sendSync(a, "ok " + std::to_string(pid));
  }
  // The monitor lives as long as its container: give back what parsing
  // and launching used.
  ::malloc_trim(0);
  std::vector<const char*> rargv = {a.runtime.c_str(), "--root",     a.root.c_str(),  "--log",      rtlog.c_str(),
                                    "--log-format",    "json",       "run",           "--detach",   "--bundle",
                                    bundle.c_str(),    "--pid-file", pidfile.c_str(), a.id.c_str(), nullptr};
  if (a.root.empty()) rargv.erase(rargv.begin() + 1, rargv.begin() + 3);
  if (!runtime_done) runtime_pid = ::fork();
  if (runtime_pid < 0 && !runtime_done) {
    sendSync(a, std::string("err fork: ") + std::strerror(errno));
    return 1;
  }
  if (runtime_pid == 0) {
    ::sigprocmask(SIG_UNBLOCK, &mask, nullptr);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(rargv[0], const_cast<char* const*>(rargv.data()));
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);

  Stream streams[2] = {{"stdout", out[0]}, {"stderr", err[0]}};
  bool open_streams[2] = {true, true};
  std::string buf;
  bool container_done = false;
  int container_status = 0;
  int64_t drain_deadline_ms = -1;            // after the container exits, wait at most this long for EOF
  std::vector<std::pair<pid_t, int>> early;  // reaped before the pid file was read

  while (!(container_done && !open_streams[0] && !open_streams[1]) && !(runtime_done && container_pid < 0)) {
    pollfd fds[3];
    int nfds = 0;
    fds[nfds++] = {sfd, POLLIN, 0};
    int idx[2] = {-1, -1};
    for (int i = 0; i < 2; ++i) {
      if (open_streams[i]) {
        idx[i] = nfds;
        fds[nfds++] = {streams[i].fd, POLLIN, 0};
      }
    }
    int timeout = drain_deadline_ms >= 0 ? 2000 : -1;
    int r = ::poll(fds, static_cast<nfds_t>(nfds), timeout);
    if (r < 0 && errno != EINTR) break;
    if (r == 0 && container_done) break;  // a leaked writer keeps a pipe open; stop waiting
    for (int i = 0; i < 2; ++i) {
      if (idx[i] >= 0 && (fds[idx[i]].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (!pump(streams[i], log_fd, buf)) {
          open_streams[i] = false;
          ::close(streams[i].fd);
        }
      }
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) > 0) {
      }
      int status;
      pid_t w;
      // Peek before reaping: the container stays a zombie (its pid reserved)
      // until exit.json is written, so a pidfd berthd opens for that pid
      // can never name a recycled process.
      while (!container_done && (w = peekChild(&status)) > 0) {
        if (w == container_pid) {
          container_done = true;
          container_status = status;
          drain_deadline_ms = 2000;
          break;
        }
        ::waitpid(w, &status, 0);
        if (w == runtime_pid) {
          runtime_done = true;
          if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            container_pid = std::atoi(readSmallFile(pidfile).c_str());
            if (container_pid <= 0) {
              sendSync(a, "err OCI runtime wrote no pid file");
              container_pid = -1;
            } else {
              sendSync(a, "ok " + std::to_string(container_pid));
              for (auto [pid, st] : early) {
                if (pid == container_pid) {
                  container_done = true;
                  container_status = st;
                  drain_deadline_ms = 2000;
                }
              }
              siginfo_t info{};
              if (!container_done &&
                  ::waitid(P_PID, static_cast<id_t>(container_pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 &&
                  errno == ECHILD) {
                // Not ours: something reaped the container before the runtime
                // handed it over. Its status is lost; do not wait forever.
                diag(a, "the container exited before the OCI runtime handed it over; exit status unknown");
                container_done = true;
                container_status = 255 << 8;
                drain_deadline_ms = 2000;
              }
            }
          } else {
            std::string msg = runtimeError(a, status);
            diag(a, "start failed: " + msg);
            sendSync(a, "err " + msg);
          }
        } else if (!runtime_done) {
          early.emplace_back(w, status);
        }
      }
    }
  }
  if (container_pid < 0) return 1;  // never started; no exit.json (the starter knows)

  // Drain anything left in the pipes without blocking.
  for (int i = 0; i < 2; ++i) {
    if (!open_streams[i]) continue;
    ::fcntl(streams[i].fd, F_SETFL, O_NONBLOCK);
    while (pump(streams[i], log_fd, buf)) {
      pollfd pf{streams[i].fd, POLLIN, 0};
      if (::poll(&pf, 1, 0) <= 0) break;
    }
  }
  ::close(log_fd);

  ExitStatus st = decodeWaitStatus(container_status, oomKilled(a));
  st.exited_at = wallNow();
  int e = writeFileAtomically(a.dir + "/exit.json", encodeExitStatus(st));
  if (e != 0) diag(a, std::string("cannot write exit.json: ") + std::strerror(e));
  ::waitpid(container_pid, &container_status, 0);  // now release the pid
  return e == 0 ? 0 : 1;
}

bool readSpec(const std::string& dir, LaunchSpec& spec, std::string& error) {
  std::string path = dir + "/bundle/config.json";
  std::string text = readSmallFile(path);
  if (text.empty()) {
    error = "cannot read " + path;
    return false;
  }
  return parseLaunchSpec(text, spec, error);
}

// --- exec (native) ---

int runExec(int argc, char** argv) {
  Args a;
  int i = 2;
  for (; i + 1 < argc && std::strcmp(argv[i], "--") != 0; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      a.dir = v;
    else if (k == "--pid")
      a.target_pid = std::atoi(v.c_str());
    else if (k == "--pid-file")
      a.pid_file = v;
    else if (k == "--cgroup" && addCgroup(v, a))
      continue;
    else
      return -1;
  }
  if (i >= argc || std::strcmp(argv[i], "--") != 0 || i + 1 >= argc || a.dir.empty() || a.target_pid <= 0) return -1;
  std::vector<std::string> command(argv + i + 1, argv + argc);
  LaunchSpec spec;
  std::string error;
  pid_t pid = -1;
  if (readSpec(a.dir, spec, error)) pid = execInContainer(spec, a.target_pid, a.cgroups, command, LaunchIo{0, 1, 2}, a.pid_file, error);
  if (pid < 0) {
    std::fprintf(stderr, "berth-monitor exec: %s\n", error.c_str());
    return 126;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// --- init ---

volatile sig_atomic_t g_unused = 0;
void noteSignal(int) { g_unused = 1; }

int runInit(int argc, char** argv) {
  int first = 2;
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    std::fprintf(stderr, "berth init: no command\n");
    return 127;
  }
  // As pid 1 of a pid namespace, signals with the default action are dropped
  // by the kernel; install a handler so they arrive, and take them with
  // sigwaitinfo.
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  struct sigaction sa {};
  sa.sa_handler = noteSignal;
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    ::sigaction(s, &sa, nullptr);
  }
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("berth init: fork");
    return 127;
  }
  if (child == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) {
      if (s == SIGKILL || s == SIGSTOP) continue;
      ::sigaction(s, &dfl, nullptr);
    }
    ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
    ::setpgid(0, 0);
    ::execvp(argv[first], argv + first);
    std::fprintf(stderr, "berth init: exec %s: %s\n", argv[first], std::strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  while (true) {
    siginfo_t si;
    int sig = ::sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(child, sig);
      continue;
    }
    int status;
    pid_t w;
    while ((w = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (w != child) continue;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
  }
}

}  // namespace

// A spare: started (and detached) ahead of need, it waits on fd 3 (a
// socket) for the arguments of `run`, NUL-separated, until the starter shuts
// its side for writing; then it is that monitor, answering on the same
// socket. EOF without arguments (berthd went away or has spares enough):
// exit quietly.
int runSpare() {
  if (!detach()) return 1;
  constexpr int kSocket = 3;
  std::string text;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(kSocket, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  if (text.empty()) return 0;
  std::vector<std::string> args = {"berth-monitor"};
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::vector<char*> argv;
  for (auto& x : args) argv.push_back(x.data());
  Args a;
  if (args.size() < 2 || args[1] != "run" || parseArgs(static_cast<int>(argv.size()), argv.data(), a) != 0 ||
      a.sync_fd != kSocket) {
    const char msg[] = "err berth-monitor spare: bad arguments\n";
    (void)!::write(kSocket, msg, sizeof msg - 1);
    return 2;
  }
  return runMonitor(std::move(a));
}

int monitorMain(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "init") == 0) return runInit(argc, argv);
  if (argc == 2 && std::strcmp(argv[1], "spare") == 0) return runSpare();
  if (argc >= 2 && std::strcmp(argv[1], "exec") == 0) {
    int rc = runExec(argc, argv);
    if (rc >= 0) return rc;
    std::fprintf(stderr, "usage: berth-monitor exec --dir D --pid PID [--pid-file F] [--cgroup C=DIR]... -- ARGV...\n");
    return 2;
  }
  Args a;
  if (argc < 2 || std::strcmp(argv[1], "run") != 0 || parseArgs(argc, argv, a) != 0) {
    std::fprintf(stderr,
                 "usage: berth-monitor run --dir D --runtime R|native --root ROOT --id ID --log FILE [--oom-file F] "
                 "[--sync-fd N] [--cgroup C=DIR]...\n"
                 "       berth-monitor exec --dir D --pid PID [--pid-file F] [--cgroup C=DIR]... -- ARGV...\n"
                 "       berth-monitor spare   (run's arguments, NUL-separated, arrive on fd 3)\n"
                 "       berth-monitor init -- ARGV...\n");
    return 2;
  }
  if (!detach()) return 1;
  return runMonitor(std::move(a));
}

}  // namespace berth::agent::runtime
