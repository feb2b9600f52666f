// BlobStore: the content store (ARCHITECTURE.md, "registry / blob store").
//
// Blobs are files named by their sha256 digest:
//
//   <root>/sha256/<64 hex>   complete, verified, fsynced blobs (read-only, 0644)
//   <root>/tmp/<random>      writes in progress
//
// A blob appears under its digest only complete: a BlobWriter streams into a
// temp file, hashing as it goes (the data is hashed once, while it is
// written), and commit() checks the digest, fsyncs the file and renames it
// into place, then fsyncs the directory. A crash leaves at most a temp file,
// which the next open() removes. Two writers of the same content race
// harmlessly: both renames install identical bytes.
//
// Garbage collection removes blobs that nobody references: the caller passes
// the set of digests its manifests reference; blobs pinned by pin() (layers
// a running task uses), blobs younger than the grace period (pushed, but the
// manifest that will reference them is not there yet) and blobs being read
// through an open fd are never removed.
//
// Threads: every method is safe to call from any thread. Writes and reads do
// blocking file I/O on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace berth::registry {

// "sha256:" followed by 64 lowercase hex digits. Other algorithms are not
// supported (isDigest returns false for them).
bool isDigest(std::string_view digest);
// The digest of `data` in that form.
std::string digestOf(std::string_view data);

// An incremental sha256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  // "sha256:<hex>" of everything so far; the hash can go on afterwards.
  std::string digest() const;

 private:
  void* ctx_;  // EVP_MD_CTX
};

class BlobStore;

// Streams one blob into the store. Not thread-safe: one thread at a time
// (an upload session hands it from request to request). Destroying an
// uncommitted writer removes its temp file.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Appends `data`. On failure (disk full...) the writer is unusable.
  Status write(std::string_view data);
  uint64_t size() const { return size_; }
  // The digest of what has been written so far.
  std::string digest() const { return hash_.digest(); }

  // Verifies that the content has digest `expected` (kInvalidArgument with
  // aws_type "DIGEST_INVALID" if not, or if `expected` is not a digest),
  // then fsyncs and renames it to its place. Returns the digest. After
  // commit() or a failed commit() the writer is finished; call nothing but
  // the destructor.
  Result<std::string> commit(std::string_view expected);

 private:
  friend class BlobStore;
  BlobWriter(BlobStore& store, int fd, std::filesystem::path tmp);

  BlobStore& store_;
  int fd_;
  std::filesystem::path tmp_;
  Sha256 hash_;
  uint64_t size_ = 0;
  uint64_t written_back_ = 0;  // bytes handed to sync_file_range
  bool done_ = false;
};

// An open blob: reads by offset. The blob stays readable while this is open,
// even if it is garbage-collected meanwhile.
class BlobReader {
 public:
  ~BlobReader();
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;
  uint64_t size() const { return size_; }
  int fd() const { return fd_; }
  // Up to `length` bytes from `offset` (fewer at the end).
  Result<std::string> read(uint64_t offset, size_t length) const;

 private:
  friend class BlobStore;
  BlobReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
};

struct GcStats {
  uint64_t removed = 0;
  uint64_t bytes_freed = 0;
  uint64_t kept = 0;
};

class BlobStore {
 public:
  // Creates <root>/sha256 and <root>/tmp if needed and empties tmp/ (nothing
  // in there can be resumed after a restart).
  static Result<std::unique_ptr<BlobStore>> open(const std::filesystem::path& root, const Clock& clock);

  Result<std::unique_ptr<BlobWriter>> startWrite();
  // Writes a whole blob from memory (manifests, small configs); returns its digest.
  Result<std::string> put(std::string_view data);

  bool exists(std::string_view digest) const;
  // Size of a stored blob; kNotFound if absent or not a digest.
  Result<uint64_t> size(std::string_view digest) const;
  Result<std::unique_ptr<BlobReader>> openBlob(std::string_view digest) const;
  // The whole blob in memory (for small blobs: configs, manifests).
  Result<std::string> readAll(std::string_view digest, size_t limit) const;
  // Removes a blob unless pinned (kFailedPrecondition then). Absent: ok.
  Status remove(std::string_view digest);

  // Pins keep a blob from garbage collection and remove(); counted.
  void pin(std::string_view digest);
  void unpin(std::string_view digest);

  // Removes every blob not in `referenced`, not pinned and not modified
  // within `grace`; also stale temp files older than `grace`.
  Result<GcStats> collectGarbage(const std::set<std::string, std::less<>>& referenced,
                                 std::chrono::seconds grace);

  // The path of a stored blob (it may not exist).
  std::filesystem::path pathOf(std::string_view digest) const;
  const std::filesystem::path& root() const { return root_; }
  // Files in tmp/ (tests: nothing partial is left behind).
  size_t tempFileCount() const;

 private:
  friend class BlobWriter;
  BlobStore(std::filesystem::path root, const Clock& clock);
  Status install(const std::filesystem::path& tmp, std::string_view digest);

  std::filesystem::path root_;
  std::filesystem::path blobs_;
  std::filesystem::path tmp_;
  const Clock& clock_;
  mutable std::mutex mu_;  // pins_, and installs vs. garbage collection
  std::map<std::string, int, std::less<>> pins_;
};

}  // namespace berth::registry
