// The service scheduler: moves a service's tasks towards its deployments.
//
// The replica scheduler launches the PRIMARY deployment's tasks up to the
// desired count within maximumPercent, stops older deployments' tasks while
// keeping minimumHealthyPercent running, replaces tasks that fail their
// container health checks, and marks a deployment COMPLETED when it alone
// runs the desired count. On top of it, as ECS does:
//  - the deployment circuit breaker: a deployment's failedTasks counts tasks
//    that stop before RUNNING (stage 1, until one of its tasks runs) or fail
//    after it (stage 2: health checks, essential container exits); a task
//    turning healthy resets it; at min(max(ceil(desired/2), 3), 200) the
//    deployment is FAILED and, with rollback, the last COMPLETED deployment
//    is deployed again as a new PRIMARY deployment;
//  - launch throttling: consecutive tasks that stop before RUNNING delay the
//    next launch, 10 s doubling up to 27 minutes, reset by a new deployment
//    or a task that becomes healthy;
//  - service events in AWS's words, newest first, at most 100, with the
//    steady-state event repeated at most every 6 hours while steady.
// A task counts as healthy when RUNNING and, if its containers have health
// checks, HEALTHY; without checks at once (AWS waits 40 s: not modelled).
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/ecs/ecs.h"

namespace berth::ecs {
namespace {

constexpr size_t kMaxEvents = 100;
// AWS repeats "has reached a steady state." at most this often while steady.
constexpr double kSteadyEventInterval = 6 * 3600;
// Launch throttle: the first failed launch waits kFirstDelay, each further
// consecutive one doubles the wait, up to kMaxDelay (AWS: 27 minutes).
constexpr double kFirstDelay = 10;
constexpr double kMaxDelay = 27 * 60;
// From this many consecutive failed launches the service is throttled and
// says so ("is unable to consistently start tasks successfully.").
constexpr int64_t kThrottledAfter = 2;
// While FARGATE_SPOT placements keep failing the "was unable to place a
// task" event is repeated at most this often (AWS documents no interval;
// like the steady-state event, it is not repeated on every attempt).
constexpr double kPlacementEventInterval = 15 * 60;

std::string shortId(const std::string& task_arn) { return task_arn.substr(task_arn.rfind('/') + 1); }

bool isPending(const std::string& status) {
  return status == "PROVISIONING" || status == "PENDING" || status == "ACTIVATING";
}

// Stops that say nothing about the deployment: the scheduler's, the user's,
// and Spot capacity taken back (never a circuit breaker failure).
bool isDeliberateStop(const bj::object& task) {
  std::string code = json::stringOr(task, "stopCode");
  return code == "ServiceSchedulerInitiated" || code == "UserInitiated" || code == "SpotInterruption" ||
         code == "TerminationNotice";
}

double createdAt(const bj::object& task) {
  const bj::value* v = json::find(task, "createdAt");
  return v && v->is_number() ? v->to_number<double>() : 0;
}

bj::object* findDeployment(bj::object& service, const std::string& id) {
  auto* deployments = service["deployments"].if_array();
  if (!deployments) return nullptr;
  for (auto& d : *deployments)
    if (json::stringOr(d.as_object(), "id") == id) return &d.as_object();
  return nullptr;
}

}  // namespace

double launchThrottleDelay(int64_t consecutive_failures) {
  if (consecutive_failures <= 0) return 0;
  double delay = kFirstDelay;
  for (int64_t i = 1; i < consecutive_failures && delay < kMaxDelay; ++i) delay *= 2;
  return std::min(delay, kMaxDelay);
}

int64_t circuitBreakerThreshold(int64_t desired_count) {
  int64_t half = (desired_count + 1) / 2;  // ceil(0.5 x desired)
  return std::min<int64_t>(std::max<int64_t>(half, 3), 200);
}

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

bool Ecs::deploymentRan(const Service& service, const std::string& deployment_id) const {
  auto idx = tasks_by_service_.find(service.cluster_name + "/" + json::stringOr(service.doc, "serviceName"));
  if (idx == tasks_by_service_.end()) return false;
  for (const auto& task_arn : idx->second) {
    auto it = tasks_.find(task_arn);
    if (it != tasks_.end() && it->second.deployment_id == deployment_id && it->second.doc.contains("startedAt"))
      return true;
  }
  return false;
}

bool Ecs::isHealthy(const Task& task) const {
  if (json::stringOr(task.doc, "lastStatus") != "RUNNING") return false;
  std::string health = json::stringOr(task.doc, "healthStatus");
  if (health == "HEALTHY") return true;
  if (health == "UNHEALTHY") return false;
  // UNKNOWN: healthy only when no container has a health check to pass.
  auto td = resolveTaskDefinition(json::stringOr(task.doc, "taskDefinitionArn"));
  if (!td) return true;
  if (const auto* defs = json::getArray((*td)->doc, "containerDefinitions"))
    for (const auto& def : *defs)
      if (def.is_object() && json::getObject(def.as_object(), "healthCheck")) return false;
  return true;
}

bool Ecs::noteTaskOutcome(Service& service, const Task& before, const Task& after) {
  SchedulerState old_sched = service.sched;
  bj::object old_doc = service.doc;
  bool stopped_now =
      json::stringOr(before.doc, "lastStatus") != "STOPPED" && json::stringOr(after.doc, "lastStatus") == "STOPPED";
  if (stopped_now && !isDeliberateStop(after.doc)) {
    if (!after.doc.contains("startedAt")) {
      // Never reached RUNNING: throttle the next launch, stage 1 failure.
      int64_t n = ++service.sched.launch_failures;
      service.sched.next_launch_at = clock_.epochSeconds() + launchThrottleDelay(n);
      if (n == kThrottledAfter)
        addServiceEvent(service, fmt::format("(service {}) is unable to consistently start tasks successfully.",
                                             json::stringOr(service.doc, "serviceName")));
      recordDeploymentFailure(service, after.deployment_id, 1);
    } else {
      recordDeploymentFailure(service, after.deployment_id, 2);
    }
  }
  if (!isHealthy(before) && isHealthy(after)) {
    // A healthy task resets the throttle and its deployment's failure count
    // (the circuit breaker's resetOnHealthyTask, on by default).
    service.sched.launch_failures = 0;
    service.sched.next_launch_at = 0;
    if (bj::object* d = findDeployment(service.doc, after.deployment_id);
        d && json::stringOr(*d, "rolloutState") == "IN_PROGRESS")
      (*d)["failedTasks"] = 0;
  }
  checkCircuitBreaker(service);
  return service.sched != old_sched || service.doc != old_doc;
}

void Ecs::recordDeploymentFailure(Service& service, const std::string& deployment_id, int stage) {
  bj::object* d = findDeployment(service.doc, deployment_id);
  if (!d || json::stringOr(*d, "rolloutState") != "IN_PROGRESS") return;
  bool ran = deploymentRan(service, deployment_id);
  if ((stage == 1) == ran) return;  // stage 1 ends when a task of the deployment runs
  (*d)["failedTasks"] = json::getInt(*d, "failedTasks").value_or(0) + 1;
}

void Ecs::checkCircuitBreaker(Service& service) {
  auto& deployments = service.doc["deployments"].as_array();
  if (deployments.empty()) return;
  const auto* dc = json::getObject(service.doc, "deploymentConfiguration");
  const auto* cb = dc ? json::getObject(*dc, "deploymentCircuitBreaker") : nullptr;
  if (!cb || !json::getBool(*cb, "enable").value_or(false)) return;
  auto& primary = deployments.front().as_object();
  if (json::stringOr(primary, "rolloutState") != "IN_PROGRESS") return;
  int64_t desired = json::getInt(service.doc, "desiredCount").value_or(0);
  if (json::getInt(primary, "failedTasks").value_or(0) < circuitBreakerThreshold(desired)) return;

  std::string name = json::stringOr(service.doc, "serviceName");
  std::string id = json::stringOr(primary, "id");
  double now = clock_.epochSeconds();
  bool ran = deploymentRan(service, id);
  std::string why = ran ? "tasks failed health checks" : "tasks failed to start";
  primary["rolloutState"] = "FAILED";
  primary["rolloutStateReason"] = fmt::format("ECS deployment circuit breaker: {}.", why);
  primary["updatedAt"] = now;
  addServiceEvent(service, fmt::format("(service {}) (deployment {}) deployment failed: {}.", name, id, why));

  const bj::object& last = service.sched.last_completed;
  if (!json::getBool(*cb, "rollback").value_or(false) || last.empty()) return;
  // Rollback: the failed deployment steps down, and the last COMPLETED one
  // is deployed again as a new PRIMARY deployment (its tasks replace the
  // failed deployment's through the rolling update).
  addServiceEvent(service,
                  fmt::format("(service {}) rolling back to deployment {}.", name, json::stringOr(last, "id")));
  primary["status"] = "ACTIVE";
  bj::object& d = service.doc;
  d["taskDefinition"] = last.at("taskDefinition");
  for (std::string_view key : {"launchType", "capacityProviderStrategy", "networkConfiguration"}) {
    d.erase(key);
    if (const bj::value* v = json::find(last, key)) d[key] = *v;
  }
  // (Editing the document above may move its members: look the array up again.)
  auto& now_deployments = d["deployments"].as_array();
  now_deployments.insert(now_deployments.begin(), newPrimaryDeployment(d, now));
  service.sched.launch_failures = 0;
  service.sched.next_launch_at = 0;
}

void Ecs::reconcile(Service& service) {
  service.quiet_until = 0;
  std::string status = json::stringOr(service.doc, "status");
  if (status == "INACTIVE") return;
  if (service.doc["deployments"].as_array().empty()) return;
  std::string name = json::stringOr(service.doc, "serviceName");
  double now = clock_.epochSeconds();
  // Every change is made to a copy, committed, and only then swapped in.
  Service updated = service;
  store::Batch batch;
  struct Stop {
    Task* task;
    std::string reason;
  };
  std::vector<Stop> to_stop;

  // Tasks that failed their container health checks are replaced; each is a
  // stage 2 failure of its deployment.
  std::vector<Task*> live;
  for (Task* t : tasksOf(service)) {
    if (json::stringOr(t->doc, "lastStatus") == "RUNNING" && json::stringOr(t->doc, "healthStatus") == "UNHEALTHY") {
      std::string task_id = shortId(json::stringOr(t->doc, "taskArn"));
      addServiceEvent(updated, fmt::format("(service {}) (task {}) failed container health checks.", name, task_id));
      recordDeploymentFailure(updated, t->deployment_id, 2);
      to_stop.push_back({t, "Task failed container health checks"});
    } else {
      live.push_back(t);
    }
  }
  checkCircuitBreaker(updated);

  auto& deployments = updated.doc["deployments"].as_array();
  auto& primary = deployments.front().as_object();
  std::string primary_id = json::stringOr(primary, "id");
  // A FAILED deployment launches nothing more, and what older deployments
  // still run stays.
  bool primary_failed = json::stringOr(primary, "rolloutState") == "FAILED";
  int64_t desired = status == "DRAINING" ? 0 : json::getInt(updated.doc, "desiredCount").value_or(0);
  const auto* dc = json::getObject(updated.doc, "deploymentConfiguration");
  int64_t max_percent = dc ? json::getInt(*dc, "maximumPercent").value_or(200) : 200;
  int64_t min_percent = dc ? json::getInt(*dc, "minimumHealthyPercent").value_or(100) : 100;
  int64_t max_live = desired * max_percent / 100;
  int64_t min_healthy = static_cast<int64_t>(std::ceil(static_cast<double>(desired * min_percent) / 100.0));

  std::vector<Task*> primary_tasks, old_tasks;
  int64_t primary_running = 0, old_running = 0;
  for (Task* t : live) {
    // With container health checks a task counts once HEALTHY.
    bool running = isHealthy(*t);
    if (t->deployment_id == primary_id) {
      primary_tasks.push_back(t);
      primary_running += running;
    } else {
      old_tasks.push_back(t);
      old_running += running;
    }
  }

  // Berth's Spot fallback (an extension, off unless the service has the
  // kSpotFallbackTag tag): while Spot capacity is back, the primary
  // deployment's FARGATE tasks beyond the strategy's FARGATE share are
  // stand-ins for Spot tasks. They are replaced as a rolling update replaces
  // an older deployment's tasks: counted with those, so that Spot
  // replacements start within maximumPercent and the stand-ins stop while
  // minimumHealthyPercent allows.
  const auto* primary_cps = json::getArray(primary, "capacityProviderStrategy");
  bool spot_fallback = primary_cps && wantsSpotFallback(updated.doc);
  if (spot_fallback && spot_available_ && !primary_failed) {
    std::map<std::string, int64_t> target = capacityProviderSplit(*primary_cps, desired);
    std::vector<Task*> on_fargate;
    for (Task* t : primary_tasks)
      if (json::stringOr(t->doc, "capacityProviderName") == "FARGATE") on_fargate.push_back(t);
    int64_t stand_ins = static_cast<int64_t>(on_fargate.size()) - target["FARGATE"];
    if (stand_ins > 0 && target["FARGATE_SPOT"] > 0) {
      // The healthy and oldest FARGATE tasks stay; the newest are stand-ins.
      std::stable_sort(on_fargate.begin(), on_fargate.end(), [&](Task* a, Task* b) {
        return std::make_tuple(!isHealthy(*a), createdAt(a->doc)) < std::make_tuple(!isHealthy(*b), createdAt(b->doc));
      });
      for (auto it = on_fargate.end() - stand_ins; it != on_fargate.end(); ++it) {
        Task* t = *it;
        primary_tasks.erase(std::find(primary_tasks.begin(), primary_tasks.end(), t));
        old_tasks.push_back(t);
        if (isHealthy(*t)) {
          --primary_running;
          ++old_running;
        }
      }
    }
  }

  std::string scaling_reason = fmt::format("Scaling activity initiated by (deployment {})", primary_id);

  // Too many tasks of the primary deployment (scale-in): stop the least
  // healthy first, then tasks on a capacity provider above its share of the
  // desired count, then in the zone with the most tasks, then the newest;
  // what stays keeps the strategy's split and the zone spread.
  int64_t primary_live = static_cast<int64_t>(primary_tasks.size());
  if (primary_live > desired) {
    std::map<std::string, int64_t> target;
    if (const auto* cps = json::getArray(primary, "capacityProviderStrategy"))
      target = capacityProviderSplit(*cps, desired);
    std::vector<Task*> keep = primary_tasks;
    while (static_cast<int64_t>(keep.size()) > desired) {
      std::map<std::string, int64_t> providers, zones;
      for (Task* t : keep) {
        ++providers[json::stringOr(t->doc, "capacityProviderName")];
        ++zones[json::stringOr(t->doc, "availabilityZone")];
      }
      auto rank = [&](Task* t) {
        std::string provider = json::stringOr(t->doc, "capacityProviderName");
        int64_t over = target.empty() ? 0 : providers[provider] - (target.contains(provider) ? target[provider] : 0);
        return std::make_tuple(!isHealthy(*t), over > 0, zones[json::stringOr(t->doc, "availabilityZone")],
                               createdAt(t->doc));
      };
      auto victim = std::max_element(keep.begin(), keep.end(), [&](Task* a, Task* b) { return rank(a) < rank(b); });
      to_stop.push_back({*victim, scaling_reason});
      keep.erase(victim);
    }
    primary_tasks = std::move(keep);
    primary_live = desired;
  }

  // Older deployments: pending tasks go first, running ones while enough
  // healthy tasks remain.
  int64_t healthy = primary_running + old_running;
  for (Task* t : primary_failed&& status != "DRAINING" ? std::vector<Task*>{} : old_tasks) {
    std::string last_status = json::stringOr(t->doc, "lastStatus");
    if (last_status != "RUNNING" || isPending(last_status)) {
      to_stop.push_back({t, scaling_reason});
    } else if (healthy - 1 >= min_healthy) {
      to_stop.push_back({t, scaling_reason});
      --healthy;
    }
  }

  // Launch what the primary deployment lacks, within maximumPercent.
  int64_t stopping_live = 0;
  for (const auto& s : to_stop)
    if (std::find(live.begin(), live.end(), s.task) != live.end()) ++stopping_live;
  int64_t live_after_stops = static_cast<int64_t>(live.size()) - stopping_live;
  int64_t want = std::max<int64_t>(0, desired - primary_live);
  int64_t room = std::max<int64_t>(0, std::max(max_live, desired) - live_after_stops);
  int64_t launches = std::min(want, room);
  if (primary_failed || now < updated.sched.next_launch_at) launches = 0;

  std::vector<Task> created;
  if (launches > 0) {
    auto cluster_it = clusters_.find(updated.cluster_name);
    auto td = resolveTaskDefinition(json::stringOr(primary, "taskDefinition"));
    std::string launch_type = json::stringOr(primary, "launchType");
    if (cluster_it == clusters_.end() || !td) {
      launches = 0;
    } else if (launch_type == "EC2" || launch_type == "EXTERNAL" || launch_type == "MANAGED_INSTANCES") {
      addServiceEvent(updated, fmt::format("(service {}) was unable to place a task because no container instance met "
                                           "all of its requirements. Reason: No Container Instances were found in your "
                                           "cluster.",
                                           name));
      updated.sched.next_launch_at = now + 60;
      launches = 0;
    } else {
      LaunchParams p;
      p.launch_type = launch_type;
      if (const auto* cps = json::getArray(primary, "capacityProviderStrategy")) p.capacity_strategy = *cps;
      if (const auto* nc = json::getObject(primary, "networkConfiguration")) p.network_configuration = *nc;
      p.started_by = primary_id;
      p.group = "service:" + name;
      p.enable_execute_command = json::getBool(updated.doc, "enableExecuteCommand").value_or(false);
      p.service_name = name;
      p.deployment_id = primary_id;
      std::string propagate = json::stringOr(updated.doc, "propagateTags", "NONE");
      if (propagate == "SERVICE") {
        if (const auto* tags = json::getArray(updated.doc, "tags")) p.tags = *tags;
      } else if (propagate == "TASK_DEFINITION") {
        p.tags = (*td)->tags;
      }
      // The new tasks are placed by the primary deployment's tasks that
      // stay: a replacement goes to the provider below its share, and to
      // the zone with the fewest tasks.
      countPlacements(primary_tasks, p);
      p.spot_fallback = spot_fallback;
      CallContext ctx;
      int64_t unplaced = 0;
      for (int64_t i = 0; i < launches; ++i) {
        if (!placeProvider(p)) {
          ++unplaced;  // Spot capacity is off: tried again on the next tick
          continue;
        }
        created.push_back(makeTask(cluster_it->second, **td, p, ctx));
        persist(batch, created.back());
      }
      if (unplaced == 0) {
        updated.sched.placement_event_at = 0;
      } else if (updated.sched.placement_event_at == 0 ||
                 now - updated.sched.placement_event_at >= kPlacementEventInterval) {
        addServiceEvent(updated, fmt::format("(service {}) was unable to place a task. Reason: {}.", name,
                                             kSpotCapacityUnavailable));
        updated.sched.placement_event_at = now;
      }
    }
  } else if (want == 0) {
    updated.sched.placement_event_at = 0;
  }

  // Deployments with nothing left running are done with.
  std::set<std::string> still_used;
  for (Task* t : live)
    if (std::none_of(to_stop.begin(), to_stop.end(), [t](const Stop& s) { return s.task == t; }))
      still_used.insert(t->deployment_id);
  bool others_live =
      std::any_of(still_used.begin(), still_used.end(), [&](const std::string& id) { return id != primary_id; });
  // A FAILED deployment stays visible (failedTasks, rolloutStateReason)
  // until the deployment that replaced it is done.
  bool primary_in_progress = json::stringOr(primary, "rolloutState") == "IN_PROGRESS";
  auto drop_unused = [&](bool keep_failed) {
    for (size_t i = deployments.size(); i-- > 1;) {
      const auto& o = deployments[i].as_object();
      if (still_used.contains(json::stringOr(o, "id"))) continue;
      if (keep_failed && json::stringOr(o, "rolloutState") == "FAILED") continue;
      deployments.erase(deployments.begin() + static_cast<std::ptrdiff_t>(i));
    }
  };
  drop_unused(primary_in_progress);

  if (!created.empty()) {
    std::string ids;
    for (const auto& t : created) ids += fmt::format(" (task {})", shortId(json::stringOr(t.doc, "taskArn")));
    addServiceEvent(updated, fmt::format("(service {}) has started {} tasks:{}.", name, created.size(), ids));
  }
  if (!to_stop.empty()) {
    std::string ids;
    for (const auto& s : to_stop) ids += fmt::format(" (task {})", shortId(json::stringOr(s.task->doc, "taskArn")));
    addServiceEvent(updated, fmt::format("(service {}) has stopped {} running tasks:{}.", name, to_stop.size(), ids));
  }

  // Completion and steady state.
  bool settled =
      created.empty() && to_stop.empty() && !others_live && primary_running == desired && primary_live == desired;
  if (settled && primary_in_progress) {
    primary["rolloutState"] = "COMPLETED";
    primary["rolloutStateReason"] = fmt::format("ECS deployment {} completed.", primary_id);
    primary["updatedAt"] = now;
    updated.sched.last_completed = primary;
    drop_unused(false);
    addServiceEvent(updated, fmt::format("(service {}) (deployment {}) deployment completed.", name, primary_id));
  }
  auto& new_primary = updated.doc["deployments"].as_array().front().as_object();
  bool steady = settled && status == "ACTIVE" && json::stringOr(new_primary, "rolloutState") == "COMPLETED";
  if (!steady) {
    updated.sched.steady_event_at = 0;
  } else if (updated.sched.steady_event_at == 0 || now - updated.sched.steady_event_at >= kSteadyEventInterval) {
    addServiceEvent(updated, fmt::format("(service {}) has reached a steady state.", name));
    updated.sched.steady_event_at = now;
  }
  if (status == "DRAINING" && live.empty() && to_stop.empty() && created.empty()) updated.doc["status"] = "INACTIVE";

  std::vector<Task> stopped_copies;
  for (const auto& s : to_stop) {
    Task copy = *s.task;
    applyStop(copy, "ServiceSchedulerInitiated", s.reason);
    persist(batch, copy);
    stopped_copies.push_back(std::move(copy));
  }
  bool changed = !batch.empty() || updated.doc != service.doc || updated.sched != service.sched;
  if (!changed) {
    // Steady and nothing to do: so it stays until the steady-state event is
    // due again or something reconciles it (see Service::quiet_until).
    if (steady) service.quiet_until = service.sched.steady_event_at + kSteadyEventInterval;
    return;
  }
  persist(batch, updated);
  if (!commit(batch)) return;  // retried on the next tick
  service = std::move(updated);
  for (size_t i = 0; i < to_stop.size(); ++i) *to_stop[i].task = std::move(stopped_copies[i]);
  std::vector<std::string> launched;
  for (auto& t : created) {
    launched.push_back(json::stringOr(t.doc, "taskArn"));
    insertTask(std::move(t));
  }
  for (size_t i = 0; i < to_stop.size(); ++i)
    if (agent_)
      agent_->stop(json::stringOr(to_stop[i].task->doc, "taskArn"), {"ServiceSchedulerInitiated", to_stop[i].reason});
  for (const auto& task_arn : launched) launchTask(tasks_[task_arn]);
}

void Ecs::tick() {
  interruptExpiredSpotTasks();
  interruptRandomSpotTasks();
  double now = clock_.epochSeconds();
  for (auto& [_, s] : services_)
    if (now >= s.quiet_until) reconcile(s);
  pruneStopped();
}

}  // namespace berth::ecs
