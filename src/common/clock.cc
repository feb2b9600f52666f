#include "common/clock.h"

#include <ctime>

#include <fmt/format.h>

namespace berth {

double Clock::epochSeconds() const { return toEpochSeconds(now()); }

int64_t Clock::epochMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
}

WallTime SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(WallTime start) : micros_(start.time_since_epoch().count()) {}

FakeClock::FakeClock() : micros_(int64_t{1767225600} * 1000000) {}

WallTime FakeClock::now() const { return WallTime(std::chrono::microseconds(micros_.load())); }

void FakeClock::advance(std::chrono::microseconds by) { micros_.fetch_add(by.count()); }

void FakeClock::set(WallTime to) { micros_.store(to.time_since_epoch().count()); }

ScaledClock::ScaledClock(const Clock& base, double scale) : base_(base), scale_(scale), origin_(base.now()) {}

WallTime ScaledClock::now() const { return fromBase(base_.now()); }

WallTime ScaledClock::fromBase(WallTime base_time) const {
  auto elapsed = static_cast<double>((base_time - origin_).count()) * scale_;
  return origin_ + std::chrono::microseconds(static_cast<int64_t>(elapsed));
}

double toEpochSeconds(WallTime t) {
  // Millisecond precision, as AWS services return.
  int64_t ms = t.time_since_epoch().count() / 1000;
  return static_cast<double>(ms) / 1000.0;
}

std::string toIso8601(WallTime t) {
  int64_t us = t.time_since_epoch().count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (us / 1000) % 1000);
}

}  // namespace berth
