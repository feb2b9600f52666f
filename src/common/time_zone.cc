#include "common/time_zone.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>

#include <fmt/format.h>

namespace berth {

namespace {

namespace chr = std::chrono;

// Instants are clamped to about +-8,700 years so that calendar arithmetic
// (std::chrono::year holds +-32,767) never overflows.
constexpr int64_t kSecondsLimit = int64_t{1} << 38;
constexpr int64_t kDay = 86400;
// RFC 8536 section 3.2: a local time type's offset lies in [-89999, 93599].
constexpr int64_t kMinTypeOffset = -89999, kMaxTypeOffset = 93599;
// A zoneinfo file is a few KiB; refuse anything absurd before reading it.
constexpr std::uintmax_t kMaxFileSize = 1 << 20;

int64_t clampSeconds(int64_t s) { return std::clamp(s, -kSecondsLimit, kSecondsLimit); }

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::unexpected<Error> badTzif(std::string_view name, std::string_view why) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("time zone {}: not a valid TZif file ({})", name, why));
}

// Bounds-checked big-endian reads over the file's bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool has(uint64_t n) const { return n <= bytes_.size() - pos_; }
  size_t pos() const { return pos_; }
  void skip(uint64_t n) { pos_ += static_cast<size_t>(n); }  // after has(n)
  uint8_t u8() { return static_cast<uint8_t>(bytes_[pos_++]); }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
    return v;
  }
  int64_t i64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return static_cast<int64_t>(v);
  }
  std::string_view rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

struct Header {
  uint8_t version = 0;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

  // The size of the data block that follows, with `time_size`-byte times.
  uint64_t blockSize(uint64_t time_size) const {
    return timecnt * time_size + timecnt + typecnt * uint64_t{6} + charcnt + leapcnt * (time_size + 4) + isstdcnt +
           isutcnt;
  }
};

std::optional<Header> readHeader(Reader& in) {
  if (!in.has(44)) return std::nullopt;
  if (in.u8() != 'T' || in.u8() != 'Z' || in.u8() != 'i' || in.u8() != 'f') return std::nullopt;
  Header h;
  h.version = in.u8();
  if (h.version != 0 && (h.version < '2' || h.version > '4')) return std::nullopt;
  in.skip(15);
  h.isutcnt = in.u32();
  h.isstdcnt = in.u32();
  h.leapcnt = in.u32();
  h.timecnt = in.u32();
  h.typecnt = in.u32();
  h.charcnt = in.u32();
  return h;
}

// ---- The POSIX TZ string of the footer ----

class PosixParser {
 public:
  explicit PosixParser(std::string_view text) : text_(text) {}

  std::optional<TimeZone::PosixRule> run() {
    TimeZone::PosixRule rule;
    if (!name()) return std::nullopt;
    auto std_west = offset(24);
    if (!std_west) return std::nullopt;
    rule.std_offset = -*std_west;
    if (done()) return rule;
    if (!name()) return std::nullopt;
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + 3600;
    if (!done() && peek() != ',') {
      auto dst_west = offset(24);
      if (!dst_west) return std::nullopt;
      rule.dst_offset = -*dst_west;
    }
    // zic always writes the rules; a TZ string without them would fall back
    // to an implementation-defined default, which berth does not guess.
    if (!eat(',')) return std::nullopt;
    auto start = date();
    if (!start || !eat(',')) return std::nullopt;
    auto end = date();
    if (!end || !done()) return std::nullopt;
    rule.start = *start;
    rule.end = *end;
    return rule;
  }

 private:
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  static bool isAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
  static bool isDigit(char c) { return c >= '0' && c <= '9'; }

  // An abbreviation: three or more letters, or <...> quoting letters, digits
  // and signs.
  bool name() {
    size_t begin = pos_;
    if (eat('<')) {
      while (!done() && (isAlpha(peek()) || isDigit(peek()) || peek() == '+' || peek() == '-')) ++pos_;
      size_t length = pos_ - begin - 1;
      return eat('>') && length >= 3;
    }
    while (!done() && isAlpha(peek())) ++pos_;
    return pos_ - begin >= 3;
  }

  std::optional<int> number(int max_digits, int max_value) {
    int digits = 0, value = 0;
    while (!done() && isDigit(peek()) && digits < max_digits) {
      value = value * 10 + (text_[pos_++] - '0');
      ++digits;
    }
    if (digits == 0 || value > max_value) return std::nullopt;
    return value;
  }

  // [+-]hh[:mm[:ss]] in seconds, as written (POSIX offsets count west).
  std::optional<int64_t> offset(int max_hours) {
    int64_t sign = 1;
    if (eat('-'))
      sign = -1;
    else
      eat('+');
    auto hours = number(3, max_hours);
    if (!hours) return std::nullopt;
    int64_t total = int64_t{*hours} * 3600;
    if (eat(':')) {
      auto minutes = number(2, 59);
      if (!minutes) return std::nullopt;
      total += *minutes * 60;
      if (eat(':')) {
        auto seconds = number(2, 59);
        if (!seconds) return std::nullopt;
        total += *seconds;
      }
    }
    return sign * total;
  }

  std::optional<TimeZone::PosixRule::Date> date() {
    using Kind = TimeZone::PosixRule::DateKind;
    TimeZone::PosixRule::Date d;
    if (eat('J')) {
      auto n = number(3, 365);
      if (!n || *n < 1) return std::nullopt;
      d.kind = Kind::kJulianNoLeap;
      d.day = *n;
    } else if (eat('M')) {
      auto m = number(2, 12);
      if (!m || *m < 1 || !eat('.')) return std::nullopt;
      auto w = number(1, 5);
      if (!w || *w < 1 || !eat('.')) return std::nullopt;
      auto wd = number(1, 6);
      if (!wd) return std::nullopt;
      d.kind = Kind::kMonthWeekDay;
      d.month = *m;
      d.week = *w;
      d.day = *wd;
    } else {
      auto n = number(3, 365);
      if (!n) return std::nullopt;
      d.kind = Kind::kZeroBased;
      d.day = *n;
    }
    if (eat('/')) {
      // RFC 8536 section 3.3.1 extends POSIX's 0-24 hours to -167..167.
      auto t = offset(167);
      if (!t) return std::nullopt;
      d.time = *t;
    }
    return d;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// The local midnight-plus-time, in local seconds, at which `d` falls in `year`.
int64_t ruleLocalTime(const TimeZone::PosixRule::Date& d, int64_t year) {
  using Kind = TimeZone::PosixRule::DateKind;
  int64_t day = 0;
  switch (d.kind) {
    case Kind::kJulianNoLeap: {
      // Jn counts 1-365 and never names February 29.
      bool leap = daysInMonth(year, 2) == 29;
      day = daysFromCivil(year, 1, 1) + d.day - 1 + ((leap && d.day >= 60) ? 1 : 0);
      break;
    }
    case Kind::kZeroBased:
      day = daysFromCivil(year, 1, 1) + d.day;
      break;
    case Kind::kMonthWeekDay: {
      int64_t first = daysFromCivil(year, d.month, 1);
      int64_t mday = 1 + (d.day - weekdayOfDay(first) + 7) % 7 + 7 * (d.week - 1);
      int dim = daysInMonth(year, d.month);
      while (mday > dim) mday -= 7;  // week 5 means the last such weekday
      day = first + mday - 1;
      break;
    }
  }
  return day * kDay + d.time;
}

struct RuleTransition {
  int64_t at;   // UTC seconds
  bool to_dst;  // DST starts here; else standard time resumes
};

// The year's two transitions: DST starts at a time given in standard time,
// and ends at a time given in daylight time.
std::array<RuleTransition, 2> ruleTransitions(const TimeZone::PosixRule& r, int64_t year) {
  return {RuleTransition{ruleLocalTime(r.start, year) - r.std_offset, true},
          RuleTransition{ruleLocalTime(r.end, year) - r.dst_offset, false}};
}

bool validZoneName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
              c == '-' || c == '/';
    if (!ok) return false;
  }
  // The character set already has no '.', so no component can be "." or
  // ".."; an empty component ("a//b") is refused too.
  return name.find("//") == std::string_view::npos;
}

}  // namespace

// ---- Calendar ----

int64_t daysFromCivil(int64_t year, int month, int day) {
  chr::year_month_day ymd{chr::year{static_cast<int>(year)}, chr::month{static_cast<unsigned>(month)},
                          chr::day{static_cast<unsigned>(day)}};
  return chr::sys_days{ymd}.time_since_epoch().count();
}

int daysInMonth(int64_t year, int month) {
  chr::year_month_day_last last{chr::year{static_cast<int>(year)},
                                chr::month_day_last{chr::month{static_cast<unsigned>(month)}}};
  return static_cast<int>(static_cast<unsigned>(last.day()));
}

int weekdayOfDay(int64_t days_since_epoch) {
  return static_cast<int>(chr::weekday{chr::sys_days{chr::days{days_since_epoch}}}.c_encoding());
}

CivilTime toCivil(int64_t seconds) {
  seconds = clampSeconds(seconds);
  int64_t days = floorDiv(seconds, kDay);
  int64_t rest = seconds - days * kDay;
  chr::year_month_day ymd{chr::sys_days{chr::days{days}}};
  return CivilTime{static_cast<int>(ymd.year()),
                   static_cast<int>(static_cast<unsigned>(ymd.month())),
                   static_cast<int>(static_cast<unsigned>(ymd.day())),
                   static_cast<int>(rest / 3600),
                   static_cast<int>(rest / 60 % 60),
                   static_cast<int>(rest % 60)};
}

int64_t fromCivil(const CivilTime& c) {
  return daysFromCivil(c.year, c.month, c.day) * kDay + c.hour * 3600 + c.minute * 60 + c.second;
}

// ---- TimeZone ----

TimeZone TimeZone::utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  tz.type_offsets_ = {0};
  return tz;
}

Result<TimeZone> TimeZone::load(std::string_view name, const std::filesystem::path& root) {
  if (!validZoneName(name)) return fail(ErrorCode::kInvalidArgument, fmt::format("Invalid time zone: {}", name));
  std::filesystem::path path = root / std::filesystem::path(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    if (!std::filesystem::is_directory(root, ec))
      return fail(ErrorCode::kIo, fmt::format("time zone database {} is not readable", root.string()));
    return fail(ErrorCode::kInvalidArgument, fmt::format("Invalid time zone: {}", name));
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxFileSize) return fail(ErrorCode::kInvalidArgument, fmt::format("Invalid time zone: {}", name));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return failErrno(fmt::format("read {}", path.string()), errno);
  auto tz = parse(bytes, std::string(name));
  if (!tz) return fail(ErrorCode::kInvalidArgument, fmt::format("Invalid time zone: {}", name));
  return tz;
}

Result<TimeZone> TimeZone::parse(std::string_view bytes, std::string name) {
  Reader in(bytes);
  auto header = readHeader(in);
  if (!header) return badTzif(name, "bad header");
  uint64_t time_size = 4;
  if (header->version != 0) {
    // Skip the 32-bit block; the 64-bit one after the second header has
    // the same data without the 2038 limit.
    uint64_t v1 = header->blockSize(4);
    if (!in.has(v1)) return badTzif(name, "truncated version 1 data");
    in.skip(v1);
    header = readHeader(in);
    if (!header || header->version == 0) return badTzif(name, "bad second header");
    time_size = 8;
  }
  const Header& h = *header;
  if (h.typecnt == 0) return badTzif(name, "no local time types");
  if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt))
    return badTzif(name, "indicator counts differ from the type count");
  if (!in.has(h.blockSize(time_size))) return badTzif(name, "truncated data");

  TimeZone tz;
  tz.name_ = std::move(name);
  tz.transitions_.reserve(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    int64_t t = time_size == 8 ? in.i64() : static_cast<int64_t>(static_cast<int32_t>(in.u32()));
    if (!tz.transitions_.empty() && t <= tz.transitions_.back()) return badTzif(tz.name_, "transitions out of order");
    tz.transitions_.push_back(t);
  }
  tz.transition_types_.reserve(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    uint8_t type = in.u8();
    if (type >= h.typecnt) return badTzif(tz.name_, "transition names a missing type");
    tz.transition_types_.push_back(type);
  }
  for (uint32_t i = 0; i < h.typecnt; ++i) {
    int64_t offset = static_cast<int32_t>(in.u32());
    in.skip(2);  // isdst, desigidx: berth needs only the offset
    if (offset < kMinTypeOffset || offset > kMaxTypeOffset) return badTzif(tz.name_, "offset out of range");
    tz.type_offsets_.push_back(offset);
  }
  in.skip(h.charcnt + uint64_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt);

  if (header->version != 0) {
    // The footer: "\n" TZ-string "\n" (RFC 8536 section 3.3).
    std::string_view rest = in.rest();
    if (rest.size() < 2 || rest.front() != '\n') return badTzif(tz.name_, "no footer");
    size_t close = rest.find('\n', 1);
    if (close == std::string_view::npos) return badTzif(tz.name_, "unterminated footer");
    std::string_view tz_string = rest.substr(1, close - 1);
    if (!tz_string.empty()) {
      tz.footer_ = PosixParser(tz_string).run();
      if (!tz.footer_) return badTzif(tz.name_, "bad TZ string in footer");
    }
  }

  auto [lo, hi] = std::minmax_element(tz.type_offsets_.begin(), tz.type_offsets_.end());
  tz.min_offset_ = *lo;
  tz.max_offset_ = *hi;
  if (tz.footer_) {
    for (int64_t o : {tz.footer_->std_offset, tz.footer_->has_dst ? tz.footer_->dst_offset : tz.footer_->std_offset}) {
      tz.min_offset_ = std::min(tz.min_offset_, o);
      tz.max_offset_ = std::max(tz.max_offset_, o);
    }
  }
  return tz;
}

int64_t TimeZone::footerOffsetAt(int64_t t) const {
  const PosixRule& r = *footer_;
  if (!r.has_dst) return r.std_offset;
  // The latest rule transition at or before t decides; the neighbouring
  // years are looked at because a rule time may reach days into them. On a
  // tie the start of DST wins, so "DST all year" rules (J365/25 ending when
  // the next year's DST starts) stay in DST.
  int64_t year = toCivil(t + r.std_offset).year;
  std::optional<RuleTransition> last;
  for (int64_t y = year - 1; y <= year + 1; ++y) {
    for (const RuleTransition& tr : ruleTransitions(r, y)) {
      if (tr.at > t) continue;
      if (!last || tr.at > last->at || (tr.at == last->at && tr.to_dst)) last = tr;
    }
  }
  return (last && last->to_dst) ? r.dst_offset : r.std_offset;
}

std::optional<int64_t> TimeZone::footerNextTransition(int64_t t) const {
  const PosixRule& r = *footer_;
  if (!r.has_dst) return std::nullopt;
  int64_t year = toCivil(t + r.std_offset).year;
  std::optional<int64_t> next;
  for (int64_t y = year - 1; y <= year + 2; ++y) {
    for (const RuleTransition& tr : ruleTransitions(r, y))
      if (tr.at > t && (!next || tr.at < *next)) next = tr.at;
  }
  return next;
}

int64_t TimeZone::offsetAt(int64_t utc_seconds) const {
  int64_t t = clampSeconds(utc_seconds);
  if (transitions_.empty()) return footer_ ? footerOffsetAt(t) : type_offsets_[0];
  if (t < transitions_.front()) return type_offsets_[0];
  if (t > transitions_.back() && footer_) return footerOffsetAt(t);
  size_t i = std::upper_bound(transitions_.begin(), transitions_.end(), t) - transitions_.begin() - 1;
  return type_offsets_[transition_types_[i]];
}

std::optional<int64_t> TimeZone::nextTransition(int64_t t) const {
  if (!transitions_.empty() && t < transitions_.back())
    return *std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (footer_) return footerNextTransition(t);
  return std::nullopt;
}

int64_t TimeZone::toUtc(int64_t local_seconds) const {
  int64_t local = clampSeconds(local_seconds);
  // Every instant that could read as `local` lies in [lo, hi]. Walk the
  // stretches of constant offset across that window, in order: the first
  // stretch that contains local - offset gives the earliest instant; a
  // reading that falls between two stretches is in a gap.
  int64_t lo = local - max_offset_ - 1, hi = local - min_offset_ + 1;
  int64_t at = lo;
  int64_t offset = offsetAt(lo);
  int64_t stretch_start = std::numeric_limits<int64_t>::min();
  // Real zones change offset a few times a year; the cap only bounds the
  // walk over a hostile file's transitions.
  for (int step = 0; step < 256; ++step) {
    std::optional<int64_t> next = nextTransition(at);
    bool last_stretch = !next || *next > hi;
    int64_t stretch_end = last_stretch ? std::numeric_limits<int64_t>::max() : *next;
    int64_t candidate = local - offset;
    if (candidate >= stretch_start && candidate < stretch_end) return candidate;
    if (last_stretch) break;
    int64_t next_offset = offsetAt(*next);
    if (local >= *next + offset && local < *next + next_offset) return local - offset;  // in the gap
    at = *next;
    stretch_start = *next;
    offset = next_offset;
  }
  return local - offsetAt(local - offsetAt(local));
}

}  // namespace berth
