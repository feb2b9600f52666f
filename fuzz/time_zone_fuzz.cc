// Fuzzes the TZif reader (common/time_zone.h): any bytes as a zoneinfo file.
// The seeds in fuzz/corpus/time_zone_fuzz/ are real zoneinfo files (fat and
// slim, with footers), so mutations reach the data blocks and the POSIX TZ
// rule of the footer.
//
// Beyond "no crash, no sanitizer report", it checks:
//   - a refused file is kInvalidArgument;
//   - every offset offsetAt gives lies within [minOffset, maxOffset], and
//     those bounds lie within a day or so of UTC (RFC 8536's type limits);
//   - toUtc's answer is local minus some offset of the zone.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "common/time_zone.h"

namespace {

using berth::TimeZone;

void check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "time_zone_fuzz: %s\n", what);
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto tz = TimeZone::parse(bytes, "fuzz");
  if (!tz) {
    check(tz.error().code == berth::ErrorCode::kInvalidArgument, "a refused file is not kInvalidArgument");
    return 0;
  }
  check(tz->minOffset() <= tz->maxOffset(), "minOffset above maxOffset");
  check(tz->minOffset() >= -25 * 3600 && tz->maxOffset() <= 26 * 3600, "offset bounds beyond a day");
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  const int64_t instants[] = {kMin,
                              kMin + 1,
                              -(int64_t{1} << 40),
                              -2'000'000'000,
                              -1,
                              0,
                              1,
                              1'774'746'000,
                              1'785'000'000,
                              1'792'803'600,
                              2'147'483'647,
                              4'102'444'800,
                              (int64_t{1} << 40),
                              kMax - 1,
                              kMax};
  for (int64_t t : instants) {
    int64_t offset = tz->offsetAt(t);
    check(offset >= tz->minOffset() && offset <= tz->maxOffset(), "offsetAt outside [minOffset, maxOffset]");
    int64_t u = tz->toUtc(t);
    // Near the int64 ends the input is clamped first; compare only inside.
    if (t > -(int64_t{1} << 37) && t < (int64_t{1} << 37)) {
      int64_t shift = t - u;
      check(shift >= tz->minOffset() && shift <= tz->maxOffset(), "toUtc moved by more than any offset");
    }
    // Each instant's own reading maps back to an instant, whatever it is.
    (void)tz->toUtc(t + offset / 2);
  }
  return 0;
}
