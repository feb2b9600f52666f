#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

#include "image/fs_util.h"

namespace berth::image {
namespace {

constexpr size_t kBufferSize = 128 * 1024;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr size_t kMaxPath = 4096;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

// Reads the compressed blob for the decompressing archive and hashes it.
struct CompressedSide {
  ByteStream* in;
  Sha256Stream hash;
  std::string buf = std::string(kBufferSize, '\0');
  Error error;
  bool failed = false;
};

la_ssize_t readCompressed(archive* a, void* ctx, const void** out) {
  auto* side = static_cast<CompressedSide*>(ctx);
  auto n = side->in->read(side->buf.data(), side->buf.size());
  if (!n) {
    side->error = n.error();
    side->failed = true;
    archive_set_error(a, EIO, "%s", n.error().message.c_str());
    return -1;
  }
  side->hash.update(side->buf.data(), *n);
  *out = side->buf.data();
  return static_cast<la_ssize_t>(*n);
}

// Feeds the decompressed bytes to the tar reader and hashes them (diffID).
struct TarSide {
  archive* decompressed;
  Sha256Stream hash;
  std::string buf = std::string(kBufferSize, '\0');
  bool failed = false;
  std::string error;
};

la_ssize_t readDecompressed(archive* a, void* ctx, const void** out) {
  auto* side = static_cast<TarSide*>(ctx);
  la_ssize_t n = archive_read_data(side->decompressed, side->buf.data(), side->buf.size());
  if (n < 0) {
    side->failed = true;
    const char* msg = archive_error_string(side->decompressed);
    side->error = msg ? msg : "decompression failed";
    archive_set_error(a, EIO, "%s", side->error.c_str());
    return -1;
  }
  side->hash.update(side->buf.data(), static_cast<size_t>(n));
  *out = side->buf.data();
  return n;
}

std::unexpected<Error> refuse(std::string_view path, std::string_view why) {
  return fail(ErrorCode::kPermissionDenied,
              "layer entry \"" + std::string(path.substr(0, 512)) + "\" refused: " + std::string(why));
}

std::unexpected<Error> ioError(std::string_view what, std::string_view path, int err) {
  return failErrno(std::string(what) + " " + std::string(path.substr(0, 512)), err);
}

// Splits an entry name into components. "./a//b/" -> {a, b}; "" and "." -> {}.
Result<std::vector<std::string>> splitEntryPath(std::string_view name) {
  if (name.size() > kMaxPath) return refuse(name.substr(0, 64), "name too long");
  if (name.starts_with('/')) return refuse(name, "absolute path");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(start, slash - start);
    if (part == "..") return refuse(name, "\"..\" component");
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = slash + 1;
  }
  return parts;
}

std::string joinPath(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

struct DirMeta {
  std::string path;
  mode_t perm;
  int64_t uid, gid;
  timespec mtime;
  bool has_mtime;
};

class Unpacker {
 public:
  Unpacker(int root_fd, const UnpackOptions& options) : root_fd_(root_fd), options_(options) {}

  Status entry(archive* tar, archive_entry* e);
  Status finish();

 private:
  Result<int> parentFd(const std::vector<std::string>& parts, std::string_view name);
  Status removeExisting(int pfd, const std::string& name, bool keep_dir);
  Status applyMeta(int pfd, const std::string& name, int fd, archive_entry* e, bool is_link);
  Status whiteout(int pfd, const std::vector<std::string>& parts, std::string_view name);
  Status writeData(archive* tar, int fd, archive_entry* e, std::string_view name);
  // Forgets the cached parent path; the descriptor stays open until the next
  // lookup replaces it, since the current entry may still be using it.
  void invalidateParentCache() { cached_parent_.clear(); }

  int root_fd_;
  UnpackOptions options_;
  std::string cached_parent_;
  UniqueFd cached_fd_;
  std::vector<DirMeta> dirs_;
  std::unordered_set<std::string> created_;  // kApply: paths written by this layer
};

Result<int> Unpacker::parentFd(const std::vector<std::string>& parts, std::string_view name) {
  if (parts.size() <= 1) return root_fd_;
  std::string parent = joinPath(parts, parts.size() - 1);
  if (cached_fd_ && parent == cached_parent_) return cached_fd_.get();
  invalidateParentCache();
  cached_fd_.reset();
  const int flags = O_RDONLY | O_DIRECTORY;
  int fd = openBeneath(root_fd_, parent, flags);
  if (fd == -ENOENT) {
    // Create the missing directories one by one, each resolved beneath the root.
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string prefix = joinPath(parts, i);
      int d = openBeneath(root_fd_, prefix, flags);
      if (d >= 0) {
        close(d);
        continue;
      }
      if (d != -ENOENT) break;
      UniqueFd up;
      int up_fd = root_fd_;
      if (i > 1) {
        int u = openBeneath(root_fd_, joinPath(parts, i - 1), flags);
        if (u < 0) return refuse(name, std::string("parent directory: ") + strerror(-u));
        up.reset(u);
        up_fd = u;
      }
      if (mkdirat(up_fd, parts[i - 1].c_str(), 0755) != 0 && errno != EEXIST) {
        return ioError("mkdir", prefix, errno);
      }
      if (options_.whiteouts == WhiteoutMode::kApply) created_.insert(prefix);
    }
    fd = openBeneath(root_fd_, parent, flags);
  }
  if (fd < 0) {
    if (fd == -EXDEV || fd == -ELOOP) return refuse(name, "path resolves outside the layer through a symlink");
    if (fd == -ENOTDIR) return refuse(name, "a parent is not a directory");
    return ioError("open parent of", name, -fd);
  }
  cached_fd_.reset(fd);
  cached_parent_ = parent;
  return fd;
}

Status Unpacker::removeExisting(int pfd, const std::string& name, bool keep_dir) {
  struct stat st;
  if (fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return ioError("stat", name, errno);
  }
  if (keep_dir && S_ISDIR(st.st_mode)) return {};
  invalidateParentCache();
  return removeTreeAt(pfd, name);
}

Status Unpacker::applyMeta(int pfd, const std::string& name, int fd, archive_entry* e, bool is_link) {
  if (options_.preserve_ownership) {
    int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || gid < 0 || uid >= 0xffffffffLL || gid >= 0xffffffffLL) {
      return refuse(name, "uid or gid out of range");
    }
    int r = fd >= 0 ? fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid))
                    : fchownat(pfd, name.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid),
                               AT_SYMLINK_NOFOLLOW);
    if (r != 0) return ioError("chown", name, errno);
  }
  if (!is_link) {
    mode_t perm = archive_entry_perm(e) & 07777;
    int r = fd >= 0 ? fchmod(fd, perm) : fchmodat(pfd, name.c_str(), perm, 0);
    if (r != 0) return ioError("chmod", name, errno);
  }
  if (fd >= 0 && options_.preserve_ownership) {
    const char* xname;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
      std::string_view n = xname ? xname : "";
      if (!n.starts_with("user.") && n != "security.capability") continue;
      if (fsetxattr(fd, xname, value, size, 0) != 0 && errno != ENOTSUP) {
        return ioError("setxattr", name, errno);
      }
    }
  }
  if (archive_entry_mtime_is_set(e)) {
    timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = archive_entry_mtime(e);
    times[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (times[1].tv_nsec < 0 || times[1].tv_nsec > 999'999'999) times[1].tv_nsec = 0;
    int r = fd >= 0 ? futimens(fd, times) : utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    if (r != 0 && errno != EINVAL) return ioError("utimes", name, errno);
  }
  return {};
}

Status Unpacker::whiteout(int pfd, const std::vector<std::string>& parts, std::string_view name) {
  const std::string& base = parts.back();
  std::string parent = joinPath(parts, parts.size() - 1);
  if (base == kOpaqueMarker) {
    if (options_.whiteouts == WhiteoutMode::kOverlay) {
      if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return ioError("set trusted.overlay.opaque on", parent.empty() ? "/" : parent, errno);
      }
      return {};
    }
    // kApply: drop what lower layers put in this directory.
    int dup_fd = fcntl(pfd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return ioError("dup", name, errno);
    DIR* d = fdopendir(dup_fd);
    if (!d) {
      close(dup_fd);
      return ioError("opendir", parent, errno);
    }
    std::vector<std::string> names;
    while (dirent* de = readdir(d)) {
      std::string_view n = de->d_name;
      if (n == "." || n == "..") continue;
      std::string path = parent.empty() ? std::string(n) : parent + "/" + std::string(n);
      if (!created_.contains(path)) names.emplace_back(n);
    }
    closedir(d);
    for (const std::string& n : names) {
      invalidateParentCache();
      BERTH_TRY(removeTreeAt(pfd, n));
    }
    return {};
  }
  if (base.starts_with(".wh..wh.")) return {};  // aufs metadata
  std::string target = base.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..") return refuse(name, "invalid whiteout");
  std::string target_path = parent.empty() ? target : parent + "/" + target;
  if (options_.whiteouts == WhiteoutMode::kApply) {
    if (created_.contains(target_path)) return {};
    invalidateParentCache();
    return removeTreeAt(pfd, target);
  }
  BERTH_TRY(removeExisting(pfd, target, false));
  if (mknodat(pfd, target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return ioError("create whiteout", target_path, errno);
  }
  return {};
}

Status Unpacker::writeData(archive* tar, int fd, archive_entry* e, std::string_view name) {
  const void* block;
  size_t size;
  la_int64_t offset;
  for (;;) {
    int r = archive_read_data_block(tar, &block, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      const char* msg = archive_error_string(tar);
      return fail(ErrorCode::kInvalidArgument,
                  "layer is not a valid tar: " + std::string(msg ? msg : "read error"));
    }
    const char* p = static_cast<const char*>(block);
    while (size > 0) {
      ssize_t n = pwrite(fd, p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ioError("write", name, errno);
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
  }
  if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) != 0) {
    return ioError("truncate", name, errno);
  }
  return {};
}

Status Unpacker::entry(archive* tar, archive_entry* e) {
  const char* raw_name = archive_entry_pathname(e);
  if (!raw_name) return refuse("?", "name is not readable");
  std::string_view name = raw_name;
  auto parts = BERTH_TRY(splitEntryPath(name));
  if (parts.empty()) return {};  // the layer root itself
  const std::string& base = parts.back();
  int pfd = BERTH_TRY(parentFd(parts, name));
  std::string path = joinPath(parts, parts.size());

  if (base.starts_with(kWhiteoutPrefix)) return whiteout(pfd, parts, name);

  if (const char* link = archive_entry_hardlink(e)) {
    auto target = BERTH_TRY(splitEntryPath(link));
    if (target.empty()) return refuse(name, "hard link to the layer root");
    std::string target_parent = joinPath(target, target.size() - 1);
    UniqueFd tpfd;
    int tfd = root_fd_;
    if (target.size() > 1) {
      int fd = openBeneath(root_fd_, target_parent, O_RDONLY | O_DIRECTORY);
      if (fd < 0) return refuse(name, "hard link target is outside the layer or missing");
      tpfd.reset(fd);
      tfd = fd;
    }
    struct stat st;
    if (fstatat(tfd, target.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return refuse(name, "hard link target is missing");
    }
    if (S_ISDIR(st.st_mode)) return refuse(name, "hard link to a directory");
    if (joinPath(target, target.size()) == path) return {};
    BERTH_TRY(removeExisting(pfd, base, false));
    if (linkat(tfd, target.back().c_str(), pfd, base.c_str(), 0) != 0) return ioError("link", name, errno);
    if (options_.whiteouts == WhiteoutMode::kApply) created_.insert(path);
    return {};
  }

  switch (archive_entry_filetype(e)) {
    case AE_IFDIR: {
      BERTH_TRY(removeExisting(pfd, base, true));
      if (mkdirat(pfd, base.c_str(), 0700) != 0 && errno != EEXIST) return ioError("mkdir", name, errno);
      DirMeta meta{path, static_cast<mode_t>(archive_entry_perm(e) & 07777), archive_entry_uid(e),
                   archive_entry_gid(e), {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                   archive_entry_mtime_is_set(e) != 0};
      dirs_.push_back(std::move(meta));
      break;
    }
    case AE_IFREG: {
      BERTH_TRY(removeExisting(pfd, base, false));
      int fd = openat(pfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return ioError("create", name, errno);
      UniqueFd file(fd);
      BERTH_TRY(writeData(tar, file.get(), e, name));
      BERTH_TRY(applyMeta(pfd, base, file.get(), e, false));
      break;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target || !*target) return refuse(name, "symlink without a target");
      BERTH_TRY(removeExisting(pfd, base, false));
      if (symlinkat(target, pfd, base.c_str()) != 0) return ioError("symlink", name, errno);
      BERTH_TRY(applyMeta(pfd, base, -1, e, true));
      break;
    }
    case AE_IFIFO: {
      BERTH_TRY(removeExisting(pfd, base, false));
      if (mknodat(pfd, base.c_str(), S_IFIFO | 0600, 0) != 0) return ioError("mkfifo", name, errno);
      BERTH_TRY(applyMeta(pfd, base, -1, e, false));
      break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
      if (options_.skip_devices) return {};
      return refuse(name, "device nodes are not allowed in layers");
    case AE_IFSOCK:
      return {};
    default:
      return refuse(name, "unknown entry type");
  }
  if (options_.whiteouts == WhiteoutMode::kApply) created_.insert(path);
  return {};
}

Status Unpacker::finish() {
  invalidateParentCache();
  cached_fd_.reset();
  // Directory metadata last: creating children would change the mtimes, and
  // a read-only mode would stop an unprivileged unpack from filling them.
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    int fd = openBeneath(root_fd_, it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) continue;  // replaced later in the layer
    UniqueFd dir(fd);
    if (options_.preserve_ownership) {
      if (it->uid < 0 || it->gid < 0 || it->uid >= 0xffffffffLL || it->gid >= 0xffffffffLL) {
        return refuse(it->path, "uid or gid out of range");
      }
      if (fchown(fd, static_cast<uid_t>(it->uid), static_cast<gid_t>(it->gid)) != 0) {
        return ioError("chown", it->path, errno);
      }
    }
    if (fchmod(fd, it->perm) != 0) return ioError("chmod", it->path, errno);
    if (it->has_mtime) {
      timespec times[2] = {{0, UTIME_OMIT}, it->mtime};
      if (times[1].tv_nsec < 0 || times[1].tv_nsec > 999'999'999) times[1].tv_nsec = 0;
      futimens(fd, times);
    }
  }
  return {};
}

}  // namespace

Result<UnpackStats> unpackLayer(ByteStream& in, int root_fd, const UnpackOptions& options) {
  CompressedSide compressed{&in, {}, std::string(kBufferSize, '\0'), {}, false};
  ArchivePtr raw(archive_read_new());
  ArchivePtr tar(archive_read_new());
  if (!raw || !tar) return fail(ErrorCode::kInternal, "libarchive: out of memory");
  archive_read_support_filter_gzip(raw.get());
  archive_read_support_filter_zstd(raw.get());
  archive_read_support_format_raw(raw.get());
  auto archiveError = [&](archive* a, std::string_view what) -> std::unexpected<Error> {
    if (compressed.failed) return std::unexpected(compressed.error);
    const char* msg = archive_error_string(a);
    return fail(ErrorCode::kInvalidArgument, std::string(what) + ": " + (msg ? msg : "unknown error"));
  };
  if (archive_read_open(raw.get(), &compressed, nullptr, readCompressed, nullptr) != ARCHIVE_OK) {
    return archiveError(raw.get(), "layer cannot be read");
  }
  archive_entry* raw_entry;
  int r = archive_read_next_header(raw.get(), &raw_entry);
  if (r == ARCHIVE_EOF) return fail(ErrorCode::kInvalidArgument, "layer is empty");
  if (r < ARCHIVE_WARN) return archiveError(raw.get(), "layer cannot be decompressed");

  TarSide decompressed{raw.get(), {}, std::string(kBufferSize, '\0'), false, {}};
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), &decompressed, nullptr, readDecompressed, nullptr) != ARCHIVE_OK) {
    if (decompressed.failed) return fail(ErrorCode::kInvalidArgument, "layer cannot be decompressed: " + decompressed.error);
    return archiveError(tar.get(), "layer is not a valid tar");
  }

  Unpacker unpacker(root_fd, options);
  UnpackStats stats;
  for (;;) {
    archive_entry* e;
    r = archive_read_next_header(tar.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (decompressed.failed) {
        if (compressed.failed) return std::unexpected(compressed.error);
        return fail(ErrorCode::kInvalidArgument, "layer cannot be decompressed: " + decompressed.error);
      }
      return archiveError(tar.get(), "layer is not a valid tar");
    }
    if (++stats.entries > options.max_entries) {
      return fail(ErrorCode::kResourceExhausted, "layer has more than " + std::to_string(options.max_entries) + " entries");
    }
    BERTH_TRY(unpacker.entry(tar.get(), e));
  }
  BERTH_TRY(unpacker.finish());

  // Hash what follows the tar's end marker, then what follows the compressed
  // stream: digests cover every byte.
  for (;;) {
    la_ssize_t n = archive_read_data(raw.get(), decompressed.buf.data(), decompressed.buf.size());
    if (n < 0) {
      if (compressed.failed) return std::unexpected(compressed.error);
      return archiveError(raw.get(), "layer cannot be decompressed");
    }
    if (n == 0) break;
    decompressed.hash.update(decompressed.buf.data(), static_cast<size_t>(n));
  }
  for (;;) {
    size_t n = BERTH_TRY(in.read(compressed.buf.data(), compressed.buf.size()));
    if (n == 0) break;
    compressed.hash.update(compressed.buf.data(), n);
  }
  stats.compressed_bytes = compressed.hash.bytes();
  stats.uncompressed_bytes = decompressed.hash.bytes();
  stats.compressed_digest = compressed.hash.finish();
  stats.diff_id = decompressed.hash.finish();
  return stats;
}

}  // namespace berth::image
