// Content digests as OCI writes them ("sha256:<64 lowercase hex>"), a
// streaming SHA-256 for blobs too large to hold in memory, and a small owned
// file descriptor used throughout the image code.
//
// Only sha256 is accepted: it is what ECR, docker and the OCI spec default
// to, and what the content store (<data-dir>/blobs/sha256/) is keyed by.
//
// Thread rules: a Sha256Stream belongs to one thread at a time; the free
// functions are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

struct evp_md_ctx_st;

namespace berth::image {

inline constexpr std::string_view kSha256Prefix = "sha256:";

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool isValidDigest(std::string_view digest);
// The 64 hex digits of a valid digest; InvalidArgument otherwise.
Result<std::string> digestHex(std::string_view digest);
// "sha256:<hex of SHA-256(data)>".
std::string digestOf(std::string_view data);

// Incremental SHA-256.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>" of everything so far. Ends the stream.
  std::string finish();
  uint64_t bytes() const { return bytes_; }

 private:
  evp_md_ctx_st* ctx_;
  uint64_t bytes_ = 0;
};

// An owned file descriptor (closed on destruction; -1 when empty).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A readable stream of bytes: a blob being fetched. read() returns the
// number of bytes read, 0 at the end.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual Result<size_t> read(char* buf, size_t size) = 0;
};

// A ByteStream over a file descriptor it owns.
class FdByteStream : public ByteStream {
 public:
  explicit FdByteStream(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<size_t> read(char* buf, size_t size) override;

 private:
  UniqueFd fd_;
};

// A ByteStream over bytes in memory (tests, small blobs); the bytes are copied.
class StringByteStream : public ByteStream {
 public:
  explicit StringByteStream(std::string data) : data_(std::move(data)) {}
  Result<size_t> read(char* buf, size_t size) override;

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Reads all of `stream` (at most `limit` bytes; ResourceExhausted beyond).
Result<std::string> readAll(ByteStream& stream, size_t limit);

}  // namespace berth::image
