#include "control/autoscaling/autoscaling.h"

#include <cmath>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"

namespace berth::autoscaling {
namespace {

constexpr std::string_view kTargetKind = "aas.target";
constexpr std::string_view kPolicyKind = "aas.policy";
constexpr std::string_view kActionKind = "aas.action";
constexpr std::string_view kActivityKind = "aas.activity";

Result<bj::object> parseRecord(const store::Record& r) {
  auto v = json::parse(r.value);
  if (!v || !v->is_object()) return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{}", r.kind, r.key));
  return std::move(v->get_object());
}

}  // namespace

int64_t targetTrackingCapacity(int64_t capacity, double metric, double target) {
  if (target <= 0 || !std::isfinite(metric)) return capacity;
  if (capacity <= 0) return metric > target ? 1 : 0;
  double wanted = std::ceil(static_cast<double>(capacity) * metric / target - 1e-9);
  if (wanted > 1e9) return 1000000000;
  return std::max<int64_t>(0, static_cast<int64_t>(wanted));
}

int64_t percentChange(int64_t capacity, double percent, int64_t min_magnitude) {
  double change = static_cast<double>(capacity) * percent / 100.0;
  if (change == 0) return 0;
  auto magnitude = static_cast<int64_t>(std::min(std::fabs(change), 1e9));  // toward zero
  magnitude = std::max<int64_t>({magnitude, 1, min_magnitude});
  return change > 0 ? magnitude : -magnitude;
}

ApplicationAutoScaling::ApplicationAutoScaling(AutoScalingConfig config, store::Store& store, const Clock& clock,
                                               cloudwatch::CloudWatch& cloudwatch, ScalableResources& resources)
    : config_(std::move(config)), store_(store), clock_(clock), cloudwatch_(cloudwatch), resources_(resources) {}

const std::map<std::string, ApplicationAutoScaling::Handler, std::less<>>& ApplicationAutoScaling::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"RegisterScalableTarget", &ApplicationAutoScaling::registerScalableTarget},
      {"DeregisterScalableTarget", &ApplicationAutoScaling::deregisterScalableTarget},
      {"DescribeScalableTargets", &ApplicationAutoScaling::describeScalableTargets},
      {"PutScalingPolicy", &ApplicationAutoScaling::putScalingPolicy},
      {"DescribeScalingPolicies", &ApplicationAutoScaling::describeScalingPolicies},
      {"DeleteScalingPolicy", &ApplicationAutoScaling::deleteScalingPolicy},
      {"PutScheduledAction", &ApplicationAutoScaling::putScheduledAction},
      {"DescribeScheduledActions", &ApplicationAutoScaling::describeScheduledActions},
      {"DeleteScheduledAction", &ApplicationAutoScaling::deleteScheduledAction},
      {"DescribeScalingActivities", &ApplicationAutoScaling::describeScalingActivities},
      {"TagResource", &ApplicationAutoScaling::tagResource},
      {"UntagResource", &ApplicationAutoScaling::untagResource},
      {"ListTagsForResource", &ApplicationAutoScaling::listTagsForResource},
  };
  return kHandlers;
}

bool ApplicationAutoScaling::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> ApplicationAutoScaling::invoke(std::string_view operation, const bj::object& input) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented,
                fmt::format("berth does not implement Application Auto Scaling {} yet.", operation));
  return (this->*(it->second))(input);
}

Status ApplicationAutoScaling::load() {
  for (const auto& r : BERTH_TRY(store_.loadAll(kTargetKind))) {
    bj::object o = BERTH_TRY(parseRecord(r));
    Target t;
    if (const auto* d = json::getObject(o, "target")) t.doc = *d;
    if (const auto* tags = json::getObject(o, "tags")) t.tags = *tags;
    targets_[r.key] = std::move(t);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kPolicyKind))) {
    bj::object o = BERTH_TRY(parseRecord(r));
    Policy p;
    if (const auto* d = json::getObject(o, "policy")) p.doc = *d;
    if (const auto* c = json::getObject(o, "cooldowns")) {
      auto num = [c](std::string_view k) {
        const bj::value* v = json::find(*c, k);
        return v && v->is_number() ? v->to_number<double>() : 0.0;
      };
      p.cooldowns.last_scale_out = num("last_scale_out");
      p.cooldowns.before_scale_out = static_cast<int64_t>(num("before_scale_out"));
      p.cooldowns.last_scale_in = num("last_scale_in");
    }
    policies_[r.key] = std::move(p);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kActionKind))) {
    bj::object o = BERTH_TRY(parseRecord(r));
    Action a;
    if (const auto* d = json::getObject(o, "action")) a.doc = *d;
    if (const bj::value* n = json::find(o, "next_run"); n && n->is_number()) a.next_run = n->to_number<double>();
    BERTH_TRY(prepare(a));
    actions_[r.key] = std::move(a);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kActivityKind))) activities_[r.key] = BERTH_TRY(parseRecord(r));
  return {};
}

void ApplicationAutoScaling::tick() {
  double now = clock_.epochSeconds();
  for (auto& [arn, action] : actions_)
    if (action.next_run > 0 && action.next_run <= now) runScheduledAction(action);
  pruneActivities();
}

std::string ApplicationAutoScaling::targetKey(std::string_view resource_id, std::string_view dimension) {
  return fmt::format("{}|{}", resource_id, dimension);
}

std::string ApplicationAutoScaling::targetKey(const bj::object& o) {
  return targetKey(json::stringOr(o, "ResourceId"), json::stringOr(o, "ScalableDimension"));
}

std::string ApplicationAutoScaling::policyArn(const bj::object& target, std::string_view name) const {
  return fmt::format("arn:aws:autoscaling:{}:{}:scalingPolicy:{}:resource/{}/{}:policyName/{}", config_.region,
                     config_.account_id, randomUuid(), json::stringOr(target, "ServiceNamespace"),
                     json::stringOr(target, "ResourceId"), name);
}

std::string ApplicationAutoScaling::actionArn(const bj::object& target, std::string_view name) const {
  return fmt::format("arn:aws:autoscaling:{}:{}:scheduledAction:{}:resource/{}/{}:scheduledActionName/{}",
                     config_.region, config_.account_id, randomUuid(), json::stringOr(target, "ServiceNamespace"),
                     json::stringOr(target, "ResourceId"), name);
}

void ApplicationAutoScaling::persist(store::Batch& batch, const Target& t) const {
  batch.put(std::string(kTargetKind), targetKey(t.doc),
            json::serialize(bj::object{{"target", t.doc}, {"tags", t.tags}}));
}

void ApplicationAutoScaling::persist(store::Batch& batch, const Policy& p) const {
  bj::object cooldowns{{"last_scale_out", p.cooldowns.last_scale_out},
                       {"before_scale_out", p.cooldowns.before_scale_out},
                       {"last_scale_in", p.cooldowns.last_scale_in}};
  batch.put(std::string(kPolicyKind), json::stringOr(p.doc, "PolicyARN"),
            json::serialize(bj::object{{"policy", p.doc}, {"cooldowns", std::move(cooldowns)}}));
}

void ApplicationAutoScaling::persist(store::Batch& batch, const Action& a) const {
  batch.put(std::string(kActionKind), json::stringOr(a.doc, "ScheduledActionARN"),
            json::serialize(bj::object{{"action", a.doc}, {"next_run", a.next_run}}));
}

Status ApplicationAutoScaling::commit(store::Batch& batch) {
  if (batch.empty()) return {};
  return store_.commit(batch);
}

}  // namespace berth::autoscaling
