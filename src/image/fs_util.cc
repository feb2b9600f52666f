#include "image/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/random.h"

namespace berth::image {

int openBeneath(int dirfd, const std::string& path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EINTR && errno != EAGAIN) return -errno;
  }
}

Status removeTreeAt(int dirfd, const std::string& name) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return failErrno("stat " + name, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) return failErrno("unlink " + name, errno);
    return {};
  }
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES && fchmodat(dirfd, name.c_str(), 0700, 0) == 0) {
    fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return failErrno("open " + name, errno);
  UniqueFd dir(fd);
  // Make the directory writable for non-root callers (unpacked 0555 dirs).
  if ((st.st_mode & 0700) != 0700) fchmod(dir.get(), 0700);
  std::vector<std::string> names;
  {
    int dup_fd = fcntl(dir.get(), F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return failErrno("dup", errno);
    DIR* d = fdopendir(dup_fd);
    if (!d) {
      close(dup_fd);
      return failErrno("fdopendir " + name, errno);
    }
    while (dirent* e = readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    closedir(d);
  }
  for (const std::string& n : names) BERTH_TRY(removeTreeAt(dir.get(), n));
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return failErrno("rmdir " + name, errno);
  }
  return {};
}

Status removeTree(const std::filesystem::path& path) {
  std::filesystem::path parent = path.parent_path();
  if (parent.empty()) parent = ".";
  int fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return failErrno("open " + parent.string(), errno);
  }
  UniqueFd dir(fd);
  return removeTreeAt(dir.get(), path.filename().string());
}

Result<UniqueFd> openDir(const std::filesystem::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno("open " + path.string(), errno);
  return UniqueFd(fd);
}

Status makeDirs(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return failErrno("mkdir " + path.string(), ec.value());
  return {};
}

Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + randomHex(6);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return failErrno("create " + tmp.string(), errno);
  UniqueFd f(fd);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(f.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      unlink(tmp.c_str());
      return failErrno("write " + tmp.string(), err);
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(f.get()) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return failErrno("write " + path.string(), err);
  }
  return {};
}

Result<std::string> readFile(const std::filesystem::path& path, size_t limit) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(ErrorCode::kNotFound, path.string() + ": no such file");
    return failErrno("open " + path.string(), errno);
  }
  FdByteStream s{UniqueFd(fd)};
  return readAll(s, limit);
}

}  // namespace berth::image
