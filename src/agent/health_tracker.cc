#include "agent/health_tracker.h"

namespace berth::agent {

const char* healthName(Health h) {
  switch (h) {
    case Health::kHealthy:
      return "HEALTHY";
    case Health::kUnhealthy:
      return "UNHEALTHY";
    case Health::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

bool HealthTracker::record(bool success, WallTime at) {
  Health before = status_;
  if (success) {
    failures_ = 0;
    status_ = Health::kHealthy;
  } else if (at >= started_at_ + spec_.start_period) {
    if (++failures_ >= spec_.retries) status_ = Health::kUnhealthy;
  }
  return status_ != before;
}

Health taskHealth(const std::vector<ContainerHealth>& containers) {
  bool any = false, all_healthy = true;
  for (const auto& c : containers) {
    if (!c.essential || !c.has_check) continue;
    any = true;
    if (c.status == Health::kUnhealthy) return Health::kUnhealthy;
    if (c.status != Health::kHealthy) all_healthy = false;
  }
  return any && all_healthy ? Health::kHealthy : Health::kUnknown;
}

}  // namespace berth::agent
