// Network namespaces that outlive processes: each task's namespace is pinned
// by a bind mount of its nsfs file at `<data-dir>/tasks/<id>/netns`, so it
// exists before any container starts, survives a berthd restart (recover by
// opening the mount again) and goes away only when berth removes it.
//
// `NetnsOps` is the interface (LinuxNetns is the kernel, FakeNetnsOps in
// fake_netlink.h the test double). The helpers below it act on the calling
// thread.
//
// Threads: LinuxNetns is stateless and may be used from any thread; its
// calls block briefly (unshare, mount). create() switches the calling
// thread's network namespace for the duration of the call and switches back.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::agent::net {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A pinned network namespace: where it is mounted and an open fd of it
// (valid while the handle lives, usable as IFLA_NET_NS_FD or for setns).
struct NetnsHandle {
  std::filesystem::path path;
  UniqueFd fd;
};

class NetnsOps {
 public:
  virtual ~NetnsOps() = default;
  // A new, empty network namespace (only `lo`, down) pinned at `path`;
  // creates the parent directory. kAlreadyExists when a namespace is
  // already pinned there.
  virtual Result<NetnsHandle> create(const std::filesystem::path& path) = 0;
  // The namespace pinned at `path` (after a restart). kNotFound when the
  // file is missing or is not a network namespace mount.
  virtual Result<NetnsHandle> open(const std::filesystem::path& path) = 0;
  // Unmounts and unlinks `path`. The namespace itself dies when its last
  // user (process, fd, socket) is gone. Idempotent.
  virtual Status remove(const std::filesystem::path& path) = 0;
};

class LinuxNetns final : public NetnsOps {
 public:
  Result<NetnsHandle> create(const std::filesystem::path& path) override;
  Result<NetnsHandle> open(const std::filesystem::path& path) override;
  Status remove(const std::filesystem::path& path) override;
};

// Puts the calling thread into another network namespace until destroyed,
// then back into the one it was in. Failing to switch back would leave a
// worker thread configuring the wrong namespace, so that aborts (it cannot
// happen short of a kernel bug: we held the fd and the right to leave).
class ScopedNetnsEnter {
 public:
  static Result<ScopedNetnsEnter> enter(int netns_fd);
  ScopedNetnsEnter(ScopedNetnsEnter&&) noexcept = default;
  ScopedNetnsEnter& operator=(ScopedNetnsEnter&&) = delete;
  ~ScopedNetnsEnter();

 private:
  explicit ScopedNetnsEnter(UniqueFd saved) : saved_(std::move(saved)) {}
  UniqueFd saved_;
};

// Starts `argv` (argv[0] an absolute path) as a child process inside the
// network namespace `netns_fd`; the caller reaps it. The child inherits
// everything else (mounts, pid namespace) from berthd.
Result<pid_t> spawnInNetns(int netns_fd, const std::vector<std::string>& argv);

// True when `fd` refers to a network namespace (nsfs, CLONE_NEWNET).
bool isNetnsFd(int fd);

}  // namespace berth::agent::net
