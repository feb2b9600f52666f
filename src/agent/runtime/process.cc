#include "agent/runtime/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace berth::agent::runtime {

int openPidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

Result<pid_t> spawnProcess(const std::vector<std::string>& argv, const SpawnOptions& o) {
  if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "spawn: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  auto stdio = [&](int fd, int target, int flags) {
    if (fd >= 0) {
      posix_spawn_file_actions_adddup2(&fa, fd, target);
    } else {
      posix_spawn_file_actions_addopen(&fa, target, "/dev/null", flags, 0);
    }
  };
  stdio(o.stdin_fd, 0, O_RDONLY);
  stdio(o.stdout_fd, 1, O_WRONLY);
  stdio(o.stderr_fd, 2, O_WRONLY);
  int first_closed = 3;
  if (o.pass_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, o.pass_fd, 3);
    first_closed = 4;
  }
  // Nothing else of berthd leaks into the child (sockets, other pipes).
  posix_spawn_file_actions_addclosefrom_np(&fa, first_closed);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  sigaddset(&def, SIGCHLD);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return failErrno("spawn " + argv[0], rc);
  return pid;
}

Result<std::optional<int>> waitChild(pid_t pid, std::chrono::milliseconds timeout) {
  int pfd = openPidfd(pid);
  if (pfd >= 0) {
    pollfd p{pfd, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (r < 0 && errno == EINTR);
    ::close(pfd);
    if (r == 0) return std::optional<int>{};
  }
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  if (w < 0) return failErrno("waitpid", errno);
  return std::optional<int>(status);
}

Result<RunOutput> runProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return failErrno("pipe", errno);
  SpawnOptions o;
  o.stderr_fd = p[1];
  auto pid = spawnProcess(argv, o);
  ::close(p[1]);
  if (!pid) {
    ::close(p[0]);
    return std::unexpected(pid.error());
  }
  RunOutput out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pf{p[0], POLLIN, 0};
    int r = ::poll(&pf, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    if (out.err.size() < 65536) out.err.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  auto st = BERTH_TRY(waitChild(*pid, std::max(left, std::chrono::milliseconds(1))));
  if (!st) {
    ::kill(*pid, SIGKILL);
    (void)waitChild(*pid, std::chrono::seconds(5));
    return fail(ErrorCode::kResourceExhausted, argv[0] + " timed out");
  }
  out.status = *st;
  return out;
}

}  // namespace berth::agent::runtime
