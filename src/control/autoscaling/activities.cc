// Scaling activities: what Application Auto Scaling did to a target's
// capacity and why, and DescribeScalingActivities.
#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/autoscaling/autoscaling.h"
#include "control/autoscaling/errors.h"
#include "control/autoscaling/paging.h"

namespace berth::autoscaling {
namespace {

constexpr std::string_view kActivityKind = "aas.activity";

bool notScaled(const bj::object& activity) { return activity.contains("NotScaledReasons"); }

}  // namespace

void ApplicationAutoScaling::recordActivity(const bj::object& target, Activity activity) {
  std::string resource = json::stringOr(target, "ResourceId");
  if (!activity.not_scaled.empty()) {
    // An alarm that stays in ALARM asks again every minute: one record of a
    // reason it keeps not scaling for is enough.
    for (auto it = activities_.rbegin(); it != activities_.rend(); ++it) {
      if (json::stringOr(it->second, "ResourceId") != resource) continue;
      const bj::array* reasons = json::getArray(it->second, "NotScaledReasons");
      if (reasons && json::stringOr(it->second, "Cause") == activity.cause && *reasons == activity.not_scaled) return;
      break;
    }
  }
  double now = clock_.epochSeconds();
  bj::object doc{{"ActivityId", randomUuid()},
                 {"ServiceNamespace", json::stringOr(target, "ServiceNamespace")},
                 {"ResourceId", resource},
                 {"ScalableDimension", json::stringOr(target, "ScalableDimension")},
                 {"Description", std::move(activity.description)},
                 {"Cause", std::move(activity.cause)},
                 {"StartTime", now},
                 {"EndTime", now},
                 {"StatusCode", std::move(activity.status_code)}};
  if (!activity.status_message.empty()) doc["StatusMessage"] = std::move(activity.status_message);
  if (!activity.not_scaled.empty()) doc["NotScaledReasons"] = std::move(activity.not_scaled);
  std::string key = fmt::format("{:016d}-{:08d}", clock_.now().time_since_epoch().count(), activity_seq_++);
  store::Batch batch;
  batch.put(std::string(kActivityKind), key, json::serialize(doc));
  if (commit(batch)) activities_[key] = std::move(doc);
}

bool ApplicationAutoScaling::scaleTo(const bj::object& target, int64_t capacity, std::string cause) {
  Status ok = resources_.setCapacity(json::stringOr(target, "ResourceId"), capacity);
  Activity activity{fmt::format("Setting desired count to {}.", capacity), std::move(cause)};
  if (ok) {
    activity.status_message =
        fmt::format("Successfully set desired count to {}. Change successfully fulfilled by ecs.", capacity);
  } else {
    activity.status_code = "Failed";
    activity.status_message =
        fmt::format("Failed to set desired count to {}. Reason: {}", capacity, ok.error().message);
  }
  recordActivity(target, std::move(activity));
  return ok.has_value();
}

void ApplicationAutoScaling::clampCapacity(const bj::object& target) {
  auto state = resources_.state(json::stringOr(target, "ResourceId"));
  if (!state) return;
  int64_t min = json::getInt(target, "MinCapacity").value_or(0);
  int64_t max = json::getInt(target, "MaxCapacity").value_or(0);
  if (state->capacity < min)
    scaleTo(target, min, fmt::format("minimum capacity was set to {}", min));
  else if (state->capacity > max)
    scaleTo(target, max, fmt::format("maximum capacity was set to {}", max));
}

void ApplicationAutoScaling::pruneActivities() {
  auto cutoff = clock_.now() - config_.activity_retention;
  std::string limit = fmt::format("{:016d}", cutoff.time_since_epoch().count());
  store::Batch batch;
  for (auto it = activities_.begin(); it != activities_.end() && it->first < limit; ++it)
    batch.erase(std::string(kActivityKind), it->first);
  if (batch.empty() || !commit(batch)) return;
  activities_.erase(activities_.begin(), activities_.lower_bound(limit));
}

Result<bj::value> ApplicationAutoScaling::describeScalingActivities(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  bool include_not_scaled = json::getBool(in, "IncludeNotScaledActivities").value_or(false);
  PageRequest page = BERTH_TRY(pageRequest(in));
  std::vector<const bj::object*> matching;
  for (auto it = activities_.rbegin(); it != activities_.rend(); ++it)  // newest first
    if (passesFilters(it->second, in, "", "") && (include_not_scaled || !notScaled(it->second)))
      matching.push_back(&it->second);
  return pageOf(matching, page, "ScalingActivities");
}

}  // namespace berth::autoscaling
