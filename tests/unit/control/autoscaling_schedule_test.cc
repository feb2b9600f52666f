#include <chrono>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "common/time_zone.h"
#include "control/autoscaling/schedule.h"

namespace berth::autoscaling {
namespace {

// A UTC instant from calendar fields, with <chrono> alone.
WallTime utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return WallTime(sys_days{year{y} / mo / d} + hours(h) + minutes(mi) + seconds(s));
}

// ISO 8601 plus the microseconds, or "none": readable when a check fails.
std::string show(std::optional<WallTime> t) {
  if (!t) return "none";
  return toIso8601(*t) + " +" + std::to_string(t->time_since_epoch().count() % 1'000'000) + "us";
}

Schedule mustParse(std::string_view expression) {
  auto s = parseSchedule(expression);
  EXPECT_TRUE(s.has_value()) << expression << ": " << (s ? "" : s.error().message);
  return s ? *s : *parseSchedule("rate(1 day)");
}

TimeZone zone(const char* name) {
  auto tz = TimeZone::load(name);
  EXPECT_TRUE(tz.has_value()) << name;
  return tz ? *tz : TimeZone::utc();
}

// next() with no StartTime or EndTime, created long ago.
std::optional<WallTime> nextAfter(std::string_view expression, WallTime after, const TimeZone& tz = TimeZone::utc()) {
  return mustParse(expression).next(after, tz, std::nullopt, std::nullopt, utc(2020, 1, 1));
}

#define EXPECT_NEXT(expr, after, want, ...) \
  EXPECT_EQ(show(nextAfter(expr, after __VA_OPT__(, ) __VA_ARGS__)), show(want)) << (expr)

TEST(AutoscalingScheduleTest, ParsesEachForm) {
  EXPECT_EQ(mustParse("at(2026-03-01T10:00:00)").kind(), Schedule::Kind::kAt);
  EXPECT_EQ(mustParse("rate(5 minutes)").kind(), Schedule::Kind::kRate);
  EXPECT_EQ(mustParse("cron(0 20 * * ? *)").kind(), Schedule::Kind::kCron);
  EXPECT_EQ(mustParse("cron(0 20 * * ? *)").expression(), "cron(0 20 * * ? *)");
  for (const char* good : {"rate(1 minute)",
                           "rate(2 minutes)",
                           "rate(1 hour)",
                           "rate(12 hours)",
                           "rate(1 day)",
                           "rate(30 days)",
                           "rate( 5  minutes )",
                           "at(2028-02-29T23:59:59)",
                           "cron(30 6 ? * MON *)",
                           "cron(0 9 L * ? *)",
                           "cron(0 9 LW * ? *)",
                           "cron(0 9 15W * ? *)",
                           "cron(0 9 ? * 6L *)",
                           "cron(0 9 ? * FRIL *)",
                           "cron(0 9 ? * 3#2 *)",
                           "cron(0 9 ? * TUE#2 *)",
                           "cron(0/15 * * * ? *)",
                           "cron(*/5 1-5/2 * * ? *)",
                           "cron(0 10 ? * mon-fri *)",
                           "cron(0 0 1 JAN,jul ? 2026-2030)",
                           "cron(0 22-2 * * ? *)",
                           "cron(0 0 ? * FRI-MON *)",
                           "cron(5,10,15 0 1,15,31 * ? *)"}) {
    EXPECT_TRUE(parseSchedule(good).has_value()) << good;
  }
}

TEST(AutoscalingScheduleTest, RefusesMalformedExpressionsWithAReason) {
  struct Case {
    const char* expression;
    const char* message;  // after "Schedule expression is invalid: "
  };
  const Case cases[] = {
      {"", "use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},
      {"every(5 minutes)", "use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},
      {"cron(0 20 * * ? *", "use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},
      {"CRON(0 20 * * ? *)", "use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},
      {"at(2026-02-30T00:00:00)", "at() takes a date and time as yyyy-mm-ddThh:mm:ss"},
      {"at(2026-03-01 10:00:00)", "at() takes a date and time as yyyy-mm-ddThh:mm:ss"},
      {"at(2026-03-01T24:00:00)", "at() takes a date and time as yyyy-mm-ddThh:mm:ss"},
      {"at(2026-03-01T10:00:00Z)", "at() takes a date and time as yyyy-mm-ddThh:mm:ss"},
      {"rate(5minutes)", "rate() takes a value and a unit, as rate(5 minutes)"},
      {"rate(0 minutes)", "the rate value must be a positive integer"},
      {"rate(-5 minutes)", "the rate value must be a positive integer"},
      {"rate(1.5 hours)", "the rate value must be a positive integer"},
      {"rate(3000000000 days)", "the rate value must be a positive integer"},
      {"rate(5 weeks)", "the rate unit must be minute, minutes, hour, hours, day or days"},
      {"rate(5 Minutes)", "the rate unit must be minute, minutes, hour, hours, day or days"},
      {"rate(1 minutes)", "a rate value of 1 takes a singular unit (minute, hour or day)"},
      {"rate(5 hour)", "a rate value greater than 1 takes a plural unit (minutes, hours or days)"},
      {"cron(0 20 * * *)",
       "cron() takes 6 fields (Minutes Hours Day-of-month Month Day-of-week Year); \"0 20 * * *\" has 5"},
      {"cron(0 20 * * * *)", "one of Day-of-month and Day-of-week must be '?': they can't both be specified"},
      {"cron(0 20 1 * MON *)", "one of Day-of-month and Day-of-week must be '?': they can't both be specified"},
      {"cron(0 20 ? * ? *)", "Day-of-month and Day-of-week can't both be '?'"},
      {"cron(? 20 * * ? *)", "'?' is allowed only in Day-of-month and Day-of-week"},
      {"cron(60 * * * ? *)", "the Minutes field \"60\" is invalid: values are 0-59"},
      {"cron(0 24 * * ? *)", "the Hours field \"24\" is invalid: values are 0-23"},
      {"cron(0 0 0 * ? *)", "the Day-of-month field \"0\" is invalid: values are 1-31"},
      {"cron(0 0 * 13 ? *)", "the Month field \"13\" is invalid: values are 1-12"},
      {"cron(0 0 * JANUARY ? *)", "the Month field \"JANUARY\" is invalid: values are 1-12"},
      {"cron(0 0 ? * 8 *)", "the Day-of-week field \"8\" is invalid: values are 1-7"},
      {"cron(0 0 ? * 0 *)", "the Day-of-week field \"0\" is invalid: values are 1-7"},
      {"cron(0 0 * * ? 1969)", "the Year field \"1969\" is invalid: values are 1970-2199"},
      {"cron(0 0 * * ? 2200)", "the Year field \"2200\" is invalid: values are 1970-2199"},
      {"cron(0 0 * * ? 2030-2026)", "the Year field \"2030-2026\" is invalid: a range must not end before it starts"},
      {"cron(0 0 ? * 1/2 *)", "the Day-of-week field \"1/2\" is invalid: '/' is not allowed in this field"},
      {"cron(0/0 * * * ? *)", "the Minutes field \"0/0\" is invalid: the increment must be a positive integer"},
      {"cron(1,,2 * * * ? *)", "the Minutes field \"1,,2\" has an empty list item"},
      {"cron(0 0 ? * 3#1,6#3 *)",
       "the Day-of-week field \"3#1,6#3\" is invalid: with '#' only one expression is allowed"},
      {"cron(0 0 ? * 3#6 *)",
       "the Day-of-week field \"3#6\" is invalid: '#' needs a day 1-7 or SUN-SAT and a week 1-5, as 3#2"},
      {"cron(0 0 ? * 9L *)", "the Day-of-week field \"9L\" is invalid: L follows a single day, 1-7 or SUN-SAT"},
      {"cron(0 0 32W * ? *)", "the Day-of-month field \"32W\" is invalid: W follows a single day of the month, 1-31"},
      {"cron(0 0 L,15 * ? *)",
       "the Day-of-month field \"L,15\" is invalid: L and W can't be combined with other values"},
  };
  for (const Case& c : cases) {
    auto s = parseSchedule(c.expression);
    ASSERT_FALSE(s.has_value()) << c.expression;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << c.expression;
    EXPECT_EQ(s.error().aws_type, "ValidationException") << c.expression;
    EXPECT_EQ(s.error().message, std::string("Schedule expression is invalid: ") + c.message) << c.expression;
  }
}

TEST(AutoscalingScheduleTest, AtRunsOnceInItsZone) {
  EXPECT_NEXT("at(2026-03-01T10:00:00)", utc(2026, 1, 1), utc(2026, 3, 1, 10));
  EXPECT_NEXT("at(2026-03-01T10:00:00)", utc(2026, 3, 1, 10), std::nullopt);  // strictly after
  EXPECT_NEXT("at(2026-03-01T10:00:00)", utc(2026, 3, 1, 9, 59, 59), utc(2026, 3, 1, 10));
  TimeZone ny = zone("America/New_York");
  EXPECT_NEXT("at(2026-07-04T09:00:00)", utc(2026, 1, 1), utc(2026, 7, 4, 13), ny);     // EDT
  EXPECT_NEXT("at(2026-12-04T09:00:00)", utc(2026, 1, 1), utc(2026, 12, 4, 14), ny);    // EST
  EXPECT_NEXT("at(2026-03-08T02:30:00)", utc(2026, 1, 1), utc(2026, 3, 8, 7, 30), ny);  // in the gap
  // StartTime and EndTime bound recurring schedules only.
  Schedule at = mustParse("at(2026-03-01T10:00:00)");
  EXPECT_EQ(show(at.next(utc(2026, 1, 1), TimeZone::utc(), utc(2026, 6, 1), utc(2026, 2, 1), utc(2026, 1, 1))),
            show(utc(2026, 3, 1, 10)));
}

TEST(AutoscalingScheduleTest, RateStartsOneIntervalAfterCreationOrAtStartTime) {
  Schedule every5 = mustParse("rate(5 minutes)");
  WallTime created = utc(2026, 1, 1, 0, 0, 0) + std::chrono::microseconds(250);
  auto next = [&](WallTime after, std::optional<WallTime> start = std::nullopt,
                  std::optional<WallTime> end = std::nullopt) {
    return show(every5.next(after, TimeZone::utc(), start, end, created));
  };
  const auto us250 = std::chrono::microseconds(250);
  EXPECT_EQ(next(created), show(utc(2026, 1, 1, 0, 5) + us250));
  EXPECT_EQ(next(utc(2026, 1, 1, 0, 5) + us250), show(utc(2026, 1, 1, 0, 10) + us250));
  EXPECT_EQ(next(utc(2026, 1, 1, 0, 7, 30)), show(utc(2026, 1, 1, 0, 10) + us250));
  EXPECT_EQ(next(utc(2026, 1, 2)), show(utc(2026, 1, 2) + us250));
  EXPECT_EQ(next(utc(2026, 1, 2) + us250), show(utc(2026, 1, 2, 0, 5) + us250));

  // With a StartTime: first at StartTime itself, then every interval.
  WallTime start = utc(2026, 2, 1, 12);
  EXPECT_EQ(next(utc(2026, 1, 5), start), show(start));
  EXPECT_EQ(next(start, start), show(utc(2026, 2, 1, 12, 5)));
  EXPECT_EQ(next(utc(2026, 2, 1, 13, 1), start), show(utc(2026, 2, 1, 13, 5)));
  // EndTime is inclusive.
  WallTime end = utc(2026, 2, 1, 12, 10);
  EXPECT_EQ(next(utc(2026, 2, 1, 12, 5), start, end), show(end));
  EXPECT_EQ(next(end, start, end), "none");

  // A rate does not follow the wall clock: a day is 24 hours across DST.
  Schedule daily = mustParse("rate(1 day)");
  EXPECT_EQ(show(daily.next(utc(2026, 3, 8, 1), zone("America/New_York"), utc(2026, 3, 7, 12), std::nullopt,
                            utc(2026, 3, 1))),
            show(utc(2026, 3, 8, 12)));
  // The largest value accepted does not overflow.
  Schedule huge = mustParse("rate(2147483647 days)");
  EXPECT_EQ(show(huge.next(utc(2026, 1, 2), TimeZone::utc(), std::nullopt, std::nullopt, utc(2026, 1, 1))), "none");
}

TEST(AutoscalingScheduleTest, CronAcrossMonthEndsAndLeapYears) {
  EXPECT_NEXT("cron(0 12 31 * ? *)", utc(2026, 4, 1), utc(2026, 5, 31, 12));  // April has no 31st
  EXPECT_NEXT("cron(0 0 L * ? *)", utc(2028, 2, 1), utc(2028, 2, 29));
  EXPECT_NEXT("cron(0 0 L * ? *)", utc(2027, 2, 1), utc(2027, 2, 28));
  EXPECT_NEXT("cron(0 0 L * ? *)", utc(2026, 4, 30, 0, 0, 1), utc(2026, 5, 31));
  EXPECT_NEXT("cron(0 0 29 2 ? *)", utc(2026, 3, 1), utc(2028, 2, 29));
  EXPECT_NEXT("cron(0 0 29 FEB ? *)", utc(2096, 3, 1), utc(2104, 2, 29));  // 2100 is no leap year
  EXPECT_NEXT("cron(59 23 31 12 ? *)", utc(2026, 12, 31, 23, 59), utc(2027, 12, 31, 23, 59));
  EXPECT_NEXT("cron(0 0 1 * ? *)", utc(2026, 12, 15), utc(2027, 1, 1));
}

TEST(AutoscalingScheduleTest, CronListsRangesStepsAndWraps) {
  EXPECT_NEXT("cron(5/20 * * * ? *)", utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 0, 45));
  EXPECT_NEXT("cron(5/20 * * * ? *)", utc(2026, 1, 1, 0, 50), utc(2026, 1, 1, 1, 5));
  EXPECT_NEXT("cron(0 22-2 * * ? *)", utc(2026, 1, 1, 3), utc(2026, 1, 1, 22));
  EXPECT_NEXT("cron(0 22-2 * * ? *)", utc(2026, 1, 1, 23), utc(2026, 1, 2, 0));
  EXPECT_NEXT("cron(0 10 ? * MON-FRI *)", utc(2026, 1, 2, 11), utc(2026, 1, 5, 10));  // Fri -> Mon
  EXPECT_NEXT("cron(0 10 ? * FRI-MON *)", utc(2026, 1, 5, 11), utc(2026, 1, 9, 10));  // Mon -> Fri
  EXPECT_NEXT("cron(0 10 ? * 1,7 *)", utc(2026, 1, 1), utc(2026, 1, 3, 10));          // Sat the 3rd
  EXPECT_NEXT("cron(30 6 ? * mon *)", utc(2026, 1, 1), utc(2026, 1, 5, 6, 30));
  EXPECT_NEXT("cron(0 0 1 JAN,JUL ? *)", utc(2026, 1, 2), utc(2026, 7, 1));
  EXPECT_NEXT("cron(0 0 1 1 ? 2030/5)", utc(2026, 1, 1), utc(2030, 1, 1));
  EXPECT_NEXT("cron(0 0 1 1 ? 2030/5)", utc(2030, 1, 1), utc(2035, 1, 1));
  // Every minute, from a time with a fraction of a second.
  EXPECT_NEXT("cron(* * * * ? *)", utc(2026, 5, 5, 10, 0, 30), utc(2026, 5, 5, 10, 1));
  EXPECT_NEXT("cron(* * * * ? *)", utc(2026, 5, 5, 10) + std::chrono::microseconds(1), utc(2026, 5, 5, 10, 1));
  EXPECT_NEXT("cron(* * * * ? *)", utc(2026, 5, 5, 10) - std::chrono::microseconds(1), utc(2026, 5, 5, 10));
}

TEST(AutoscalingScheduleTest, CronLastNearestAndNthWeekdays) {
  // January 2026 starts on a Thursday; the 31st is a Saturday.
  EXPECT_NEXT("cron(0 9 LW * ? *)", utc(2026, 1, 1), utc(2026, 1, 30, 9));
  // May 31 2026 is a Sunday: the last weekday is Friday the 29th.
  EXPECT_NEXT("cron(0 9 LW * ? *)", utc(2026, 5, 1), utc(2026, 5, 29, 9));
  EXPECT_NEXT("cron(0 9 31W * ? *)", utc(2026, 5, 1), utc(2026, 5, 29, 9));
  // March 15 2026 is a Sunday: 15W is Monday the 16th.
  EXPECT_NEXT("cron(0 9 15W * ? *)", utc(2026, 3, 1), utc(2026, 3, 16, 9));
  // August 1 2026 is a Saturday: 1W is Monday the 3rd (not July 31).
  EXPECT_NEXT("cron(0 9 1W * ? *)", utc(2026, 7, 2), utc(2026, 8, 3, 9));
  // 30W skips February.
  EXPECT_NEXT("cron(0 9 30W * ? *)", utc(2026, 2, 1), utc(2026, 3, 30, 9));
  // Second Tuesday: January 13, then February 10.
  EXPECT_NEXT("cron(0 9 ? * 3#2 *)", utc(2026, 1, 1), utc(2026, 1, 13, 9));
  EXPECT_NEXT("cron(0 9 ? * TUE#2 *)", utc(2026, 1, 13, 9), utc(2026, 2, 10, 9));
  // Fifth Friday: January 30, then none until May 29.
  EXPECT_NEXT("cron(0 9 ? * 6#5 *)", utc(2026, 1, 1), utc(2026, 1, 30, 9));
  EXPECT_NEXT("cron(0 9 ? * 6#5 *)", utc(2026, 1, 31), utc(2026, 5, 29, 9));
  // Last Friday: January 30, February 27.
  EXPECT_NEXT("cron(0 9 ? * 6L *)", utc(2026, 1, 1), utc(2026, 1, 30, 9));
  EXPECT_NEXT("cron(0 9 ? * FRIL *)", utc(2026, 1, 31), utc(2026, 2, 27, 9));
  // L alone in Day-of-week is the week's last day, Saturday.
  EXPECT_NEXT("cron(0 9 ? * L *)", utc(2026, 1, 1), utc(2026, 1, 3, 9));
}

TEST(AutoscalingScheduleTest, CronFollowsTheZoneAcrossDst) {
  TimeZone ny = zone("America/New_York");
  // 20:00 New York time: 01:00Z in winter, 00:00Z in summer.
  EXPECT_NEXT("cron(0 20 * * ? *)", utc(2026, 3, 7, 2), utc(2026, 3, 8, 1), ny);  // Mar 7 20:00 EST
  EXPECT_NEXT("cron(0 20 * * ? *)", utc(2026, 3, 8, 1), utc(2026, 3, 9, 0), ny);
  EXPECT_NEXT("cron(0 20 * * ? *)", utc(2026, 10, 31, 0), utc(2026, 11, 1, 0), ny);
  EXPECT_NEXT("cron(0 20 * * ? *)", utc(2026, 11, 1, 0), utc(2026, 11, 2, 1), ny);
  // 02:30 does not exist on March 8: it runs at 03:30 EDT (07:30Z), once,
  // even with 03:30 also named.
  EXPECT_NEXT("cron(30 2 * * ? *)", utc(2026, 3, 8), utc(2026, 3, 8, 7, 30), ny);
  EXPECT_NEXT("cron(30 2 * * ? *)", utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30), ny);
  EXPECT_NEXT("cron(30 2,3 * * ? *)", utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30), ny);
  // 01:30 happens twice on November 1: it runs at the first (EDT) only.
  EXPECT_NEXT("cron(30 1 * * ? *)", utc(2026, 11, 1), utc(2026, 11, 1, 5, 30), ny);
  EXPECT_NEXT("cron(30 1 * * ? *)", utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), ny);
  // Every 30 minutes through the repeated hour: 01:00 and 01:30 EDT, then
  // 02:00 EST; the second 01:00 and 01:30 are the same wall times.
  EXPECT_NEXT("cron(0/30 * * * ? *)", utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7), ny);
  // Berlin weekdays at 09:00: Friday before the change 08:00Z, Monday after 07:00Z.
  TimeZone berlin = zone("Europe/Berlin");
  EXPECT_NEXT("cron(0 9 ? * MON-FRI *)", utc(2026, 3, 27), utc(2026, 3, 27, 8), berlin);
  EXPECT_NEXT("cron(0 9 ? * MON-FRI *)", utc(2026, 3, 27, 8), utc(2026, 3, 30, 7), berlin);
}

TEST(AutoscalingScheduleTest, CronHonoursStartAndEndTime) {
  Schedule noon = mustParse("cron(0 12 * * ? *)");
  auto next = [&](WallTime after, std::optional<WallTime> start, std::optional<WallTime> end) {
    return show(noon.next(after, TimeZone::utc(), start, end, utc(2026, 1, 1)));
  };
  // StartTime bounds the runs (inclusive) but is not itself a run.
  EXPECT_EQ(next(utc(2026, 1, 1), utc(2026, 6, 10, 12), std::nullopt), show(utc(2026, 6, 10, 12)));
  EXPECT_EQ(next(utc(2026, 1, 1), utc(2026, 6, 10, 12, 0, 1), std::nullopt), show(utc(2026, 6, 11, 12)));
  EXPECT_EQ(next(utc(2026, 1, 1), utc(2026, 6, 10, 9), std::nullopt), show(utc(2026, 6, 10, 12)));
  // A StartTime in the past changes nothing.
  EXPECT_EQ(next(utc(2026, 7, 1, 13), utc(2026, 6, 10), std::nullopt), show(utc(2026, 7, 2, 12)));
  // EndTime is inclusive; past it there is no next run.
  EXPECT_EQ(next(utc(2026, 6, 9, 13), std::nullopt, utc(2026, 6, 10, 12)), show(utc(2026, 6, 10, 12)));
  EXPECT_EQ(next(utc(2026, 6, 9, 13), std::nullopt, utc(2026, 6, 10, 11, 59, 59)), "none");
}

TEST(AutoscalingScheduleTest, CronStopsAtItsLastYear) {
  EXPECT_NEXT("cron(0 0 1 1 ? 2199)", utc(2198, 12, 31), utc(2199, 1, 1));
  EXPECT_NEXT("cron(0 0 1 1 ? 2199)", utc(2199, 1, 1), std::nullopt);
  EXPECT_NEXT("cron(59 23 31 12 ? *)", utc(2199, 12, 31, 23, 59), std::nullopt);
  EXPECT_NEXT("cron(0 0 1 1 ? 2020)", utc(2026, 1, 1), std::nullopt);
  EXPECT_NEXT("cron(0 0 1 1 ? 2020)", utc(1970, 1, 1), utc(2020, 1, 1));
  // A date that never comes, and a fifth Monday in February of one year
  // without one, are searched month by month, not minute by minute.
  EXPECT_NEXT("cron(0 0 31 2 ? *)", utc(2026, 1, 1), std::nullopt);
  EXPECT_NEXT("cron(0 0 ? 2 2#5 2027)", utc(2026, 1, 1), std::nullopt);
  EXPECT_NEXT("cron(0 0 ? 2 2#5 *)", utc(2026, 1, 1), utc(2044, 2, 29));
  // Far outside the years: before 1970 the search starts in 1970.
  EXPECT_NEXT("cron(0 0 1 1 ? *)", WallTime::min(), utc(1970, 1, 1));
  EXPECT_NEXT("cron(0 0 1 1 ? *)", WallTime::max(), std::nullopt);
}

}  // namespace
}  // namespace berth::autoscaling
