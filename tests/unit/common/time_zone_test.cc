#include "common/time_zone.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace berth {
namespace {

// Seconds since the epoch of a calendar reading, computed with <chrono>
// alone so that the expectations do not lean on the code under test.
int64_t secs(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / mo / d}.time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + s;
}

std::string readZoneFile(const std::string& name) {
  std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// A version 2 TZif file with no transitions, one local time type of
// `offset` seconds and the footer `tz_string`: how zic's slim output looks
// for a zone whose rules no longer change.
std::string footerOnlyTzif(int32_t offset, const std::string& tz_string) {
  std::string block;
  put32(block, static_cast<uint32_t>(offset));
  block += std::string("\0\0", 2);  // isdst, desigidx
  block += std::string("ZZZ\0", 4);
  std::string header = "TZif2" + std::string(15, '\0');
  for (uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u}) put32(header, count);
  return header + block + header + block + "\n" + tz_string + "\n";
}

TimeZone mustParse(const std::string& bytes, const std::string& name = "test") {
  auto tz = TimeZone::parse(bytes, name);
  EXPECT_TRUE(tz.has_value()) << (tz ? "" : tz.error().message);
  return tz ? *tz : TimeZone::utc();
}

TEST(TimeZoneTest, UtcIsZeroEverywhere) {
  TimeZone utc = TimeZone::utc();
  EXPECT_EQ(utc.name(), "UTC");
  for (int64_t t : {int64_t{0}, secs(2026, 3, 29, 1), secs(2026, 11, 1, 6), int64_t{-5'000'000'000}}) {
    EXPECT_EQ(utc.offsetAt(t), 0);
    EXPECT_EQ(utc.toUtc(t), t);
  }
  auto loaded = TimeZone::load("UTC");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->name(), "UTC");
  EXPECT_EQ(loaded->offsetAt(secs(2026, 7, 1)), 0);
  EXPECT_EQ(loaded->toUtc(secs(2026, 7, 1, 12)), secs(2026, 7, 1, 12));
}

TEST(TimeZoneTest, BerlinAroundIts2026Changes) {
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(berlin) << berlin.error().message;
  // CEST from the last Sunday of March (29th) 01:00Z to the last Sunday of
  // October (25th) 01:00Z.
  EXPECT_EQ(berlin->offsetAt(secs(2026, 1, 15)), 3600);
  EXPECT_EQ(berlin->offsetAt(secs(2026, 3, 29, 0, 59, 59)), 3600);
  EXPECT_EQ(berlin->offsetAt(secs(2026, 3, 29, 1)), 7200);
  EXPECT_EQ(berlin->offsetAt(secs(2026, 10, 25, 0, 59, 59)), 7200);
  EXPECT_EQ(berlin->offsetAt(secs(2026, 10, 25, 1)), 3600);
  EXPECT_EQ(berlin->minOffset(), 3208);   // LMT +0:53:28 before 1893
  EXPECT_EQ(berlin->maxOffset(), 10800);  // CEMT, 1945 and 1947
}

TEST(TimeZoneTest, NewYorkAroundIts2026Changes) {
  auto ny = TimeZone::load("America/New_York");
  ASSERT_TRUE(ny) << ny.error().message;
  // EDT from the second Sunday of March (8th) 07:00Z to the first Sunday of
  // November (1st) 06:00Z.
  EXPECT_EQ(ny->offsetAt(secs(2026, 3, 8, 6, 59, 59)), -18000);
  EXPECT_EQ(ny->offsetAt(secs(2026, 3, 8, 7)), -14400);
  EXPECT_EQ(ny->offsetAt(secs(2026, 11, 1, 5, 59, 59)), -14400);
  EXPECT_EQ(ny->offsetAt(secs(2026, 11, 1, 6)), -18000);
  EXPECT_EQ(ny->toUtc(secs(2026, 7, 1, 12)), secs(2026, 7, 1, 16));
  EXPECT_EQ(ny->toUtc(secs(2026, 1, 1, 12)), secs(2026, 1, 1, 17));
  // Before the first transition (1883) the first type, LMT -4:56:02.
  EXPECT_EQ(ny->offsetAt(secs(1800, 1, 1)), -17762);
}

TEST(TimeZoneTest, PastTheLastTransitionTheFooterRuleApplies) {
  // Debian's files list transitions up to 2037; 2040 comes from the footer
  // EST5EDT,M3.2.0,M11.1.0. In 2040 March 11 and November 4 are the
  // second and first Sundays.
  auto ny = TimeZone::load("America/New_York");
  ASSERT_TRUE(ny);
  EXPECT_EQ(ny->offsetAt(secs(2040, 3, 11, 6, 59, 59)), -18000);
  EXPECT_EQ(ny->offsetAt(secs(2040, 3, 11, 7)), -14400);
  EXPECT_EQ(ny->offsetAt(secs(2040, 11, 4, 5, 59, 59)), -14400);
  EXPECT_EQ(ny->offsetAt(secs(2040, 11, 4, 6)), -18000);
  EXPECT_EQ(ny->toUtc(secs(2040, 3, 11, 2, 30)), secs(2040, 3, 11, 7, 30));
  EXPECT_EQ(ny->toUtc(secs(2040, 11, 4, 1, 30)), secs(2040, 11, 4, 5, 30));

  // A slim file: no transitions at all, everything from the footer.
  TimeZone cet = mustParse(footerOnlyTzif(3600, "CET-1CEST,M3.5.0,M10.5.0/3"));
  EXPECT_EQ(cet.offsetAt(secs(2026, 3, 29, 0, 59, 59)), 3600);
  EXPECT_EQ(cet.offsetAt(secs(2026, 3, 29, 1)), 7200);
  EXPECT_EQ(cet.offsetAt(secs(2026, 10, 25, 0, 59, 59)), 7200);
  EXPECT_EQ(cet.offsetAt(secs(2026, 10, 25, 1)), 3600);

  // Southern hemisphere: DST spans the new year. Sydney: AEDT from the
  // first Sunday of October 02:00 to the first Sunday of April 03:00.
  TimeZone sydney = mustParse(footerOnlyTzif(36000, "AEST-10AEDT,M10.1.0,M4.1.0/3"));
  EXPECT_EQ(sydney.offsetAt(secs(2026, 1, 15)), 39600);
  EXPECT_EQ(sydney.offsetAt(secs(2026, 7, 15)), 36000);
  // 2026-04-05 03:00 AEDT = 04-04 16:00Z; 2026-10-04 02:00 AEST = 10-03 16:00Z.
  EXPECT_EQ(sydney.offsetAt(secs(2026, 4, 4, 15, 59, 59)), 39600);
  EXPECT_EQ(sydney.offsetAt(secs(2026, 4, 4, 16)), 36000);
  EXPECT_EQ(sydney.offsetAt(secs(2026, 10, 3, 15, 59, 59)), 36000);
  EXPECT_EQ(sydney.offsetAt(secs(2026, 10, 3, 16)), 39600);
  EXPECT_EQ(sydney.minOffset(), 36000);
  EXPECT_EQ(sydney.maxOffset(), 39600);
}

TEST(TimeZoneTest, FooterJulianZeroBasedAndExtendedTimes) {
  // J60 is March 1 in every year (Jn never counts February 29); J300 is
  // October 27.
  TimeZone julian = mustParse(footerOnlyTzif(0, "AAA0BBB,J60,J300"));
  EXPECT_EQ(julian.offsetAt(secs(2024, 3, 1, 1, 59, 59)), 0);
  EXPECT_EQ(julian.offsetAt(secs(2024, 3, 1, 2)), 3600);
  EXPECT_EQ(julian.offsetAt(secs(2024, 10, 27, 0, 59, 59)), 3600);
  EXPECT_EQ(julian.offsetAt(secs(2024, 10, 27, 1)), 0);

  // Zero-based day 59 is February 29 in a leap year, March 1 otherwise.
  TimeZone zero = mustParse(footerOnlyTzif(0, "AAA0BBB,59,300"));
  EXPECT_EQ(zero.offsetAt(secs(2024, 2, 29, 1, 59, 59)), 0);
  EXPECT_EQ(zero.offsetAt(secs(2024, 2, 29, 2)), 3600);
  EXPECT_EQ(zero.offsetAt(secs(2026, 2, 28, 12)), 0);
  EXPECT_EQ(zero.offsetAt(secs(2026, 3, 1, 2)), 3600);

  // Version 3 times: -1 is 23:00 the day before; explicit DST offset and
  // <quoted> names with signs.
  TimeZone neg = mustParse(footerOnlyTzif(-3600, "<-01>1<+00>0,M3.5.0/-1,M10.5.0/0"));
  // 2026-03-29 minus one hour, in standard time (-1): 03-28 23:00 -01 = 03-29 00:00Z.
  EXPECT_EQ(neg.offsetAt(secs(2026, 3, 28, 23, 59, 59)), -3600);
  EXPECT_EQ(neg.offsetAt(secs(2026, 3, 29, 0)), 0);
  // 2026-10-25 00:00 in DST (+00) = 00:00Z.
  EXPECT_EQ(neg.offsetAt(secs(2026, 10, 24, 23, 59, 59)), 0);
  EXPECT_EQ(neg.offsetAt(secs(2026, 10, 25, 0)), -3600);

  // DST all year (RFC 8536's example): it never ends.
  TimeZone always = mustParse(footerOnlyTzif(-14400, "EST5EDT4,0/0,J365/25"));
  for (int64_t t : {secs(2026, 1, 1, 0), secs(2026, 1, 1, 5), secs(2026, 7, 1), secs(2026, 12, 31, 23)})
    EXPECT_EQ(always.offsetAt(t), -14400) << t;
}

TEST(TimeZoneTest, GapsMoveForwardOverlapsTakeTheEarlierInstant) {
  auto ny = TimeZone::load("America/New_York");
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(ny && berlin);
  // Spring forward: 02:30 does not exist; read with EST it is 07:30Z,
  // which New York calls 03:30 EDT.
  EXPECT_EQ(ny->toUtc(secs(2026, 3, 8, 2, 30)), secs(2026, 3, 8, 7, 30));
  EXPECT_EQ(ny->toUtc(secs(2026, 3, 8, 2, 0)), secs(2026, 3, 8, 7, 0));
  EXPECT_EQ(ny->toUtc(secs(2026, 3, 8, 3, 0)), secs(2026, 3, 8, 7, 0));
  EXPECT_EQ(ny->toUtc(secs(2026, 3, 8, 1, 59)), secs(2026, 3, 8, 6, 59));
  EXPECT_EQ(berlin->toUtc(secs(2026, 3, 29, 2, 30)), secs(2026, 3, 29, 1, 30));
  // Fall back: 01:30 happens twice; the first (EDT) wins.
  EXPECT_EQ(ny->toUtc(secs(2026, 11, 1, 1, 30)), secs(2026, 11, 1, 5, 30));
  EXPECT_EQ(ny->toUtc(secs(2026, 11, 1, 0, 59)), secs(2026, 11, 1, 4, 59));
  EXPECT_EQ(ny->toUtc(secs(2026, 11, 1, 2, 0)), secs(2026, 11, 1, 7, 0));
  EXPECT_EQ(berlin->toUtc(secs(2026, 10, 25, 2, 30)), secs(2026, 10, 25, 0, 30));
  EXPECT_EQ(berlin->toUtc(secs(2026, 10, 25, 3, 0)), secs(2026, 10, 25, 2, 0));
}

TEST(TimeZoneTest, LoadRefusesBadAndUnknownNames) {
  for (const char* name : {"", "/etc/passwd", "../etc/passwd", "Europe/../UTC", "Europe/./Berlin", "Europe//Berlin",
                           "Europe/Berlin/", "Nowhere/City", "America", "Europe/Berlin\n", "Europe/Ber lin"}) {
    auto tz = TimeZone::load(name);
    ASSERT_FALSE(tz) << name;
    EXPECT_EQ(tz.error().code, ErrorCode::kInvalidArgument) << name;
    EXPECT_EQ(tz.error().message, std::string("Invalid time zone: ") + name);
  }
  auto with_plus = TimeZone::load("Etc/GMT+9");  // west of UTC, POSIX style
  ASSERT_TRUE(with_plus) << with_plus.error().message;
  EXPECT_EQ(with_plus->offsetAt(secs(2026, 6, 1)), -9 * 3600);
  auto missing_root = TimeZone::load("UTC", "/nonexistent-zoneinfo");
  ASSERT_FALSE(missing_root);
  EXPECT_EQ(missing_root.error().code, ErrorCode::kIo);
}

TEST(TimeZoneTest, ParseRefusesMalformedFiles) {
  std::string berlin = readZoneFile("Europe/Berlin");
  ASSERT_GT(berlin.size(), 100u);
  auto refused = [](const std::string& bytes) {
    auto tz = TimeZone::parse(bytes, "x");
    return !tz && tz.error().code == ErrorCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("TZif"));
  EXPECT_TRUE(refused("not a zone file at all, but long enough to hold a header......"));
  EXPECT_TRUE(refused(berlin.substr(0, berlin.size() / 2)));
  EXPECT_TRUE(refused(berlin.substr(0, berlin.size() - 1)));  // footer not closed
  std::string bad_version = berlin;
  bad_version[4] = '9';
  EXPECT_TRUE(refused(bad_version));
  EXPECT_TRUE(refused(footerOnlyTzif(0, "AAA0BBB")));  // DST with no rules
  EXPECT_TRUE(refused(footerOnlyTzif(0, "AAA0BBB,M13.1.0,M10.5.0")));
  EXPECT_TRUE(refused(footerOnlyTzif(0, "AAA25")));  // offset hours above 24
  EXPECT_TRUE(refused(footerOnlyTzif(0, "AA0")));    // name shorter than 3
  EXPECT_TRUE(refused(footerOnlyTzif(0, "AAA0BBB,M3.5.0/168,M10.5.0")));
  EXPECT_TRUE(refused(footerOnlyTzif(100000, "UTC0")));                // type offset out of range
  auto fine = TimeZone::parse(footerOnlyTzif(0, ""), "empty-footer");  // an empty TZ string is allowed
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->offsetAt(secs(2026, 1, 1)), 0);
}

TEST(TimeZoneTest, VersionOneFilesUseThe32BitBlock) {
  // Berlin's first header and 32-bit block, relabelled as version 1.
  std::string berlin = readZoneFile("Europe/Berlin");
  ASSERT_GT(berlin.size(), 44u);
  auto count = [&](size_t at) {
    return (uint32_t{static_cast<uint8_t>(berlin[at])} << 24) | (uint32_t{static_cast<uint8_t>(berlin[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(berlin[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(berlin[at + 3])};
  };
  uint32_t isut = count(20), isstd = count(24), leap = count(28), time = count(32), type = count(36), chars = count(40);
  size_t v1_size = 44 + time * 5 + type * 6 + chars + leap * 8 + isstd + isut;
  std::string v1 = berlin.substr(0, v1_size);
  v1[4] = '\0';
  TimeZone tz = mustParse(v1, "Europe/Berlin");
  EXPECT_EQ(tz.offsetAt(secs(2026, 3, 29, 0, 59, 59)), 3600);
  EXPECT_EQ(tz.offsetAt(secs(2026, 3, 29, 1)), 7200);
  EXPECT_EQ(tz.offsetAt(secs(2026, 10, 25, 1)), 3600);
}

}  // namespace
}  // namespace berth
