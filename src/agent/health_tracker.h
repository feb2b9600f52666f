// Container health as ECS reports it, from the results of the container's
// health-check command (Docker's rules, which ECS follows):
//   - UNKNOWN until the first conclusive result;
//   - a success makes the container HEALTHY and resets the failure count;
//   - a failure (non-zero exit or timeout) during the start period does not
//     count; after it, `retries` consecutive failures make it UNHEALTHY.
// Task health (AWS_SEMANTICS.md): HEALTHY when every essential container
// with a health check is HEALTHY, UNHEALTHY when any of them is UNHEALTHY,
// UNKNOWN otherwise (and when no essential container has a check).
//
// Pure state, no clock of its own: the caller passes the time. Not
// thread-safe; the agent keeps one per container on the task's strand.
#pragma once

#include <string>
#include <vector>

#include "agent/container_plan.h"
#include "common/clock.h"

namespace berth::agent {

enum class Health { kUnknown, kHealthy, kUnhealthy };
const char* healthName(Health h);

class HealthTracker {
 public:
  HealthTracker(HealthCheckSpec spec, WallTime container_started_at)
      : spec_(std::move(spec)), started_at_(container_started_at) {}

  // Records one check result; returns true when the status changed.
  bool record(bool success, WallTime at);

  Health status() const { return status_; }
  int consecutiveFailures() const { return failures_; }
  const HealthCheckSpec& spec() const { return spec_; }

 private:
  HealthCheckSpec spec_;
  WallTime started_at_;
  Health status_ = Health::kUnknown;
  int failures_ = 0;
};

struct ContainerHealth {
  bool essential = false;
  bool has_check = false;
  Health status = Health::kUnknown;
};
Health taskHealth(const std::vector<ContainerHealth>& containers);

}  // namespace berth::agent
