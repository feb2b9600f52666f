#include "image/layer_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <cerrno>
#include <map>
#include <memory>
#include <vector>

#include "image/digest.h"

namespace berth::image {
namespace {

// tar bytes -> diffID hash -> deflate -> file + digest hash.
struct GzipSink {
  int fd = -1;
  z_stream z{};
  Sha256Stream tar_hash;
  Sha256Stream gz_hash;
  std::string out = std::string(256 * 1024, '\0');
  int error = 0;

  bool pump(const void* data, size_t size, int flush) {
    z.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    z.avail_in = static_cast<uInt>(size);
    do {
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      int r = deflate(&z, flush);
      if (r == Z_STREAM_ERROR) {
        error = EIO;
        return false;
      }
      size_t have = out.size() - z.avail_out;
      gz_hash.update(out.data(), have);
      size_t done = 0;
      while (done < have) {
        ssize_t n = write(fd, out.data() + done, have - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          error = errno;
          return false;
        }
        done += static_cast<size_t>(n);
      }
    } while (z.avail_out == 0 || (flush == Z_FINISH && z.avail_in > 0));
    return true;
  }
};

la_ssize_t writeTar(archive* a, void* ctx, const void* buf, size_t size) {
  auto* sink = static_cast<GzipSink*>(ctx);
  sink->tar_hash.update(buf, size);
  if (!sink->pump(buf, size, Z_NO_FLUSH)) {
    archive_set_error(a, sink->error, "write layer: %s", strerror(sink->error));
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

class TreeWriter {
 public:
  TreeWriter(archive* a, std::filesystem::path root) : a_(a), root_(std::move(root)) {}

  Status writeDir(const std::string& rel) {
    std::filesystem::path abs = rel.empty() ? root_ : root_ / rel;
    DIR* d = opendir(abs.c_str());
    if (!d) return failErrno("open " + abs.string(), errno);
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      std::string child = rel.empty() ? n : rel + "/" + n;
      BERTH_TRY(writeEntry(child));
    }
    return {};
  }

  uint64_t entries() const { return entries_; }

 private:
  Status writeEntry(const std::string& rel) {
    std::filesystem::path abs = root_ / rel;
    struct stat st;
    if (lstat(abs.c_str(), &st) != 0) return failErrno("stat " + abs.string(), errno);
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), rel.c_str());
    archive_entry_set_perm(e.get(), st.st_mode & 07777);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), kLayerEpoch, 0);
    std::string link_target;
    bool data = false;
    if (S_ISDIR(st.st_mode)) {
      archive_entry_set_filetype(e.get(), AE_IFDIR);
    } else if (S_ISLNK(st.st_mode)) {
      std::string buf(st.st_size > 0 ? st.st_size + 1 : 4096, '\0');
      ssize_t n = readlink(abs.c_str(), buf.data(), buf.size());
      if (n < 0) return failErrno("readlink " + abs.string(), errno);
      buf.resize(static_cast<size_t>(n));
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), buf.c_str());
    } else if (S_ISREG(st.st_mode)) {
      archive_entry_set_filetype(e.get(), AE_IFREG);
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = st.st_nlink > 1 ? links_.find(key) : links_.end();
      if (it != links_.end()) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
      } else {
        if (st.st_nlink > 1) links_.emplace(key, rel);
        archive_entry_set_size(e.get(), st.st_size);
        data = true;
      }
    } else if (S_ISFIFO(st.st_mode)) {
      archive_entry_set_filetype(e.get(), AE_IFIFO);
    } else {
      return {};  // sockets and devices stay out of layers
    }
    if (archive_write_header(a_, e.get()) < ARCHIVE_WARN) {
      return fail(ErrorCode::kIo, "write layer: " + std::string(archive_error_string(a_)));
    }
    ++entries_;
    if (data) {
      int fd = open(abs.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return failErrno("open " + abs.string(), errno);
      UniqueFd file(fd);
      std::string buf(128 * 1024, '\0');
      int64_t left = st.st_size;
      while (left > 0) {
        ssize_t n = read(fd, buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failErrno("read " + abs.string(), errno);
        if (n == 0) return fail(ErrorCode::kIo, abs.string() + " shrank while being read");
        if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0) {
          return fail(ErrorCode::kIo, "write layer: " + std::string(archive_error_string(a_)));
        }
        left -= n;
      }
    }
    if (S_ISDIR(st.st_mode)) BERTH_TRY(writeDir(rel));
    return {};
  }

  archive* a_;
  std::filesystem::path root_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  uint64_t entries_ = 0;
};

}  // namespace

Result<BuiltLayer> buildLayerFromDirectory(const std::filesystem::path& dir, const std::filesystem::path& out_file) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, dir.string() + " is not a directory");
  }
  int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failErrno("create " + out_file.string(), errno);
  UniqueFd out(fd);
  GzipSink sink;
  sink.fd = out.get();
  if (deflateInit2(&sink.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail(ErrorCode::kInternal, "zlib: deflateInit2 failed");
  }
  std::unique_ptr<z_stream, void (*)(z_stream*)> zguard(&sink.z, [](z_stream* z) { deflateEnd(z); });
  std::unique_ptr<archive, WriteDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_add_filter_none(a.get());
  archive_write_set_bytes_per_block(a.get(), 512);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &sink, nullptr, writeTar, nullptr) != ARCHIVE_OK) {
    return fail(ErrorCode::kIo, "write layer: " + std::string(archive_error_string(a.get())));
  }
  TreeWriter writer(a.get(), dir);
  BERTH_TRY(writer.writeDir(""));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return fail(ErrorCode::kIo, "write layer: " + std::string(archive_error_string(a.get())));
  }
  if (!sink.pump(nullptr, 0, Z_FINISH)) return failErrno("write " + out_file.string(), sink.error);
  if (fsync(out.get()) != 0) return failErrno("fsync " + out_file.string(), errno);
  BuiltLayer layer;
  layer.size = static_cast<int64_t>(sink.gz_hash.bytes());
  layer.digest = sink.gz_hash.finish();
  layer.diff_id = sink.tar_hash.finish();
  layer.entries = writer.entries();
  return layer;
}

}  // namespace berth::image
