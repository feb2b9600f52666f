#include "image/digest.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <openssl/evp.h>

#include "aws/crypto.h"

namespace berth::image {

bool isValidDigest(std::string_view digest) {
  if (!digest.starts_with(kSha256Prefix)) return false;
  std::string_view hex = digest.substr(kSha256Prefix.size());
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> digestHex(std::string_view digest) {
  if (!isValidDigest(digest)) {
    return fail(ErrorCode::kInvalidArgument, "invalid digest: " + std::string(digest.substr(0, 80)));
  }
  return std::string(digest.substr(kSha256Prefix.size()));
}

std::string digestOf(std::string_view data) { return std::string(kSha256Prefix) + aws::sha256Hex(data); }

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) abort();
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::update(const void* data, size_t size) {
  if (size == 0) return;
  EVP_DigestUpdate(ctx_, data, size);
  bytes_ += size;
}

std::string Sha256Stream::finish() {
  aws::Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, d.data(), &len);
  return std::string(kSha256Prefix) + aws::hexEncode(d);
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<size_t> FdByteStream::read(char* buf, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return failErrno("read blob", errno);
  }
}

Result<size_t> StringByteStream::read(char* buf, size_t size) {
  size_t n = std::min(size, data_.size() - pos_);
  data_.copy(buf, n, pos_);
  pos_ += n;
  return n;
}

Result<std::string> readAll(ByteStream& stream, size_t limit) {
  std::string out;
  char buf[65536];
  for (;;) {
    size_t n = BERTH_TRY(stream.read(buf, sizeof buf));
    if (n == 0) return out;
    if (out.size() + n > limit) {
      return fail(ErrorCode::kResourceExhausted, "blob larger than " + std::to_string(limit) + " bytes");
    }
    out.append(buf, n);
  }
}

}  // namespace berth::image
