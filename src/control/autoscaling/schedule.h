// Schedule expressions of Application Auto Scaling's scheduled actions
// (PutScheduledAction's Schedule), and when each fires next.
//
// The three forms, as the PutScheduledAction API reference defines them:
//
//   at(yyyy-mm-ddThh:mm:ss)   once, at that wall-clock time in the action's
//                             Timezone (UTC when none). StartTime and EndTime
//                             do not apply: AWS documents them as the bounds
//                             of recurring schedules only.
//   rate(value unit)          value a positive integer, unit minute | minutes
//                             | hour | hours | day | days. Application Auto
//                             Scaling defers to EventBridge for the syntax,
//                             whose rate reference requires the singular for
//                             a value of 1 and the plural otherwise;
//                             "rate(1 hours)" and "rate(5 hour)" are refused.
//                             A rate does not depend on the time zone. Its
//                             first run is at StartTime when one is given (the
//                             scheduled-scaling guide: "If you specify a start
//                             time, Application Auto Scaling performs the
//                             action at this time, and then performs the
//                             action based on the specified recurrence"), and
//                             otherwise one interval after the action was
//                             created (EventBridge: a rate "starts when you
//                             create" it). Then every interval.
//   cron(Min Hour DoM Mon DoW Year)
//                             EventBridge's six-field cron, evaluated in the
//                             action's Timezone: cron(0 20 * * ? *) in
//                             America/New_York fires at 20:00 New York time
//                             in summer and in winter.
//       Minutes 0-59          , - * /
//       Hours 0-23            , - * /
//       Day-of-month 1-31     , - * ? / L W   (L = last day; LW = last
//                                              weekday; 15W = the weekday
//                                              nearest the 15th, within
//                                              the month)
//       Month 1-12, JAN-DEC   , - * /
//       Day-of-week 1-7 (1 = SUN), SUN-SAT
//                             , - * ? L #     (L alone = SAT, the week's last
//                                              day; 6L = the month's last
//                                              Friday; 3#2 = its second
//                                              Tuesday; '#' only alone)
//       Year 1970-2199        , - * /
//     Exactly one of Day-of-month and Day-of-week is '?'. Names are read
//     without regard to case. A range may wrap (FRI-MON, 22-2) except in
//     Year. For a cron schedule StartTime and EndTime are bounds only: it
//     fires at its own times from StartTime on, not at StartTime itself.
//
// Wall-clock times that do not exist or exist twice (DST changes) are read
// as TimeZone::toUtc does: a time in the skipped hour runs at that time read
// with the offset from before the change (02:30 runs at 03:30 the new
// time), a time in the repeated hour runs once, at the first.
//
// EndTime is inclusive: a run at exactly EndTime happens.
//
// Thread rules: a Schedule is immutable; share it freely.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "common/time_zone.h"

namespace berth::autoscaling {

inline constexpr int kCronFirstYear = 1970;
inline constexpr int kCronLastYear = 2199;

class Schedule {
 public:
  enum class Kind { kAt, kRate, kCron };

  Kind kind() const { return kind_; }
  // The expression as given.
  const std::string& expression() const { return expression_; }

  // The first run strictly after `after`, or nullopt when there is none
  // (an at() time already past, a run past `end`, a cron whose years are
  // used up). `tz` is the action's Timezone (TimeZone::utc() when none),
  // `start` and `end` its StartTime and EndTime, `created` when it was put.
  std::optional<WallTime> next(WallTime after, const TimeZone& tz, std::optional<WallTime> start,
                               std::optional<WallTime> end, WallTime created) const;

  // A parsed cron expression (an implementation detail). Bit i of a field's
  // set is value i; years are offset by kCronFirstYear.
  struct Cron {
    enum class Days {
      kMonthDays,       // Day-of-month list; day_set holds 1-31
      kLastDay,         // L
      kLastWeekday,     // LW
      kNearestWeekday,  // nW; day_arg = n
      kWeekdays,        // Day-of-week list; day_set holds 0-6, 0 = Sunday
      kLastOfWeekday,   // dL; day_arg = d, 0 = Sunday
      kNthWeekday,      // d#n; day_arg = d, day_nth = n
    };
    std::bitset<64> minutes, hours, months;
    std::bitset<kCronLastYear - kCronFirstYear + 1> years;
    Days days = Days::kMonthDays;
    std::bitset<32> day_set;
    int day_arg = 0, day_nth = 0;
  };

 private:
  friend Result<Schedule> parseSchedule(std::string_view expression);

  std::optional<WallTime> nextRate(WallTime after, std::optional<WallTime> start, WallTime created) const;
  std::optional<WallTime> nextCron(WallTime after, const TimeZone& tz, std::optional<WallTime> start) const;
  // The first wall-clock minute at or after `local_seconds` that the cron
  // expression names, in local seconds; nullopt past kCronLastYear.
  std::optional<int64_t> nextCronMinute(int64_t local_seconds) const;

  Kind kind_ = Kind::kAt;
  std::string expression_;
  int64_t at_local_ = 0;      // at(): wall-clock seconds since 1970
  int64_t rate_seconds_ = 0;  // rate(): the interval
  Cron cron_;
};

// Parses a Schedule. A malformed expression fails with kInvalidArgument,
// aws_type "ValidationException", and a message that starts "Schedule
// expression is invalid" and says what is wrong.
Result<Schedule> parseSchedule(std::string_view expression);

}  // namespace berth::autoscaling
