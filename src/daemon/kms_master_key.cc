#include "daemon/kms_master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/random.h"
#include "kms/ciphertext.h"

namespace berth::daemon {
namespace {

Result<std::string> readKey(const std::filesystem::path& file, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return failErrno("stat " + file.string(), errno);
  if ((st.st_mode & 077) != 0)
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("{} is readable by others (mode {:o}); chmod 600 it", file.string(), st.st_mode & 0777));
  std::string key(kms::kKeySize + 1, '\0');
  ssize_t n = ::read(fd, key.data(), key.size());
  if (n < 0) return failErrno("read " + file.string(), errno);
  if (static_cast<size_t>(n) != kms::kKeySize)
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("{} holds {} bytes, not the {} of a KMS master key", file.string(), n, kms::kKeySize));
  key.resize(kms::kKeySize);
  return key;
}

}  // namespace

Result<std::string> loadOrCreateKmsMasterKey(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    auto key = readKey(file, fd);
    ::close(fd);
    return key;
  }
  if (errno != ENOENT) return failErrno("open " + file.string(), errno);
  std::string key = randomBytes(kms::kKeySize);
  std::string tmp = file.string() + ".tmp." + std::to_string(::getpid());
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return failErrno("create " + tmp, errno);
  bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return failErrno("write " + tmp, err);
  }
  // link() fails if another starter created the file first: then theirs wins.
  if (::link(tmp.c_str(), file.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    if (err != EEXIST) return failErrno("link " + file.string(), err);
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failErrno("open " + file.string(), errno);
    auto existing = readKey(file, fd);
    ::close(fd);
    return existing;
  }
  ::unlink(tmp.c_str());
  if (int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return key;
}

}  // namespace berth::daemon
