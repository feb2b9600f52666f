// ecs_task_definition and ecs_service.
#include <fmt/format.h>

#include "stack/resource_common.h"

namespace berth::stack {
namespace {

// Task definition: RegisterTaskDefinition's input as is ({family, cpu,
// memory (strings, as ECS returns them), networkMode, requiresCompatibilities,
// executionRoleArn?, taskRoleArn?, containerDefinitions, volumes?,
// runtimePlatform?, ...}). Live = the family's latest ACTIVE revision; the
// fields ECS adds are ignored by the diff rule. A change registers a new
// revision (the old ones stay ACTIVE for rollbacks); delete deregisters every
// ACTIVE revision. Outputs arn, family, revision.
class EcsTaskDefinition final : public ResourceType {
 public:
  std::string_view type() const override { return "ecs_task_definition"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "family", name);
    return {{"family", n}};
  }
  bool forcesReplacement(std::string_view k) const override { return k == "family"; }
  bool outputChangesOnUpdate(std::string_view attr) const override { return attr == "arn" || attr == "revision"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string family = id.empty() ? propString(props, "family", name) : id;
    auto out = api.json("ecs", "DescribeTaskDefinition", {{"taskDefinition", family}});
    // ECS answers ClientException for a family without ACTIVE revisions.
    if (!out && (isNotFound(out.error()) || out.error().aws_type == "ClientException")) return std::nullopt;
    if (!out) return std::unexpected(out.error());
    const bj::object* td = json::getObject(*out, "taskDefinition");
    if (!td || json::stringOr(*td, "status") != "ACTIVE") return std::nullopt;
    LiveResource live{family,
                      *td,
                      {{"arn", json::stringOr(*td, "taskDefinitionArn")},
                       {"family", family},
                       {"revision", json::getInt(*td, "revision").value_or(0)}}};
    return live;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    bj::object in = props;
    if (!in.contains("family")) in["family"] = name;
    bj::object out = BERTH_TRY(api.json("ecs", "RegisterTaskDefinition", in));
    const bj::object* td = json::getObject(out, "taskDefinition");
    if (!td) return fail(ErrorCode::kInternal, "RegisterTaskDefinition returned no taskDefinition");
    std::string family = json::stringOr(*td, "family");
    return LiveResource{family,
                        *td,
                        {{"arn", json::stringOr(*td, "taskDefinitionArn")},
                         {"family", family},
                         {"revision", json::getInt(*td, "revision").value_or(0)}}};
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource&, const bj::object& props,
                              const std::vector<std::string>&) override {
    return create(api, name, props);
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    std::vector<std::string> arns;
    BERTH_TRY(forEachJsonPage(api, "ecs", "ListTaskDefinitions", {{"familyPrefix", live.id}, {"status", "ACTIVE"}},
                              "nextToken", [&](const bj::object& out) {
                                for (auto& arn : json::stringList(out, "taskDefinitionArns")) {
                                  // ...:task-definition/FAMILY:REVISION; the prefix also matches longer families.
                                  size_t slash = arn.rfind('/'), colon = arn.rfind(':');
                                  if (slash != std::string::npos && colon > slash &&
                                      arn.substr(slash + 1, colon - slash - 1) == live.id)
                                    arns.push_back(std::move(arn));
                                }
                                return true;
                              }));
    for (const auto& arn : arns) {
      auto out = api.json("ecs", "DeregisterTaskDefinition", {{"taskDefinition", arn}});
      if (!out && !isNotFound(out.error())) return std::unexpected(out.error());
    }
    return {};
  }
};

// The UpdateService members a change of these properties is applied with.
constexpr std::string_view kUpdatable[] = {
    "taskDefinition",       "desiredCount",    "capacityProviderStrategy", "deploymentConfiguration",
    "networkConfiguration", "platformVersion", "enableExecuteCommand",     "healthCheckGracePeriodSeconds",
    "enableECSManagedTags", "propagateTags"};

// What UpdateService is sent for an updatable property removed from the
// stack file: the value CreateService assumes without it (UpdateService
// itself leaves an absent member as is). networkConfiguration goes back to
// the default VPC's (see create()).
bj::value removedDefault(std::string_view key) {
  if (key == "capacityProviderStrategy") return bj::array{};  // the cluster's default strategy
  if (key == "deploymentConfiguration")
    return bj::object{{"maximumPercent", 200},
                      {"minimumHealthyPercent", 100},
                      {"deploymentCircuitBreaker", bj::object{{"enable", false}, {"rollback", false}}}};
  if (key == "platformVersion") return bj::value("LATEST");
  if (key == "enableExecuteCommand" || key == "enableECSManagedTags") return bj::value(false);
  if (key == "healthCheckGracePeriodSeconds") return bj::value(0);
  if (key == "propagateTags") return bj::value("NONE");
  return nullptr;  // taskDefinition: required
}

// ECS service: CreateService's input ({serviceName, cluster, taskDefinition,
// desiredCount, capacityProviderStrategy | launchType,
// deploymentConfiguration, serviceRegistries, networkConfiguration?, ...});
// without networkConfiguration, awsvpc in the default VPC's subnets with
// its default security group and a public IP. `cluster` is the cluster's
// name. Changes go through UpdateService; apply does not wait for a steady
// state. A property removed from the stack file is reset to
// CreateService's default (removedDefault()), except desiredCount, which is
// left as is (as when handed over to autoscaling). Delete scales to 0,
// deletes (force) and waits for INACTIVE. Outputs arn, name, cluster.
class EcsService final : public ResourceType {
 public:
  std::string_view type() const override { return "ecs_service"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    return {{"name", propString(&p, "serviceName", name)}, {"cluster", propString(&p, "cluster", "default")}};
  }
  bool forcesReplacement(std::string_view k) const override {
    return k == "serviceName" || k == "cluster" || k == "serviceRegistries" || k == "launchType" ||
           k == "schedulingStrategy" || k == "loadBalancers" || k == "role";
  }
  bool resetsWhenRemoved(std::string_view k) const override { return k != "desiredCount"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string cluster = propString(props, "cluster", "default"), service = propString(props, "serviceName", name);
    if (!id.empty()) {
      auto parts = splitId(id);
      if (parts.size() != 2) return fail(ErrorCode::kInvalidArgument, fmt::format("bad ecs_service id {}", id));
      cluster = parts[0];
      service = parts[1];
    }
    if (cluster == kKnownAfterApply) return std::nullopt;
    auto out =
        api.json("ecs", "DescribeServices",
                 {{"cluster", cluster}, {"services", bj::array{bj::value(service)}}, {"include", bj::array{"TAGS"}}});
    if (!out && isNotFound(out.error())) return std::nullopt;
    if (!out) return std::unexpected(out.error());
    const bj::array* services = json::getArray(*out, "services");
    if (!services || services->empty() || !(*services)[0].is_object()) return std::nullopt;
    const bj::object& s = (*services)[0].as_object();
    std::string status = json::stringOr(s, "status");
    if (status == "INACTIVE" || status == "DRAINING") return std::nullopt;
    LiveResource live{fmt::format("{}|{}", cluster, service),
                      s,
                      {{"arn", json::stringOr(s, "serviceArn")}, {"name", service}, {"cluster", cluster}}};
    live.properties["cluster"] = cluster;
    if (!live.properties.contains("tags")) live.properties["tags"] = bj::array{};
    return live;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    bj::object in = props;
    if (!in.contains("serviceName")) in["serviceName"] = name;
    if (!in.contains("networkConfiguration")) in["networkConfiguration"] = BERTH_TRY(defaultNetworkConfiguration(api));
    bj::object out = BERTH_TRY(api.json("ecs", "CreateService", in));
    return reread(api, name, in);
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource& live, const bj::object& props,
                              const std::vector<std::string>& changed) override {
    auto parts = splitId(live.id);
    bj::object in{{"cluster", parts[0]}, {"service", parts.size() > 1 ? parts[1] : name}};
    for (const auto& key : changed) {
      if (key == "tags") {
        BERTH_TRY(retag(api, json::stringOr(live.outputs, "arn"), live.properties, props));
        continue;
      }
      if (std::find(std::begin(kUpdatable), std::end(kUpdatable), key) == std::end(kUpdatable))
        return fail(ErrorCode::kInvalidArgument, fmt::format("ecs_service.{}: {} cannot be updated", name, key));
      if (const bj::value* v = props.if_contains(key)) {
        in[key] = *v;
      } else if (key == "networkConfiguration") {
        in[key] = BERTH_TRY(defaultNetworkConfiguration(api));
      } else if (bj::value v = removedDefault(key); !v.is_null()) {
        in[key] = std::move(v);
      } else {
        return fail(ErrorCode::kInvalidArgument, fmt::format("ecs_service.{}: {} cannot be removed", name, key));
      }
    }
    if (contains(changed, "capacityProviderStrategy")) in["forceNewDeployment"] = true;
    if (in.size() > 2) BERTH_TRY(api.json("ecs", "UpdateService", in));
    bj::object ids{{"cluster", parts[0]}, {"serviceName", json::stringOr(in, "service")}};
    return reread(api, name, ids);
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    auto parts = splitId(live.id);
    if (parts.size() != 2) return fail(ErrorCode::kInvalidArgument, fmt::format("bad ecs_service id {}", live.id));
    auto scaled = api.json("ecs", "UpdateService", {{"cluster", parts[0]}, {"service", parts[1]}, {"desiredCount", 0}});
    if (!scaled && isNotFound(scaled.error())) return {};
    auto out = api.json("ecs", "DeleteService", {{"cluster", parts[0]}, {"service", parts[1]}, {"force", true}});
    if (!out && isNotFound(out.error())) return {};
    if (!out) return std::unexpected(out.error());
    for (int attempt = 0; attempt < 600; ++attempt) {
      bj::object d = BERTH_TRY(
          api.json("ecs", "DescribeServices", {{"cluster", parts[0]}, {"services", bj::array{bj::value(parts[1])}}}));
      const bj::array* services = json::getArray(d, "services");
      if (!services || services->empty() || !(*services)[0].is_object() ||
          json::stringOr((*services)[0].as_object(), "status") == "INACTIVE")
        return {};
      pollPause(attempt);
    }
    return fail(ErrorCode::kInternal, fmt::format("service {} did not drain", parts[1]));
  }

 private:
  static Result<bj::object> defaultNetworkConfiguration(AwsApi& api) {
    DefaultNetwork n = BERTH_TRY(defaultNetwork(api));
    bj::array subnets;
    for (const auto& s : n.subnets) subnets.push_back(bj::value(s));
    return bj::object{{"awsvpcConfiguration", bj::object{{"subnets", std::move(subnets)},
                                                         {"securityGroups", bj::array{bj::value(n.security_group)}},
                                                         {"assignPublicIp", "ENABLED"}}}};
  }
  // Tags ([{key, value}]) are set with TagResource/UntagResource, not UpdateService.
  static Status retag(AwsApi& api, const std::string& arn, const bj::object& live, const bj::object& props) {
    std::vector<std::string> wanted_keys;
    bj::array wanted;
    if (const bj::array* tags = json::getArray(props, "tags")) wanted = *tags;
    for (const auto& t : wanted)
      if (t.is_object()) wanted_keys.push_back(json::stringOr(t.as_object(), "key"));
    bj::array stale;
    if (const bj::array* tags = json::getArray(live, "tags"))
      for (const auto& t : *tags)
        if (t.is_object() && !contains(wanted_keys, json::stringOr(t.as_object(), "key")))
          stale.push_back(bj::value(json::stringOr(t.as_object(), "key")));
    if (!stale.empty()) BERTH_TRY(api.json("ecs", "UntagResource", {{"resourceArn", arn}, {"tagKeys", stale}}));
    if (!wanted.empty()) BERTH_TRY(api.json("ecs", "TagResource", {{"resourceArn", arn}, {"tags", wanted}}));
    return {};
  }
  Result<LiveResource> reread(AwsApi& api, const std::string& name, const bj::object& props) {
    auto live = BERTH_TRY(read(api, name, "", &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("service {} vanished", name));
    return *live;
  }
};

}  // namespace

std::unique_ptr<ResourceType> makeEcsTaskDefinition() { return std::make_unique<EcsTaskDefinition>(); }
std::unique_ptr<ResourceType> makeEcsService() { return std::make_unique<EcsService>(); }

}  // namespace berth::stack
