// Deadlines on the injected Clock (ARCHITECTURE.md decision 2): the agent's
// stop timeouts, startTimeouts and health-check intervals are entries here,
// so tests move a FakeClock and call runDue() instead of sleeping.
//
// In berthd the RealAgent polls runDue() from a steady timer on its worker
// executor (every RealAgentConfig::timer_period); with a FakeClock, tests
// call RealAgent::runTimers() after FakeClock::advance().
//
// Threads: all methods are thread-safe. Callbacks run on the thread calling
// runDue(), without the lock held, so they may schedule or cancel timers;
// they should only post work (the agent posts to the task's strand).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "common/clock.h"

namespace berth::agent {

class TimerQueue {
 public:
  using Id = uint64_t;  // never 0

  explicit TimerQueue(const Clock& clock) : clock_(clock) {}

  Id scheduleAt(WallTime deadline, std::function<void()> callback);
  Id scheduleAfter(std::chrono::microseconds delay, std::function<void()> callback) {
    return scheduleAt(clock_.now() + delay, std::move(callback));
  }
  // Idempotent; a timer already run or cancelled is ignored. Id 0 is ignored.
  void cancel(Id id);

  // Runs every timer whose deadline is at or before the clock's now, in
  // deadline order (ties in scheduling order). Returns how many ran.
  size_t runDue();

  size_t pending() const;
  std::optional<WallTime> nextDeadline() const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  Id next_id_ = 1;                                                       // guarded by mu_
  std::multimap<std::pair<WallTime, Id>, std::function<void()>> queue_;  // guarded by mu_
  std::map<Id, WallTime> deadlines_;                                     // guarded by mu_
};

}  // namespace berth::agent
