// ScaledClock (berthd --time-scale): runs N times faster than its base from
// the moment it is made, and maps base-clock instants the same way.
#include <gtest/gtest.h>

#include "common/clock.h"

namespace berth {
namespace {

TEST(ScaledClockTest, RunsScaleTimesFasterFromItsOrigin) {
  FakeClock base(WallTime(std::chrono::seconds(1767225600)));
  ScaledClock clock(base, 60);
  EXPECT_EQ(clock.now(), base.now());  // starts where its base is
  base.advance(std::chrono::seconds(1));
  EXPECT_EQ(clock.now(), WallTime(std::chrono::seconds(1767225600 + 60)));
  base.advance(std::chrono::milliseconds(500));
  EXPECT_EQ(clock.now(), WallTime(std::chrono::seconds(1767225600 + 90)));
  // An instant of the base clock (an agent's event time) maps alike.
  EXPECT_EQ(clock.fromBase(WallTime(std::chrono::seconds(1767225600 + 2))),
            WallTime(std::chrono::seconds(1767225600 + 120)));
  EXPECT_EQ(clock.scale(), 60);
}

TEST(ScaledClockTest, ScaleOneIsTheBase) {
  FakeClock base;
  ScaledClock clock(base, 1);
  base.advance(std::chrono::seconds(42));
  EXPECT_EQ(clock.now(), base.now());
}

}  // namespace
}  // namespace berth
