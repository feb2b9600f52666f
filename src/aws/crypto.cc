#include "aws/crypto.h"

#include <climits>
#include <cstdio>
#include <cstdlib>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace berth::aws {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// OpenSSL failing to hash in memory means the library or the host is broken;
// there is no meaningful recovery for a caller, so report and stop.
[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "berth: OpenSSL failure in %s\n", what);
  std::abort();
}

// Explicitly fetched algorithms: in OpenSSL 3 the implicit EVP_sha256() path
// performs a provider lookup on every init, which costs more than hashing a
// typical API request.
const EVP_MD* sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) fatal("EVP_MD_fetch(SHA256)");
  return md;
}

EVP_MAC* hmacMac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) fatal("EVP_MAC_fetch(HMAC)");
  return mac;
}

// One digest and one MAC context per thread, reused across calls.
struct ThreadContexts {
  EVP_MD_CTX* md = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  ThreadContexts() = default;
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;
  ~ThreadContexts() {
    EVP_MD_CTX_free(md);
    EVP_MAC_CTX_free(mac);
  }
};

ThreadContexts& threadContexts() {
  thread_local ThreadContexts contexts;
  return contexts;
}

EVP_MAC_CTX* hmacContext() {
  ThreadContexts& c = threadContexts();
  if (c.mac == nullptr) {
    c.mac = EVP_MAC_CTX_new(hmacMac());
    if (c.mac == nullptr) fatal("EVP_MAC_CTX_new");
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(c.mac, params) != 1) fatal("EVP_MAC_CTX_set_params");
  }
  return c.mac;
}

}  // namespace

Digest sha256(std::string_view data) {
  ThreadContexts& c = threadContexts();
  if (c.md == nullptr) {
    c.md = EVP_MD_CTX_new();
    if (c.md == nullptr) fatal("EVP_MD_CTX_new");
  }
  Digest out{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(c.md, sha256Md(), nullptr) != 1 || EVP_DigestUpdate(c.md, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(c.md, out.data(), &len) != 1 || len != out.size()) {
    fatal("SHA-256");
  }
  return out;
}

std::string sha256Hex(std::string_view data) { return hexEncode(sha256(data)); }

Digest hmacSha256Digest(std::string_view key, std::string_view data) {
  EVP_MAC_CTX* ctx = hmacContext();
  // EVP_MAC_init treats a null key as "keep the previous key", so an empty
  // key must still be passed as a non-null pointer.
  static const unsigned char kEmptyKey[1] = {0};
  const unsigned char* key_bytes = key.empty() ? kEmptyKey : reinterpret_cast<const unsigned char*>(key.data());
  Digest out{};
  size_t len = 0;
  if (EVP_MAC_init(ctx, key_bytes, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    fatal("HMAC-SHA256");
  }
  return out;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  Digest d = hmacSha256Digest(key, data);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

void hexEncodeTo(const Digest& digest, char* out) {
  for (unsigned char b : digest) {
    *out++ = kHexDigits[b >> 4];
    *out++ = kHexDigits[b & 0x0f];
  }
}

std::string hexEncode(const Digest& digest) {
  std::string out(digest.size() * 2, '\0');
  hexEncodeTo(digest, out.data());
  return out;
}

std::string hexEncode(std::string_view bytes) {
  std::string out;
  out.resize(bytes.size() * 2);
  char* p = out.data();
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    *p++ = kHexDigits[b >> 4];
    *p++ = kHexDigits[b & 0x0f];
  }
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace berth::aws
