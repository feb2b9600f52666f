// Small cryptographic helpers on OpenSSL 3: SHA-256, HMAC-SHA256, hex, and
// random bytes. SigV4 uses them on every API call; other components use them
// for content digests, request ids and generated credentials.
//
// Thread rules: every function is safe to call from any thread at any time.
// The hot-path forms (sha256, hmacSha256 into a Digest) keep one OpenSSL
// context per thread and do not allocate.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace berth::aws {

inline constexpr size_t kSha256Size = 32;
using Digest = std::array<unsigned char, kSha256Size>;

// SHA-256 of `data`.
Digest sha256(std::string_view data);
// Lowercase hex of SHA-256 of `data` (64 characters).
std::string sha256Hex(std::string_view data);

// HMAC-SHA256 of `data` under `key`.
Digest hmacSha256Digest(std::string_view key, std::string_view data);
// The same, as 32 raw bytes in a string.
std::string hmacSha256(std::string_view key, std::string_view data);

// Lowercase hex of arbitrary bytes.
std::string hexEncode(std::string_view bytes);
std::string hexEncode(const Digest& digest);
// Writes 64 lowercase hex characters for `digest` at `out` (no terminator).
void hexEncodeTo(const Digest& digest, char* out);

// Random bytes and ids: common/random.h.

// Byte comparison whose time depends only on the lengths (CRYPTO_memcmp).
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace berth::aws
