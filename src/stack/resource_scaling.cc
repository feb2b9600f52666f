// scalable_target and scaling_policy (Application Auto Scaling).
#include <fmt/format.h>

#include "stack/resource_common.h"

namespace berth::stack {
namespace {

constexpr std::string_view kService = "application-autoscaling";

// ServiceNamespace|ResourceId|ScalableDimension[|PolicyName]
std::string targetId(const bj::object& p) {
  return fmt::format("{}|{}|{}", propString(&p, "ServiceNamespace", "ecs"), propString(&p, "ResourceId"),
                     propString(&p, "ScalableDimension", "ecs:service:DesiredCount"));
}

bj::object targetKeys(const std::vector<std::string>& parts) {
  return bj::object{{"ServiceNamespace", parts[0]}, {"ResourceId", parts[1]}, {"ScalableDimension", parts[2]}};
}

// {ServiceNamespace ("ecs"), ResourceId ("service/CLUSTER/SERVICE"),
// ScalableDimension ("ecs:service:DesiredCount"), MinCapacity, MaxCapacity}.
// Outputs arn, resource_id.
class ScalableTarget final : public ResourceType {
 public:
  std::string_view type() const override { return "scalable_target"; }
  bj::object plannedOutputs(const std::string&, const bj::object& p) const override {
    return {{"resource_id", propString(&p, "ResourceId")}};
  }
  bool forcesReplacement(std::string_view k) const override {
    return k == "ServiceNamespace" || k == "ResourceId" || k == "ScalableDimension";
  }
  // RegisterScalableTarget without MinCapacity/MaxCapacity keeps the
  // registered ones: a removed capacity is left as is.
  bool resetsWhenRemoved(std::string_view k) const override { return k != "MinCapacity" && k != "MaxCapacity"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string&, const std::string& id,
                                           const bj::object* props) override {
    std::string tid = id.empty() && props ? targetId(*props) : id;
    auto parts = splitId(tid);
    if (parts.size() != 3 || tid.find(kKnownAfterApply) != std::string::npos) return std::nullopt;
    bj::object in = targetKeys(parts);
    in["ResourceIds"] = bj::array{bj::value(parts[1])};
    in.erase("ResourceId");
    std::optional<LiveResource> found;
    BERTH_TRY(forEachJsonPage(
        api, kService, "DescribeScalableTargets", std::move(in), "NextToken", [&](const bj::object& out) {
          if (const bj::array* list = json::getArray(out, "ScalableTargets"))
            for (const auto& t : *list) {
              if (!t.is_object()) continue;
              const bj::object& o = t.as_object();
              if (json::stringOr(o, "ResourceId") != parts[1] || json::stringOr(o, "ScalableDimension") != parts[2])
                continue;
              found = LiveResource{
                  tid, targetKeys(parts), {{"arn", json::stringOr(o, "ScalableTargetARN")}, {"resource_id", parts[1]}}};
              for (const char* k : {"MinCapacity", "MaxCapacity"})
                if (const bj::value* v = o.if_contains(k)) found->properties[k] = *v;
            }
          return !found;
        }));
    return found;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    bj::object in = targetKeys(splitId(targetId(props)));
    for (const char* k : {"MinCapacity", "MaxCapacity", "SuspendedState"})
      if (const bj::value* v = props.if_contains(k)) in[k] = *v;
    BERTH_TRY(api.json(kService, "RegisterScalableTarget", in));
    auto live = BERTH_TRY(read(api, name, targetId(props), &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("scalable target {} vanished", targetId(props)));
    return *live;
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource&, const bj::object& props,
                              const std::vector<std::string>&) override {
    return create(api, name, props);
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    auto parts = splitId(live.id);
    if (parts.size() != 3) return fail(ErrorCode::kInvalidArgument, fmt::format("bad scalable_target id {}", live.id));
    auto out = api.json(kService, "DeregisterScalableTarget", targetKeys(parts));
    if (!out && !isNotFound(out.error())) return std::unexpected(out.error());
    return {};
  }
};

// {PolicyName, ServiceNamespace, ResourceId, ScalableDimension, PolicyType
// ("TargetTrackingScaling"), TargetTrackingScalingPolicyConfiguration
// ({TargetValue, PredefinedMetricSpecification: {PredefinedMetricType},
// ScaleInCooldown?, ScaleOutCooldown?, DisableScaleIn?})}. Outputs arn, name.
class ScalingPolicy final : public ResourceType {
 public:
  std::string_view type() const override { return "scaling_policy"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "PolicyName", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view k) const override {
    return k == "PolicyName" || k == "ServiceNamespace" || k == "ResourceId" || k == "ScalableDimension";
  }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string pid = id.empty() && props ? policyId(*props, name) : id;
    auto parts = splitId(pid);
    if (parts.size() != 4 || pid.find(kKnownAfterApply) != std::string::npos) return std::nullopt;
    bj::object in = targetKeys(parts);
    in["PolicyNames"] = bj::array{bj::value(parts[3])};
    std::optional<LiveResource> found;
    BERTH_TRY(forEachJsonPage(
        api, kService, "DescribeScalingPolicies", std::move(in), "NextToken", [&](const bj::object& out) {
          if (const bj::array* list = json::getArray(out, "ScalingPolicies"))
            for (const auto& p : *list) {
              if (!p.is_object() || json::stringOr(p.as_object(), "PolicyName") != parts[3]) continue;
              const bj::object& o = p.as_object();
              found =
                  LiveResource{pid, targetKeys(parts), {{"arn", json::stringOr(o, "PolicyARN")}, {"name", parts[3]}}};
              found->properties["PolicyName"] = parts[3];
              for (const char* k :
                   {"PolicyType", "TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"})
                if (const bj::value* v = o.if_contains(k)) found->properties[k] = *v;
            }
          return !found;
        }));
    return found;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    auto parts = splitId(policyId(props, name));
    bj::object in = targetKeys(parts);
    in["PolicyName"] = parts[3];
    in["PolicyType"] = propString(&props, "PolicyType", "TargetTrackingScaling");
    for (const char* k : {"TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"})
      if (const bj::value* v = props.if_contains(k)) in[k] = *v;
    BERTH_TRY(api.json(kService, "PutScalingPolicy", in));
    auto live = BERTH_TRY(read(api, name, policyId(props, name), &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("scaling policy {} vanished", parts[3]));
    return *live;
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource&, const bj::object& props,
                              const std::vector<std::string>&) override {
    return create(api, name, props);
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    auto parts = splitId(live.id);
    if (parts.size() != 4) return fail(ErrorCode::kInvalidArgument, fmt::format("bad scaling_policy id {}", live.id));
    bj::object in = targetKeys(parts);
    in["PolicyName"] = parts[3];
    auto out = api.json(kService, "DeleteScalingPolicy", in);
    if (!out && !isNotFound(out.error())) return std::unexpected(out.error());
    return {};
  }

 private:
  static std::string policyId(const bj::object& p, const std::string& name) {
    return fmt::format("{}|{}", targetId(p), propString(&p, "PolicyName", name));
  }
};

}  // namespace

std::unique_ptr<ResourceType> makeScalableTarget() { return std::make_unique<ScalableTarget>(); }
std::unique_ptr<ResourceType> makeScalingPolicy() { return std::make_unique<ScalingPolicy>(); }

}  // namespace berth::stack
