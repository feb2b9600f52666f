// Fuzzes Application Auto Scaling's schedule expressions
// (control/autoscaling/schedule.h): the input's first byte picks a time
// zone and the options (StartTime, EndTime), the rest is the Schedule.
// Accepted expressions are run forward with next() a few times.
//
// Beyond "no crash, no sanitizer report", it checks:
//   - a refused expression is kInvalidArgument / ValidationException with
//     a message starting "Schedule expression is invalid";
//   - each run is strictly after the time asked about, not after EndTime,
//     and (for rate and cron) not before StartTime; runs strictly increase;
//   - a cron run never lies past the end of 2199.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "common/time_zone.h"
#include "control/autoscaling/schedule.h"

namespace {

using namespace berth;
using autoscaling::Schedule;

void check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "schedule_expression_fuzz: %s\n", what);
  abort();
}

struct Zones {
  TimeZone utc = TimeZone::utc();
  TimeZone new_york = TimeZone::load("America/New_York").value_or(TimeZone::utc());
  TimeZone berlin = TimeZone::load("Europe/Berlin").value_or(TimeZone::utc());
};

WallTime seconds(int64_t s) { return WallTime(std::chrono::seconds(s)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Zones zones;
  if (size == 0) return 0;
  uint8_t options = data[0];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto schedule = autoscaling::parseSchedule(text);
  if (!schedule) {
    check(schedule.error().code == ErrorCode::kInvalidArgument, "a refusal is not kInvalidArgument");
    check(schedule.error().aws_type == "ValidationException", "a refusal is not a ValidationException");
    check(schedule.error().message.starts_with("Schedule expression is invalid"), "a refusal's message");
    return 0;
  }
  const TimeZone& tz = (options & 3) == 1 ? zones.new_york : (options & 3) == 2 ? zones.berlin : zones.utc;
  // Around New York's 2026 changes, and far out.
  const WallTime created = seconds(1'772'900'000);  // 2026-03-07
  std::optional<WallTime> start, end;
  if (options & 4) start = seconds(1'773'000'000 + (options >> 4) * 3'600);
  if (options & 8) end = seconds(1'800'000'000);
  const bool bounded = schedule->kind() != Schedule::Kind::kAt;
  const WallTime last_cron_minute = seconds(7'258'118'340);  // 2199-12-31T23:59:00Z, before any zone's offset
  for (WallTime from : {created, seconds(1'792'800'000), seconds(7'258'000'000), WallTime::min(), WallTime::max()}) {
    WallTime after = from;
    for (int i = 0; i < 4; ++i) {
      auto run = schedule->next(after, tz, start, end, created);
      if (!run) break;
      check(*run > after, "a run not after the time asked about");
      if (bounded && end) check(*run <= *end, "a run after EndTime");
      if (bounded && start) check(*run >= *start, "a run before StartTime");
      if (schedule->kind() == Schedule::Kind::kCron)
        check(*run <= last_cron_minute + std::chrono::hours(26), "a cron run past 2199");
      after = *run;
    }
  }
  return 0;
}
