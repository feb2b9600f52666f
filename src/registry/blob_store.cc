#include "registry/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <openssl/evp.h>

#include "common/random.h"

namespace berth::registry {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "sha256:";

const EVP_MD* sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) {
    std::fprintf(stderr, "berth: EVP_MD_fetch(SHA256) failed\n");
    std::abort();
  }
  return md;
}

std::string_view hexPart(std::string_view digest) { return digest.substr(kPrefix.size()); }

Status writeAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("write " + what, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status fsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno("open " + dir.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return failErrno("fsync " + dir.string(), err);
  return {};
}

}  // namespace

bool isDigest(std::string_view digest) {
  if (digest.size() != kPrefix.size() + 64 || !digest.starts_with(kPrefix)) return false;
  for (char c : hexPart(digest))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string digestOf(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256Md(), nullptr) != 1) {
    std::fprintf(stderr, "berth: EVP_DigestInit_ex failed\n");
    std::abort();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Sha256::digest() const {
  // Finalize a copy so that hashing can continue (chunked uploads report
  // nothing, but commit() may be retried by a caller that inspects first).
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (copy == nullptr || EVP_MD_CTX_copy_ex(copy, static_cast<EVP_MD_CTX*>(ctx_)) != 1 ||
      EVP_DigestFinal_ex(copy, out, &len) != 1) {
    std::fprintf(stderr, "berth: sha256 finalize failed\n");
    std::abort();
  }
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(kPrefix);
  for (unsigned i = 0; i < len; ++i) {
    s.push_back(kHex[out[i] >> 4]);
    s.push_back(kHex[out[i] & 15]);
  }
  return s;
}

// ---------------------------------------------------------------- BlobWriter

BlobWriter::BlobWriter(BlobStore& store, int fd, fs::path tmp) : store_(store), fd_(fd), tmp_(std::move(tmp)) {}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) {  // not installed: abandoned or failed
    std::error_code ignored;
    fs::remove(tmp_, ignored);
  }
}

Status BlobWriter::write(std::string_view data) {
  if (done_ || fd_ < 0) return fail(ErrorCode::kFailedPrecondition, "blob writer is finished");
  if (auto ok = writeAll(fd_, data, tmp_.string()); !ok) {
    ::close(fd_);
    fd_ = -1;
    return ok;
  }
  hash_.update(data);
  size_ += data.size();
  // Start writeback of every full 8 MiB behind the writer, so that the
  // fsync in commit() waits for the tail only, not for the whole blob.
  constexpr uint64_t kWritebackStep = 8 << 20;
  if (size_ - written_back_ >= kWritebackStep) {
    uint64_t end = size_ - size_ % kWritebackStep;
    ::sync_file_range(fd_, static_cast<off_t>(written_back_), static_cast<off_t>(end - written_back_),
                      SYNC_FILE_RANGE_WRITE);
    written_back_ = end;
  }
  return {};
}

Result<std::string> BlobWriter::commit(std::string_view expected) {
  if (done_ || fd_ < 0) return fail(ErrorCode::kFailedPrecondition, "blob writer is finished");
  done_ = true;
  std::string actual = hash_.digest();
  if (!isDigest(expected) || actual != expected)
    return fail(ErrorCode::kInvalidArgument,
                isDigest(expected) ? "provided digest did not match uploaded content" : "invalid digest",
                "DIGEST_INVALID");
  if (::fsync(fd_) != 0) return failErrno("fsync " + tmp_.string(), errno);
  ::close(fd_);
  fd_ = -1;
  BERTH_TRY(store_.install(tmp_, actual));
  tmp_.clear();
  return actual;
}

// ---------------------------------------------------------------- BlobReader

BlobReader::~BlobReader() { ::close(fd_); }

Result<std::string> BlobReader::read(uint64_t offset, size_t length) const {
  if (offset >= size_) return std::string();
  length = static_cast<size_t>(std::min<uint64_t>(length, size_ - offset));
  std::string out(length, '\0');
  size_t got = 0;
  while (got < length) {
    ssize_t n = ::pread(fd_, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("read blob", errno);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// ---------------------------------------------------------------- BlobStore

BlobStore::BlobStore(fs::path root, const Clock& clock)
    : root_(std::move(root)), blobs_(root_ / "sha256"), tmp_(root_ / "tmp"), clock_(clock) {}

Result<std::unique_ptr<BlobStore>> BlobStore::open(const fs::path& root, const Clock& clock) {
  std::unique_ptr<BlobStore> store(new BlobStore(root, clock));
  std::error_code ec;
  fs::create_directories(store->blobs_, ec);
  if (!ec) fs::create_directories(store->tmp_, ec);
  if (ec) return failErrno("create " + root.string(), ec.value());
  for (const auto& entry : fs::directory_iterator(store->tmp_, ec)) fs::remove_all(entry.path(), ec);
  return store;
}

fs::path BlobStore::pathOf(std::string_view digest) const {
  if (!isDigest(digest)) return blobs_ / "invalid";
  return blobs_ / std::string(hexPart(digest));
}

Result<std::unique_ptr<BlobWriter>> BlobStore::startWrite() {
  fs::path tmp = tmp_ / randomHex(16);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return failErrno("create " + tmp.string(), errno);
  return std::unique_ptr<BlobWriter>(new BlobWriter(*this, fd, std::move(tmp)));
}

Result<std::string> BlobStore::put(std::string_view data) {
  auto writer = BERTH_TRY(startWrite());
  BERTH_TRY(writer->write(data));
  return writer->commit(writer->digest());
}

Status BlobStore::install(const fs::path& tmp, std::string_view digest) {
  fs::path dest = pathOf(digest);
  {
    // Under the lock so that a collection in progress cannot judge this
    // blob by the mtime of an older copy it is about to replace.
    std::lock_guard lock(mu_);
    if (::rename(tmp.c_str(), dest.c_str()) != 0) return failErrno("rename into " + dest.string(), errno);
  }
  return fsyncDir(blobs_);
}

bool BlobStore::exists(std::string_view digest) const {
  if (!isDigest(digest)) return false;
  struct stat st{};
  return ::stat(pathOf(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<uint64_t> BlobStore::size(std::string_view digest) const {
  struct stat st{};
  if (!isDigest(digest) || ::stat(pathOf(digest).c_str(), &st) != 0)
    return fail(ErrorCode::kNotFound, "blob unknown to registry", "BLOB_UNKNOWN");
  return static_cast<uint64_t>(st.st_size);
}

Result<std::unique_ptr<BlobReader>> BlobStore::openBlob(std::string_view digest) const {
  if (!isDigest(digest)) return fail(ErrorCode::kNotFound, "blob unknown to registry", "BLOB_UNKNOWN");
  int fd = ::open(pathOf(digest).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(ErrorCode::kNotFound, "blob unknown to registry", "BLOB_UNKNOWN");
    return failErrno("open blob " + std::string(digest), errno);
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return failErrno("stat blob", err);
  }
  return std::unique_ptr<BlobReader>(new BlobReader(fd, static_cast<uint64_t>(st.st_size)));
}

Result<std::string> BlobStore::readAll(std::string_view digest, size_t limit) const {
  auto reader = BERTH_TRY(openBlob(digest));
  if (reader->size() > limit) return fail(ErrorCode::kResourceExhausted, "blob larger than " + std::to_string(limit));
  return reader->read(0, static_cast<size_t>(reader->size()));
}

Status BlobStore::remove(std::string_view digest) {
  if (!isDigest(digest)) return {};
  std::lock_guard lock(mu_);
  if (pins_.contains(digest)) return fail(ErrorCode::kFailedPrecondition, "blob is in use");
  if (::unlink(pathOf(digest).c_str()) != 0 && errno != ENOENT) return failErrno("remove blob", errno);
  return {};
}

void BlobStore::pin(std::string_view digest) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(digest);
  if (it == pins_.end()) pins_.emplace(std::string(digest), 1);
  else ++it->second;
}

void BlobStore::unpin(std::string_view digest) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(digest);
  if (it != pins_.end() && --it->second <= 0) pins_.erase(it);
}

Result<GcStats> BlobStore::collectGarbage(const std::set<std::string, std::less<>>& referenced,
                                          std::chrono::seconds grace) {
  GcStats stats;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  auto old = [&](const struct stat& st) { return now - st.st_mtim.tv_sec >= grace.count(); };
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(blobs_, ec)) {
    std::string digest = std::string(kPrefix) + entry.path().filename().string();
    if (!isDigest(digest)) continue;
    std::lock_guard lock(mu_);
    struct stat st{};
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    if (referenced.contains(digest) || pins_.contains(digest) || !old(st)) {
      ++stats.kept;
      continue;
    }
    if (::unlink(entry.path().c_str()) == 0) {
      ++stats.removed;
      stats.bytes_freed += static_cast<uint64_t>(st.st_size);
    }
  }
  if (ec) return failErrno("list " + blobs_.string(), ec.value());
  // Temp files of uploads abandoned long ago (live sessions are younger:
  // every write touches their mtime).
  for (const auto& entry : fs::directory_iterator(tmp_, ec)) {
    struct stat st{};
    if (::stat(entry.path().c_str(), &st) == 0 && old(st) && grace.count() > 0) fs::remove(entry.path(), ec);
  }
  return stats;
}

size_t BlobStore::tempFileCount() const {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(tmp_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) ++n;
  return n;
}

}  // namespace berth::registry
