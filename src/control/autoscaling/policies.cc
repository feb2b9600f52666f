// Scaling policies: PutScalingPolicy, DescribeScalingPolicies,
// DeleteScalingPolicy, and what a policy does when its alarm invokes it.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/autoscaling/autoscaling.h"
#include "control/autoscaling/errors.h"
#include "control/autoscaling/paging.h"
#include "control/cloudwatch/request.h"

namespace berth::autoscaling {
namespace {

constexpr size_t kMaxPoliciesPerTarget = 50;
constexpr int64_t kDefaultCooldown = 300;
constexpr double kLowThresholdRatio = 0.9;  // AlarmLow's threshold: 90 % of the target
constexpr int64_t kHighDatapoints = 3;      // AlarmHigh: 3 of 3 one-minute periods
constexpr int64_t kLowDatapoints = 15;      // AlarmLow: 15 of 15

double numberOr(const bj::object& o, std::string_view key, double fallback) {
  const bj::value* v = json::find(o, key);
  return v && v->is_number() ? v->to_number<double>() : fallback;
}

// "service/<cluster>/<service>" -> {cluster, service}.
std::pair<std::string, std::string> clusterAndService(std::string_view resource_id) {
  resource_id.remove_prefix(std::string_view("service/").size());
  size_t slash = resource_id.find('/');
  return {std::string(resource_id.substr(0, slash)), std::string(resource_id.substr(slash + 1))};
}

Status checkStepConfiguration(const bj::object& c) {
  std::string type = json::stringOr(c, "AdjustmentType");
  if (type.empty()) return validation("AdjustmentType is required for a step scaling policy");
  const bj::array* steps = json::getArray(c, "StepAdjustments");
  if (!steps || steps->empty()) return validation("A step scaling policy must have at least one step adjustment");
  if (json::find(c, "MinAdjustmentMagnitude") && type != "PercentChangeInCapacity")
    return validation("MinAdjustmentMagnitude may only be specified if AdjustmentType is PercentChangeInCapacity");
  if (auto m = json::getInt(c, "MinAdjustmentMagnitude"); m && *m < 1)
    return validation("MinAdjustmentMagnitude must be at least 1");
  if (auto cooldown = json::getInt(c, "Cooldown"); cooldown && *cooldown < 0)
    return validation("Cooldown must not be negative");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<std::pair<double, double>> ranges;
  for (const auto& s : *steps) {
    const bj::object& step = s.as_object();
    double lower = numberOr(step, "MetricIntervalLowerBound", -kInf);
    double upper = numberOr(step, "MetricIntervalUpperBound", kInf);
    if (lower >= upper) return validation("The upper bound of a step adjustment must be greater than its lower bound");
    if (type == "ExactCapacity" && json::getInt(step, "ScalingAdjustment").value_or(0) < 0)
      return validation("ScalingAdjustment must not be negative when AdjustmentType is ExactCapacity");
    ranges.emplace_back(lower, upper);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) return validation("Step adjustment intervals must not overlap");
    if (ranges[i].first > ranges[i - 1].second) return validation("Step adjustment intervals must not have gaps");
  }
  return {};
}

Status checkTargetTrackingConfiguration(const bj::object& c) {
  if (!(numberOr(c, "TargetValue", 0) > 0)) return validation("TargetValue must be greater than 0");
  const bj::object* predefined = json::getObject(c, "PredefinedMetricSpecification");
  const bj::object* customized = json::getObject(c, "CustomizedMetricSpecification");
  if ((predefined != nullptr) == (customized != nullptr))
    return validation(
        "Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be specified");
  if (predefined) {
    std::string type = json::stringOr(*predefined, "PredefinedMetricType");
    if (type != "ECSServiceAverageCPUUtilization" && type != "ECSServiceAverageMemoryUtilization")
      return validation(fmt::format("Unsupported predefined metric type {} for service namespace ecs", type));
  } else {
    if (json::find(*customized, "Metrics"))
      return validation(
          "berth's target tracking alarms watch one metric: metric math (Metrics) in a customized metric "
          "specification is not supported");
    for (std::string_view k : {"MetricName", "Namespace", "Statistic"})
      if (!json::getString(*customized, k))
        return validation(fmt::format("{} is required in a customized metric specification", k));
  }
  for (std::string_view k : {"ScaleOutCooldown", "ScaleInCooldown"})
    if (auto v = json::getInt(c, k); v && (*v < 0 || *v > 86400))
      return validation(fmt::format("{} must be between 0 and 86400", k));
  return {};
}

bool isHighAlarm(std::string_view alarm_name) { return alarm_name.find("-AlarmHigh-") != std::string_view::npos; }

}  // namespace

Result<bj::value> ApplicationAutoScaling::putScalingPolicy(const bj::object& in) {
  Target* target = BERTH_TRY(findTarget(in));
  std::string name = json::stringOr(in, "PolicyName");
  std::string type = json::stringOr(in, "PolicyType", "StepScaling");
  const bj::object* step = json::getObject(in, "StepScalingPolicyConfiguration");
  const bj::object* tracking = json::getObject(in, "TargetTrackingScalingPolicyConfiguration");
  if (type == "PredictiveScaling")
    return validation("berth does not support predictive scaling policies for ECS services");
  if (type == "StepScaling") {
    if (!step) return validation("StepScalingPolicyConfiguration is required for a StepScaling policy");
    if (tracking) return validation("TargetTrackingScalingPolicyConfiguration is not allowed for a StepScaling policy");
    BERTH_TRY(checkStepConfiguration(*step));
  } else {
    if (!tracking)
      return validation("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy");
    if (step) return validation("StepScalingPolicyConfiguration is not allowed for a TargetTrackingScaling policy");
    BERTH_TRY(checkTargetTrackingConfiguration(*tracking));
  }

  std::string key = targetKey(target->doc);
  Policy* existing = nullptr;
  size_t count = 0;
  for (auto& [arn, p] : policies_)
    if (targetKey(p.doc) == key) {
      ++count;
      if (json::stringOr(p.doc, "PolicyName") == name) existing = &p;
    }
  if (!existing && count >= kMaxPoliciesPerTarget)
    return limitExceeded(fmt::format("A scalable target can have at most {} scaling policies.", kMaxPoliciesPerTarget));

  Policy p;
  if (existing) p = *existing;
  bj::object doc{{"PolicyARN", existing ? json::stringOr(existing->doc, "PolicyARN") : policyArn(target->doc, name)},
                 {"PolicyName", name},
                 {"ServiceNamespace", json::stringOr(target->doc, "ServiceNamespace")},
                 {"ResourceId", json::stringOr(target->doc, "ResourceId")},
                 {"ScalableDimension", json::stringOr(target->doc, "ScalableDimension")},
                 {"PolicyType", type}};
  if (step) {
    bj::object c = *step;
    if (!c.contains("MetricAggregationType")) c["MetricAggregationType"] = "Average";
    doc["StepScalingPolicyConfiguration"] = std::move(c);
  } else {
    doc["TargetTrackingScalingPolicyConfiguration"] = *tracking;
  }
  doc["CreationTime"] =
      existing ? numberOr(existing->doc, "CreationTime", clock_.epochSeconds()) : clock_.epochSeconds();

  bj::array old_alarms;
  if (existing)
    if (const bj::array* a = json::getArray(existing->doc, "Alarms")) old_alarms = *a;
  // A new alarm is evaluated at once and may invoke the policy before this
  // call returns: the policy is in place first, and put back as it was (or
  // removed) if anything below fails.
  std::string arn = json::stringOr(doc, "PolicyARN");
  std::optional<Policy> previous = existing ? std::optional<Policy>(*existing) : std::nullopt;
  auto restore = [this, &arn, &previous] {
    if (previous)
      policies_[arn] = *previous;
    else
      policies_.erase(arn);
  };
  doc["Alarms"] = old_alarms;
  p.doc = doc;
  policies_[arn] = p;
  bj::array alarms;
  if (tracking) {
    auto made = putTargetTrackingAlarms(doc, old_alarms);
    if (!made) {
      restore();
      return std::unexpected(made.error());
    }
    alarms = std::move(*made);
  }
  doc["Alarms"] = alarms;
  p.doc = std::move(doc);
  store::Batch batch;
  persist(batch, p);
  if (auto ok = commit(batch); !ok) {
    if (!previous) deleteAlarms(alarms);
    restore();
    return std::unexpected(ok.error());
  }
  // Alarms the old configuration had and the new one does not.
  bj::array stale;
  for (const auto& old : old_alarms)
    if (std::find(alarms.begin(), alarms.end(), old) == alarms.end()) stale.push_back(old);
  deleteAlarms(stale);
  policies_[arn] = std::move(p);
  bj::object out{{"PolicyARN", arn}};
  if (tracking) out["Alarms"] = std::move(alarms);
  return out;
}

Result<bj::array> ApplicationAutoScaling::putTargetTrackingAlarms(const bj::object& policy,
                                                                  const bj::array& old_alarms) {
  const bj::object& c = *json::getObject(policy, "TargetTrackingScalingPolicyConfiguration");
  std::string arn = json::stringOr(policy, "PolicyARN");
  std::string resource = json::stringOr(policy, "ResourceId");
  double target = numberOr(c, "TargetValue", 0);

  bj::object metric;
  if (const bj::object* predefined = json::getObject(c, "PredefinedMetricSpecification")) {
    auto [cluster, service] = clusterAndService(resource);
    bool cpu = json::stringOr(*predefined, "PredefinedMetricType") == "ECSServiceAverageCPUUtilization";
    metric = bj::object{{"MetricName", cpu ? "CPUUtilization" : "MemoryUtilization"},
                        {"Namespace", "AWS/ECS"},
                        {"Statistic", "Average"},
                        {"Dimensions", bj::array{bj::object{{"Name", "ClusterName"}, {"Value", cluster}},
                                                 bj::object{{"Name", "ServiceName"}, {"Value", service}}}}};
  } else {
    const bj::object& m = *json::getObject(c, "CustomizedMetricSpecification");
    metric = bj::object{{"MetricName", json::stringOr(m, "MetricName")},
                        {"Namespace", json::stringOr(m, "Namespace")},
                        {"Statistic", json::stringOr(m, "Statistic")}};
    bj::array dims;
    if (const bj::array* d = json::getArray(m, "Dimensions")) dims = *d;
    metric["Dimensions"] = std::move(dims);
    if (auto unit = json::getString(m, "Unit")) metric["Unit"] = *unit;
  }

  // Reuse the alarms' names on an update, as AWS updates them in place.
  auto nameFor = [&](std::string_view kind) {
    for (const auto& a : old_alarms) {
      std::string n = json::stringOr(a.as_object(), "AlarmName");
      if (n.find(fmt::format("-{}-", kind)) != std::string::npos) return n;
    }
    return fmt::format("TargetTracking-{}-{}-{}", resource, kind, randomUuid());
  };
  auto alarm = [&](std::string name, int64_t datapoints, double threshold, std::string_view op) {
    bj::object in = metric;
    in["AlarmName"] = std::move(name);
    in["AlarmDescription"] = fmt::format("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {}.", arn);
    in["ActionsEnabled"] = true;
    in["AlarmActions"] = bj::array{bj::value(arn)};
    in["Period"] = 60;
    in["EvaluationPeriods"] = datapoints;
    in["DatapointsToAlarm"] = datapoints;
    in["Threshold"] = threshold;
    in["ComparisonOperator"] = op;
    return in;
  };
  std::vector<bj::object> wanted;
  wanted.push_back(alarm(nameFor("AlarmHigh"), kHighDatapoints, target, "GreaterThanThreshold"));
  if (!json::getBool(c, "DisableScaleIn").value_or(false))
    wanted.push_back(alarm(nameFor("AlarmLow"), kLowDatapoints, target * kLowThresholdRatio, "LessThanThreshold"));

  bj::array out;
  for (const auto& in : wanted) {
    if (auto ok = cloudwatch_.invoke("PutMetricAlarm", in); !ok) {
      deleteAlarms(out);
      return std::unexpected(ok.error());
    }
    std::string name = json::stringOr(in, "AlarmName");
    out.push_back(bj::object{
        {"AlarmName", name},
        {"AlarmARN", fmt::format("arn:aws:cloudwatch:{}:{}:alarm:{}", config_.region, config_.account_id, name)}});
  }
  return out;
}

void ApplicationAutoScaling::deleteAlarms(const bj::array& alarms) {
  bj::array names;
  for (const auto& a : alarms) names.push_back(bj::value(json::stringOr(a.as_object(), "AlarmName")));
  if (!names.empty()) (void)cloudwatch_.invoke("DeleteAlarms", bj::object{{"AlarmNames", std::move(names)}});
}

Result<bj::value> ApplicationAutoScaling::describeScalingPolicies(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  PageRequest page = BERTH_TRY(pageRequest(in));
  std::vector<const bj::object*> matching;
  for (const auto& [arn, p] : policies_)
    if (passesFilters(p.doc, in, "PolicyNames", "PolicyName")) matching.push_back(&p.doc);
  sortByCreation(matching, "PolicyARN");
  return pageOf(matching, page, "ScalingPolicies");
}

Result<bj::value> ApplicationAutoScaling::deleteScalingPolicy(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  std::string key = targetKey(in);
  std::string name = json::stringOr(in, "PolicyName");
  auto it = std::find_if(policies_.begin(), policies_.end(), [&](const auto& entry) {
    return targetKey(entry.second.doc) == key && json::stringOr(entry.second.doc, "PolicyName") == name;
  });
  if (it == policies_.end())
    return objectNotFound(fmt::format(
        "No scaling policy found for service namespace: {}, resource ID: {}, scalable dimension: {}, policy name: {}",
        json::stringOr(in, "ServiceNamespace"), json::stringOr(in, "ResourceId"),
        json::stringOr(in, "ScalableDimension"), name));
  store::Batch batch;
  batch.erase("aas.policy", it->first);
  BERTH_TRY(commit(batch));
  bj::array alarms;
  if (const bj::array* a = json::getArray(it->second.doc, "Alarms")) alarms = *a;
  policies_.erase(it);
  deleteAlarms(alarms);
  return bj::object{};
}

std::optional<double> ApplicationAutoScaling::latestValue(const bj::object& alarm) const {
  std::vector<cloudwatch::Dimension> dims;
  if (const bj::array* arr = json::getArray(alarm, "Dimensions"))
    for (const auto& v : *arr)
      if (v.is_object())
        dims.push_back({json::stringOr(v.as_object(), "Name"), json::stringOr(v.as_object(), "Value")});
  auto key =
      cloudwatch::makeKey(json::stringOr(alarm, "Namespace"), json::stringOr(alarm, "MetricName"), std::move(dims));
  auto stat = cloudwatch::parseStat(json::stringOr(alarm, "Statistic"));
  if (!stat) return std::nullopt;
  int64_t period = json::getInt(alarm, "Period").value_or(60);
  int64_t periods = json::getInt(alarm, "EvaluationPeriods").value_or(1);
  int64_t now = cloudwatch::epochSeconds(clock_.now());
  int64_t end = now - now % period;  // complete periods only
  auto points = cloudwatch_.metrics().query(key, end - period * periods, end, period, json::stringOr(alarm, "Unit"));
  if (points.empty()) return std::nullopt;
  return cloudwatch::statValue(points.back().stats, *stat);
}

Status ApplicationAutoScaling::invoke(std::string_view action_arn, const cloudwatch::AlarmEvent& event) {
  auto it = policies_.find(action_arn);
  if (it == policies_.end()) return fail(ErrorCode::kNotFound, "No scaling policy with this ARN exists.");
  Policy& policy = it->second;
  auto target_it = targets_.find(targetKey(policy.doc));
  if (target_it == targets_.end())
    return fail(ErrorCode::kNotFound, "The policy's scalable target is no longer registered.");
  const bj::object& target = target_it->second.doc;
  std::string resource = json::stringOr(target, "ResourceId");
  auto state = resources_.state(resource);
  if (!state) return std::unexpected(state.error());
  auto value = latestValue(event.metric_alarm);
  if (!value) return {};  // no data: no scaling

  const bj::object* suspended = json::getObject(target, "SuspendedState");
  auto isSuspended = [suspended](std::string_view k) {
    return suspended && json::getBool(*suspended, k).value_or(false);
  };
  int64_t min = json::getInt(target, "MinCapacity").value_or(0);
  int64_t max = json::getInt(target, "MaxCapacity").value_or(0);
  int64_t capacity = state->capacity;
  double now = clock_.epochSeconds();
  std::string cause = fmt::format("monitor alarm {} in state {} triggered policy {}", event.alarm_name, event.new_state,
                                  json::stringOr(policy.doc, "PolicyName"));

  // What the policy asks for, from `base` (the capacity it counts from).
  bool out_direction;
  int64_t out_cooldown, in_cooldown;
  std::function<int64_t(int64_t)> wanted;
  if (const bj::object* c = json::getObject(policy.doc, "TargetTrackingScalingPolicyConfiguration")) {
    double target_value = numberOr(*c, "TargetValue", 0);
    out_direction = isHighAlarm(event.alarm_name);
    out_cooldown = json::getInt(*c, "ScaleOutCooldown").value_or(kDefaultCooldown);
    in_cooldown = json::getInt(*c, "ScaleInCooldown").value_or(kDefaultCooldown);
    wanted = [=](int64_t base) { return targetTrackingCapacity(base, *value, target_value); };
  } else {
    const bj::object& step_config = *json::getObject(policy.doc, "StepScalingPolicyConfiguration");
    double delta = *value - numberOr(event.metric_alarm, "Threshold", 0);
    constexpr double kInf = std::numeric_limits<double>::infinity();
    std::optional<double> adjustment;
    for (const auto& s : *json::getArray(step_config, "StepAdjustments")) {
      const bj::object& step = s.as_object();
      if (numberOr(step, "MetricIntervalLowerBound", -kInf) <= delta &&
          delta < numberOr(step, "MetricIntervalUpperBound", kInf))
        adjustment = numberOr(step, "ScalingAdjustment", 0);
    }
    if (!adjustment) return {};  // no step covers the breach
    std::string type = json::stringOr(step_config, "AdjustmentType");
    int64_t magnitude = json::getInt(step_config, "MinAdjustmentMagnitude").value_or(1);
    auto apply = [=](int64_t base) -> int64_t {
      if (type == "ExactCapacity") return static_cast<int64_t>(*adjustment);
      if (type == "PercentChangeInCapacity") return base + percentChange(base, *adjustment, magnitude);
      return base + static_cast<int64_t>(*adjustment);
    };
    out_direction = apply(capacity) > capacity;
    out_cooldown = in_cooldown = json::getInt(step_config, "Cooldown").value_or(kDefaultCooldown);
    wanted = apply;
  }

  Cooldowns cooldowns = policy.cooldowns;
  int64_t next;
  if (out_direction) {
    if (isSuspended("DynamicScalingOutSuspended")) return {};
    bool cooling = now - cooldowns.last_scale_out < static_cast<double>(out_cooldown);
    int64_t base = cooling ? cooldowns.before_scale_out : capacity;
    next = std::clamp(wanted(base), min, max);
    if (next <= capacity) {
      if (capacity >= max)
        recordActivity(target, Activity{"Attempting to scale due to alarm triggered",
                                        cause,
                                        "Failed",
                                        {},
                                        bj::array{bj::object{{"Code", "AlreadyAtMaxCapacity"},
                                                             {"MaxCapacity", max},
                                                             {"CurrentCapacity", capacity}}}});
      return {};
    }
    if (!cooling) {
      cooldowns.before_scale_out = capacity;
      cooldowns.last_scale_out = now;
    }
  } else {
    if (isSuspended("DynamicScalingInSuspended") || state->deploying) return {};
    if (now - cooldowns.last_scale_in < static_cast<double>(in_cooldown)) return {};
    next = std::clamp(wanted(capacity), min, max);
    if (next >= capacity) {
      if (capacity <= min)
        recordActivity(target, Activity{"Attempting to scale due to alarm triggered",
                                        cause,
                                        "Failed",
                                        {},
                                        bj::array{bj::object{{"Code", "AlreadyAtMinCapacity"},
                                                             {"MinCapacity", min},
                                                             {"CurrentCapacity", capacity}}}});
      return {};
    }
    cooldowns.last_scale_in = now;
  }
  if (!scaleTo(target, next, std::move(cause))) return {};
  Policy updated = policy;
  updated.cooldowns = cooldowns;
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  policy.cooldowns = cooldowns;
  return {};
}

}  // namespace berth::autoscaling
