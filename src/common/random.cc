#include "common/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

namespace berth {
namespace {

void fill(unsigned char* out, size_t n) {
  // RAND_bytes only fails when the OS has no entropy source: nothing sane
  // can continue then.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

}  // namespace

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0) fill(reinterpret_cast<unsigned char*>(out.data()), n);
  return out;
}

std::string randomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::vector<unsigned char> raw(bytes);
  fill(raw.data(), bytes);
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string randomUuid() {
  unsigned char b[16];
  fill(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

uint64_t randomBelow(uint64_t bound) {
  if (bound == 0) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  while (true) {
    uint64_t v;
    fill(reinterpret_cast<unsigned char*>(&v), sizeof v);
    if (v < limit) return v % bound;
  }
}

std::string randomDigits(size_t digits) {
  std::string out;
  out.reserve(digits);
  for (size_t i = 0; i < digits; ++i) out.push_back(static_cast<char>('0' + (i == 0 ? 1 + randomBelow(9) : randomBelow(10))));
  return out;
}

}  // namespace berth
