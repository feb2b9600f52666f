// What ECS needs from Cloud Map to keep a service's tasks registered
// (ECS `serviceRegistries`): the Ecs control plane calls it as its tasks
// change state; Cloud Map (control/servicediscovery/cloud_map.h) implements
// it. ECS owns the interface so that it does not depend on Cloud Map.
//
// Threads: called on the control executor only, like Ecs itself.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::ecs {

struct TaskInstance {
  std::string registry_arn;                       // the Cloud Map service ARN (serviceRegistries[].registryArn)
  std::string instance_id;                        // the task id
  std::map<std::string, std::string> attributes;  // AWS_INSTANCE_IPV4, ECS_SERVICE_NAME, ...
  bool healthy = true;
};

class ServiceRegistries {
 public:
  virtual ~ServiceRegistries() = default;
  // Whether `registry_arn` names an existing Cloud Map service (CreateService
  // validation); the error is ECS's to word.
  virtual bool registryExists(std::string_view registry_arn) const = 0;
  // Registers the task, or updates its attributes and health. Idempotent:
  // nothing changes (no operation is recorded) when all is as given.
  virtual void registerTask(const TaskInstance& instance) = 0;
  // Sets the health of a registered task; nothing if it is not registered.
  virtual void setTaskHealth(std::string_view registry_arn, std::string_view instance_id, bool healthy) = 0;
  // Deregisters the task; nothing if it is not registered.
  virtual void deregisterTask(std::string_view registry_arn, std::string_view instance_id) = 0;
  // Deregisters the task from every registry that holds it (a task of a
  // service whose serviceRegistries changed since it registered).
  virtual void deregisterTaskEverywhere(std::string_view instance_id) = 0;
};

}  // namespace berth::ecs
