#include "stack/render.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "stack/names.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

constexpr std::string_view kExecutionPolicy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
constexpr std::string_view kDimension = "ecs:service:DesiredCount";
// berth's Spot fallback (src/control/ecs/ecs.h kSpotFallbackTag; the stack
// library does not link the control plane).
constexpr const char* kSpotFallbackTag = "berth:spot-fallback";

bj::object taskTrust() {
  return bj::object{
      {"Version", "2012-10-17"},
      {"Statement", bj::array{bj::object{{"Effect", "Allow"},
                                         {"Principal", bj::object{{"Service", "ecs-tasks.amazonaws.com"}}},
                                         {"Action", "sts:AssumeRole"}}}}};
}

bj::array strings(const std::vector<std::string>& v) {
  bj::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

// A full image reference names a registry host first: "a.b/x", "host:5000/x".
bool isFullReference(std::string_view image) {
  size_t slash = image.find('/');
  return slash != std::string_view::npos && isRegistryHost(image.substr(0, slash));
}

}  // namespace

std::string parameterArn(const Environment& env, const std::string& name, const RenderOptions& o) {
  if (name.starts_with("arn:")) return name;
  std::string path = name.starts_with("/") ? name.substr(1) : name;
  return fmt::format("arn:aws:ssm:{}:{}:parameter/{}", env.region, o.account_id, path);
}

bj::object containerDefinition(const Environment& env, const Service& s, const RenderOptions& o) {
  bj::object c{{"name", s.name}, {"image", imageUri(env, s.image, o)}, {"essential", true}};
  if (s.port > 0)
    c["portMappings"] = bj::array{bj::object{{"containerPort", s.port}, {"hostPort", s.port}, {"protocol", "tcp"}}};
  if (!s.environment.empty()) {
    bj::array vars;
    for (const auto& [k, v] : s.environment) vars.push_back(bj::object{{"name", k}, {"value", v}});
    c["environment"] = std::move(vars);
  }
  if (!s.secrets.empty()) {
    bj::array secrets;
    for (const auto& [k, v] : s.secrets)
      secrets.push_back(bj::object{{"name", k}, {"valueFrom", parameterArn(env, v, o)}});
    c["secrets"] = std::move(secrets);
  }
  if (s.health_check) {
    const HealthCheck& h = *s.health_check;
    bj::array command;
    if (!h.command.empty()) {
      command = strings(h.command);
    } else {
      command = bj::array{"CMD-SHELL", fmt::format("wget -q -O /dev/null http://localhost:{}{} || exit 1", s.port,
                                                   h.path.empty() ? "/" : h.path)};
    }
    bj::object check{
        {"command", std::move(command)}, {"interval", h.interval}, {"timeout", h.timeout}, {"retries", h.retries}};
    if (h.start_period > 0) check["startPeriod"] = h.start_period;
    c["healthCheck"] = std::move(check);
  }
  c["logConfiguration"] = bj::object{{"logDriver", "awslogs"},
                                     {"options", bj::object{{"awslogs-group", logGroupName(env, s)},
                                                            {"awslogs-region", env.region},
                                                            {"awslogs-stream-prefix", s.name}}}};
  return c;
}

std::string imageUri(const Environment& env, const std::string& image, const RenderOptions& options) {
  if (isFullReference(image)) return image;
  std::string ref = image;
  size_t slash = ref.rfind('/');
  if (ref.find(':', slash == std::string::npos ? 0 : slash) == std::string::npos) ref += ":latest";
  return fmt::format("{}.dkr.ecr.{}.amazonaws.com/{}", options.account_id, env.region, ref);
}

std::string logGroupName(const Environment& env, const Service& service) {
  return fmt::format("/ecs/{}-{}/{}", env.project, env.name, service.name);
}

std::string taskFamily(const Environment& env, const Service& service) {
  return fmt::format("{}-{}-{}", env.project, env.name, service.name);
}

std::string ecsServiceName(const Environment& env, const Service& service) { return taskFamily(env, service); }

std::string resourceName(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    out += keep ? c : '-';
  }
  while (out.starts_with("-")) out.erase(0, 1);
  return out.empty() ? "_" : out;
}

std::vector<ResourceSpec> render(const Environment& env, const RenderOptions& o) {
  std::vector<ResourceSpec> out;
  auto add = [&out](std::string type, std::string name, bj::object props, std::vector<std::string> deps = {}) {
    out.push_back(ResourceSpec{std::move(type), std::move(name), std::move(props), std::move(deps), {}});
    return &out.back();
  };

  for (const auto& repo : env.ecr_repositories)
    add("ecr_repository", resourceName(repo), bj::object{{"repositoryName", repo}});
  for (const auto& s : env.services)
    add("log_group", s.name,
        bj::object{{"logGroupName", logGroupName(env, s)}, {"retentionInDays", s.log_retention_days}});

  // The execution role: ECR pulls and log writes (AWS's managed policy), and
  // the parameters any container takes as `secrets`.
  bj::object execution{{"RoleName", env.execution_role},
                       {"AssumeRolePolicyDocument", taskTrust()},
                       {"ManagedPolicyArns", bj::array{bj::value(kExecutionPolicy)}}};
  std::vector<std::string> secret_arns;
  for (const auto& s : env.services)
    for (const auto& [_, name] : s.secrets) secret_arns.push_back(parameterArn(env, name, o));
  std::sort(secret_arns.begin(), secret_arns.end());
  secret_arns.erase(std::unique(secret_arns.begin(), secret_arns.end()), secret_arns.end());
  if (!secret_arns.empty())
    execution["InlinePolicies"] =
        bj::object{{"secrets", bj::object{{"Version", "2012-10-17"},
                                          {"Statement", bj::array{bj::object{{"Effect", "Allow"},
                                                                             {"Action", bj::array{"ssm:GetParameters"}},
                                                                             {"Resource", strings(secret_arns)}}}}}}};
  add("iam_role", "execution", std::move(execution));
  for (const auto& s : env.services) {
    if (s.task_role_policy.empty()) continue;
    bj::array statements;
    for (const auto& st : s.task_role_policy)
      statements.push_back(
          bj::object{{"Effect", "Allow"}, {"Action", strings(st.actions)}, {"Resource", strings(st.resources)}});
    add("iam_role", s.name + "-task",
        bj::object{{"RoleName", taskRoleName(env, s)},
                   {"AssumeRolePolicyDocument", taskTrust()},
                   {"InlinePolicies", bj::object{{s.name, bj::object{{"Version", "2012-10-17"},
                                                                     {"Statement", std::move(statements)}}}}}});
  }
  for (const auto& p : env.parameters) {
    bj::object props{{"Name", p.name}, {"Type", p.type}, {"Value", p.value}};
    if (!p.description.empty()) props["Description"] = p.description;
    add("ssm_parameter", resourceName(p.name), std::move(props));
  }

  add("ecs_cluster", "main",
      bj::object{{"clusterName", env.cluster},
                 {"containerInsights", env.container_insights ? "enabled" : "disabled"},
                 {"capacityProviders", bj::array{"FARGATE", "FARGATE_SPOT"}}});
  bool discovery = std::any_of(env.services.begin(), env.services.end(), [](const Service& s) { return s.discovery; });
  if (discovery) add("sd_namespace", "main", bj::object{{"Name", env.namespace_name}});

  for (const auto& s : env.services) {
    std::vector<std::string> td_deps{"log_group." + s.name};
    if (auto parts = splitImage(s.image); parts && parts->host.empty()) {
      if (std::ranges::find(env.ecr_repositories, parts->repository) != env.ecr_repositories.end())
        td_deps.push_back("ecr_repository." + resourceName(parts->repository));
    }
    bj::object td{{"family", taskFamily(env, s)},
                  {"cpu", std::to_string(s.cpu)},
                  {"memory", std::to_string(s.memory)},
                  {"networkMode", "awsvpc"},
                  {"requiresCompatibilities", bj::array{"FARGATE"}},
                  {"executionRoleArn", "${iam_role.execution.arn}"},
                  {"containerDefinitions", bj::array{containerDefinition(env, s, o)}}};
    if (!s.task_role_policy.empty()) td["taskRoleArn"] = fmt::format("${{iam_role.{}-task.arn}}", s.name);
    for (const auto& p : env.parameters)
      for (const auto& [_, name] : s.secrets)
        if (name == p.name) td_deps.push_back("ssm_parameter." + resourceName(p.name));
    add("ecs_task_definition", s.name, std::move(td), std::move(td_deps));

    if (s.discovery)
      add("sd_service", s.name, bj::object{{"Name", s.name}, {"NamespaceId", "${sd_namespace.main.id}"}});
    bj::object svc{{"serviceName", ecsServiceName(env, s)},
                   {"cluster", "${ecs_cluster.main.name}"},
                   {"taskDefinition", fmt::format("${{ecs_task_definition.{}.arn}}", s.name)},
                   {"desiredCount", s.count},
                   {"capacityProviderStrategy",
                    bj::array{bj::object{{"capacityProvider", s.capacity_provider}, {"weight", 1}, {"base", 0}}}},
                   {"deploymentConfiguration",
                    bj::object{{"deploymentCircuitBreaker", bj::object{{"enable", s.deployment.circuit_breaker},
                                                                       {"rollback", s.deployment.rollback}}},
                               {"minimumHealthyPercent", s.deployment.min_healthy_percent},
                               {"maximumPercent", s.deployment.max_percent}}}};
    if (s.discovery)
      svc["serviceRegistries"] = bj::array{bj::object{{"registryArn", fmt::format("${{sd_service.{}.arn}}", s.name)}}};
    // The Spot fallback is a service tag berth's scheduler reads (model.h).
    std::map<std::string, std::string> service_tags = env.tags;
    if (s.spot_fallback && s.capacity_provider == "FARGATE_SPOT") service_tags[kSpotFallbackTag] = "FARGATE";
    if (!service_tags.empty()) {
      bj::array tag_list;
      for (const auto& [k, v] : service_tags) tag_list.push_back(bj::object{{"key", k}, {"value", v}});
      svc["tags"] = std::move(tag_list);
      svc["propagateTags"] = "SERVICE";
    }
    ResourceSpec* service = add("ecs_service", s.name, std::move(svc));
    if (!s.autoscaling) continue;
    // Application Auto Scaling owns the desired count from here on.
    service->ignore_changes.push_back("desiredCount");
    const Autoscaling& a = *s.autoscaling;
    std::string resource_id = fmt::format("service/{}/{}", env.cluster, ecsServiceName(env, s));
    add("scalable_target", s.name,
        bj::object{{"ServiceNamespace", "ecs"},
                   {"ResourceId", resource_id},
                   {"ScalableDimension", kDimension},
                   {"MinCapacity", a.min},
                   {"MaxCapacity", a.max}},
        {"ecs_service." + s.name});
    auto policy = [&](std::string_view kind, std::string_view metric, double target) {
      add("scaling_policy", fmt::format("{}-{}", s.name, kind),
          bj::object{{"PolicyName", fmt::format("{}-{}-{}", s.name, kind, static_cast<int>(target))},
                     {"ServiceNamespace", "ecs"},
                     {"ResourceId", resource_id},
                     {"ScalableDimension", kDimension},
                     {"PolicyType", "TargetTrackingScaling"},
                     {"TargetTrackingScalingPolicyConfiguration",
                      bj::object{{"TargetValue", target},
                                 {"PredefinedMetricSpecification", bj::object{{"PredefinedMetricType", metric}}},
                                 {"ScaleOutCooldown", a.scale_out_cooldown},
                                 {"ScaleInCooldown", a.scale_in_cooldown}}}},
          {"scalable_target." + s.name});
    };
    if (a.cpu_target) policy("cpu", "ECSServiceAverageCPUUtilization", *a.cpu_target);
    if (a.memory_target) policy("memory", "ECSServiceAverageMemoryUtilization", *a.memory_target);
  }
  return out;
}

std::vector<std::string> targetAddresses(const Environment& env, const std::string& target) {
  if (!target.starts_with("service.")) return {target};
  std::string name = target.substr(8);
  std::vector<std::string> out{"ecs_service." + name, "ecs_task_definition." + name};
  for (const auto& s : env.services) {
    if (s.name != name) continue;
    if (s.discovery) out.push_back("sd_service." + name);
    if (s.autoscaling) {
      out.push_back("scalable_target." + name);
      if (s.autoscaling->cpu_target) out.push_back("scaling_policy." + name + "-cpu");
      if (s.autoscaling->memory_target) out.push_back("scaling_policy." + name + "-memory");
    }
  }
  return out;
}

}  // namespace berth::stack
