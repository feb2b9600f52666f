// ECS clusters: CreateCluster, DescribeClusters, ListClusters, DeleteCluster,
// UpdateCluster, UpdateClusterSettings, PutClusterCapacityProviders and the
// two built-in capacity providers (FARGATE, FARGATE_SPOT).
#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/ecs/errors.h"

namespace berth::ecs {
namespace {

bool isBuiltinProvider(std::string_view name) { return name == "FARGATE" || name == "FARGATE_SPOT"; }

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

Status validateSettings(const bj::array& settings) {
  for (const auto& v : settings) {
    const auto& o = v.as_object();
    std::string name = json::stringOr(o, "name");
    std::string value = json::stringOr(o, "value");
    if (name != "containerInsights")
      return invalidParameter(fmt::format("Setting name '{}' is not valid. Valid values: containerInsights.", name));
    if (value != "enabled" && value != "disabled" && value != "enhanced")
      return invalidParameter("The value for containerInsights must be one of 'enabled', 'disabled' or 'enhanced'.");
  }
  return {};
}

// Replaces settings by name, keeping the others.
void mergeSettings(bj::object& doc, const bj::array& updates) {
  bj::array& current = doc["settings"].is_array() ? doc["settings"].as_array() : doc["settings"].emplace_array();
  for (const auto& u : updates) {
    std::string name = json::stringOr(u.as_object(), "name");
    bool replaced = false;
    for (auto& s : current)
      if (json::stringOr(s.as_object(), "name") == name) {
        s = u;
        replaced = true;
      }
    if (!replaced) current.push_back(u);
  }
}

Status validateProviders(const std::vector<std::string>& providers) {
  for (const auto& p : providers)
    if (!isBuiltinProvider(p))
      return invalidParameter(
          fmt::format("The specified capacity provider '{}' is not in an ACTIVE state. Specify a valid capacity "
                      "provider and try again.",
                      p));
  return {};
}

}  // namespace

Result<bj::value> Ecs::createCluster(const bj::object& in, const CallContext&) {
  std::string name = json::stringOr(in, "clusterName", "default");
  if (!validName(name))
    return invalidParameter(
        "Cluster name must be 1-255 characters: letters (upper and lower), numbers, hyphens and underscores.");

  auto existing = clusters_.find(name);
  if (existing != clusters_.end() && json::stringOr(existing->second.doc, "status") == "ACTIVE")
    return bj::object{{"cluster", clusterView(existing->second, {"SETTINGS", "CONFIGURATIONS", "TAGS"})}};

  bj::array settings{bj::object{{"name", "containerInsights"}, {"value", "disabled"}}};
  if (const auto* s = json::getArray(in, "settings")) {
    BERTH_TRY(validateSettings(*s));
  }
  auto providers = json::stringList(in, "capacityProviders");
  BERTH_TRY(validateProviders(providers));

  Cluster c;
  c.doc = {{"clusterArn", clusterArn(name)},
           {"clusterName", name},
           {"status", "ACTIVE"},
           {"settings", settings},
           {"capacityProviders", bj::value_from(providers)},
           {"defaultCapacityProviderStrategy", bj::array{}},
           {"tags", bj::array{}},
           {"attachments", bj::array{}}};
  if (const auto* s = json::getArray(in, "settings")) mergeSettings(c.doc, *s);
  if (const auto* conf = json::getObject(in, "configuration")) c.doc["configuration"] = *conf;
  if (const auto* sc = json::getObject(in, "serviceConnectDefaults")) c.doc["serviceConnectDefaults"] = *sc;
  if (const auto* tags = json::getArray(in, "tags")) c.doc["tags"] = *tags;
  if (const auto* strategy = json::getArray(in, "defaultCapacityProviderStrategy")) {
    std::string lt;
    bj::array resolved;
    bj::object probe{{"capacityProviderStrategy", *strategy}};
    BERTH_TRY(resolveLaunch(probe, c, &lt, &resolved));
    c.doc["defaultCapacityProviderStrategy"] = std::move(resolved);
  }

  store::Batch batch;
  persist(batch, c);
  BERTH_TRY(commit(batch));
  auto& stored = clusters_[name] = std::move(c);
  return bj::object{{"cluster", clusterView(stored, {"SETTINGS", "CONFIGURATIONS", "TAGS"})}};
}

bj::object Ecs::clusterView(const Cluster& c, const std::vector<std::string>& include) const {
  auto has = [&](std::string_view what) { return std::find(include.begin(), include.end(), what) != include.end(); };
  std::string name = json::stringOr(c.doc, "clusterName");
  int64_t running = 0, pending = 0, services = 0;
  forEachTaskInCluster(name, [&](const Task& t) {
    std::string status = json::stringOr(t.doc, "lastStatus");
    if (status == "RUNNING")
      ++running;
    else if (status == "PROVISIONING" || status == "PENDING" || status == "ACTIVATING")
      ++pending;
  });
  for (const auto& [_, s] : services_)
    if (s.cluster_name == name && json::stringOr(s.doc, "status") == "ACTIVE") ++services;

  bj::object out = c.doc;
  out["registeredContainerInstancesCount"] = 0;
  out["runningTasksCount"] = running;
  out["pendingTasksCount"] = pending;
  out["activeServicesCount"] = services;
  if (!has("TAGS")) out.erase("tags");
  if (!has("SETTINGS")) out.erase("settings");
  if (!has("CONFIGURATIONS")) out.erase("configuration");
  if (!has("ATTACHMENTS")) out.erase("attachments");
  if (has("STATISTICS")) {
    bj::array stats;
    for (const auto& [key, value] :
         std::initializer_list<std::pair<const char*, int64_t>>{{"runningFargateTasksCount", running},
                                                                {"pendingFargateTasksCount", pending},
                                                                {"activeFargateServiceCount", services},
                                                                {"drainingFargateServiceCount", 0},
                                                                {"runningEC2TasksCount", 0},
                                                                {"pendingEC2TasksCount", 0},
                                                                {"activeEC2ServiceCount", 0},
                                                                {"drainingEC2ServiceCount", 0}})
      stats.push_back(bj::object{{"name", key}, {"value", std::to_string(value)}});
    out["statistics"] = std::move(stats);
  } else {
    out["statistics"] = bj::array{};
  }
  return out;
}

Result<bj::value> Ecs::describeClusters(const bj::object& in, const CallContext&) {
  auto refs = json::stringList(in, "clusters");
  if (refs.empty()) refs.push_back("default");
  if (refs.size() > 100) return invalidParameter("clusters can have at most 100 items.");
  auto include = json::stringList(in, "include");
  bj::array clusters, failures;
  for (const auto& ref : refs) {
    std::string name = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
    auto it = clusters_.find(name);
    if (it == clusters_.end() || (ref.starts_with("arn:") && ref != clusterArn(name))) {
      failures.push_back(bj::object{{"arn", ref.starts_with("arn:") ? ref : clusterArn(ref)}, {"reason", "MISSING"}});
      continue;
    }
    clusters.push_back(clusterView(it->second, include));
  }
  return bj::object{{"clusters", std::move(clusters)}, {"failures", std::move(failures)}};
}

Result<bj::value> Ecs::listClusters(const bj::object& in, const CallContext&) {
  int64_t max = json::getInt(in, "maxResults").value_or(100);
  if (max < 1 || max > 100) return invalidParameter("maxResults must be between 1 and 100.");
  std::string after = BERTH_TRY(decodeToken("ListClusters", in));
  bj::array arns;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? clusters_.begin() : clusters_.upper_bound(after); it != clusters_.end(); ++it) {
    if (json::stringOr(it->second.doc, "status") != "ACTIVE") continue;
    if (static_cast<int64_t>(arns.size()) == max) {
      more = true;
      break;
    }
    arns.push_back(bj::string(json::stringOr(it->second.doc, "clusterArn")));
    last = it->first;
  }
  bj::object out{{"clusterArns", std::move(arns)}};
  if (more) out["nextToken"] = encodeToken("ListClusters", last);
  return out;
}

Result<bj::value> Ecs::deleteCluster(const bj::object& in, const CallContext&) {
  if (!json::getString(in, "cluster")) return invalidParameter("cluster can not be blank.");
  Cluster* c = BERTH_TRY(activeCluster(in));
  std::string name = json::stringOr(c->doc, "clusterName");
  for (const auto& [_, s] : services_) {
    std::string status = json::stringOr(s.doc, "status");
    if (s.cluster_name == name && (status == "ACTIVE" || status == "DRAINING"))
      return fail(ErrorCode::kFailedPrecondition, "The Cluster cannot be deleted while Services are active.",
                  "ClusterContainsServicesException");
  }
  bool active_tasks = false;
  forEachTaskInCluster(name, [&](const Task& t) { active_tasks |= json::stringOr(t.doc, "lastStatus") != "STOPPED"; });
  if (active_tasks)
    return fail(ErrorCode::kFailedPrecondition, "The Cluster cannot be deleted while Tasks are active.",
                "ClusterContainsTasksException");
  Cluster updated = *c;
  updated.doc["status"] = "INACTIVE";
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  *c = std::move(updated);
  return bj::object{{"cluster", clusterView(*c, {"SETTINGS", "CONFIGURATIONS", "TAGS"})}};
}

Result<bj::value> Ecs::updateCluster(const bj::object& in, const CallContext&) {
  Cluster* c = BERTH_TRY(activeCluster(in));
  Cluster updated = *c;
  if (const auto* s = json::getArray(in, "settings")) {
    BERTH_TRY(validateSettings(*s));
    mergeSettings(updated.doc, *s);
  }
  if (const auto* conf = json::getObject(in, "configuration")) updated.doc["configuration"] = *conf;
  if (const auto* sc = json::getObject(in, "serviceConnectDefaults")) updated.doc["serviceConnectDefaults"] = *sc;
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  *c = std::move(updated);
  return bj::object{{"cluster", clusterView(*c, {"SETTINGS", "CONFIGURATIONS", "TAGS"})}};
}

Result<bj::value> Ecs::updateClusterSettings(const bj::object& in, const CallContext& ctx) {
  if (!json::getArray(in, "settings")) return invalidParameter("settings can not be null.");
  return updateCluster(in, ctx);
}

Result<bj::value> Ecs::putClusterCapacityProviders(const bj::object& in, const CallContext&) {
  Cluster* c = BERTH_TRY(activeCluster(in));
  const bj::array* providers_in = json::getArray(in, "capacityProviders");
  const bj::array* strategy_in = json::getArray(in, "defaultCapacityProviderStrategy");
  if (!providers_in) return invalidParameter("capacityProviders can not be null.");
  if (!strategy_in) return invalidParameter("defaultCapacityProviderStrategy can not be null.");
  auto providers = json::stringList(in, "capacityProviders");
  BERTH_TRY(validateProviders(providers));
  // A provider in use by a service cannot be removed.
  std::string name = json::stringOr(c->doc, "clusterName");
  for (const auto& [_, s] : services_) {
    if (s.cluster_name != name || json::stringOr(s.doc, "status") != "ACTIVE") continue;
    if (const auto* used = json::getArray(s.doc, "capacityProviderStrategy"))
      for (const auto& item : *used) {
        std::string p = json::stringOr(item.as_object(), "capacityProvider");
        if (std::find(providers.begin(), providers.end(), p) == providers.end())
          return fail(ErrorCode::kFailedPrecondition,
                      fmt::format("The specified capacity provider {} is in use and cannot be removed.", p),
                      "ResourceInUseException");
      }
  }
  Cluster updated = *c;
  updated.doc["capacityProviders"] = bj::value_from(providers);
  bj::array resolved;
  if (!strategy_in->empty()) {
    std::string lt;
    bj::object probe{{"capacityProviderStrategy", *strategy_in}};
    BERTH_TRY(resolveLaunch(probe, updated, &lt, &resolved));
  }
  updated.doc["defaultCapacityProviderStrategy"] = std::move(resolved);
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  *c = std::move(updated);
  return bj::object{{"cluster", clusterView(*c, {"SETTINGS", "CONFIGURATIONS", "TAGS"})}};
}

Result<bj::value> Ecs::describeCapacityProviders(const bj::object& in, const CallContext&) {
  auto refs = json::stringList(in, "capacityProviders");
  if (refs.empty()) refs = {"FARGATE", "FARGATE_SPOT"};
  bj::array providers, failures;
  for (const auto& ref : refs) {
    std::string name = ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
    std::string provider_arn = arn("capacity-provider/" + name);
    if (!isBuiltinProvider(name)) {
      failures.push_back(bj::object{{"arn", ref.starts_with("arn:") ? ref : provider_arn}, {"reason", "MISSING"}});
      continue;
    }
    providers.push_back(
        bj::object{{"capacityProviderArn", provider_arn}, {"name", name}, {"status", "ACTIVE"}, {"tags", bj::array{}}});
  }
  return bj::object{{"capacityProviders", std::move(providers)}, {"failures", std::move(failures)}};
}

}  // namespace berth::ecs
