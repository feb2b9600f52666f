#include "control/autoscaling/schedule.h"

#include <algorithm>
#include <array>
#include <vector>

#include <fmt/format.h>

namespace berth::autoscaling {

namespace {

constexpr int64_t kMicros = 1'000'000;
// Java's int bound: a rate value above it is refused (AWS parses it as one).
constexpr int64_t kMaxRateValue = 2'147'483'647;
// nextCronMinute's loop moves at least to the next hour, day, month or year
// per pass; this bounds it far above what 230 years of any field need.
constexpr int kMaxCronSteps = 200'000;

std::unexpected<Error> invalid(std::string_view detail) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("Schedule expression is invalid: {}", detail),
              "ValidationException");
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isSpace(char c) { return c == ' ' || c == '\t'; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::vector<std::string_view> split(std::string_view s, char by) {
  std::vector<std::string_view> parts;
  size_t begin = 0;
  for (;;) {
    size_t at = s.find(by, begin);
    parts.push_back(s.substr(begin, at == std::string_view::npos ? std::string_view::npos : at - begin));
    if (at == std::string_view::npos) return parts;
    begin = at + 1;
  }
}

std::vector<std::string_view> splitSpaces(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isSpace(s[i])) ++i;
    size_t begin = i;
    while (i < s.size() && !isSpace(s[i])) ++i;
    if (i > begin) parts.push_back(s.substr(begin, i - begin));
  }
  return parts;
}

// Digits only, at most 10 of them (so no overflow); nullopt otherwise.
std::optional<int64_t> parseNumber(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// ---- at() ----

// yyyy-mm-ddThh:mm:ss, a real date and time.
std::optional<int64_t> parseLocalDateTime(std::string_view s) {
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  auto part = [&](size_t at, size_t n) { return parseNumber(s.substr(at, n)); };
  auto y = part(0, 4), mo = part(5, 2), d = part(8, 2), h = part(11, 2), mi = part(14, 2), sec = part(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > daysInMonth(*y, static_cast<int>(*mo)) || *h > 23 || *mi > 59 || *sec > 59)
    return std::nullopt;
  return fromCivil(CivilTime{*y, static_cast<int>(*mo), static_cast<int>(*d), static_cast<int>(*h),
                             static_cast<int>(*mi), static_cast<int>(*sec)});
}

// ---- cron() fields ----

struct FieldSpec {
  const char* name;
  int min, max;
  bool step_allowed;
  bool wrap_allowed;
  const std::array<const char*, 12>* names;  // value min + i is names[i]
  int name_count;
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kMinutes{"Minutes", 0, 59, true, true, nullptr, 0};
constexpr FieldSpec kHours{"Hours", 0, 23, true, true, nullptr, 0};
constexpr FieldSpec kDayOfMonth{"Day-of-month", 1, 31, true, true, nullptr, 0};
constexpr FieldSpec kMonth{"Month", 1, 12, true, true, &kMonthNames, 12};
constexpr FieldSpec kDayOfWeek{"Day-of-week", 1, 7, false, true, &kDayNames, 7};
constexpr FieldSpec kYear{"Year", kCronFirstYear, kCronLastYear, true, false, nullptr, 0};

std::unexpected<Error> badField(const FieldSpec& spec, std::string_view field, std::string_view why) {
  return invalid(fmt::format("the {} field \"{}\" {}", spec.name, field, why));
}

std::optional<int> parseValue(const FieldSpec& spec, std::string_view s) {
  if (auto n = parseNumber(s)) {
    if (*n < spec.min || *n > spec.max) return std::nullopt;
    return static_cast<int>(*n);
  }
  if (s.size() != 3 || !spec.names) return std::nullopt;
  for (int i = 0; i < spec.name_count; ++i) {
    const char* name = (*spec.names)[i];
    if (upper(s[0]) == name[0] && upper(s[1]) == name[1] && upper(s[2]) == name[2]) return spec.min + i;
  }
  return std::nullopt;
}

// A list of '*', v, a-b, with /step where the field allows it. Bit i of the
// result is value spec.min + i.
Result<std::bitset<256>> parseList(const FieldSpec& spec, std::string_view field) {
  std::bitset<256> set;
  const std::string values_hint = fmt::format("is invalid: values are {}-{}", spec.min, spec.max);
  for (std::string_view item : split(field, ',')) {
    if (item.empty()) return badField(spec, field, "has an empty list item");
    std::string_view base = item;
    int step = 1;
    bool stepped = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      if (!spec.step_allowed) return badField(spec, field, "is invalid: '/' is not allowed in this field");
      auto n = parseNumber(item.substr(slash + 1));
      if (!n || *n < 1) return badField(spec, field, "is invalid: the increment must be a positive integer");
      step = static_cast<int>(std::min<int64_t>(*n, 1000));
      stepped = true;
      base = item.substr(0, slash);
    }
    int first = spec.min, last = spec.max;
    if (base != "*") {
      size_t dash = base.find('-');
      auto a = parseValue(spec, base.substr(0, dash));
      if (!a) return badField(spec, field, values_hint);
      first = *a;
      if (dash != std::string_view::npos) {
        auto b = parseValue(spec, base.substr(dash + 1));
        if (!b) return badField(spec, field, values_hint);
        last = *b;
        if (last < first && !spec.wrap_allowed)
          return badField(spec, field, "is invalid: a range must not end before it starts");
      } else if (!stepped) {
        last = first;  // a single value; "a/s" runs from a to the field's end
      }
    }
    // A range that ends before it starts wraps past the field's end.
    int size = spec.max - spec.min + 1;
    int span = ((last - first) % size + size) % size;
    for (int k = 0; k <= span; k += step) set.set((first - spec.min + k) % size);
  }
  return set;
}

Status parseDayOfMonth(std::string_view field, Schedule::Cron& cron) {
  using Days = Schedule::Cron::Days;
  if (field == "L" || field == "l") {
    cron.days = Days::kLastDay;
    return {};
  }
  if (field == "LW" || field == "lw") {
    cron.days = Days::kLastWeekday;
    return {};
  }
  if (field.size() >= 2 && upper(field.back()) == 'W') {
    auto n = parseNumber(field.substr(0, field.size() - 1));
    if (!n || *n < 1 || *n > 31)
      return badField(kDayOfMonth, field, "is invalid: W follows a single day of the month, 1-31");
    cron.days = Days::kNearestWeekday;
    cron.day_arg = static_cast<int>(*n);
    return {};
  }
  if (field.find_first_of("LlWw") != std::string_view::npos)
    return badField(kDayOfMonth, field, "is invalid: L and W can't be combined with other values");
  auto set = BERTH_TRY(parseList(kDayOfMonth, field));
  cron.days = Days::kMonthDays;
  for (int d = 1; d <= 31; ++d) cron.day_set[d] = set[d - 1];
  return {};
}

Status parseDayOfWeek(std::string_view field, Schedule::Cron& cron) {
  using Days = Schedule::Cron::Days;
  if (field == "L" || field == "l") {  // the week's last day
    cron.days = Days::kWeekdays;
    cron.day_set.reset();
    cron.day_set.set(6);
    return {};
  }
  if (size_t hash = field.find('#'); hash != std::string_view::npos) {
    if (field.find(',') != std::string_view::npos)
      return badField(kDayOfWeek, field, "is invalid: with '#' only one expression is allowed");
    auto day = parseValue(kDayOfWeek, field.substr(0, hash));
    auto nth = parseNumber(field.substr(hash + 1));
    if (!day || !nth || *nth < 1 || *nth > 5)
      return badField(kDayOfWeek, field, "is invalid: '#' needs a day 1-7 or SUN-SAT and a week 1-5, as 3#2");
    cron.days = Days::kNthWeekday;
    cron.day_arg = *day - 1;
    cron.day_nth = static_cast<int>(*nth);
    return {};
  }
  if (field.size() >= 2 && upper(field.back()) == 'L') {
    auto day = parseValue(kDayOfWeek, field.substr(0, field.size() - 1));
    if (!day) return badField(kDayOfWeek, field, "is invalid: L follows a single day, 1-7 or SUN-SAT");
    cron.days = Days::kLastOfWeekday;
    cron.day_arg = *day - 1;
    return {};
  }
  auto set = BERTH_TRY(parseList(kDayOfWeek, field));
  cron.days = Days::kWeekdays;
  cron.day_set.reset();
  for (int d = 1; d <= 7; ++d) cron.day_set[d - 1] = set[d - 1];
  return {};
}

Result<Schedule::Cron> parseCron(std::string_view body) {
  std::vector<std::string_view> fields = splitSpaces(body);
  if (fields.size() != 6)
    return invalid(
        fmt::format("cron() takes 6 fields (Minutes Hours Day-of-month Month Day-of-week Year); \"{}\" has {}", body,
                    fields.size()));
  Schedule::Cron cron;
  auto to64 = [](const std::bitset<256>& b) {
    std::bitset<64> out;
    for (size_t i = 0; i < 64; ++i) out[i] = b[i];
    return out;
  };
  for (size_t i : {size_t{0}, size_t{1}, size_t{3}, size_t{5}})
    if (fields[i] == "?") return invalid(fmt::format("'?' is allowed only in Day-of-month and Day-of-week"));
  cron.minutes = to64(BERTH_TRY(parseList(kMinutes, fields[0])));
  cron.hours = to64(BERTH_TRY(parseList(kHours, fields[1])));
  cron.months = to64(BERTH_TRY(parseList(kMonth, fields[3])) << 1);
  auto years = BERTH_TRY(parseList(kYear, fields[5]));
  for (int i = 0; i <= kCronLastYear - kCronFirstYear; ++i) cron.years[i] = years[i];

  bool dom_any = fields[2] == "?", dow_any = fields[4] == "?";
  if (dom_any && dow_any) return invalid("Day-of-month and Day-of-week can't both be '?'");
  if (!dom_any && !dow_any)
    return invalid("one of Day-of-month and Day-of-week must be '?': they can't both be specified");
  if (!dom_any) BERTH_TRY(parseDayOfMonth(fields[2], cron));
  if (!dow_any) BERTH_TRY(parseDayOfWeek(fields[4], cron));
  return cron;
}

// The days of a month that a cron's day rule names, as bits 1-31.
std::bitset<32> matchingDays(const Schedule::Cron& cron, int64_t year, int month) {
  using Days = Schedule::Cron::Days;
  int dim = daysInMonth(year, month);
  int first_weekday = weekdayOfDay(daysFromCivil(year, month, 1));
  auto weekday = [&](int d) { return (first_weekday + d - 1) % 7; };
  std::bitset<32> days;
  switch (cron.days) {
    case Days::kMonthDays:
      for (int d = 1; d <= dim; ++d) days[d] = cron.day_set[d];
      break;
    case Days::kLastDay:
      days.set(dim);
      break;
    case Days::kLastWeekday: {
      int wd = weekday(dim);
      days.set(wd == 6 ? dim - 1 : wd == 0 ? dim - 2 : dim);
      break;
    }
    case Days::kNearestWeekday: {
      int n = cron.day_arg;
      if (n > dim) break;  // no 30th in February: no run that month
      int wd = weekday(n);
      // The nearest weekday within the month: a Saturday the 1st moves to
      // Monday the 3rd, a Sunday the last moves back to Friday.
      if (wd == 6) n = n == 1 ? 3 : n - 1;
      if (wd == 0) n = n == dim ? n - 2 : n + 1;
      days.set(n);
      break;
    }
    case Days::kWeekdays:
      for (int d = 1; d <= dim; ++d) days[d] = cron.day_set[weekday(d)];
      break;
    case Days::kLastOfWeekday:
      days.set(dim - (weekday(dim) - cron.day_arg + 7) % 7);
      break;
    case Days::kNthWeekday: {
      int d = 1 + (cron.day_arg - first_weekday + 7) % 7 + 7 * (cron.day_nth - 1);
      if (d <= dim) days.set(d);
      break;
    }
  }
  return days;
}

// The first set bit at or above `from` and at most `to`, if any.
template <size_t N>
std::optional<int> firstSet(const std::bitset<N>& bits, int from, int to) {
  for (int i = std::max(from, 0); i <= to && i < static_cast<int>(N); ++i)
    if (bits[i]) return i;
  return std::nullopt;
}

}  // namespace

Result<Schedule> parseSchedule(std::string_view expression) {
  Schedule s;
  s.expression_ = std::string(expression);
  if (expression.empty() || expression.back() != ')')
    return invalid("use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)");
  auto inside = [&](std::string_view prefix) {
    return expression.substr(prefix.size(), expression.size() - prefix.size() - 1);
  };

  if (startsWith(expression, "at(")) {
    auto local = parseLocalDateTime(inside("at("));
    if (!local) return invalid("at() takes a date and time as yyyy-mm-ddThh:mm:ss");
    s.kind_ = Schedule::Kind::kAt;
    s.at_local_ = *local;
    return s;
  }

  if (startsWith(expression, "rate(")) {
    std::vector<std::string_view> parts = splitSpaces(inside("rate("));
    if (parts.size() != 2) return invalid("rate() takes a value and a unit, as rate(5 minutes)");
    auto value = parseNumber(parts[0]);
    if (!value || *value < 1 || *value > kMaxRateValue) return invalid("the rate value must be a positive integer");
    std::string_view unit = parts[1];
    int64_t unit_seconds = 0;
    bool plural = unit.size() > 1 && unit.back() == 's';
    std::string_view singular = plural ? unit.substr(0, unit.size() - 1) : unit;
    if (singular == "minute")
      unit_seconds = 60;
    else if (singular == "hour")
      unit_seconds = 3600;
    else if (singular == "day")
      unit_seconds = 86400;
    else
      return invalid("the rate unit must be minute, minutes, hour, hours, day or days");
    if (*value == 1 && plural) return invalid("a rate value of 1 takes a singular unit (minute, hour or day)");
    if (*value > 1 && !plural)
      return invalid("a rate value greater than 1 takes a plural unit (minutes, hours or days)");
    s.kind_ = Schedule::Kind::kRate;
    s.rate_seconds_ = *value * unit_seconds;
    return s;
  }

  if (startsWith(expression, "cron(")) {
    s.kind_ = Schedule::Kind::kCron;
    s.cron_ = BERTH_TRY(parseCron(inside("cron(")));
    return s;
  }
  return invalid("use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)");
}

std::optional<WallTime> Schedule::next(WallTime after, const TimeZone& tz, std::optional<WallTime> start,
                                       std::optional<WallTime> end, WallTime created) const {
  std::optional<WallTime> run;
  switch (kind_) {
    case Kind::kAt: {
      WallTime at{std::chrono::seconds(tz.toUtc(at_local_))};
      return at > after ? std::optional(at) : std::nullopt;
    }
    case Kind::kRate:
      run = nextRate(after, start, created);
      break;
    case Kind::kCron:
      run = nextCron(after, tz, start);
      break;
  }
  if (run && end && *run > *end) return std::nullopt;
  return run;
}

std::optional<WallTime> Schedule::nextRate(WallTime after, std::optional<WallTime> start, WallTime created) const {
  // 128-bit: a rate of 2^31 days does not fit in int64 microseconds.
  using Wide = __int128;
  Wide interval = Wide{rate_seconds_} * kMicros;
  Wide anchor = start ? Wide{start->time_since_epoch().count()} : created.time_since_epoch().count() + interval;
  Wide from = after.time_since_epoch().count();
  Wide run = anchor;
  if (run <= from) run = anchor + ((from - anchor) / interval + 1) * interval;
  if (run > Wide{WallTime::max().time_since_epoch().count()}) return std::nullopt;
  return WallTime(std::chrono::microseconds(static_cast<int64_t>(run)));
}

std::optional<WallTime> Schedule::nextCron(WallTime after, const TimeZone& tz, std::optional<WallTime> start) const {
  // The run must be a whole second after `after` (and at or after `start`).
  int64_t after_us = after.time_since_epoch().count();
  if (start) after_us = std::max(after_us, start->time_since_epoch().count() - 1);
  int64_t min_run = after_us / kMicros + ((after_us % kMicros != 0 && after_us < 0) ? -1 : 0) + 1;

  // A wall-clock minute L runs at tz.toUtc(L), which lies in
  // [L - maxOffset, L - minOffset]. So no minute before `scan` can run at
  // or after min_run, and once L - maxOffset passes the best run found no
  // later minute can beat it. Across a DST gap toUtc is not monotonic
  // (02:30 and 03:30 both run at 03:30 the new time), hence the window
  // rather than the first match.
  int64_t spread = tz.maxOffset() - tz.minOffset();
  int64_t scan = min_run + tz.offsetAt(min_run) - spread;
  std::optional<int64_t> best;
  for (int step = 0; step < kMaxCronSteps; ++step) {
    std::optional<int64_t> local = nextCronMinute(scan);
    if (!local) break;
    if (best && *local - tz.maxOffset() > *best) break;
    int64_t run = tz.toUtc(*local);
    if (run >= min_run && (!best || run < *best)) best = run;
    scan = *local + 60;
  }
  if (!best) return std::nullopt;
  return WallTime(std::chrono::seconds(*best));
}

std::optional<int64_t> Schedule::nextCronMinute(int64_t local_seconds) const {
  const Cron& c = cron_;
  // Round up to a whole minute.
  int64_t t = local_seconds / 60 * 60;
  if (t < local_seconds) t += 60;
  CivilTime at = toCivil(t);
  if (at.year < kCronFirstYear) at = CivilTime{kCronFirstYear, 1, 1, 0, 0, 0};
  auto startOfMonth = [&](int64_t year, int month) { at = CivilTime{year, month, 1, 0, 0, 0}; };
  auto nextMonth = [&] { at.month == 12 ? startOfMonth(at.year + 1, 1) : startOfMonth(at.year, at.month + 1); };
  auto nextDay = [&] { at = toCivil((daysFromCivil(at.year, at.month, at.day) + 1) * 86400); };

  for (int step = 0; step < kMaxCronSteps; ++step) {
    if (at.year > kCronLastYear) return std::nullopt;
    int year_index = static_cast<int>(at.year - kCronFirstYear);
    if (!c.years[year_index]) {
      auto y = firstSet(c.years, year_index + 1, kCronLastYear - kCronFirstYear);
      if (!y) return std::nullopt;
      startOfMonth(kCronFirstYear + *y, 1);
      continue;
    }
    if (!c.months[at.month]) {
      auto m = firstSet(c.months, at.month + 1, 12);
      m ? startOfMonth(at.year, *m) : startOfMonth(at.year + 1, 1);
      continue;
    }
    auto d = firstSet(matchingDays(c, at.year, at.month), at.day, 31);
    if (!d) {
      nextMonth();
      continue;
    }
    if (*d != at.day) at = CivilTime{at.year, at.month, *d, 0, 0, 0};
    auto h = firstSet(c.hours, at.hour, 23);
    if (!h) {
      nextDay();
      continue;
    }
    if (*h != at.hour) at = CivilTime{at.year, at.month, at.day, *h, 0, 0};
    auto m = firstSet(c.minutes, at.minute, 59);
    if (!m) {
      // On to the next hour (and day, when this was the last).
      if (at.hour == 23) {
        nextDay();
      } else {
        at = CivilTime{at.year, at.month, at.day, at.hour + 1, 0, 0};
      }
      continue;
    }
    at.minute = *m;
    at.second = 0;
    return fromCivil(at);
  }
  return std::nullopt;
}

}  // namespace berth::autoscaling
