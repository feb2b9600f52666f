#include "control/autoscaling/ecs_resources.h"

#include <fmt/format.h>

#include "common/json.h"

namespace berth::autoscaling {
namespace {

struct ServiceRef {
  std::string cluster;
  std::string service;
};

Result<ServiceRef> parseResource(std::string_view resource_id) {
  if (!resource_id.starts_with("service/")) return fail(ErrorCode::kNotFound, "not an ECS service");
  resource_id.remove_prefix(8);
  size_t slash = resource_id.find('/');
  if (slash == std::string_view::npos) return fail(ErrorCode::kNotFound, "not an ECS service");
  return ServiceRef{std::string(resource_id.substr(0, slash)), std::string(resource_id.substr(slash + 1))};
}

}  // namespace

EcsScalableResources::EcsScalableResources(ecs::Ecs& ecs, std::string account_id) : ecs_(ecs) {
  context_.principal_arn = fmt::format(
      "arn:aws:iam::{}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
      "AWSServiceRoleForApplicationAutoScaling_ECSService",
      account_id);
}

Result<ScalableResources::State> EcsScalableResources::state(std::string_view resource_id) {
  ServiceRef ref = BERTH_TRY(parseResource(resource_id));
  auto described =
      ecs_.invoke("DescribeServices",
                  bj::object{{"cluster", ref.cluster}, {"services", bj::array{bj::value(ref.service)}}}, context_);
  if (!described) {
    if (described.error().code == ErrorCode::kNotFound) return fail(ErrorCode::kNotFound, described.error().message);
    return std::unexpected(described.error());
  }
  const bj::array* services = json::getArray(described->as_object(), "services");
  if (!services || services->empty() || json::stringOr(services->front().as_object(), "status") != "ACTIVE")
    return fail(ErrorCode::kNotFound, fmt::format("ECS service doesn't exist: {}", resource_id));
  const bj::object& service = services->front().as_object();
  State state;
  state.capacity = json::getInt(service, "desiredCount").value_or(0);
  if (const bj::array* deployments = json::getArray(service, "deployments")) {
    if (deployments->size() > 1) state.deploying = true;
    for (const auto& d : *deployments)
      if (json::stringOr(d.as_object(), "status") == "PRIMARY" &&
          json::stringOr(d.as_object(), "rolloutState", "COMPLETED") != "COMPLETED")
        state.deploying = true;
  }
  return state;
}

Status EcsScalableResources::setCapacity(std::string_view resource_id, int64_t capacity) {
  ServiceRef ref = BERTH_TRY(parseResource(resource_id));
  auto updated =
      ecs_.invoke("UpdateService",
                  bj::object{{"cluster", ref.cluster}, {"service", ref.service}, {"desiredCount", capacity}}, context_);
  if (!updated) return std::unexpected(updated.error());
  return {};
}

}  // namespace berth::autoscaling
