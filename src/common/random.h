// Random identifiers from the OS's CSPRNG (OpenSSL RAND_bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace berth {

// `n` random bytes. A CSPRNG failure aborts the process: nothing may go on
// handing out predictable credentials or ids.
std::string randomBytes(size_t n);
// `bytes` random bytes as 2*bytes lowercase hex characters.
std::string randomHex(size_t bytes);
// A random RFC 4122 version-4 UUID, lowercase. Unique, not unpredictable:
// from a fast per-thread generator seeded by the CSPRNG; never use it for
// secrets.
std::string randomUuid();
// A uniformly random integer in [0, bound).
uint64_t randomBelow(uint64_t bound);
// A string of `digits` random decimal digits, the first non-zero
// (ECS deployment ids: "ecs-svc/" + 19 digits).
std::string randomDigits(size_t digits);

}  // namespace berth
