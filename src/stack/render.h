// A resolved environment (model.h) as the resources the engine applies
// (engine.h): what `berth plan/apply` want to exist, in AWS's own request
// shapes, with references between them ("${iam_role.execution.arn}").
//
//   ecr_repository.<repo, '/' as '-'>   log_group.<service>
//   iam_role.execution                  iam_role.<service>-task (a task role policy)
//   ssm_parameter.<n>                   ecs_cluster.main
//   sd_namespace.main                   sd_service.<service> (discovery)
//   ecs_task_definition.<service>       ecs_service.<service>
//   scalable_target.<service>           scaling_policy.<service>-cpu / -memory (autoscaling)
//
// Names (the seed's): log groups "/ecs/<project>-<env>/<service>", task
// definition families and ECS services "<project>-<env>-<service>", Cloud Map
// services "<service>".
#pragma once

#include <string>
#include <vector>

#include "stack/engine.h"
#include "stack/model.h"

namespace berth::stack {

struct RenderOptions {
  std::string account_id = "000000000000";
};

// The image an ECS task pulls for `image` (model.h Service::image): a
// repository the stack owns becomes "<account>.dkr.ecr.<region>.amazonaws.com/
// <repo>:<tag or latest>"; a full reference stays as it is.
std::string imageUri(const Environment& env, const std::string& image, const RenderOptions& options);
// The ARN of an SSM parameter named in `secrets` (an ARN stays as it is).
std::string parameterArn(const Environment& env, const std::string& name, const RenderOptions& options);
// The service's one container, as RegisterTaskDefinition takes it.
boost::json::object containerDefinition(const Environment& env, const Service& service, const RenderOptions& options);
std::string logGroupName(const Environment& env, const Service& service);
std::string taskFamily(const Environment& env, const Service& service);
// The ECS service's name, "<project>-<env>-<service>" as the seed names them
// (its Cloud Map name stays "<service>": backend.dev.local).
std::string ecsServiceName(const Environment& env, const Service& service);
// A resource name from a repository or parameter name ("durableai/backend"
// -> "durableai-backend"): letters, digits, '-' and '_' only.
std::string resourceName(std::string_view s);

std::vector<ResourceSpec> render(const Environment& env, const RenderOptions& options = {});

// The addresses `berth destroy --target` names: "service.<name>" is the
// service with its task definition, scaling and discovery entry (the log
// group, roles, repositories and the cluster stay); anything else is taken
// as an engine address ("ecs_service.backend").
std::vector<std::string> targetAddresses(const Environment& env, const std::string& target);

}  // namespace berth::stack
