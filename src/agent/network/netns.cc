#include "agent/network/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace berth::agent::net {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(std::exchange(other.fd_, -1));
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

bool isNetnsFd(int fd) {
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0 || fs.f_type != NSFS_MAGIC) return false;
  return ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;
}

namespace {

Result<UniqueFd> openCurrentNetns() {
  int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failErrno("open /proc/thread-self/ns/net", errno);
  return UniqueFd(fd);
}

[[noreturn]] void abortRestore(int err) {
  std::fprintf(stderr, "berth: cannot return to the original network namespace: %s\n", std::strerror(err));
  std::abort();
}

}  // namespace

Result<ScopedNetnsEnter> ScopedNetnsEnter::enter(int netns_fd) {
  UniqueFd saved = BERTH_TRY(openCurrentNetns());
  if (setns(netns_fd, CLONE_NEWNET) != 0) return failErrno("setns", errno);
  return ScopedNetnsEnter(std::move(saved));
}

ScopedNetnsEnter::~ScopedNetnsEnter() {
  if (saved_ && setns(saved_.get(), CLONE_NEWNET) != 0) abortRestore(errno);
}

Result<NetnsHandle> LinuxNetns::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(ErrorCode::kNotFound, "no network namespace at " + path.string());
    return failErrno("open " + path.string(), errno);
  }
  UniqueFd owned(fd);
  // An empty file left by a crash between create and mount is not a netns.
  if (!isNetnsFd(fd)) return fail(ErrorCode::kNotFound, path.string() + " is not a network namespace mount");
  return NetnsHandle{path, std::move(owned)};
}

Result<NetnsHandle> LinuxNetns::create(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return failErrno("create " + path.parent_path().string(), ec.value());

  int file = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (file < 0) {
    if (errno != EEXIST) return failErrno("create " + path.string(), errno);
    if (open(path)) return fail(ErrorCode::kAlreadyExists, "a network namespace is already pinned at " + path.string());
    // A stale mount point from an interrupted create: reuse it.
  } else {
    ::close(file);
  }

  // unshare() acts on the calling thread only; the new namespace is pinned by
  // the bind mount, then the thread goes back where it was.
  UniqueFd saved = BERTH_TRY(openCurrentNetns());
  if (unshare(CLONE_NEWNET) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return failErrno("unshare(CLONE_NEWNET)", err);
  }
  int mount_err = 0;
  if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) mount_err = errno;
  if (setns(saved.get(), CLONE_NEWNET) != 0) abortRestore(errno);
  if (mount_err != 0) {
    ::unlink(path.c_str());
    return failErrno("bind mount netns at " + path.string(), mount_err);
  }
  return open(path);
}

Status LinuxNetns::remove(const std::filesystem::path& path) {
  // Detach every mount stacked on the path (a double create would stack two).
  for (int i = 0; i < 16; ++i) {
    if (umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EINVAL || errno == ENOENT) break;  // not a mount point (any more), or gone
    return failErrno("umount " + path.string(), errno);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return failErrno("unlink " + path.string(), errno);
  return {};
}

Result<pid_t> spawnInNetns(int netns_fd, const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return fail(ErrorCode::kInvalidArgument, "spawnInNetns needs an absolute program path");
  }
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return failErrno("fork", errno);
  if (pid == 0) {
    if (setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace berth::agent::net
