// Keeping a service's tasks registered in Cloud Map (`serviceRegistries`),
// as ECS does: a task is registered once it is RUNNING and, where its
// containers have health checks, HEALTHY; it is marked unhealthy when a
// health check fails, and deregistered as soon as it starts stopping —
// before the agent sends the stop signal, so that clients stop getting its
// address first.
#include <fmt/format.h>

#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/ecs/errors.h"

namespace berth::ecs {
namespace {

std::string taskId(const bj::object& task) {
  std::string task_arn = json::stringOr(task, "taskArn");
  return task_arn.substr(task_arn.rfind('/') + 1);
}

std::string privateIpv4(const bj::object& task) {
  if (const auto* attachments = json::getArray(task, "attachments"))
    for (const auto& a : *attachments)
      if (const auto* details = json::getArray(a.as_object(), "details"))
        for (const auto& d : *details)
          if (json::stringOr(d.as_object(), "name") == "privateIPv4Address")
            return json::stringOr(d.as_object(), "value");
  return {};
}

}  // namespace

Status Ecs::validateServiceRegistries(const bj::object& in) const {
  const bj::array* regs = json::getArray(in, "serviceRegistries");
  if (!regs) return {};
  std::string prefix = fmt::format("arn:aws:servicediscovery:{}:{}:service/", config_.region, config_.account_id);
  for (const auto& r : *regs) {
    if (!r.is_object()) continue;
    const bj::object& reg = r.as_object();
    std::string registry_arn = json::stringOr(reg, "registryArn");
    if (!registry_arn.starts_with(prefix) || registry_arn.size() == prefix.size())
      return invalidParameter(
          fmt::format("The format of the supplied service registry ARN is invalid: {}.", registry_arn));
    if (registries_ && !registries_->registryExists(registry_arn))
      return invalidParameter(fmt::format("The service registry {} does not exist.", registry_arn));
    bool has_port = json::find(reg, "port") != nullptr;
    bool has_container = json::find(reg, "containerName") || json::find(reg, "containerPort");
    if (has_port && has_container)
      return invalidParameter(
          "Specify a value for either 'port' or the 'containerName' and 'containerPort' combination, but not both. "
          "Remove one and retry.");
  }
  return {};
}

void Ecs::syncRegistration(const Task& task) {
  if (!registries_ || task.service_name.empty()) return;
  const bj::object& d = task.doc;
  std::string id = taskId(d);
  bool live = json::stringOr(d, "desiredStatus") != "STOPPED" && json::stringOr(d, "lastStatus") == "RUNNING";
  if (!live) {
    // Wherever it is: the service's registries may have changed since.
    registries_->deregisterTaskEverywhere(id);
    return;
  }
  auto sit = services_.find(task.cluster_name + "/" + task.service_name);
  if (sit == services_.end()) return;
  const bj::array* regs = json::getArray(sit->second.doc, "serviceRegistries");
  if (!regs || regs->empty()) return;
  std::string health = json::stringOr(d, "healthStatus");
  for (const auto& r : *regs) {
    if (!r.is_object()) continue;
    const bj::object& reg = r.as_object();
    std::string registry_arn = json::stringOr(reg, "registryArn");
    if (registry_arn.empty()) continue;
    if (isHealthy(task)) {
      TaskInstance instance{registry_arn, id, {}, true};
      auto& a = instance.attributes;
      if (std::string ip = privateIpv4(d); !ip.empty()) a["AWS_INSTANCE_IPV4"] = ip;
      // The port: serviceRegistries' port, else its containerPort (awsvpc).
      int64_t port = json::getInt(reg, "port").value_or(json::getInt(reg, "containerPort").value_or(0));
      if (port > 0) a["AWS_INSTANCE_PORT"] = std::to_string(port);
      a["AVAILABILITY_ZONE"] = json::stringOr(d, "availabilityZone");
      a["REGION"] = config_.region;
      a["ECS_SERVICE_NAME"] = task.service_name;
      a["ECS_CLUSTER_NAME"] = task.cluster_name;
      std::string td_arn = json::stringOr(d, "taskDefinitionArn");
      std::string family = td_arn.substr(td_arn.rfind('/') + 1);
      a["ECS_TASK_DEFINITION_FAMILY"] = family.substr(0, family.rfind(':'));
      registries_->registerTask(instance);
    } else if (health == "UNHEALTHY") {
      registries_->setTaskHealth(registry_arn, id, false);
    }
  }
}

}  // namespace berth::ecs
