// Scheduled actions: PutScheduledAction, DescribeScheduledActions,
// DeleteScheduledAction, and firing them on time (tick()).
#include <algorithm>

#include <fmt/format.h>

#include "common/json.h"
#include "control/autoscaling/autoscaling.h"
#include "control/autoscaling/errors.h"
#include "control/autoscaling/paging.h"
#include "control/cloudwatch/request.h"

namespace berth::autoscaling {
namespace {

constexpr size_t kMaxActionsPerTarget = 200;

std::optional<WallTime> timeAt(const bj::object& o, std::string_view key) {
  const bj::value* v = json::find(o, key);
  if (!v || !v->is_number()) return std::nullopt;
  return cloudwatch::fromEpochSeconds(v->to_number<double>());
}

}  // namespace

Status ApplicationAutoScaling::prepare(Action& action) {
  auto schedule = parseSchedule(json::stringOr(action.doc, "Schedule"));
  if (!schedule) return validation(schedule.error().message);
  action.schedule = std::move(*schedule);
  auto zone_name = json::getString(action.doc, "Timezone");
  if (!zone_name || *zone_name == "UTC" || *zone_name == "Etc/UTC") {
    action.zone = TimeZone::utc();
    return {};
  }
  auto zone = TimeZone::load(*zone_name);
  if (!zone) return validation(fmt::format("Timezone {} is not a valid time zone", *zone_name));
  action.zone = std::move(*zone);
  return {};
}

double ApplicationAutoScaling::nextRun(const Action& action, WallTime after) const {
  auto created = timeAt(action.doc, "CreationTime").value_or(after);
  auto next = action.schedule->next(after, *action.zone, timeAt(action.doc, "StartTime"), timeAt(action.doc, "EndTime"),
                                    created);
  return next ? toEpochSeconds(*next) : 0;
}

Result<bj::value> ApplicationAutoScaling::putScheduledAction(const bj::object& in) {
  Target* target = BERTH_TRY(findTarget(in));
  std::string key = targetKey(target->doc);
  std::string name = json::stringOr(in, "ScheduledActionName");
  Action* existing = nullptr;
  size_t count = 0;
  for (auto& [arn, a] : actions_)
    if (targetKey(a.doc) == key) {
      ++count;
      if (json::stringOr(a.doc, "ScheduledActionName") == name) existing = &a;
    }
  if (!existing && count >= kMaxActionsPerTarget)
    return limitExceeded(fmt::format("A scalable target can have at most {} scheduled actions.", kMaxActionsPerTarget));

  Action a;
  if (existing) {
    a.doc = existing->doc;
  } else {
    if (!json::getString(in, "Schedule")) return validation("Schedule is required to create a scheduled action");
    a.doc = bj::object{{"ScheduledActionName", name},
                       {"ScheduledActionARN", actionArn(target->doc, name)},
                       {"ServiceNamespace", json::stringOr(target->doc, "ServiceNamespace")},
                       {"ResourceId", json::stringOr(target->doc, "ResourceId")},
                       {"ScalableDimension", json::stringOr(target->doc, "ScalableDimension")},
                       {"CreationTime", clock_.epochSeconds()}};
  }
  for (std::string_view k : {"Schedule", "Timezone", "StartTime", "EndTime", "ScalableTargetAction"})
    if (const bj::value* v = json::find(in, k)) a.doc[k] = *v;
  if (const bj::object* bounds = json::getObject(a.doc, "ScalableTargetAction")) {
    auto min = json::getInt(*bounds, "MinCapacity");
    auto max = json::getInt(*bounds, "MaxCapacity");
    if ((min && *min < 0) || (max && *max < 0)) return validation("Minimum and maximum capacity must not be negative");
    if (min && max && *min > *max) return validation("Minimum capacity cannot be greater than maximum capacity");
  }
  auto start = timeAt(a.doc, "StartTime");
  auto end = timeAt(a.doc, "EndTime");
  if (start && end && *end <= *start) return validation("EndTime must be after StartTime");
  BERTH_TRY(prepare(a));
  a.next_run = nextRun(a, clock_.now());
  store::Batch batch;
  persist(batch, a);
  BERTH_TRY(commit(batch));
  std::string arn = json::stringOr(a.doc, "ScheduledActionARN");
  actions_[arn] = std::move(a);
  return bj::object{};
}

void ApplicationAutoScaling::runScheduledAction(Action& action) {
  Action next = action;
  next.next_run = nextRun(action, clock_.now());
  auto target_it = targets_.find(targetKey(action.doc));
  Target* target = target_it == targets_.end() ? nullptr : &target_it->second;
  const bj::object* suspended = target ? json::getObject(target->doc, "SuspendedState") : nullptr;
  bool run = target && !(suspended && json::getBool(*suspended, "ScheduledScalingSuspended").value_or(false));
  Target updated;
  store::Batch batch;
  persist(batch, next);
  if (run) {
    updated = *target;
    const bj::object* bounds = json::getObject(action.doc, "ScalableTargetAction");
    if (bounds) {
      if (auto min = json::getInt(*bounds, "MinCapacity")) updated.doc["MinCapacity"] = *min;
      if (auto max = json::getInt(*bounds, "MaxCapacity")) updated.doc["MaxCapacity"] = *max;
    }
    // A bound the action leaves alone gives way to the one it sets.
    int64_t min = json::getInt(updated.doc, "MinCapacity").value_or(0);
    int64_t max = json::getInt(updated.doc, "MaxCapacity").value_or(0);
    if (bounds && !json::find(*bounds, "MaxCapacity") && max < min) updated.doc["MaxCapacity"] = min;
    if (bounds && !json::find(*bounds, "MinCapacity") && min > max) updated.doc["MinCapacity"] = max;
    persist(batch, updated);
  }
  if (!commit(batch)) return;  // tried again at the next tick
  action.next_run = next.next_run;
  if (!run) return;
  target->doc = updated.doc;
  recordActivity(target->doc, Activity{fmt::format("Setting min capacity to {} and max capacity to {}",
                                                   json::getInt(target->doc, "MinCapacity").value_or(0),
                                                   json::getInt(target->doc, "MaxCapacity").value_or(0)),
                                       fmt::format("scheduled action name {} was triggered",
                                                   json::stringOr(action.doc, "ScheduledActionName"))});
  clampCapacity(target->doc);
}

Result<bj::value> ApplicationAutoScaling::describeScheduledActions(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  PageRequest page = BERTH_TRY(pageRequest(in));
  std::vector<const bj::object*> matching;
  for (const auto& [arn, a] : actions_)
    if (passesFilters(a.doc, in, "ScheduledActionNames", "ScheduledActionName")) matching.push_back(&a.doc);
  sortByCreation(matching, "ScheduledActionARN");
  return pageOf(matching, page, "ScheduledActions");
}

Result<bj::value> ApplicationAutoScaling::deleteScheduledAction(const bj::object& in) {
  BERTH_TRY(checkIdentity(in));
  std::string key = targetKey(in);
  std::string name = json::stringOr(in, "ScheduledActionName");
  auto it = std::find_if(actions_.begin(), actions_.end(), [&](const auto& entry) {
    return targetKey(entry.second.doc) == key && json::stringOr(entry.second.doc, "ScheduledActionName") == name;
  });
  if (it == actions_.end())
    return objectNotFound(fmt::format(
        "No scheduled action found for service namespace: {}, resource ID: {}, scalable dimension: {}, scheduled "
        "action name: {}",
        json::stringOr(in, "ServiceNamespace"), json::stringOr(in, "ResourceId"),
        json::stringOr(in, "ScalableDimension"), name));
  store::Batch batch;
  batch.erase("aas.action", it->first);
  BERTH_TRY(commit(batch));
  actions_.erase(it);
  return bj::object{};
}

}  // namespace berth::autoscaling
