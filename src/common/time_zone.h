// TimeZone: an IANA time zone read from a TZif file (RFC 8536), because
// GCC 12's <chrono> has no tzdb. Application Auto Scaling's scheduled actions
// name one (Timezone "America/New_York") for their at() and cron() times.
//
// What is read: versions 1 to 3. A file of version 2 or later is read from
// its second, 64-bit data block; a version 1 file from its 32-bit block.
// Times after the last transition follow the footer's POSIX TZ rule
// (STDoffset[DST[offset][,start[/time],end[/time]]] with Jn, n and Mm.w.d
// dates; version 3's hours from -167 to 167 in rule times are accepted).
// Before the first transition the first local time type applies (RFC 8536
// section 3.2). Leap-second records are skipped: the zoneinfo files berth
// reads ("posix" ones, not "right/...") have none, and AWS ignores leap
// seconds too.
//
// Seconds: every time here is seconds since 1970-01-01T00:00:00, of UTC
// ("utc_seconds") or of the zone's wall clock ("local_seconds"). Instants
// further than about 8,700 years from 1970 are evaluated as if at that limit.
//
// Thread rules: a TimeZone is immutable once made; share it freely.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth {

// A calendar reading with no zone: proleptic Gregorian, whole seconds.
struct CivilTime {
  int64_t year = 1970;
  int month = 1;  // 1-12
  int day = 1;    // 1-31
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// Seconds since 1970-01-01T00:00:00 <-> calendar fields, with no zone.
// fromCivil wants valid fields (use daysInMonth to check the day); the year
// should be within a few thousand years of 1970.
CivilTime toCivil(int64_t seconds);
int64_t fromCivil(const CivilTime& c);
int64_t daysFromCivil(int64_t year, int month, int day);
int daysInMonth(int64_t year, int month);
// 0 = Sunday ... 6 = Saturday, of a day counted from 1970-01-01.
int weekdayOfDay(int64_t days_since_epoch);

class TimeZone {
 public:
  // Reads <root>/<name>. The name is an IANA name such as "Europe/Berlin":
  // only [A-Za-z0-9_+-] and '/', no leading '/', no "." or ".." component.
  // An unknown or malformed name, or a file that is not TZif, fails with
  // kInvalidArgument (the caller's Timezone is wrong); an unreadable root
  // with kIo.
  static Result<TimeZone> load(std::string_view name, const std::filesystem::path& root = "/usr/share/zoneinfo");

  // Parses a TZif file's bytes. Any bytes are safe to pass: malformed input
  // fails with kInvalidArgument, never reads out of bounds.
  static Result<TimeZone> parse(std::string_view tzif_bytes, std::string name);

  static TimeZone utc();

  // The zone's offset from UTC at an instant, in seconds east of UTC
  // (Berlin in winter: 3600; New York in winter: -18000).
  int64_t offsetAt(int64_t utc_seconds) const;

  // The instant a wall-clock reading names. Two readings need a rule:
  //  - in a gap (the hour skipped when clocks go forward) the reading is
  //    read with the offset in force before the gap, so the instant moves
  //    forward: New York's 2026-03-08T02:30 is 07:30Z, which New York calls
  //    03:30 EDT;
  //  - in an overlap (the hour repeated when clocks go back) the earlier of
  //    the two instants is chosen: New York's 2026-11-01T01:30 is 05:30Z
  //    (EDT), not 06:30Z (EST).
  int64_t toUtc(int64_t local_seconds) const;

  // The smallest and largest offset the zone ever uses (bounds for searches
  // that walk wall-clock time).
  int64_t minOffset() const { return min_offset_; }
  int64_t maxOffset() const { return max_offset_; }

  const std::string& name() const { return name_; }

  // The footer's rule (an implementation detail, public for the parser).
  struct PosixRule {
    enum class DateKind { kJulianNoLeap, kZeroBased, kMonthWeekDay };
    struct Date {
      DateKind kind = DateKind::kMonthWeekDay;
      int day = 0;  // Jn: 1-365; n: 0-365; Mm.w.d: d, 0 = Sunday
      int month = 0, week = 0;
      int64_t time = 7200;  // seconds after local midnight, -167h..167h
    };
    int64_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    int64_t dst_offset = 0;
    Date start, end;
  };

 private:
  std::optional<int64_t> nextTransition(int64_t utc_seconds) const;
  int64_t footerOffsetAt(int64_t utc_seconds) const;
  std::optional<int64_t> footerNextTransition(int64_t utc_seconds) const;

  std::string name_;
  std::vector<int64_t> transitions_;       // ascending UTC seconds
  std::vector<uint8_t> transition_types_;  // index into type_offsets_
  std::vector<int64_t> type_offsets_;      // never empty
  std::optional<PosixRule> footer_;
  int64_t min_offset_ = 0, max_offset_ = 0;
};

}  // namespace berth
