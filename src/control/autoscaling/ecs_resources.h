// ECS services as Application Auto Scaling's scalable resources: reads and
// sets a service's desiredCount through the ECS control plane's own
// DescribeServices and UpdateService, as the service-linked role
// AWSServiceRoleForApplicationAutoScaling_ECSService would on AWS.
//
// Threads: the control executor (as Ecs).
#pragma once

#include <string>

#include "control/autoscaling/autoscaling.h"
#include "control/ecs/ecs.h"

namespace berth::autoscaling {

class EcsScalableResources final : public ScalableResources {
 public:
  EcsScalableResources(ecs::Ecs& ecs, std::string account_id);

  // "service/<cluster>/<service>": its desiredCount, and whether a
  // deployment is in progress (more than one deployment, or the PRIMARY
  // one's rollout not COMPLETED).
  Result<State> state(std::string_view resource_id) override;
  Status setCapacity(std::string_view resource_id, int64_t capacity) override;

 private:
  ecs::Ecs& ecs_;
  ecs::CallContext context_;
};

}  // namespace berth::autoscaling
