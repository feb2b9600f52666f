#include "agent/endpoints/launch_metadata.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "agent/network/address.h"
#include "common/json.h"
#include "common/random.h"

namespace berth::agent::endpoints {
namespace {

namespace bj = boost::json;

// "arn:aws:ecs:<region>:<account>:<resource>" -> its parts; empty when not an ARN.
struct ArnParts {
  std::string partition, region, account;
};

ArnParts splitArn(const std::string& arn) {
  ArnParts p;
  std::vector<std::string> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string::npos) return {};
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  p.partition = parts[1];
  p.region = parts[3];
  p.account = parts[4];
  return p;
}

// ECS writes cpu and memory as strings in task definitions and overrides,
// and as integers in container definitions; accept either.
std::optional<int64_t> intMember(const bj::object& o, std::string_view key) {
  const bj::value* v = json::find(o, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_string()) {
    const auto& s = v->as_string();
    int64_t out = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && ptr == s.data() + s.size()) return out;
  }
  return std::nullopt;
}

const bj::object* containerOverride(const bj::object& overrides, const std::string& name) {
  if (const auto* list = json::getArray(overrides, "containerOverrides"))
    for (const auto& o : *list)
      if (o.is_object() && json::stringOr(o.as_object(), "name") == name) return &o.as_object();
  return nullptr;
}

std::map<std::string, std::string> stringMap(const bj::object* o) {
  std::map<std::string, std::string> out;
  if (!o) return out;
  for (const auto& [k, v] : *o)
    if (v.is_string()) out[std::string(k)] = std::string(v.as_string());
  return out;
}

NetworkMetadata taskNetwork(const TaskLaunch& launch, const LaunchExtras& extras, const std::string& region) {
  NetworkMetadata n;
  n.ipv4_subnet_cidr_block = launch.subnet_cidr;
  n.domain_name_search_list = {dnsSearchDomain(region)};
  n.domain_name_servers = extras.dns_servers;
  if (auto subnet = net::Ipv4Prefix::parseNetwork(launch.subnet_cidr)) {
    net::Ipv4Address gateway{subnet->network().value + 1};
    n.subnet_gateway_ipv4_address = fmt::format("{}/{}", gateway.toString(), subnet->length);
    if (n.domain_name_servers.empty())
      n.domain_name_servers = {net::Ipv4Address{subnet->network().value + 2}.toString()};
  }
  return n;
}

ContainerMetadata containerFromDefinition(const bj::object& def, const TaskLaunch& launch, const LaunchExtras& extras,
                                          const TaskMetadata& task, const ArnParts& arn) {
  ContainerMetadata c;
  c.name = json::stringOr(def, "name");
  c.docker_name = c.name;
  c.image = json::stringOr(def, "image");
  if (auto it = extras.docker_ids.find(c.name); it != extras.docker_ids.end()) {
    c.docker_id = it->second;
  } else {
    c.docker_id = launch.task_id + "-" + randomDigits(10);
  }
  if (auto it = extras.container_arns.find(c.name); it != extras.container_arns.end()) {
    c.container_arn = it->second;
  } else if (!arn.region.empty()) {
    std::string cluster_name = task.cluster.substr(task.cluster.rfind('/') + 1);
    c.container_arn = fmt::format("arn:{}:ecs:{}:{}:container/{}/{}/{}", arn.partition, arn.region, arn.account,
                                  cluster_name, launch.task_id, randomUuid());
  }

  c.labels = stringMap(json::getObject(def, "dockerLabels"));
  c.labels["com.amazonaws.ecs.cluster"] = task.cluster;
  c.labels["com.amazonaws.ecs.container-name"] = c.name;
  c.labels["com.amazonaws.ecs.task-arn"] = task.task_arn;
  c.labels["com.amazonaws.ecs.task-definition-family"] = task.family;
  c.labels["com.amazonaws.ecs.task-definition-version"] = task.revision;

  const bj::object* override = containerOverride(launch.overrides, c.name);
  std::optional<int64_t> cpu = override ? intMember(*override, "cpu") : std::nullopt;
  if (!cpu) cpu = intMember(def, "cpu");
  std::optional<int64_t> memory = override ? intMember(*override, "memory") : std::nullopt;
  if (!memory) memory = intMember(def, "memory");
  c.limit_cpu = static_cast<double>(cpu.value_or(0));
  c.limit_memory_mib = memory.value_or(0);

  if (const auto* log = json::getObject(def, "logConfiguration")) {
    c.log_driver = json::stringOr(*log, "logDriver");
    c.log_options = stringMap(json::getObject(*log, "options"));
    // The awslogs driver names the stream <prefix>/<container>/<task-id>;
    // ECS shows the resolved name instead of the prefix.
    if (auto p = c.log_options.find("awslogs-stream-prefix"); c.log_driver == "awslogs" && p != c.log_options.end()) {
      c.log_options["awslogs-stream"] = fmt::format("{}/{}/{}", p->second, c.name, launch.task_id);
      c.log_options.erase(p);
    }
  }
  c.has_health_check = json::getObject(def, "healthCheck") != nullptr;
  c.networks.push_back(taskNetwork(launch, extras, arn.region));
  return c;
}

}  // namespace

std::string regionOfArn(const std::string& arn) { return splitArn(arn).region; }

std::string dnsSearchDomain(const std::string& region) {
  if (region == "us-east-1") return "ec2.internal";
  return region + ".compute.internal";
}

std::string privateDnsName(const std::string& ipv4, const std::string& region) {
  std::string host = "ip-" + ipv4;
  std::replace(host.begin(), host.end(), '.', '-');
  return host + "." + dnsSearchDomain(region);
}

TaskMetadata metadataFromLaunch(const TaskLaunch& launch, const LaunchExtras& extras) {
  const bj::object& td = launch.task_definition;
  const bj::object& ov = launch.overrides;
  ArnParts arn = splitArn(launch.task_arn);

  TaskMetadata t;
  t.cluster = launch.cluster_arn;
  t.task_arn = launch.task_arn;
  t.family = json::stringOr(td, "family");
  if (auto rev = intMember(td, "revision")) t.revision = std::to_string(*rev);
  t.service_name = extras.service_name;
  t.vpc_id = extras.vpc_id;
  t.availability_zone = launch.availability_zone;
  t.task_tags = extras.task_tags;

  std::optional<int64_t> cpu = intMember(ov, "cpu");
  if (!cpu) cpu = intMember(td, "cpu");
  if (cpu) t.limit_cpu_vcpus = static_cast<double>(*cpu) / 1024.0;
  std::optional<int64_t> memory = intMember(ov, "memory");
  if (!memory) memory = intMember(td, "memory");
  if (memory) t.limit_memory_mib = *memory;

  std::optional<int64_t> storage_gib;
  if (const auto* e = json::getObject(ov, "ephemeralStorage")) storage_gib = intMember(*e, "sizeInGiB");
  if (!storage_gib)
    if (const auto* e = json::getObject(td, "ephemeralStorage")) storage_gib = intMember(*e, "sizeInGiB");
  t.ephemeral_storage_reserved_mib = storage_gib.value_or(20) * 1024;

  if (const auto* defs = json::getArray(td, "containerDefinitions"))
    for (const auto& d : *defs)
      if (d.is_object()) t.containers.push_back(containerFromDefinition(d.as_object(), launch, extras, t, arn));
  return t;
}

}  // namespace berth::agent::endpoints
