// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), enough for SigV4, so the
// static backend needs no libcrypto (whose static archive adds 4 MB and
// dlopen/getaddrinfo references). Thread-safe (no state).
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace durableai {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest sha256(std::string_view data);
Sha256Digest hmacSha256(std::string_view key, std::string_view data);
// Lowercase hex of `bytes`.
std::string hexLower(std::string_view bytes);
std::string hexLower(const Sha256Digest& digest);

}  // namespace durableai
