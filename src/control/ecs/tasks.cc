// ECS tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks, and the
// agent's state reports that move a task through its lifecycle.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/ecs/ecs.h"
#include "control/ecs/errors.h"

namespace berth::ecs {
namespace {

std::string familyOf(const bj::object& task) {
  std::string td = json::stringOr(task, "taskDefinitionArn");
  auto slash = td.rfind('/');
  auto colon = td.rfind(':');
  if (slash == std::string::npos || colon == std::string::npos || colon < slash) return {};
  return td.substr(slash + 1, colon - slash - 1);
}

bool isLive(const bj::object& task) { return json::stringOr(task, "lastStatus") != "STOPPED"; }

// The subnet of a task's elastic network interface ("" without awsvpc).
std::string subnetOf(const bj::object& task) {
  if (const auto* attachments = json::getArray(task, "attachments"))
    for (const auto& a : *attachments)
      if (const auto* details = json::getArray(a.as_object(), "details"))
        for (const auto& detail : *details)
          if (json::stringOr(detail.as_object(), "name") == "subnetId")
            return json::stringOr(detail.as_object(), "value");
  return {};
}

int64_t countOf(const std::map<std::string, int64_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

// Fargate spreads a service's tasks over the availability zones of its
// subnets: the zone with the fewest tasks next, then the subnet with the
// fewest tasks in it, ties to the earlier subnet in the request.
const control::Subnet* pickSubnet(const std::vector<std::string>& ids, const control::NetworkInventory& network,
                                  const std::map<std::string, int64_t>& zones,
                                  const std::map<std::string, int64_t>& subnets) {
  const control::Subnet* best = nullptr;
  std::pair<int64_t, int64_t> best_key;
  for (const auto& id : ids) {
    const control::Subnet* s = network.findSubnet(id);
    if (!s) continue;
    std::pair<int64_t, int64_t> key{countOf(zones, s->availability_zone), countOf(subnets, s->id)};
    if (!best || key < best_key) {
      best = s;
      best_key = key;
    }
  }
  return best;
}

}  // namespace

std::string nextCapacityProvider(const bj::array& strategy, const std::map<std::string, int64_t>& counts) {
  int64_t beyond_base = 0, weights = 0;
  for (const auto& item : strategy) {
    const auto& o = item.as_object();
    std::string name = json::stringOr(o, "capacityProvider");
    int64_t base = json::getInt(o, "base").value_or(0);
    if (base > 0 && countOf(counts, name) < base) return name;
    beyond_base += std::max<int64_t>(0, countOf(counts, name) - base);
    weights += json::getInt(o, "weight").value_or(0);
  }
  std::string best;
  double best_deficit = 0;
  for (const auto& item : strategy) {
    const auto& o = item.as_object();
    int64_t weight = json::getInt(o, "weight").value_or(0);
    if (weight == 0 || weights == 0) continue;
    std::string name = json::stringOr(o, "capacityProvider");
    double have =
        static_cast<double>(std::max<int64_t>(0, countOf(counts, name) - json::getInt(o, "base").value_or(0)));
    double share = static_cast<double>(beyond_base + 1) * static_cast<double>(weight) / static_cast<double>(weights);
    if (best.empty() || share - have > best_deficit) {
      best_deficit = share - have;
      best = name;
    }
  }
  if (best.empty() && !strategy.empty()) best = json::stringOr(strategy.front().as_object(), "capacityProvider");
  return best;
}

std::map<std::string, int64_t> capacityProviderSplit(const bj::array& strategy, int64_t count) {
  std::map<std::string, int64_t> counts;
  for (int64_t i = 0; i < count; ++i) ++counts[nextCapacityProvider(strategy, counts)];
  return counts;
}

void Ecs::countPlacements(const std::vector<Task*>& tasks, LaunchParams& p) {
  for (const Task* t : tasks) {
    if (!p.capacity_strategy.empty()) ++p.provider_counts[json::stringOr(t->doc, "capacityProviderName")];
    ++p.zone_counts[json::stringOr(t->doc, "availabilityZone")];
    if (std::string subnet = subnetOf(t->doc); !subnet.empty()) ++p.subnet_counts[subnet];
  }
}

Ecs::Task Ecs::makeTask(const Cluster& cluster, const TaskDefinition& td, LaunchParams& p, const CallContext&) {
  std::string cluster_name = json::stringOr(cluster.doc, "clusterName");
  std::string id = randomHex(16);
  std::string task_arn = arn(fmt::format("task/{}/{}", cluster_name, id));
  double now = clock_.epochSeconds();

  Task t;
  t.cluster_name = cluster_name;
  t.service_name = p.service_name;
  t.deployment_id = p.deployment_id;
  bj::object& d = t.doc;
  d["taskArn"] = task_arn;
  d["clusterArn"] = json::stringOr(cluster.doc, "clusterArn");
  d["taskDefinitionArn"] = json::stringOr(td.doc, "taskDefinitionArn");
  d["createdAt"] = now;
  d["desiredStatus"] = "RUNNING";
  d["lastStatus"] = "PROVISIONING";
  d["version"] = 1;
  d["cpu"] = json::stringOr(td.doc, "cpu");
  d["memory"] = json::stringOr(td.doc, "memory");
  d["group"] = p.group;
  if (!p.started_by.empty()) d["startedBy"] = p.started_by;
  d["enableExecuteCommand"] = p.enable_execute_command;
  d["healthStatus"] = "UNKNOWN";
  d["platformVersion"] = "1.4.0";
  d["platformFamily"] = "Linux";
  d["attributes"] = bj::array{bj::object{{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}}};
  d["ephemeralStorage"] = bj::object{{"sizeInGiB", 20}};
  d["fargateEphemeralStorage"] = bj::object{{"sizeInGiB", 20}};
  d["tags"] = p.tags;
  bj::object overrides = p.overrides;
  if (!overrides.contains("containerOverrides")) overrides["containerOverrides"] = bj::array{};
  if (!overrides.contains("inferenceAcceleratorOverrides")) overrides["inferenceAcceleratorOverrides"] = bj::array{};
  d["overrides"] = std::move(overrides);

  if (!p.capacity_strategy.empty()) {
    // Launched through a capacity provider: the task says which, and its
    // launchType is still FARGATE (as ECS reports Fargate Spot tasks).
    std::string provider =
        p.provider.empty() ? nextCapacityProvider(p.capacity_strategy, p.provider_counts) : std::move(p.provider);
    p.provider.clear();
    ++p.provider_counts[provider];
    d["capacityProviderName"] = provider;
  }
  d["launchType"] = "FARGATE";

  // awsvpc: one elastic network interface in one of the given subnets.
  const control::Subnet* subnet = nullptr;
  if (const auto* vpc = json::getObject(p.network_configuration, "awsvpcConfiguration")) {
    auto subnets = json::stringList(*vpc, "subnets");
    subnet = pickSubnet(subnets, network_, p.zone_counts, p.subnet_counts);
  }
  if (subnet) {
    ++p.zone_counts[subnet->availability_zone];
    ++p.subnet_counts[subnet->id];
    d["availabilityZone"] = subnet->availability_zone;
    d["attachments"] =
        bj::array{bj::object{{"id", randomUuid()},
                             {"type", "ElasticNetworkInterface"},
                             {"status", "PRECREATED"},
                             {"details", bj::array{bj::object{{"name", "subnetId"}, {"value", subnet->id}}}}}};
  } else {
    d["availabilityZone"] = network_.subnets.empty() ? config_.region + "a" : network_.subnets[0].availability_zone;
    d["attachments"] = bj::array{};
  }

  bj::array containers;
  if (const auto* defs = json::getArray(td.doc, "containerDefinitions"))
    for (const auto& def : *defs) {
      const auto& c = def.as_object();
      bj::object container{{"containerArn", arn(fmt::format("container/{}/{}/{}", cluster_name, id, randomUuid()))},
                           {"taskArn", task_arn},
                           {"name", json::stringOr(c, "name")},
                           {"image", json::stringOr(c, "image")},
                           {"lastStatus", "PENDING"},
                           {"networkInterfaces", bj::array{}},
                           {"healthStatus", "UNKNOWN"},
                           {"cpu", std::to_string(json::getInt(c, "cpu").value_or(0))}};
      if (auto m = json::getInt(c, "memory")) container["memory"] = std::to_string(*m);
      if (auto m = json::getInt(c, "memoryReservation")) container["memoryReservation"] = std::to_string(*m);
      containers.push_back(std::move(container));
    }
  d["containers"] = std::move(containers);
  return t;
}

bool Ecs::placeProvider(LaunchParams& p) const {
  p.provider.clear();
  if (p.capacity_strategy.empty()) return true;
  std::string provider = nextCapacityProvider(p.capacity_strategy, p.provider_counts);
  if (provider != "FARGATE_SPOT" || spot_available_) {
    p.provider = std::move(provider);
    return true;
  }
  if (p.spot_fallback) {
    p.provider = "FARGATE";
    return true;
  }
  ++p.provider_counts[provider];
  return false;
}

void Ecs::launchTask(const Task& task) {
  if (!agent_) return;
  agent::TaskLaunch launch;
  launch.task_arn = json::stringOr(task.doc, "taskArn");
  launch.task_id = launch.task_arn.substr(launch.task_arn.rfind('/') + 1);
  launch.cluster_arn = json::stringOr(task.doc, "clusterArn");
  if (auto td = resolveTaskDefinition(json::stringOr(task.doc, "taskDefinitionArn")); td)
    launch.task_definition = (*td)->doc;
  if (const auto* o = json::getObject(task.doc, "overrides")) launch.overrides = *o;
  launch.availability_zone = json::stringOr(task.doc, "availabilityZone");
  launch.capacity_provider = json::stringOr(task.doc, "capacityProviderName", "FARGATE");
  if (const auto* attachments = json::getArray(task.doc, "attachments"))
    for (const auto& a : *attachments)
      if (const auto* details = json::getArray(a.as_object(), "details"))
        for (const auto& detail : *details)
          if (json::stringOr(detail.as_object(), "name") == "subnetId") {
            launch.subnet_id = json::stringOr(detail.as_object(), "value");
            if (const auto* s = network_.findSubnet(launch.subnet_id)) launch.subnet_cidr = s->cidr;
          }
  agent_->launch(std::move(launch));
}

Result<bj::value> Ecs::runTask(const bj::object& in, const CallContext& ctx) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  auto td_ref = json::getString(in, "taskDefinition");
  if (!td_ref || td_ref->empty()) return invalidParameter("TaskDefinition can not be blank.");
  auto td = resolveTaskDefinition(*td_ref);
  if (!td) return invalidParameter("TaskDefinition not found.");
  if (json::stringOr((*td)->doc, "status") != "ACTIVE") return clientError("TaskDefinition is inactive");
  int64_t count = json::getInt(in, "count").value_or(1);
  if (count < 1 || count > 10) return invalidParameter("Count must be between 1 and 10.");
  auto started_by = json::stringOr(in, "startedBy");
  if (started_by.size() > 128) return invalidParameter("startedBy must be at most 128 characters.");

  LaunchParams p;
  BERTH_TRY(resolveLaunch(in, *cluster, &p.launch_type, &p.capacity_strategy));
  const bj::object* nc = json::getObject(in, "networkConfiguration");
  BERTH_TRY(validateNetworkConfiguration(nc, (*td)->doc));
  if (nc) p.network_configuration = *nc;
  if (const auto* o = json::getObject(in, "overrides")) p.overrides = *o;
  p.started_by = started_by;
  p.group = json::stringOr(in, "group", "family:" + json::stringOr((*td)->doc, "family"));
  p.enable_execute_command = json::getBool(in, "enableExecuteCommand").value_or(false);
  if (const auto* tags = json::getArray(in, "tags")) p.tags = *tags;
  if (json::stringOr(in, "propagateTags") == "TASK_DEFINITION")
    for (const auto& tag : (*td)->tags) p.tags.push_back(tag);
  // The strategy and the zone spread apply to the tasks of this call
  // (p's counts start empty): a base of 1 puts the first task of every
  // RunTask on that provider.

  bj::array failures;
  if (p.launch_type == "EC2" || p.launch_type == "EXTERNAL" || p.launch_type == "MANAGED_INSTANCES") {
    for (int64_t i = 0; i < count; ++i)
      failures.push_back(bj::object{{"arn", json::stringOr(cluster->doc, "clusterArn")},
                                    {"reason", "No Container Instances were found in your cluster."}});
    return bj::object{{"tasks", bj::array{}}, {"failures", std::move(failures)}};
  }

  std::vector<Task> created;
  store::Batch batch;
  for (int64_t i = 0; i < count; ++i) {
    if (!placeProvider(p)) {
      failures.push_back(bj::object{{"arn", json::stringOr(cluster->doc, "clusterArn")},
                                    {"reason", std::string(kSpotCapacityUnavailable)}});
      continue;
    }
    created.push_back(makeTask(*cluster, **td, p, ctx));
    persist(batch, created.back());
  }
  if (!batch.empty()) BERTH_TRY(commit(batch));
  bj::array out;
  for (auto& t : created) {
    out.push_back(taskView(t, true));
    insertTask(std::move(t));
  }
  // Launch after the response is decided: the fake agent's events are
  // posted, so they apply after this call returns.
  for (const auto& v : out) launchTask(tasks_[json::stringOr(v.as_object(), "taskArn")]);
  return bj::object{{"tasks", std::move(out)}, {"failures", std::move(failures)}};
}

Result<bj::value> Ecs::startTask(const bj::object& in, const CallContext&) {
  BERTH_TRY(activeCluster(in));
  // Fargate has no container instances to start a task on.
  bj::array failures;
  for (const auto& ci : json::stringList(in, "containerInstances"))
    failures.push_back(bj::object{{"arn", ci}, {"reason", "MISSING"}});
  if (failures.empty()) return invalidParameter("Container instances can not be empty.");
  return bj::object{{"tasks", bj::array{}}, {"failures", std::move(failures)}};
}

void Ecs::applyStop(Task& task, std::string stop_code, std::string reason) {
  bj::object& d = task.doc;
  if (json::stringOr(d, "desiredStatus") == "STOPPED") return;
  d["desiredStatus"] = "STOPPED";
  d["stopCode"] = std::move(stop_code);
  d["stoppedReason"] = std::move(reason);
  d["stoppingAt"] = clock_.epochSeconds();
  d["version"] = json::getInt(d, "version").value_or(1) + 1;
  // Out of Cloud Map before the agent is told to stop it.
  syncRegistration(task);
}

Result<bj::value> Ecs::stopTask(const bj::object& in, const CallContext&) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  std::string ref = json::stringOr(in, "task");
  if (ref.empty()) return invalidParameter("Task can not be blank.");
  std::string id = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
  std::string cluster_name = json::stringOr(cluster->doc, "clusterName");
  auto it = tasks_.find(arn(fmt::format("task/{}/{}", cluster_name, id)));
  if (it == tasks_.end() || (ref.starts_with("arn:") && ref != it->first))
    return invalidParameter("The referenced task was not found.");
  std::string reason = json::stringOr(in, "reason", "Task stopped by user");
  if (reason.size() > 255) return invalidParameter("Reason must be at most 255 characters.");

  Task updated = it->second;
  bool was_running = json::stringOr(updated.doc, "desiredStatus") != "STOPPED";
  applyStop(updated, "UserInitiated", reason);
  if (was_running) {
    store::Batch batch;
    persist(batch, updated);
    BERTH_TRY(commit(batch));
  }
  it->second = std::move(updated);
  // A service's task stopped by hand: the service has work on the next tick.
  if (auto s = services_.find(it->second.cluster_name + "/" + it->second.service_name); s != services_.end())
    s->second.quiet_until = 0;
  bj::object view = taskView(it->second, true);
  if (was_running && agent_) agent_->stop(it->first, {"UserInitiated", reason});
  return bj::object{{"task", std::move(view)}};
}

bj::object Ecs::taskView(const Task& t, bool with_tags) const {
  bj::object out = t.doc;
  if (!with_tags) out.erase("tags");
  return out;
}

Result<bj::value> Ecs::describeTasks(const bj::object& in, const CallContext&) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  auto refs = json::stringList(in, "tasks");
  if (refs.empty()) return invalidParameter("Tasks cannot be empty.");
  if (refs.size() > 100) return invalidParameter("Tasks can have at most 100 items.");
  auto include = json::stringList(in, "include");
  bool with_tags = std::find(include.begin(), include.end(), "TAGS") != include.end();
  std::string cluster_name = json::stringOr(cluster->doc, "clusterName");
  bj::array tasks, failures;
  for (const auto& ref : refs) {
    std::string id = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
    std::string task_arn = arn(fmt::format("task/{}/{}", cluster_name, id));
    auto it = tasks_.find(task_arn);
    if (it == tasks_.end() || (ref.starts_with("arn:") && ref != task_arn)) {
      failures.push_back(bj::object{{"arn", ref.starts_with("arn:") ? ref : task_arn}, {"reason", "MISSING"}});
      continue;
    }
    tasks.push_back(taskView(it->second, with_tags));
  }
  return bj::object{{"tasks", std::move(tasks)}, {"failures", std::move(failures)}};
}

Result<bj::value> Ecs::listTasks(const bj::object& in, const CallContext&) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  std::string cluster_name = json::stringOr(cluster->doc, "clusterName");
  int64_t max = json::getInt(in, "maxResults").value_or(100);
  if (max < 1 || max > 100) return invalidParameter("maxResults must be between 1 and 100.");
  std::string family = json::stringOr(in, "family");
  std::string started_by = json::stringOr(in, "startedBy");
  std::string service = json::stringOr(in, "serviceName");
  std::string desired = json::stringOr(in, "desiredStatus", "RUNNING");
  std::string launch_type = json::stringOr(in, "launchType");
  if (!family.empty() && !service.empty())
    return invalidParameter("Family and serviceName cannot be specified together.");
  if (!json::stringOr(in, "containerInstance").empty()) return bj::object{{"taskArns", bj::array{}}};
  std::string after = BERTH_TRY(decodeToken("ListTasks", in));

  bj::array arns;
  bool more = false;
  std::string last;
  std::string prefix = taskArnPrefix(cluster_name);
  for (auto it = after.empty() ? tasks_.lower_bound(prefix) : tasks_.upper_bound(after);
       it != tasks_.end() && it->first.starts_with(prefix); ++it) {
    const Task& t = it->second;
    if (json::stringOr(t.doc, "desiredStatus") != desired) continue;
    if (!family.empty() && familyOf(t.doc) != family) continue;
    if (!started_by.empty() && json::stringOr(t.doc, "startedBy") != started_by) continue;
    if (!service.empty() && json::stringOr(t.doc, "group") != "service:" + service) continue;
    if (!launch_type.empty() && json::stringOr(t.doc, "launchType") != launch_type) continue;
    if (static_cast<int64_t>(arns.size()) == max) {
      more = true;
      break;
    }
    arns.push_back(bj::string(it->first));
    last = it->first;
  }
  bj::object out{{"taskArns", std::move(arns)}};
  if (more) out["nextToken"] = encodeToken("ListTasks", last);
  return out;
}

void Ecs::onTaskEvent(const agent::TaskEvent& event) {
  auto it = tasks_.find(event.task_arn);
  if (it == tasks_.end()) return;
  Task updated = it->second;
  bj::object& d = updated.doc;
  std::string phase = agent::taskPhaseName(event.phase);
  double at = toEpochSeconds(event.at);
  d["lastStatus"] = phase;
  d["version"] = json::getInt(d, "version").value_or(1) + 1;
  if (event.pull_started_at) d["pullStartedAt"] = toEpochSeconds(*event.pull_started_at);
  if (event.pull_stopped_at) d["pullStoppedAt"] = toEpochSeconds(*event.pull_stopped_at);
  if (!event.health_status.empty()) d["healthStatus"] = event.health_status;

  if (!event.private_ipv4.empty()) {
    std::string eni = "eni-" + json::stringOr(d, "taskArn").substr(json::stringOr(d, "taskArn").rfind('/') + 1, 17);
    std::string dashed = event.private_ipv4;
    std::replace(dashed.begin(), dashed.end(), '.', '-');
    std::string dns = "ip-" + dashed + ".ec2.internal";
    if (auto* attachments = d["attachments"].if_array()) {
      for (auto& a : *attachments) {
        auto& ao = a.as_object();
        if (json::stringOr(ao, "type") != "ElasticNetworkInterface") continue;
        ao["status"] = event.phase == agent::TaskPhase::kStopped ? "DELETED" : "ATTACHED";
        bj::array details;
        if (const auto* old = json::getArray(ao, "details"))
          for (const auto& detail : *old)
            if (json::stringOr(detail.as_object(), "name") == "subnetId") details.push_back(detail);
        details.push_back(bj::object{{"name", "networkInterfaceId"}, {"value", eni}});
        details.push_back(bj::object{{"name", "macAddress"}, {"value", event.mac_address}});
        details.push_back(bj::object{{"name", "privateDnsName"}, {"value", dns}});
        details.push_back(bj::object{{"name", "privateIPv4Address"}, {"value", event.private_ipv4}});
        ao["details"] = std::move(details);
      }
    }
  }
  std::string attachment_id;
  if (const auto* attachments = json::getArray(d, "attachments"))
    for (const auto& a : *attachments) attachment_id = json::stringOr(a.as_object(), "id");

  if (auto* containers = d["containers"].if_array()) {
    for (auto& c : *containers) {
      auto& co = c.as_object();
      std::string name = json::stringOr(co, "name");
      for (const auto& state : event.containers) {
        if (state.name != name) continue;
        co["lastStatus"] = state.last_status;
        if (state.exit_code) co["exitCode"] = *state.exit_code;
        if (!state.reason.empty()) co["reason"] = state.reason;
        if (!state.health_status.empty()) co["healthStatus"] = state.health_status;
        if (!state.runtime_id.empty()) co["runtimeId"] = state.runtime_id;
        if (!state.image_digest.empty()) co["imageDigest"] = state.image_digest;
      }
      if (!event.private_ipv4.empty() && !attachment_id.empty())
        co["networkInterfaces"] =
            bj::array{bj::object{{"attachmentId", attachment_id}, {"privateIpv4Address", event.private_ipv4}}};
    }
  }

  if (event.phase == agent::TaskPhase::kRunning && !d.contains("startedAt")) {
    // Later RUNNING events (health changes) keep the first start time.
    d["startedAt"] = at;
    d["connectivity"] = "CONNECTED";
    d["connectivityAt"] = at;
  }
  if (event.phase == agent::TaskPhase::kDeactivating || event.phase == agent::TaskPhase::kStopping) {
    // The agent stopping a task on its own (an essential container exited)
    // moves it to STOPPED as ECS does, with the time the stop began.
    d["desiredStatus"] = "STOPPED";
    if (!d.contains("stoppingAt")) d["stoppingAt"] = at;
    if (!d.contains("stopCode") && !event.stop_code.empty()) d["stopCode"] = event.stop_code;
    if (!d.contains("stoppedReason") && !event.stopped_reason.empty()) d["stoppedReason"] = event.stopped_reason;
  }
  if (event.phase == agent::TaskPhase::kStopped) {
    d["desiredStatus"] = "STOPPED";
    if (!d.contains("stoppingAt")) d["stoppingAt"] = at;
    d["stoppedAt"] = at;
    d["executionStoppedAt"] = at;
    if (!d.contains("stopCode") && !event.stop_code.empty()) d["stopCode"] = event.stop_code;
    if (!d.contains("stoppedReason") && !event.stopped_reason.empty()) d["stoppedReason"] = event.stopped_reason;
  }

  // What the change means to the task's service (failed launches, the
  // circuit breaker) is committed with the task, in one transaction.
  Service* service = nullptr;
  Service service_copy;
  if (!updated.service_name.empty()) {
    auto sit = services_.find(updated.cluster_name + "/" + updated.service_name);
    if (sit != services_.end()) {
      service = &sit->second;
      service_copy = *service;
    }
  }
  bool service_changed = service && noteTaskOutcome(service_copy, it->second, updated);

  store::Batch batch;
  persist(batch, updated);
  if (service_changed) persist(batch, service_copy);
  if (!commit(batch)) return;  // the agent re-reports on the next state change
  it->second = std::move(updated);
  if (service_changed) *service = std::move(service_copy);
  syncRegistration(it->second);
  if (service) reconcile(*service);
}

void Ecs::pruneStopped() {
  // Tasks stay describable for at least the retention, and at most a
  // minute beyond it.
  constexpr double kPruneInterval = 60;
  double now = clock_.epochSeconds();
  if (now < next_prune_at_) return;
  next_prune_at_ = now + kPruneInterval;
  double cutoff = now - static_cast<double>(config_.stopped_task_retention.count());
  store::Batch batch;
  std::vector<std::string> gone;
  for (const auto& [task_arn, t] : tasks_) {
    if (isLive(t.doc)) continue;
    const bj::value* stopped = json::find(t.doc, "stoppedAt");
    if (stopped && stopped->is_number() && stopped->to_number<double>() < cutoff) {
      batch.erase("ecs.task", task_arn);
      gone.push_back(task_arn);
    }
  }
  if (batch.empty() || !commit(batch)) return;
  for (const auto& a : gone) eraseTask(a);
}

}  // namespace berth::ecs
