// Scalable targets: RegisterScalableTarget, DeregisterScalableTarget,
// DescribeScalableTargets, and the tags of targets.
#include <algorithm>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/autoscaling/autoscaling.h"
#include "control/autoscaling/errors.h"
#include "control/autoscaling/paging.h"

namespace berth::autoscaling {
namespace {

constexpr std::string_view kEcsDimension = "ecs:service:DesiredCount";
constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTargets = 3000;  // per namespace and account

std::string notFoundMessage(const bj::object& in) {
  return fmt::format("No scalable target registered for service namespace: {}, resource ID: {}, scalable dimension: {}",
                     json::stringOr(in, "ServiceNamespace"), json::stringOr(in, "ResourceId"),
                     json::stringOr(in, "ScalableDimension"));
}

}  // namespace

Status ApplicationAutoScaling::checkIdentity(const bj::object& in) const {
  std::string ns = json::stringOr(in, "ServiceNamespace");
  if (ns != "ecs")
    return validation(
        fmt::format("berth scales ECS services only: service namespace {} is not supported (use ecs, with "
                    "ecs:service:DesiredCount).",
                    ns));
  if (auto dimension = json::getString(in, "ScalableDimension"); dimension && *dimension != kEcsDimension)
    return validation("Unsupported service namespace, resource type or scalable dimension");
  if (auto resource = json::getString(in, "ResourceId")) {
    std::string_view r = *resource;
    size_t second = r.starts_with("service/") ? r.find('/', 8) : std::string_view::npos;
    if (second == std::string_view::npos || second == 8 || second + 1 == r.size() ||
        r.find('/', second + 1) != std::string_view::npos)
      return validation(fmt::format(
          "Unsupported resource ID {}: an ECS service's resource ID is service/<cluster name>/<service name>.", r));
  }
  return {};
}

Result<ApplicationAutoScaling::Target*> ApplicationAutoScaling::findTarget(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  auto it = targets_.find(targetKey(in));
  if (it == targets_.end()) return objectNotFound(notFoundMessage(in));
  return &it->second;
}

Result<bj::value> ApplicationAutoScaling::registerScalableTarget(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  std::string resource = json::stringOr(in, "ResourceId");
  auto state = resources_.state(resource);
  if (!state) {
    if (state.error().code == ErrorCode::kNotFound)
      return validation(fmt::format("ECS service doesn't exist: {}", resource));
    return std::unexpected(state.error());
  }
  std::string key = targetKey(in);
  auto existing = targets_.find(key);
  auto min = json::getInt(in, "MinCapacity");
  auto max = json::getInt(in, "MaxCapacity");
  if (existing == targets_.end()) {
    if (!min || !max)
      return validation("MinCapacity and MaxCapacity are required when registering a new scalable target.");
    size_t in_namespace = targets_.size();
    if (in_namespace >= kMaxTargets)
      return limitExceeded(fmt::format(
          "The maximum number of scalable targets ({}) for service namespace ecs is reached.", kMaxTargets));
  } else {
    if (!min) min = json::getInt(existing->second.doc, "MinCapacity");
    if (!max) max = json::getInt(existing->second.doc, "MaxCapacity");
  }
  if (*min < 0 || *max < 0) return validation("Minimum and maximum capacity must not be negative");
  if (*min > *max) return validation("Minimum capacity cannot be greater than maximum capacity");
  const bj::object* tags = json::getObject(in, "Tags");
  if (tags && tags->size() > kMaxTags)
    return tooManyTags(fmt::format("A scalable target can have at most {} tags.", kMaxTags));

  Target t;
  if (existing != targets_.end()) {
    t = existing->second;
  } else {
    t.doc = bj::object{{"ServiceNamespace", "ecs"},
                       {"ResourceId", resource},
                       {"ScalableDimension", kEcsDimension},
                       {"RoleARN", fmt::format("arn:aws:iam::{}:role/aws-service-role/ecs.application-autoscaling."
                                               "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
                                               config_.account_id)},
                       {"CreationTime", clock_.epochSeconds()},
                       {"ScalableTargetARN", fmt::format("arn:aws:application-autoscaling:{}:{}:scalable-target/{}",
                                                         config_.region, config_.account_id, randomHex(18))}};
    t.doc["SuspendedState"] = bj::object{{"DynamicScalingInSuspended", false},
                                         {"DynamicScalingOutSuspended", false},
                                         {"ScheduledScalingSuspended", false}};
    if (tags) t.tags = *tags;
  }
  t.doc["MinCapacity"] = *min;
  t.doc["MaxCapacity"] = *max;
  if (auto role = json::getString(in, "RoleARN")) t.doc["RoleARN"] = *role;
  if (const bj::object* suspended = json::getObject(in, "SuspendedState")) {
    bj::object& s = t.doc["SuspendedState"].as_object();
    for (std::string_view k : {"DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended"})
      if (auto b = json::getBool(*suspended, k)) s[k] = *b;
  }
  store::Batch batch;
  persist(batch, t);
  BERTH_TRY(commit(batch));
  Target& stored = targets_[key] = std::move(t);
  clampCapacity(stored.doc);
  return bj::object{{"ScalableTargetARN", json::stringOr(stored.doc, "ScalableTargetARN")}};
}

Result<bj::value> ApplicationAutoScaling::deregisterScalableTarget(const bj::object& in) {
  Target* target = BERTH_TRY(findTarget(in));
  std::string key = targetKey(target->doc);
  store::Batch batch;
  batch.erase("aas.target", key);
  std::vector<std::string> policy_arns, action_arns;
  bj::array alarms;
  for (const auto& [arn, p] : policies_)
    if (targetKey(p.doc) == key) {
      policy_arns.push_back(arn);
      batch.erase("aas.policy", arn);
      if (const bj::array* a = json::getArray(p.doc, "Alarms")) alarms.insert(alarms.end(), a->begin(), a->end());
    }
  for (const auto& [arn, a] : actions_)
    if (targetKey(a.doc) == key) {
      action_arns.push_back(arn);
      batch.erase("aas.action", arn);
    }
  BERTH_TRY(commit(batch));
  targets_.erase(key);
  for (const auto& arn : policy_arns) policies_.erase(arn);
  for (const auto& arn : action_arns) actions_.erase(arn);
  deleteAlarms(alarms);
  return bj::object{};
}

Result<bj::value> ApplicationAutoScaling::describeScalableTargets(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  auto ids = json::stringList(in, "ResourceIds");
  auto dimension = json::getString(in, "ScalableDimension");
  PageRequest page = BERTH_TRY(pageRequest(in));
  std::vector<const bj::object*> matching;
  for (const auto& [key, t] : targets_) {
    std::string resource = json::stringOr(t.doc, "ResourceId");
    if (!ids.empty() && std::find(ids.begin(), ids.end(), resource) == ids.end()) continue;
    if (dimension && json::stringOr(t.doc, "ScalableDimension") != *dimension) continue;
    matching.push_back(&t.doc);
  }
  return pageOf(matching, page, "ScalableTargets");
}

Result<ApplicationAutoScaling::Target*> ApplicationAutoScaling::targetByArn(std::string_view arn) {
  for (auto& [key, t] : targets_)
    if (json::stringOr(t.doc, "ScalableTargetARN") == arn) return &t;
  return resourceNotFound(fmt::format("Scalable target with ARN {} not found.", arn));
}

Result<bj::value> ApplicationAutoScaling::tagResource(const bj::object& in) {
  Target* t = BERTH_TRY(targetByArn(json::stringOr(in, "ResourceARN")));
  Target next = *t;
  if (const bj::object* tags = json::getObject(in, "Tags"))
    for (const auto& [k, v] : *tags) {
      if (std::string_view(k).starts_with("aws:"))
        return validation("Tag keys starting with aws: are reserved for AWS use.");
      next.tags[k] = v;
    }
  if (next.tags.size() > kMaxTags)
    return tooManyTags(fmt::format("A scalable target can have at most {} tags.", kMaxTags));
  store::Batch batch;
  persist(batch, next);
  BERTH_TRY(commit(batch));
  t->tags = std::move(next.tags);
  return bj::object{};
}

Result<bj::value> ApplicationAutoScaling::untagResource(const bj::object& in) {
  Target* t = BERTH_TRY(targetByArn(json::stringOr(in, "ResourceARN")));
  Target next = *t;
  for (const auto& k : json::stringList(in, "TagKeys")) next.tags.erase(k);
  store::Batch batch;
  persist(batch, next);
  BERTH_TRY(commit(batch));
  t->tags = std::move(next.tags);
  return bj::object{};
}

Result<bj::value> ApplicationAutoScaling::listTagsForResource(const bj::object& in) {
  Target* t = BERTH_TRY(targetByArn(json::stringOr(in, "ResourceARN")));
  return bj::object{{"Tags", t->tags}};
}

}  // namespace berth::autoscaling
