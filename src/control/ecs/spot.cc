// Fargate Spot interruptions and capacity. Berth has no Spot market:
// capacity is taken back when an operator or a test says so
// (Ecs::interruptSpotTasks, berthd's admin API), after
// EcsConfig::spot_interrupt_after for every Spot task, or at random at the
// rate of setSpotInterruptionRate (chaos testing); and it is unavailable
// while setSpotCapacity(false) says so.
//
// The interruption follows AWS's termination notice: the notice (desired
// status STOPPED, stopCode SpotInterruption) and SIGTERM come together, and
// the task is gone two minutes later at the latest: SIGKILL after the
// containers' stopTimeout, which Fargate caps at 120 s. The task stays
// RUNNING (desiredStatus STOPPED) while its containers shut down.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/ecs/errors.h"

namespace berth::ecs {
namespace {

bool isLiveSpot(const bj::object& task) {
  return json::stringOr(task, "capacityProviderName") == "FARGATE_SPOT" &&
         json::stringOr(task, "desiredStatus") == "RUNNING" && json::stringOr(task, "lastStatus") != "STOPPED";
}

double number(const bj::object& o, std::string_view key) {
  const bj::value* v = json::find(o, key);
  return v && v->is_number() ? v->to_number<double>() : 0;
}

}  // namespace

Result<std::vector<std::string>> Ecs::interruptSpotTasks(const SpotInterruption& what) {
  Cluster* cluster = BERTH_TRY(activeCluster(bj::object{{"cluster", what.cluster}}));
  std::string cluster_name = json::stringOr(cluster->doc, "clusterName");
  if (what.count < 0) return invalidParameter("count must be 0 or more.");

  std::vector<Task*> chosen;
  if (!what.tasks.empty()) {
    for (const auto& ref : what.tasks) {
      std::string id = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
      auto it = tasks_.find(arn(fmt::format("task/{}/{}", cluster_name, id)));
      if (it == tasks_.end() || (ref.starts_with("arn:") && ref != it->first))
        return invalidParameter("The referenced task was not found.");
      if (!isLiveSpot(it->second.doc))
        return invalidParameter(
            fmt::format("Task {} is not a running FARGATE_SPOT task: only Fargate Spot tasks can be interrupted.", id));
      if (!what.service.empty() && it->second.service_name != what.service)
        return invalidParameter(fmt::format("Task {} does not belong to service {}.", id, what.service));
      if (std::find(chosen.begin(), chosen.end(), &it->second) == chosen.end()) chosen.push_back(&it->second);
    }
  } else {
    if (!what.service.empty() && !services_.contains(cluster_name + "/" + what.service)) return serviceNotFound();
    std::string prefix = taskArnPrefix(cluster_name);
    for (auto it = tasks_.lower_bound(prefix); it != tasks_.end() && it->first.starts_with(prefix); ++it)
      if (isLiveSpot(it->second.doc) && (what.service.empty() || it->second.service_name == what.service))
        chosen.push_back(&it->second);
    // Oldest first: AWS gives no order; this one is predictable.
    std::stable_sort(chosen.begin(), chosen.end(),
                     [](Task* a, Task* b) { return number(a->doc, "createdAt") < number(b->doc, "createdAt"); });
    if (what.count > 0 && static_cast<int64_t>(chosen.size()) > what.count)
      chosen.resize(static_cast<size_t>(what.count));
  }

  std::vector<Task> copies;
  store::Batch batch;
  for (Task* t : chosen) {
    Task copy = *t;
    applyStop(copy, "SpotInterruption", std::string(kSpotInterruptionReason));
    persist(batch, copy);
    copies.push_back(std::move(copy));
  }
  std::vector<std::string> out;
  if (chosen.empty()) return out;
  BERTH_TRY(commit(batch));
  std::set<std::string> services;
  for (size_t i = 0; i < chosen.size(); ++i) {
    *chosen[i] = std::move(copies[i]);
    out.push_back(json::stringOr(chosen[i]->doc, "taskArn"));
    if (!chosen[i]->service_name.empty()) services.insert(chosen[i]->cluster_name + "/" + chosen[i]->service_name);
  }
  // The two-minute warning is now (AWS sends the notice and SIGTERM
  // together): SIGKILL follows after the containers' stopTimeout, at most
  // 120 s on Fargate (the agent's stop), while the services start
  // replacements within their maximumPercent.
  if (agent_)
    for (const auto& task_arn : out) agent_->stop(task_arn, {"SpotInterruption", std::string(kSpotInterruptionReason)});
  for (const auto& key : services)
    if (auto it = services_.find(key); it != services_.end()) reconcile(it->second);
  return out;
}

void Ecs::interruptExpiredSpotTasks() {
  if (config_.spot_interrupt_after.count() <= 0) return;
  double cutoff = clock_.epochSeconds() - static_cast<double>(config_.spot_interrupt_after.count());
  std::map<std::string, SpotInterruption> by_cluster;
  for (const auto& [task_arn, t] : tasks_) {
    if (!isLiveSpot(t.doc) || !t.doc.contains("startedAt") || number(t.doc, "startedAt") > cutoff) continue;
    SpotInterruption& what = by_cluster[t.cluster_name];
    what.cluster = t.cluster_name;
    what.tasks.push_back(task_arn);
  }
  for (const auto& [_, what] : by_cluster) (void)interruptSpotTasks(what);
}

}  // namespace berth::ecs

namespace berth::ecs {

Status Ecs::persistSpot(bool available, double rate, uint64_t seed) {
  store::Batch batch;
  batch.put("ecs.spot", "settings",
            json::serialize(bj::object{{"available", available}, {"perTaskPerHour", rate}, {"seed", seed}}));
  return commit(batch);
}

Status Ecs::setSpotCapacity(bool available) {
  if (spot_available_ == available) return {};
  BERTH_TRY(persistSpot(available, spot_rate_, spot_seed_));
  spot_available_ = available;
  // Services retry on their own; reconciling now makes the change visible at
  // once (placements resume, or fallback tasks start moving back).
  for (auto& [_, s] : services_) reconcile(s);
  return {};
}

Status Ecs::setSpotInterruptionRate(double per_task_per_hour, std::optional<uint64_t> seed) {
  if (!std::isfinite(per_task_per_hour) || per_task_per_hour < 0 || per_task_per_hour > 3600)
    return fail(ErrorCode::kInvalidArgument, "perTaskPerHour must be between 0 and 3600.");
  bool reseed = seed || spot_rate_ == 0;
  uint64_t next_seed = reseed ? seed.value_or(config_.spot_seed) : spot_seed_;
  BERTH_TRY(persistSpot(spot_available_, per_task_per_hour, next_seed));
  if (reseed) spot_rng_.seed(next_seed);
  spot_seed_ = next_seed;
  spot_rate_ = per_task_per_hour;
  spot_drawn_until_ = clock_.epochSeconds();
  return {};
}

void Ecs::interruptRandomSpotTasks() {
  double now = clock_.epochSeconds();
  double elapsed = now - spot_drawn_until_;
  spot_drawn_until_ = now;
  if (spot_rate_ <= 0 || elapsed <= 0) return;
  // Each running Spot task survives `elapsed` seconds of a Poisson process
  // with probability exp(-rate * elapsed): memoryless, so ticks of any
  // length give the same distribution.
  double p = 1.0 - std::exp(-spot_rate_ * elapsed / 3600.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::map<std::string, SpotInterruption> by_cluster;
  for (const auto& [task_arn, t] : tasks_) {
    if (!isLiveSpot(t.doc) || json::stringOr(t.doc, "lastStatus") != "RUNNING") continue;
    if (uniform(spot_rng_) >= p) continue;
    SpotInterruption& what = by_cluster[t.cluster_name];
    what.cluster = t.cluster_name;
    what.tasks.push_back(task_arn);
  }
  for (const auto& [_, what] : by_cluster) (void)interruptSpotTasks(what);
}

bool Ecs::wantsSpotFallback(const bj::object& service_doc) {
  if (const auto* tags = json::getArray(service_doc, "tags"))
    for (const auto& tag : *tags)
      if (tag.is_object() && json::stringOr(tag.as_object(), "key") == kSpotFallbackTag)
        return json::stringOr(tag.as_object(), "value") == "FARGATE";
  return false;
}

}  // namespace berth::ecs
