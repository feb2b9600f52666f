#include "control/ecs/ecs.h"

#include <cstring>

#include <fmt/format.h>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/random.h"
#include "control/ecs/errors.h"

namespace berth::ecs {
namespace {

constexpr std::string_view kClusterKind = "ecs.cluster";
constexpr std::string_view kTaskDefKind = "ecs.taskdef";
constexpr std::string_view kServiceKind = "ecs.service";
constexpr std::string_view kTaskKind = "ecs.task";
constexpr std::string_view kAccountKind = "ecs.account";

std::string taskDefKey(std::string_view family, int64_t revision) { return fmt::format("{}:{:010}", family, revision); }

// The part of an ARN or name after the last '/'.
std::string_view lastSegment(std::string_view s) {
  auto slash = s.rfind('/');
  return slash == std::string_view::npos ? s : s.substr(slash + 1);
}

std::string base64UrlEncode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out.push_back(kAlphabet[(buf >> (bits - 6)) & 63]);
      bits -= 6;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buf << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buf >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// A keyed checksum so that a token names a position we handed out (FNV-1a
// over key and payload; tokens are not secrets, only tamper-evident).
uint64_t tokenChecksum(std::string_view key, std::string_view payload) {
  uint64_t h = 1469598103934665603ull;
  for (std::string_view part : {key, payload})
    for (unsigned char c : part) {
      h ^= c;
      h *= 1099511628211ull;
    }
  return h;
}

}  // namespace

Ecs::Ecs(EcsConfig config, store::Store& store, const Clock& clock, const control::NetworkInventory& network)
    : config_(std::move(config)), store_(store), clock_(clock), network_(network), token_key_(randomHex(16)) {}

Ecs::~Ecs() = default;

const std::map<std::string, Ecs::Handler, std::less<>>& Ecs::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"CreateCluster", &Ecs::createCluster},
      {"DescribeClusters", &Ecs::describeClusters},
      {"ListClusters", &Ecs::listClusters},
      {"DeleteCluster", &Ecs::deleteCluster},
      {"UpdateCluster", &Ecs::updateCluster},
      {"UpdateClusterSettings", &Ecs::updateClusterSettings},
      {"PutClusterCapacityProviders", &Ecs::putClusterCapacityProviders},
      {"DescribeCapacityProviders", &Ecs::describeCapacityProviders},
      {"RegisterTaskDefinition", &Ecs::registerTaskDefinition},
      {"DescribeTaskDefinition", &Ecs::describeTaskDefinition},
      {"ListTaskDefinitions", &Ecs::listTaskDefinitions},
      {"ListTaskDefinitionFamilies", &Ecs::listTaskDefinitionFamilies},
      {"DeregisterTaskDefinition", &Ecs::deregisterTaskDefinition},
      {"DeleteTaskDefinitions", &Ecs::deleteTaskDefinitions},
      {"CreateService", &Ecs::createService},
      {"UpdateService", &Ecs::updateService},
      {"DescribeServices", &Ecs::describeServices},
      {"ListServices", &Ecs::listServices},
      {"DeleteService", &Ecs::deleteService},
      {"RunTask", &Ecs::runTask},
      {"StartTask", &Ecs::startTask},
      {"StopTask", &Ecs::stopTask},
      {"DescribeTasks", &Ecs::describeTasks},
      {"ListTasks", &Ecs::listTasks},
      {"TagResource", &Ecs::tagResource},
      {"UntagResource", &Ecs::untagResource},
      {"ListTagsForResource", &Ecs::listTagsForResource},
      {"ListAccountSettings", &Ecs::listAccountSettings},
      {"PutAccountSetting", &Ecs::putAccountSetting},
      {"PutAccountSettingDefault", &Ecs::putAccountSettingDefault},
      {"DeleteAccountSetting", &Ecs::deleteAccountSetting},
  };
  return kHandlers;
}

bool Ecs::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> Ecs::invoke(std::string_view operation, const bj::object& input, const CallContext& ctx) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement ECS {} yet.", operation));
  return (this->*(it->second))(input, ctx);
}

Status Ecs::load() {
  auto parse = [](const store::Record& r) -> Result<bj::object> {
    auto v = json::parse(r.value);
    if (!v || !v->is_object())
      return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{} in the store", r.kind, r.key));
    return std::move(v->get_object());
  };
  for (const auto& r : BERTH_TRY(store_.loadAll(kClusterKind))) {
    bj::object o = BERTH_TRY(parse(r));
    clusters_[r.key] = Cluster{std::move(o)};
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kTaskDefKind))) {
    bj::object o = BERTH_TRY(parse(r));
    TaskDefinition td;
    td.doc = o["taskDefinition"].as_object();
    td.tags = o["tags"].as_array();
    std::string family = json::stringOr(td.doc, "family");
    int64_t revision = json::getInt(td.doc, "revision").value_or(0);
    task_definitions_[family][revision] = std::move(td);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kServiceKind))) {
    bj::object o = BERTH_TRY(parse(r));
    Service s;
    s.doc = o["service"].as_object();
    s.cluster_name = json::stringOr(o, "cluster");
    if (const auto* sched = json::getObject(o, "scheduler")) {
      s.sched.launch_failures = json::getInt(*sched, "launchFailures").value_or(0);
      if (const bj::value* v = json::find(*sched, "nextLaunchAt"); v && v->is_number())
        s.sched.next_launch_at = v->to_number<double>();
      if (const bj::value* v = json::find(*sched, "steadyEventAt"); v && v->is_number())
        s.sched.steady_event_at = v->to_number<double>();
      if (const bj::value* v = json::find(*sched, "placementEventAt"); v && v->is_number())
        s.sched.placement_event_at = v->to_number<double>();
      if (const auto* last = json::getObject(*sched, "lastCompleted")) s.sched.last_completed = *last;
    }
    services_[r.key] = std::move(s);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kTaskKind))) {
    bj::object o = BERTH_TRY(parse(r));
    Task t;
    t.doc = o["task"].as_object();
    t.cluster_name = json::stringOr(o, "cluster");
    t.service_name = json::stringOr(o, "service");
    t.deployment_id = json::stringOr(o, "deployment");
    insertTask(std::move(t));
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kAccountKind))) {
    account_settings_[r.key] = BERTH_TRY(parse(r));
  }
  for (const auto& r : BERTH_TRY(store_.loadAll("ecs.spot"))) {
    bj::object o = BERTH_TRY(parse(r));
    spot_available_ = json::getBool(o, "available").value_or(true);
    const bj::value* rate = json::find(o, "perTaskPerHour");
    spot_rate_ = rate && rate->is_number() ? rate->to_number<double>() : 0;
    spot_seed_ = static_cast<uint64_t>(json::getInt(o, "seed").value_or(0));
    spot_rng_.seed(spot_seed_);
    spot_drawn_until_ = clock_.epochSeconds();
  }
  return {};
}

void Ecs::attachAgent(agent::Agent* agent) {
  agent_ = agent;
  std::vector<std::string> known = agent_->knownTasks();
  std::set<std::string> alive(known.begin(), known.end());
  store::Batch batch;
  for (auto& [arn, task] : tasks_) {
    if (json::stringOr(task.doc, "lastStatus") == "STOPPED" || alive.contains(arn)) continue;
    // The agent has no record of it: whatever ran is gone.
    applyStop(task, "TaskFailedToStart", "Task stopped: the agent lost track of it across a restart of berthd.");
    task.doc["lastStatus"] = "STOPPED";
    task.doc["stoppedAt"] = clock_.epochSeconds();
    persist(batch, task);
  }
  if (!batch.empty()) (void)commit(batch);
}

std::string Ecs::arn(std::string_view resource) const {
  return fmt::format("arn:aws:ecs:{}:{}:{}", config_.region, config_.account_id, resource);
}

Result<Ecs::Cluster*> Ecs::activeCluster(const bj::object& in) {
  std::string ref = json::stringOr(in, "cluster", "default");
  std::string name(lastSegment(ref));
  if (ref.starts_with("arn:") && ref != clusterArn(name)) return clusterNotFound();
  auto it = clusters_.find(name);
  if (it == clusters_.end() || json::stringOr(it->second.doc, "status") != "ACTIVE") return clusterNotFound();
  return &it->second;
}

Result<const Ecs::TaskDefinition*> Ecs::resolveTaskDefinition(std::string_view ref) const {
  std::string_view spec = ref;
  if (ref.starts_with("arn:")) {
    std::string prefix = arn("task-definition/");
    if (!ref.starts_with(prefix)) return clientError("Unable to describe task definition.");
    spec = ref.substr(prefix.size());
  }
  auto colon = spec.rfind(':');
  std::string_view family = colon == std::string_view::npos ? spec : spec.substr(0, colon);
  auto fit = task_definitions_.find(family);
  if (fit == task_definitions_.end()) return clientError("Unable to describe task definition.");
  if (colon == std::string_view::npos) {
    // A family alone means its latest ACTIVE revision.
    for (auto it = fit->second.rbegin(); it != fit->second.rend(); ++it)
      if (json::stringOr(it->second.doc, "status") == "ACTIVE") return &it->second;
    return clientError("Unable to describe task definition.");
  }
  int64_t revision = 0;
  for (char c : spec.substr(colon + 1)) {
    if (c < '0' || c > '9' || revision > 1'000'000'000) return clientError("Unable to describe task definition.");
    revision = revision * 10 + (c - '0');
  }
  auto rit = fit->second.find(revision);
  if (rit == fit->second.end() || json::stringOr(rit->second.doc, "status") == "DELETE_IN_PROGRESS")
    return clientError("Unable to describe task definition.");
  return &rit->second;
}

void Ecs::insertTask(Task task) {
  std::string task_arn = json::stringOr(task.doc, "taskArn");
  if (!task.service_name.empty()) tasks_by_service_[task.cluster_name + "/" + task.service_name].insert(task_arn);
  tasks_[task_arn] = std::move(task);
}

void Ecs::eraseTask(const std::string& task_arn) {
  auto it = tasks_.find(task_arn);
  if (it == tasks_.end()) return;
  if (!it->second.service_name.empty()) {
    auto idx = tasks_by_service_.find(it->second.cluster_name + "/" + it->second.service_name);
    if (idx != tasks_by_service_.end()) {
      idx->second.erase(task_arn);
      if (idx->second.empty()) tasks_by_service_.erase(idx);
    }
  }
  tasks_.erase(it);
}

Status Ecs::commit(store::Batch& batch) {
  auto status = store_.commit(batch);
  if (!status) {
    // An I/O error leaves the store refusing writes until berthd restarts
    // and reloads (the model in memory is unchanged): say so where an
    // operator looks.
    fmt::print(stderr, "berthd: state store commit failed: {}\n", status.error().message);
    Error e = status.error();
    e.aws_type = "ServerException";
    e.message = "Server error: the change could not be saved (" + e.message + ").";
    return std::unexpected(std::move(e));
  }
  return {};
}

void Ecs::persist(store::Batch& batch, const Cluster& c) const {
  batch.put(std::string(kClusterKind), json::stringOr(c.doc, "clusterName"), json::serialize(c.doc));
}

void Ecs::persist(store::Batch& batch, const Service& s) const {
  bj::object sched{{"launchFailures", s.sched.launch_failures},
                   {"nextLaunchAt", s.sched.next_launch_at},
                   {"steadyEventAt", s.sched.steady_event_at},
                   {"placementEventAt", s.sched.placement_event_at},
                   {"lastCompleted", s.sched.last_completed}};
  bj::object o{{"cluster", s.cluster_name}, {"service", s.doc}, {"scheduler", std::move(sched)}};
  batch.put(std::string(kServiceKind), s.cluster_name + "/" + json::stringOr(s.doc, "serviceName"), json::serialize(o));
}

void Ecs::persist(store::Batch& batch, const Task& t) const {
  bj::object o{
      {"cluster", t.cluster_name}, {"service", t.service_name}, {"deployment", t.deployment_id}, {"task", t.doc}};
  batch.put(std::string(kTaskKind), json::stringOr(t.doc, "taskArn"), json::serialize(o));
}

void Ecs::persist(store::Batch& batch, const TaskDefinition& td) const {
  bj::object o{{"taskDefinition", td.doc}, {"tags", td.tags}};
  batch.put(std::string(kTaskDefKind),
            taskDefKey(json::stringOr(td.doc, "family"), json::getInt(td.doc, "revision").value_or(0)),
            json::serialize(o));
}

std::string Ecs::encodeToken(std::string_view op, std::string_view position) const {
  std::string payload = std::string(op) + "\n" + std::string(position);
  uint64_t sum = tokenChecksum(token_key_, payload);
  payload.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return base64UrlEncode(payload);
}

Result<std::string> Ecs::decodeToken(std::string_view op, const bj::object& in) const {
  auto token = json::getString(in, "nextToken");
  if (!token || token->empty()) return std::string();
  auto raw = base64UrlDecode(*token);
  if (!raw || raw->size() < sizeof(uint64_t) + op.size() + 1) return invalidParameter("Invalid token");
  std::string payload = raw->substr(0, raw->size() - sizeof(uint64_t));
  uint64_t sum;
  std::memcpy(&sum, raw->data() + payload.size(), sizeof sum);
  if (sum != tokenChecksum(token_key_, payload) || !payload.starts_with(std::string(op) + "\n"))
    return invalidParameter("Invalid token");
  return payload.substr(op.size() + 1);
}

Status Ecs::validateNetworkConfiguration(const bj::object* nc, const bj::object& task_definition) const {
  if (json::stringOr(task_definition, "networkMode") != "awsvpc") {
    if (nc)
      return invalidParameter("Network Configuration is not valid for the given networkMode of this task definition.");
    return {};
  }
  const bj::object* vpc = nc ? json::getObject(*nc, "awsvpcConfiguration") : nullptr;
  if (!vpc) return invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  auto subnets = json::stringList(*vpc, "subnets");
  if (subnets.empty()) return invalidParameter("subnets can not be empty.");
  if (subnets.size() > 16) return invalidParameter("subnets can have at most 16 items.");
  for (const auto& id : subnets)
    if (!network_.findSubnet(id))
      return invalidParameter(
          fmt::format("Error retrieving subnet information for [{}]: The subnet ID '{}' does not exist (ErrorCode: "
                      "InvalidSubnetID.NotFound)",
                      id, id));
  auto groups = json::stringList(*vpc, "securityGroups");
  if (groups.size() > 5) return invalidParameter("securityGroups can have at most 5 items.");
  for (const auto& id : groups)
    if (!network_.hasSecurityGroup(id))
      return invalidParameter(
          fmt::format("Error retrieving security group information for [{}]: The security group '{}' does not exist "
                      "(ErrorCode: InvalidGroup.NotFound)",
                      id, id));
  auto assign = json::stringOr(*vpc, "assignPublicIp", "DISABLED");
  if (assign != "ENABLED" && assign != "DISABLED")
    return invalidParameter("assignPublicIp must be ENABLED or DISABLED.");
  return {};
}

Status Ecs::resolveLaunch(const bj::object& in, const Cluster& cluster, std::string* launch_type,
                          bj::array* strategy) const {
  auto lt = json::getString(in, "launchType");
  const bj::array* cps = json::getArray(in, "capacityProviderStrategy");
  if (lt && cps && !cps->empty())
    return invalidParameter(
        "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
  if (lt) {
    if (*lt != "FARGATE" && *lt != "EC2" && *lt != "EXTERNAL" && *lt != "MANAGED_INSTANCES")
      return invalidParameter(fmt::format("launchType '{}' is not valid.", *lt));
    *launch_type = std::string(*lt);
    return {};
  }
  const bj::array* chosen = cps && !cps->empty() ? cps : json::getArray(cluster.doc, "defaultCapacityProviderStrategy");
  if (!chosen || chosen->empty()) {
    // AWS's default with no strategy anywhere is EC2, which berth's
    // Fargate-only cluster has no instances for; tasks then fail to place.
    *launch_type = "EC2";
    return {};
  }
  std::vector<std::string> attached = json::stringList(cluster.doc, "capacityProviders");
  int bases = 0;
  int64_t weight_sum = 0;
  std::set<std::string> seen;
  for (const auto& item : *chosen) {
    if (!item.is_object()) return invalidParameter("capacityProviderStrategy items must be objects.");
    const auto& o = item.get_object();
    std::string name = json::stringOr(o, "capacityProvider");
    int64_t base = json::getInt(o, "base").value_or(0);
    int64_t weight = json::getInt(o, "weight").value_or(0);
    if (name.empty()) return invalidParameter("capacityProvider can not be blank.");
    if (!seen.insert(name).second)
      return invalidParameter("The specified capacity provider strategy cannot contain duplicate capacity providers.");
    if (base < 0 || base > 100000) return invalidParameter("base must be between 0 and 100000.");
    if (weight < 0 || weight > 1000) return invalidParameter("weight must be between 0 and 1000.");
    if (base > 0) ++bases;
    weight_sum += weight;
    if (std::find(attached.begin(), attached.end(), name) == attached.end())
      return invalidParameter(
          fmt::format("The specified capacity provider strategy cannot contain a capacity provider that is not "
                      "associated with the cluster. Associate the capacity provider with the cluster or specify a "
                      "valid capacity provider and try again."));
  }
  if (bases > 1)
    return invalidParameter(
        "The specified capacity provider strategy cannot contain more than one capacity provider with a base value "
        "greater than zero.");
  if (weight_sum == 0)
    return invalidParameter(
        "The specified capacity provider strategy must contain at least one capacity provider with a weight value "
        "greater than zero.");
  *strategy = *chosen;
  for (auto& item : *strategy) {
    auto& o = item.as_object();
    if (!o.contains("base")) o["base"] = 0;
    if (!o.contains("weight")) o["weight"] = 0;
  }
  return {};
}

}  // namespace berth::ecs
