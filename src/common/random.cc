#include "common/random.h"

#include <openssl/rand.h>

#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
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

namespace {

// A fast per-thread generator (xoshiro256**) for identifiers that must be
// unique but need not be unpredictable, such as request and event ids. It
// is seeded from the CSPRNG and reseeded in a forked child. Measured: the
// CSPRNG path (RAND_bytes, which checks getpid) cost ~4% of a cheap API
// call.
std::atomic<uint64_t> g_fork_generation{0};

struct FastRandom {
  uint64_t s[4];
  uint64_t generation = ~uint64_t{0};

  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t current = g_fork_generation.load(std::memory_order_relaxed);
    if (generation != current) {
      do fill(reinterpret_cast<unsigned char*>(s), sizeof s);
      while ((s[0] | s[1] | s[2] | s[3]) == 0);
      generation = current;
    }
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

FastRandom& fastRandom() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1); }); });
  thread_local FastRandom r;
  return r;
}

}  // namespace

std::string randomUuid() {
  unsigned char b[16];
  FastRandom& r = fastRandom();
  uint64_t hi = r.next(), lo = r.next();
  std::memcpy(b, &hi, 8);
  std::memcpy(b + 8, &lo, 8);
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
  for (size_t i = 0; i < digits; ++i)
    out.push_back(static_cast<char>('0' + (i == 0 ? 1 + randomBelow(9) : randomBelow(10))));
  return out;
}

}  // namespace berth
