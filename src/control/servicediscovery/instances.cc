// Instances: registration, health and discovery.
#include <arpa/inet.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "common/json.h"
#include "control/servicediscovery/cloud_map.h"
#include "control/servicediscovery/errors.h"
#include "control/servicediscovery/filters.h"

namespace berth::servicediscovery {
namespace {

constexpr size_t kMaxInstanceAttributes = 30;

bool hasRecord(const bj::object& service, std::string_view type) {
  if (const auto* dns = json::getObject(service, "DnsConfig"))
    if (const auto* records = json::getArray(*dns, "DnsRecords"))
      for (const auto& r : *records)
        if (json::stringOr(r.as_object(), "Type") == type) return true;
  return false;
}

bool hasHealthCheck(const bj::object& service) {
  return json::getObject(service, "HealthCheckCustomConfig") || json::getObject(service, "HealthCheckConfig");
}

// Checks the AWS_* attributes the service's DNS records need.
Status validateAttributes(const bj::object& service, const bj::object& attributes) {
  if (attributes.size() > kMaxInstanceAttributes)
    return invalidInput(fmt::format("An instance can have at most {} attributes.", kMaxInstanceAttributes));
  std::string ipv4 = json::stringOr(attributes, "AWS_INSTANCE_IPV4");
  std::string ipv6 = json::stringOr(attributes, "AWS_INSTANCE_IPV6");
  std::string port = json::stringOr(attributes, "AWS_INSTANCE_PORT");
  unsigned char buf[16];
  if (!ipv4.empty() && inet_pton(AF_INET, ipv4.c_str(), buf) != 1)
    return invalidInput(fmt::format("AWS_INSTANCE_IPV4 {} is not a valid IPv4 address.", ipv4));
  if (!ipv6.empty() && inet_pton(AF_INET6, ipv6.c_str(), buf) != 1)
    return invalidInput(fmt::format("AWS_INSTANCE_IPV6 {} is not a valid IPv6 address.", ipv6));
  if (!port.empty()) {
    bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), ::isdigit);
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535)
      return invalidInput(fmt::format("AWS_INSTANCE_PORT {} is not a valid port.", port));
  }
  if ((hasRecord(service, "A") && ipv4.empty() && !hasRecord(service, "AAAA")) ||
      (hasRecord(service, "AAAA") && ipv6.empty() && !hasRecord(service, "A")))
    return invalidInput(fmt::format("The service's DNS records need {}.",
                                    hasRecord(service, "A") ? "AWS_INSTANCE_IPV4" : "AWS_INSTANCE_IPV6"));
  if (hasRecord(service, "A") && hasRecord(service, "AAAA") && ipv4.empty() && ipv6.empty())
    return invalidInput("The service's DNS records need AWS_INSTANCE_IPV4 or AWS_INSTANCE_IPV6.");
  if (hasRecord(service, "SRV") && port.empty())
    return invalidInput("The service's SRV record needs AWS_INSTANCE_PORT.");
  if (hasRecord(service, "CNAME") && json::stringOr(attributes, "AWS_INSTANCE_CNAME").empty())
    return invalidInput("The service's CNAME record needs AWS_INSTANCE_CNAME.");
  return {};
}

}  // namespace

Result<std::string> CloudMap::putInstance(Service& s, const std::string& id, bj::object attributes,
                                          std::string creator_request_id, std::string health) {
  std::string service_id = json::stringOr(s.doc, "Id");
  Instance instance;
  instance.doc =
      bj::object{{"Id", id}, {"Attributes", std::move(attributes)}, {"CreatedByAccount", config_.account_id}};
  if (!creator_request_id.empty()) instance.doc["CreatorRequestId"] = creator_request_id;
  instance.health = std::move(health);

  std::optional<Instance> old;
  if (auto it = s.instances.find(id); it != s.instances.end()) old = it->second;
  s.instances[id] = std::move(instance);
  ++s.revision;
  store::Batch batch;
  persistInstance(batch, s, id);
  persist(batch, s);
  std::string op = newOperation(batch, "REGISTER_INSTANCE", bj::object{{"INSTANCE", id}, {"SERVICE", service_id}});
  if (auto ok = commit(batch); !ok) {
    if (old)
      s.instances[id] = std::move(*old);
    else
      s.instances.erase(id);
    --s.revision;
    return std::unexpected(ok.error());
  }
  if (json::getObject(s.doc, "DnsConfig")) publish();
  return op;
}

Result<std::string> CloudMap::removeInstance(Service& s, const std::string& id) {
  std::string service_id = json::stringOr(s.doc, "Id");
  auto it = s.instances.find(id);
  if (it == s.instances.end()) return instanceNotFound(id);
  Instance old = std::move(it->second);
  s.instances.erase(it);
  ++s.revision;
  store::Batch batch;
  persistInstance(batch, s, id);
  persist(batch, s);
  std::string op = newOperation(batch, "DEREGISTER_INSTANCE", bj::object{{"INSTANCE", id}, {"SERVICE", service_id}});
  if (auto ok = commit(batch); !ok) {
    s.instances[id] = std::move(old);
    --s.revision;
    return std::unexpected(ok.error());
  }
  if (json::getObject(s.doc, "DnsConfig")) publish();
  return op;
}

Result<bj::value> CloudMap::registerInstance(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  std::string id = json::stringOr(in, "InstanceId");
  bj::object attributes = json::getObject(in, "Attributes") ? *json::getObject(in, "Attributes") : bj::object{};
  BERTH_TRY(validateAttributes(s->doc, attributes));
  std::string creator = json::stringOr(in, "CreatorRequestId");
  std::string health = initialHealth(*s);
  if (auto it = s->instances.find(id); it != s->instances.end()) health = it->second.health;
  std::string op = BERTH_TRY(putInstance(*s, id, std::move(attributes), creator, health));
  return bj::object{{"OperationId", op}};
}

Result<bj::value> CloudMap::deregisterInstance(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  std::string op = BERTH_TRY(removeInstance(*s, json::stringOr(in, "InstanceId")));
  return bj::object{{"OperationId", op}};
}

Result<bj::value> CloudMap::getInstance(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  std::string id = json::stringOr(in, "InstanceId");
  auto it = s->instances.find(id);
  if (it == s->instances.end()) return instanceNotFound(id);
  return bj::object{{"ResourceOwner", config_.account_id}, {"Instance", it->second.doc}};
}

Result<bj::value> CloudMap::listInstances(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  int64_t max = json::getInt(in, "MaxResults").value_or(100);
  std::string after = json::stringOr(in, "NextToken");
  bj::array out;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? s->instances.begin() : s->instances.upper_bound(after); it != s->instances.end();
       ++it) {
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    bj::object summary{
        {"Id", it->first}, {"Attributes", it->second.doc["Attributes"]}, {"CreatedByAccount", config_.account_id}};
    out.push_back(std::move(summary));
    last = it->first;
  }
  bj::object result{{"ResourceOwner", config_.account_id}, {"Instances", std::move(out)}};
  if (more) result["NextToken"] = last;
  return result;
}

Result<bj::value> CloudMap::getInstancesHealthStatus(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  std::vector<std::string> wanted = json::stringList(in, "Instances");
  for (const auto& id : wanted)
    if (!s->instances.contains(id)) return instanceNotFound(id);
  int64_t max = json::getInt(in, "MaxResults").value_or(100);
  std::string after = json::stringOr(in, "NextToken");
  bj::object status;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? s->instances.begin() : s->instances.upper_bound(after); it != s->instances.end();
       ++it) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), it->first) == wanted.end()) continue;
    if (static_cast<int64_t>(status.size()) == max) {
      more = true;
      break;
    }
    status[it->first] = it->second.health;
    last = it->first;
  }
  bj::object result{{"Status", std::move(status)}};
  if (more) result["NextToken"] = last;
  return result;
}

Result<bj::value> CloudMap::updateInstanceCustomHealthStatus(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  std::string id = json::stringOr(in, "InstanceId");
  auto it = s->instances.find(id);
  if (it == s->instances.end()) return instanceNotFound(id);
  if (!json::getObject(s->doc, "HealthCheckCustomConfig"))
    return customHealthNotFound(
        fmt::format("Service {} has no HealthCheckCustomConfig.", json::stringOr(s->doc, "Id")));
  std::string health = json::stringOr(in, "Status");
  if (it->second.health == health) return bj::object{};
  std::string old = std::exchange(it->second.health, health);
  ++s->revision;
  store::Batch batch;
  persistInstance(batch, *s, id);
  persist(batch, *s);
  if (auto ok = commit(batch); !ok) {
    it->second.health = old;
    --s->revision;
    return std::unexpected(ok.error());
  }
  if (json::getObject(s->doc, "DnsConfig")) publish();
  return bj::object{};
}

// The service DiscoverInstances names, by namespace (HTTP) name and service
// name, both case-insensitive.
namespace {
template <typename Namespaces, typename Services>
auto* discoverTarget(Namespaces& namespaces, Services& services, const bj::object& in, std::string* error_type,
                     std::string* namespace_name) {
  using ServicePtr = decltype(&services.begin()->second);
  std::string ns_name = lower(json::stringOr(in, "NamespaceName"));
  std::string svc_name = lower(json::stringOr(in, "ServiceName"));
  std::string ns_id;
  for (const auto& [id, n] : namespaces) {
    std::string http_name = json::stringOr(n.doc, "Name");
    if (const auto* p = json::getObject(n.doc, "Properties"))
      if (const auto* h = json::getObject(*p, "HttpProperties")) http_name = json::stringOr(*h, "HttpName", http_name);
    if (lower(http_name) == ns_name || lower(json::stringOr(n.doc, "Name")) == ns_name) {
      ns_id = id;
      *namespace_name = http_name;
      break;
    }
  }
  if (ns_id.empty()) {
    *error_type = "NamespaceNotFound";
    return ServicePtr(nullptr);
  }
  for (auto& [id, s] : services)
    if (json::stringOr(s.doc, "NamespaceId") == ns_id && lower(json::stringOr(s.doc, "Name")) == svc_name) return &s;
  *error_type = "ServiceNotFound";
  return ServicePtr(nullptr);
}
}  // namespace

Result<bj::value> CloudMap::discoverInstances(const bj::object& in) {
  std::string error_type, namespace_name;
  Service* s = discoverTarget(namespaces_, services_, in, &error_type, &namespace_name);
  if (!s) {
    if (error_type == "NamespaceNotFound") return namespaceNotFound(json::stringOr(in, "NamespaceName"));
    return serviceNotFound(json::stringOr(in, "ServiceName"));
  }
  auto matches_all = [](const bj::object& attributes, const bj::object* params) {
    if (!params) return true;
    for (const auto& [k, v] : *params) {
      const bj::value* a = attributes.if_contains(k);
      if (!a || *a != v) return false;
    }
    return true;
  };
  const bj::object* query = json::getObject(in, "QueryParameters");
  const bj::object* optional = json::getObject(in, "OptionalParameters");
  std::string filter = json::stringOr(in, "HealthStatus", "HEALTHY");
  bool checked = hasHealthCheck(s->doc);

  std::vector<const std::pair<const std::string, Instance>*> found, preferred;
  for (const auto& entry : s->instances) {
    const bj::object* attributes = json::getObject(entry.second.doc, "Attributes");
    bj::object empty;
    if (!attributes) attributes = &empty;
    if (!matches_all(*attributes, query)) continue;
    found.push_back(&entry);
    if (optional && matches_all(*attributes, optional)) preferred.push_back(&entry);
  }
  if (optional && !preferred.empty()) found = std::move(preferred);
  if (checked && filter != "ALL") {
    std::vector<const std::pair<const std::string, Instance>*> healthy, unhealthy;
    for (const auto* e : found) (e->second.health == "UNHEALTHY" ? unhealthy : healthy).push_back(e);
    if (filter == "HEALTHY")
      found = std::move(healthy);
    else if (filter == "UNHEALTHY")
      found = std::move(unhealthy);
    else if (!healthy.empty())
      found = std::move(healthy);  // HEALTHY_OR_ELSE_ALL
  }
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::shuffle(found.begin(), found.end(), rng);
  size_t max = static_cast<size_t>(json::getInt(in, "MaxResults").value_or(100));
  if (found.size() > max) found.resize(max);

  bj::array out;
  for (const auto* e : found) {
    bj::object summary{{"InstanceId", e->first},
                       {"NamespaceName", namespace_name},
                       {"ServiceName", s->doc["Name"]},
                       {"HealthStatus", e->second.health}};
    if (const auto* a = json::getObject(e->second.doc, "Attributes")) summary["Attributes"] = *a;
    out.push_back(std::move(summary));
  }
  return bj::object{{"Instances", std::move(out)}, {"InstancesRevision", s->revision}};
}

Result<bj::value> CloudMap::discoverInstancesRevision(const bj::object& in) {
  std::string error_type, namespace_name;
  Service* s = discoverTarget(namespaces_, services_, in, &error_type, &namespace_name);
  if (!s) {
    if (error_type == "NamespaceNotFound") return namespaceNotFound(json::stringOr(in, "NamespaceName"));
    return serviceNotFound(json::stringOr(in, "ServiceName"));
  }
  return bj::object{{"InstancesRevision", s->revision}};
}

}  // namespace berth::servicediscovery
