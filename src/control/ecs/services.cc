// ECS services: CreateService, UpdateService, DescribeServices, ListServices,
// DeleteService. Deployments are recorded as ECS records them; scheduler.cc
// moves tasks towards them.
#include <algorithm>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/ecs/ecs.h"
#include "control/ecs/errors.h"

namespace berth::ecs {
namespace {

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

Result<bj::object> deploymentConfiguration(const bj::object* in, const bj::object* current) {
  bj::object out = current
                       ? *current
                       : bj::object{{"deploymentCircuitBreaker", bj::object{{"enable", false}, {"rollback", false}}},
                                    {"maximumPercent", 200},
                                    {"minimumHealthyPercent", 100}};
  if (!in) return out;
  for (const auto& [k, v] : *in) out[k] = v;
  int64_t max = json::getInt(out, "maximumPercent").value_or(200);
  int64_t min = json::getInt(out, "minimumHealthyPercent").value_or(100);
  if (max < 100 || max > 2000) return invalidParameter("Maximum Percent must be between 100 and 2000.");
  if (min < 0 || min > 100) return invalidParameter("Minimum Healthy Percent must be between 0 and 100.");
  if (min >= max) return invalidParameter("minimumHealthyPercent must be less than maximumPercent.");
  if (const auto* cb = json::getObject(out, "deploymentCircuitBreaker")) {
    bj::object normalized{{"enable", json::getBool(*cb, "enable").value_or(false)},
                          {"rollback", json::getBool(*cb, "rollback").value_or(false)}};
    out["deploymentCircuitBreaker"] = std::move(normalized);
  }
  return out;
}

}  // namespace

// A new PRIMARY deployment of a service as its document now stands: task
// definition, desired count, launch type or capacity provider strategy and
// network configuration (counts are derived on read).
bj::object Ecs::newPrimaryDeployment(const bj::object& service, double now) {
  std::string id = "ecs-svc/" + randomDigits(19);
  bj::object d{{"id", id},
               {"status", "PRIMARY"},
               {"taskDefinition", service.at("taskDefinition")},
               {"desiredCount", service.at("desiredCount")},
               {"pendingCount", 0},
               {"runningCount", 0},
               {"failedTasks", 0},
               {"createdAt", now},
               {"updatedAt", now},
               {"platformVersion", "1.4.0"},
               {"platformFamily", "Linux"},
               {"rolloutState", "IN_PROGRESS"},
               {"rolloutStateReason", fmt::format("ECS deployment {} in progress.", id)}};
  for (std::string_view key : {"launchType", "capacityProviderStrategy", "networkConfiguration"})
    if (const bj::value* v = json::find(service, key)) d[key] = *v;
  return d;
}

bj::object Ecs::serviceView(const Service& s, bool with_tags) const {
  bj::object out = s.doc;
  if (!with_tags) out.erase("tags");
  // Counts are derived from the tasks, never stored.
  std::map<std::string, std::pair<int64_t, int64_t>> by_deployment;  // running, pending
  int64_t running = 0, pending = 0;
  auto idx = tasks_by_service_.find(s.cluster_name + "/" + json::stringOr(s.doc, "serviceName"));
  static const std::set<std::string> kNone;
  for (const auto& task_arn : idx == tasks_by_service_.end() ? kNone : idx->second) {
    auto it = tasks_.find(task_arn);
    if (it == tasks_.end()) continue;
    const Task& t = it->second;
    std::string status = json::stringOr(t.doc, "lastStatus");
    if (json::stringOr(t.doc, "desiredStatus") != "RUNNING") continue;
    if (status == "RUNNING") {
      ++running;
      ++by_deployment[t.deployment_id].first;
    } else if (status == "PROVISIONING" || status == "PENDING" || status == "ACTIVATING") {
      ++pending;
      ++by_deployment[t.deployment_id].second;
    }
  }
  out["runningCount"] = running;
  out["pendingCount"] = pending;
  if (auto* deployments = out["deployments"].if_array())
    for (auto& d : *deployments) {
      auto& o = d.as_object();
      auto counts = by_deployment[json::stringOr(o, "id")];
      o["runningCount"] = counts.first;
      o["pendingCount"] = counts.second;
    }
  return out;
}

Result<bj::value> Ecs::createService(const bj::object& in, const CallContext& ctx) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  std::string cluster_name = json::stringOr(cluster->doc, "clusterName");
  std::string name = json::stringOr(in, "serviceName");
  if (name.empty()) return invalidParameter("serviceName can not be blank.");
  if (!validName(name))
    return invalidParameter(
        "Service name must be 1-255 characters: letters (upper and lower), numbers, hyphens and underscores.");
  std::string key = cluster_name + "/" + name;
  auto existing = services_.find(key);
  if (existing != services_.end() && json::stringOr(existing->second.doc, "status") != "INACTIVE")
    return invalidParameter("Creation of service was not idempotent.");

  std::string strategy = json::stringOr(in, "schedulingStrategy", "REPLICA");
  if (strategy != "REPLICA" && strategy != "DAEMON")
    return invalidParameter("schedulingStrategy must be REPLICA or DAEMON.");
  if (strategy == "DAEMON")
    return invalidParameter("The DAEMON scheduling strategy does not support the FARGATE launch type.");
  auto controller = json::getObject(in, "deploymentController");
  std::string controller_type = controller ? json::stringOr(*controller, "type", "ECS") : "ECS";
  if (controller_type != "ECS")
    return invalidParameter(fmt::format("berth supports only the ECS deployment controller, not {}.", controller_type));

  auto td_ref = json::getString(in, "taskDefinition");
  if (!td_ref || td_ref->empty()) return invalidParameter("TaskDefinition can not be blank.");
  auto td = resolveTaskDefinition(*td_ref);
  if (!td) return invalidParameter("TaskDefinition not found.");
  if (json::stringOr((*td)->doc, "status") != "ACTIVE") return invalidParameter("TaskDefinition is inactive");

  int64_t desired = json::getInt(in, "desiredCount").value_or(0);
  if (desired < 0) return invalidParameter("Desired count must be greater than or equal to 0.");
  std::string launch_type;
  bj::array capacity;
  BERTH_TRY(resolveLaunch(in, *cluster, &launch_type, &capacity));
  const bj::object* nc = json::getObject(in, "networkConfiguration");
  BERTH_TRY(validateNetworkConfiguration(nc, (*td)->doc));
  BERTH_TRY(validateServiceRegistries(in));
  bj::object dc = BERTH_TRY(deploymentConfiguration(json::getObject(in, "deploymentConfiguration"), nullptr));
  if (auto grace = json::getInt(in, "healthCheckGracePeriodSeconds"); grace && (*grace < 0 || *grace > 2147483647))
    return invalidParameter("healthCheckGracePeriodSeconds must be between 0 and 2147483647.");
  if (const auto* lbs = json::getArray(in, "loadBalancers"); lbs && !lbs->empty())
    return invalidParameter("berth does not support load balancers yet.");
  std::string propagate = json::stringOr(in, "propagateTags", "NONE");
  if (propagate != "NONE" && propagate != "SERVICE" && propagate != "TASK_DEFINITION")
    return invalidParameter("propagateTags must be one of NONE, SERVICE or TASK_DEFINITION.");

  double now = clock_.epochSeconds();
  Service s;
  s.cluster_name = cluster_name;
  bj::object& d = s.doc;
  d["serviceArn"] = arn(fmt::format("service/{}/{}", cluster_name, name));
  d["serviceName"] = name;
  d["clusterArn"] = json::stringOr(cluster->doc, "clusterArn");
  d["loadBalancers"] = bj::array{};
  d["serviceRegistries"] =
      json::getArray(in, "serviceRegistries") ? *json::getArray(in, "serviceRegistries") : bj::array{};
  d["status"] = "ACTIVE";
  d["desiredCount"] = desired;
  d["runningCount"] = 0;
  d["pendingCount"] = 0;
  if (capacity.empty())
    d["launchType"] = launch_type;
  else
    d["capacityProviderStrategy"] = capacity;
  d["platformVersion"] = json::stringOr(in, "platformVersion", "LATEST");
  d["platformFamily"] = "Linux";
  d["taskDefinition"] = json::stringOr((*td)->doc, "taskDefinitionArn");
  d["deploymentConfiguration"] = dc;
  d["roleArn"] =
      fmt::format("arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS", config_.account_id);
  d["events"] = bj::array{};
  d["createdAt"] = now;
  d["placementConstraints"] =
      json::getArray(in, "placementConstraints") ? *json::getArray(in, "placementConstraints") : bj::array{};
  d["placementStrategy"] =
      json::getArray(in, "placementStrategy") ? *json::getArray(in, "placementStrategy") : bj::array{};
  if (nc) d["networkConfiguration"] = *nc;
  if (auto grace = json::getInt(in, "healthCheckGracePeriodSeconds")) d["healthCheckGracePeriodSeconds"] = *grace;
  d["schedulingStrategy"] = strategy;
  d["deploymentController"] = bj::object{{"type", "ECS"}};
  d["tags"] = json::getArray(in, "tags") ? *json::getArray(in, "tags") : bj::array{};
  d["createdBy"] = ctx.principal_arn;
  d["enableECSManagedTags"] = json::getBool(in, "enableECSManagedTags").value_or(false);
  d["propagateTags"] = propagate;
  d["enableExecuteCommand"] = json::getBool(in, "enableExecuteCommand").value_or(false);
  d["availabilityZoneRebalancing"] = json::stringOr(in, "availabilityZoneRebalancing", "DISABLED");

  d["deployments"] = bj::array{newPrimaryDeployment(d, now)};

  store::Batch batch;
  persist(batch, s);
  BERTH_TRY(commit(batch));
  auto& stored = services_[key] = std::move(s);
  bj::object view = serviceView(stored, true);
  reconcile(stored);
  return bj::object{{"service", std::move(view)}};
}

Result<bj::value> Ecs::updateService(const bj::object& in, const CallContext&) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  std::string ref = json::stringOr(in, "service");
  if (ref.empty()) return invalidParameter("Service can not be blank.");
  std::string name = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
  auto it = services_.find(json::stringOr(cluster->doc, "clusterName") + "/" + name);
  if (it == services_.end()) return serviceNotFound();
  if (json::stringOr(it->second.doc, "status") != "ACTIVE") return serviceNotActive();

  Service updated = it->second;
  bj::object& d = updated.doc;
  bool new_deployment = json::getBool(in, "forceNewDeployment").value_or(false);

  if (auto desired = json::getInt(in, "desiredCount")) {
    if (*desired < 0) return invalidParameter("Desired count must be greater than or equal to 0.");
    d["desiredCount"] = *desired;
  }
  const bj::object* td_doc = nullptr;
  {
    auto current = resolveTaskDefinition(json::stringOr(d, "taskDefinition"));
    if (current) td_doc = &(*current)->doc;
  }
  if (auto td_ref = json::getString(in, "taskDefinition")) {
    auto td = resolveTaskDefinition(*td_ref);
    if (!td) return invalidParameter("TaskDefinition not found.");
    if (json::stringOr((*td)->doc, "status") != "ACTIVE") return invalidParameter("TaskDefinition is inactive");
    std::string td_arn = json::stringOr((*td)->doc, "taskDefinitionArn");
    if (td_arn != json::stringOr(d, "taskDefinition")) new_deployment = true;
    d["taskDefinition"] = td_arn;
    td_doc = &(*td)->doc;
  }
  // An empty strategy means the cluster's default strategy (nothing to
  // change when the cluster has none).
  const bj::array* cps_in = json::getArray(in, "capacityProviderStrategy");
  const bj::array* cluster_default = json::getArray(cluster->doc, "defaultCapacityProviderStrategy");
  bool placement_given = (cps_in && (!cps_in->empty() || (cluster_default && !cluster_default->empty()))) ||
                         json::getString(in, "launchType");
  if (placement_given) {
    std::string launch_type;
    bj::array capacity;
    BERTH_TRY(resolveLaunch(in, *cluster, &launch_type, &capacity));
    if (capacity.empty()) {
      if (!d.contains("launchType"))
        return invalidParameter("Updating from a capacity provider strategy to a launch type is not supported.");
      if (launch_type != json::stringOr(d, "launchType")) new_deployment = true;
      d["launchType"] = launch_type;
    } else {
      const bj::value* current = json::find(d, "capacityProviderStrategy");
      if (!current || *current != bj::value(capacity)) {
        // ECS refuses to change how tasks are placed under running tasks.
        if (!json::getBool(in, "forceNewDeployment").value_or(false))
          return invalidParameter(
              "When switching from launch type to capacity provider strategy on an existing service, or making a "
              "change to a capacity provider strategy on a service that is already using one, you must force a new "
              "deployment.");
        new_deployment = true;
      }
      d.erase("launchType");
      d["capacityProviderStrategy"] = capacity;
    }
  }
  if (const auto* nc = json::getObject(in, "networkConfiguration")) {
    if (td_doc) BERTH_TRY(validateNetworkConfiguration(nc, *td_doc));
    d["networkConfiguration"] = *nc;
    new_deployment = true;
  } else if (td_doc) {
    BERTH_TRY(validateNetworkConfiguration(json::getObject(d, "networkConfiguration"), *td_doc));
  }
  if (auto pv = json::getString(in, "platformVersion")) {
    if (*pv != json::stringOr(d, "platformVersion")) new_deployment = true;
    d["platformVersion"] = *pv;
  }
  if (const auto* dc = json::getObject(in, "deploymentConfiguration"))
    d["deploymentConfiguration"] =
        BERTH_TRY(deploymentConfiguration(dc, json::getObject(d, "deploymentConfiguration")));
  if (auto grace = json::getInt(in, "healthCheckGracePeriodSeconds")) d["healthCheckGracePeriodSeconds"] = *grace;
  if (auto exec = json::getBool(in, "enableExecuteCommand")) d["enableExecuteCommand"] = *exec;
  if (auto p = json::getString(in, "propagateTags")) d["propagateTags"] = *p;
  BERTH_TRY(validateServiceRegistries(in));
  if (const auto* sr = json::getArray(in, "serviceRegistries")) d["serviceRegistries"] = *sr;

  double now = clock_.epochSeconds();
  auto& deployments = d["deployments"].as_array();
  if (new_deployment) {
    for (auto& dep : deployments) {
      auto& o = dep.as_object();
      if (json::stringOr(o, "status") == "PRIMARY") {
        o["status"] = "ACTIVE";
        o["updatedAt"] = now;
      }
    }
    deployments.insert(deployments.begin(), newPrimaryDeployment(d, now));
    // A new deployment starts the launch throttle afresh.
    updated.sched.launch_failures = 0;
    updated.sched.next_launch_at = 0;
  } else if (!deployments.empty()) {
    auto& primary = deployments.front().as_object();
    primary["desiredCount"] = d["desiredCount"];
    primary["updatedAt"] = now;
  }

  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  it->second = std::move(updated);
  bj::object view = serviceView(it->second, true);
  reconcile(it->second);
  return bj::object{{"service", std::move(view)}};
}

Result<bj::value> Ecs::describeServices(const bj::object& in, const CallContext&) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  auto refs = json::stringList(in, "services");
  if (refs.empty()) return invalidParameter("Services cannot be empty.");
  if (refs.size() > 10) return invalidParameter("Services can have at most 10 items.");
  auto include = json::stringList(in, "include");
  bool with_tags = std::find(include.begin(), include.end(), "TAGS") != include.end();
  std::string cluster_name = json::stringOr(cluster->doc, "clusterName");
  bj::array services, failures;
  for (const auto& ref : refs) {
    std::string name = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
    std::string service_arn = arn(fmt::format("service/{}/{}", cluster_name, name));
    auto it = services_.find(cluster_name + "/" + name);
    if (it == services_.end() || (ref.starts_with("arn:") && ref != service_arn)) {
      failures.push_back(bj::object{{"arn", ref.starts_with("arn:") ? ref : service_arn}, {"reason", "MISSING"}});
      continue;
    }
    services.push_back(serviceView(it->second, with_tags));
  }
  return bj::object{{"services", std::move(services)}, {"failures", std::move(failures)}};
}

Result<bj::value> Ecs::listServices(const bj::object& in, const CallContext&) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  std::string cluster_name = json::stringOr(cluster->doc, "clusterName");
  int64_t max = json::getInt(in, "maxResults").value_or(10);
  if (max < 1 || max > 100) return invalidParameter("maxResults must be between 1 and 100.");
  std::string launch_type = json::stringOr(in, "launchType");
  std::string strategy = json::stringOr(in, "schedulingStrategy");
  std::string after = BERTH_TRY(decodeToken("ListServices", in));
  bj::array arns;
  bool more = false;
  std::string last;
  std::string prefix = cluster_name + "/";
  for (auto it = after.empty() ? services_.lower_bound(prefix) : services_.upper_bound(after);
       it != services_.end() && it->first.starts_with(prefix); ++it) {
    const auto& d = it->second.doc;
    if (json::stringOr(d, "status") == "INACTIVE") continue;
    if (!launch_type.empty() && json::stringOr(d, "launchType") != launch_type) continue;
    if (!strategy.empty() && json::stringOr(d, "schedulingStrategy") != strategy) continue;
    if (static_cast<int64_t>(arns.size()) == max) {
      more = true;
      break;
    }
    arns.push_back(d.at("serviceArn"));
    last = it->first;
  }
  bj::object out{{"serviceArns", std::move(arns)}};
  if (more) out["nextToken"] = encodeToken("ListServices", last);
  return out;
}

Result<bj::value> Ecs::deleteService(const bj::object& in, const CallContext&) {
  Cluster* cluster = BERTH_TRY(activeCluster(in));
  std::string ref = json::stringOr(in, "service");
  if (ref.empty()) return invalidParameter("Service can not be blank.");
  std::string name = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
  auto it = services_.find(json::stringOr(cluster->doc, "clusterName") + "/" + name);
  if (it == services_.end()) return serviceNotFound();
  std::string status = json::stringOr(it->second.doc, "status");
  if (status == "INACTIVE") return serviceNotActive();
  bool force = json::getBool(in, "force").value_or(false);
  if (!force && json::getInt(it->second.doc, "desiredCount").value_or(0) > 0)
    return invalidParameter("The service cannot be stopped while it is scaled above 0.");

  Service updated = it->second;
  updated.doc["status"] = "DRAINING";
  updated.doc["desiredCount"] = 0;
  for (auto& dep : updated.doc["deployments"].as_array()) dep.as_object()["desiredCount"] = 0;
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  it->second = std::move(updated);
  bj::object view = serviceView(it->second, true);
  reconcile(it->second);
  return bj::object{{"service", std::move(view)}};
}

}  // namespace berth::ecs
