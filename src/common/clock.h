// Clock: the only source of time for berth's logic (ARCHITECTURE.md,
// decision 2). Production code gets SystemClock; tests get FakeClock and move
// time forward by hand, so cooldowns and timeouts are tested in microseconds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace berth {

using WallTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time. Thread-safe.
  virtual WallTime now() const = 0;

  // Seconds since the epoch with microsecond fraction: AWS JSON timestamps.
  double epochSeconds() const;
  int64_t epochMillis() const;
};

class SystemClock final : public Clock {
 public:
  WallTime now() const override;
  static SystemClock& instance();
};

// A clock that only moves when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start);
  FakeClock();  // starts at 2026-01-01T00:00:00Z
  WallTime now() const override;
  void advance(std::chrono::microseconds by);
  void set(WallTime to);

 private:
  std::atomic<int64_t> micros_;
};

// A clock that runs `scale` times faster than `base` from the moment it is
// made: berthd --time-scale, so that a demo or a test sees minutes of
// control time (cooldowns, alarm periods, schedules) pass in seconds.
// Thread-safe.
class ScaledClock final : public Clock {
 public:
  ScaledClock(const Clock& base, double scale);
  WallTime now() const override;
  // The scaled time of `base_time`, an instant on the base clock (events
  // the agent timestamps on real time).
  WallTime fromBase(WallTime base_time) const;
  double scale() const { return scale_; }

 private:
  const Clock& base_;
  double scale_;
  WallTime origin_;
};

double toEpochSeconds(WallTime t);
// ISO 8601 with milliseconds and 'Z', as the Query protocol's XML writes it.
std::string toIso8601(WallTime t);

}  // namespace berth
