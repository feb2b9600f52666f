#include "agent/timer_queue.h"

#include <vector>

namespace berth::agent {

TimerQueue::Id TimerQueue::scheduleAt(WallTime deadline, std::function<void()> callback) {
  std::lock_guard lock(mu_);
  Id id = next_id_++;
  queue_.emplace(std::make_pair(deadline, id), std::move(callback));
  deadlines_[id] = deadline;
  return id;
}

void TimerQueue::cancel(Id id) {
  std::lock_guard lock(mu_);
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  queue_.erase(std::make_pair(it->second, id));
  deadlines_.erase(it);
}

size_t TimerQueue::runDue() {
  WallTime now = clock_.now();
  std::vector<std::function<void()>> due;
  {
    std::lock_guard lock(mu_);
    while (!queue_.empty() && queue_.begin()->first.first <= now) {
      auto node = queue_.extract(queue_.begin());
      deadlines_.erase(node.key().second);
      due.push_back(std::move(node.mapped()));
    }
  }
  for (auto& callback : due) callback();
  return due.size();
}

size_t TimerQueue::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::optional<WallTime> TimerQueue::nextDeadline() const {
  std::lock_guard lock(mu_);
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.first;
}

}  // namespace berth::agent
