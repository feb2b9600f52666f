// The service scheduler: moves a service's tasks towards its deployments.
//
// This is the basic replica scheduler: it launches the PRIMARY deployment's
// tasks up to the desired count within maximumPercent, stops older
// deployments' tasks while keeping minimumHealthyPercent running, and marks
// a deployment COMPLETED when it alone runs the desired count. Health-based
// readiness, the circuit breaker and launch throttling beyond a fixed
// back-off are the next issue's (see docs/api-coverage.md).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/ecs/ecs.h"

namespace berth::ecs {
namespace {

constexpr size_t kMaxEvents = 100;

std::string shortId(const std::string& task_arn) { return task_arn.substr(task_arn.rfind('/') + 1); }

bool isPending(const std::string& status) {
  return status == "PROVISIONING" || status == "PENDING" || status == "ACTIVATING";
}

}  // namespace

void Ecs::addServiceEvent(Service& service, std::string message) {
  auto& events = service.doc["events"].as_array();
  events.insert(
      events.begin(),
      bj::object{{"id", randomUuid()}, {"createdAt", clock_.epochSeconds()}, {"message", std::move(message)}});
  while (events.size() > kMaxEvents) events.pop_back();
}

std::vector<Ecs::Task*> Ecs::tasksOf(const Service& service) {
  std::vector<Task*> out;
  auto idx = tasks_by_service_.find(service.cluster_name + "/" + json::stringOr(service.doc, "serviceName"));
  if (idx == tasks_by_service_.end()) return out;
  for (const auto& task_arn : idx->second) {
    auto it = tasks_.find(task_arn);
    if (it != tasks_.end() && json::stringOr(it->second.doc, "desiredStatus") == "RUNNING") out.push_back(&it->second);
  }
  return out;
}

void Ecs::reconcile(Service& service) {
  std::string status = json::stringOr(service.doc, "status");
  if (status == "INACTIVE") return;
  std::string name = json::stringOr(service.doc, "serviceName");
  auto& deployments = service.doc["deployments"].as_array();
  if (deployments.empty()) return;
  auto& primary = deployments.front().as_object();
  std::string primary_id = json::stringOr(primary, "id");
  int64_t desired = status == "DRAINING" ? 0 : json::getInt(service.doc, "desiredCount").value_or(0);
  const auto* dc = json::getObject(service.doc, "deploymentConfiguration");
  int64_t max_percent = dc ? json::getInt(*dc, "maximumPercent").value_or(200) : 200;
  int64_t min_percent = dc ? json::getInt(*dc, "minimumHealthyPercent").value_or(100) : 100;
  int64_t max_live = desired * max_percent / 100;
  int64_t min_healthy = static_cast<int64_t>(std::ceil(static_cast<double>(desired * min_percent) / 100.0));

  std::vector<Task*> live = tasksOf(service);
  std::vector<Task*> primary_tasks, old_tasks;
  int64_t primary_running = 0, old_running = 0;
  for (Task* t : live) {
    bool running =
        json::stringOr(t->doc, "lastStatus") == "RUNNING" && json::stringOr(t->doc, "healthStatus") != "UNHEALTHY";
    if (t->deployment_id == primary_id) {
      primary_tasks.push_back(t);
      primary_running += running;
    } else {
      old_tasks.push_back(t);
      old_running += running;
    }
  }

  store::Batch batch;
  std::vector<Task*> to_stop;
  std::string stop_reason = fmt::format("Scaling activity initiated by (deployment {})", primary_id);

  // Too many tasks of the primary deployment: stop the newest first.
  std::sort(primary_tasks.begin(), primary_tasks.end(), [](Task* a, Task* b) {
    return json::find(a->doc, "createdAt")->to_number<double>() > json::find(b->doc, "createdAt")->to_number<double>();
  });
  int64_t primary_live = static_cast<int64_t>(primary_tasks.size());
  for (int64_t i = 0; primary_live > desired && i < static_cast<int64_t>(primary_tasks.size()); ++i, --primary_live)
    to_stop.push_back(primary_tasks[static_cast<size_t>(i)]);

  // Older deployments: pending tasks go first, running ones while enough
  // healthy tasks remain.
  int64_t healthy = primary_running + old_running;
  for (Task* t : old_tasks) {
    bool running = json::stringOr(t->doc, "lastStatus") == "RUNNING";
    if (!running || isPending(json::stringOr(t->doc, "lastStatus"))) {
      to_stop.push_back(t);
    } else if (healthy - 1 >= min_healthy) {
      to_stop.push_back(t);
      --healthy;
    }
  }

  // Launch what the primary deployment lacks, within maximumPercent.
  int64_t live_after_stops = static_cast<int64_t>(live.size()) - static_cast<int64_t>(to_stop.size());
  int64_t want = std::max<int64_t>(0, desired - primary_live);
  int64_t room = std::max<int64_t>(0, std::max(max_live, desired) - live_after_stops);
  int64_t launches = std::min(want, room);
  double now = clock_.epochSeconds();
  if (now < service.next_launch_at) launches = 0;

  std::vector<Task> created;
  if (launches > 0) {
    auto cluster_it = clusters_.find(service.cluster_name);
    auto td = resolveTaskDefinition(json::stringOr(primary, "taskDefinition"));
    std::string launch_type = json::stringOr(primary, "launchType");
    if (cluster_it == clusters_.end() || !td) {
      launches = 0;
    } else if (launch_type == "EC2" || launch_type == "EXTERNAL" || launch_type == "MANAGED_INSTANCES") {
      addServiceEvent(service, fmt::format("(service {}) was unable to place a task because no container instance met "
                                           "all of its requirements. Reason: No Container Instances were found in your "
                                           "cluster.",
                                           name));
      service.next_launch_at = now + 60;
      launches = 0;
    } else {
      LaunchParams p;
      p.launch_type = launch_type;
      if (const auto* cps = json::getArray(primary, "capacityProviderStrategy")) p.capacity_strategy = *cps;
      if (const auto* nc = json::getObject(primary, "networkConfiguration")) p.network_configuration = *nc;
      p.started_by = primary_id;
      p.group = "service:" + name;
      p.enable_execute_command = json::getBool(service.doc, "enableExecuteCommand").value_or(false);
      p.service_name = name;
      p.deployment_id = primary_id;
      std::string propagate = json::stringOr(service.doc, "propagateTags", "NONE");
      if (propagate == "SERVICE") {
        if (const auto* tags = json::getArray(service.doc, "tags")) p.tags = *tags;
      } else if (propagate == "TASK_DEFINITION") {
        p.tags = (*td)->tags;
      }
      p.provider_counts = providerCounts(service.cluster_name, name);
      CallContext ctx;
      for (int64_t i = 0; i < launches; ++i) {
        created.push_back(makeTask(cluster_it->second, **td, p, ctx));
        persist(batch, created.back());
      }
    }
  }

  // Deployments with nothing left running are done with.
  std::set<std::string> still_used;
  for (Task* t : live)
    if (std::find(to_stop.begin(), to_stop.end(), t) == to_stop.end()) still_used.insert(t->deployment_id);
  Service updated = service;
  auto& new_deployments = updated.doc["deployments"].as_array();
  for (size_t i = new_deployments.size(); i-- > 1;)
    if (!still_used.contains(json::stringOr(new_deployments[i].as_object(), "id")))
      new_deployments.erase(new_deployments.begin() + static_cast<std::ptrdiff_t>(i));

  if (!created.empty()) {
    std::string ids;
    for (const auto& t : created) ids += fmt::format(" (task {})", shortId(json::stringOr(t.doc, "taskArn")));
    addServiceEvent(updated, fmt::format("(service {}) has started {} tasks:{}.", name, created.size(), ids));
  }
  if (!to_stop.empty()) {
    std::string ids;
    for (Task* t : to_stop) ids += fmt::format(" (task {})", shortId(json::stringOr(t->doc, "taskArn")));
    addServiceEvent(updated, fmt::format("(service {}) has stopped {} running tasks:{}.", name, to_stop.size(), ids));
  }

  // Completion and steady state.
  auto& new_primary = new_deployments.front().as_object();
  bool settled = created.empty() && to_stop.empty() && new_deployments.size() == 1 && primary_running == desired &&
                 primary_live == desired;
  if (settled && json::stringOr(new_primary, "rolloutState") == "IN_PROGRESS") {
    new_primary["rolloutState"] = "COMPLETED";
    new_primary["rolloutStateReason"] = fmt::format("ECS deployment {} completed.", primary_id);
    new_primary["updatedAt"] = now;
    addServiceEvent(updated, fmt::format("(service {}) (deployment {}) deployment completed.", name, primary_id));
    addServiceEvent(updated, fmt::format("(service {}) has reached a steady state.", name));
  }
  bool drained = status == "DRAINING" && live.size() == to_stop.size() && created.empty();
  if (drained && live.empty()) updated.doc["status"] = "INACTIVE";

  std::vector<Task> stopped_copies;
  for (Task* t : to_stop) {
    Task copy = *t;
    applyStop(copy, "ServiceSchedulerInitiated", stop_reason);
    persist(batch, copy);
    stopped_copies.push_back(std::move(copy));
  }
  bool changed = !batch.empty() || updated.doc != service.doc;
  if (!changed) return;
  persist(batch, updated);
  if (!commit(batch)) return;  // retried on the next tick
  service = std::move(updated);
  for (size_t i = 0; i < to_stop.size(); ++i) *to_stop[i] = std::move(stopped_copies[i]);
  std::vector<std::string> launched;
  for (auto& t : created) {
    launched.push_back(json::stringOr(t.doc, "taskArn"));
    insertTask(std::move(t));
  }
  for (Task* t : to_stop)
    if (agent_) agent_->stop(json::stringOr(t->doc, "taskArn"), {"ServiceSchedulerInitiated", stop_reason});
  for (const auto& task_arn : launched) launchTask(tasks_[task_arn]);
}

void Ecs::tick() {
  for (auto& [_, s] : services_) reconcile(s);
  pruneStopped();
}

}  // namespace berth::ecs
