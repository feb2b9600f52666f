#include "agent/runtime/exit_file.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace berth::agent::runtime {

ExitStatus decodeWaitStatus(int wait_status, bool oom_killed) {
  ExitStatus s;
  s.oom_killed = oom_killed;
  if (WIFEXITED(wait_status)) {
    s.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    s.signal = WTERMSIG(wait_status);
    s.exit_code = 128 + s.signal;
  }
  return s;
}

std::string encodeExitStatus(const ExitStatus& s) {
  char buf[160];
  int64_t us = s.exited_at.time_since_epoch().count();
  int n = std::snprintf(buf, sizeof buf,
                        "{\"exit_code\":%d,\"signal\":%d,\"oom_killed\":%s,\"exited_at_us\":%" PRId64 "}\n",
                        s.exit_code, s.signal, s.oom_killed ? "true" : "false", us);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

std::optional<ExitStatus> decodeExitStatus(std::string_view text) {
  std::string t(text);
  int code = 0, sig = 0;
  char oom[8] = {};
  int64_t us = 0;
  if (std::sscanf(t.c_str(), "{\"exit_code\":%d,\"signal\":%d,\"oom_killed\":%5[a-z],\"exited_at_us\":%" SCNd64 "}",
                  &code, &sig, oom, &us) != 4)
    return std::nullopt;
  ExitStatus s;
  s.exit_code = code;
  s.signal = sig;
  s.oom_killed = std::strcmp(oom, "true") == 0;
  s.exited_at = WallTime(std::chrono::microseconds(us));
  return s;
}

int writeFileAtomically(const std::string& path, std::string_view data, bool durable) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return err;
    }
    off += static_cast<size_t>(n);
  }
  if (durable && ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno;
  if (!durable) return 0;
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return 0;
}

}  // namespace berth::agent::runtime
