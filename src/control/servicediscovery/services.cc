// Services and their attributes.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/json.h"
#include "control/servicediscovery/cloud_map.h"
#include "control/servicediscovery/errors.h"
#include "control/servicediscovery/filters.h"

namespace berth::servicediscovery {
namespace {

constexpr size_t kMaxServiceAttributes = 30;

// Checks DnsRecords and the routing policy as Cloud Map does.
Status validateDnsRecords(const bj::array& records, std::string_view routing_policy) {
  if (records.empty()) return invalidInput("DnsConfig.DnsRecords must contain at least one record.");
  std::set<std::string> types;
  for (const auto& r : records) {
    std::string type = json::stringOr(r.as_object(), "Type");
    if (!types.insert(type).second)
      return invalidInput(fmt::format("DnsConfig.DnsRecords contains more than one {} record.", type));
  }
  if (types.contains("CNAME")) {
    if (types.size() > 1) return invalidInput("A CNAME record can't be combined with other record types.");
    if (routing_policy != "WEIGHTED") return invalidInput("CNAME records require the WEIGHTED routing policy.");
  }
  if (types.contains("SRV") && types.size() > 1 && !types.contains("A") && !types.contains("AAAA"))
    return invalidInput("SRV records can only be combined with A or AAAA records.");
  return {};
}

// The HealthCheckConfig as Cloud Map stores it (defaults filled in).
Result<bj::object> healthCheckConfig(const bj::object& in) {
  bj::object out = in;
  std::string type = json::stringOr(in, "Type");
  if (type == "TCP" && json::find(in, "ResourcePath"))
    return invalidInput("ResourcePath can't be specified for a TCP health check.");
  if (type != "TCP" && !json::find(in, "ResourcePath")) out["ResourcePath"] = "/";
  if (!json::find(in, "FailureThreshold")) out["FailureThreshold"] = 1;
  return out;
}

}  // namespace

Result<bj::value> CloudMap::createService(const bj::object& in) {
  std::string name = json::stringOr(in, "Name");
  const bj::object* dns = json::getObject(in, "DnsConfig");
  std::string namespace_ref = json::stringOr(in, "NamespaceId");
  if (namespace_ref.empty() && dns) namespace_ref = json::stringOr(*dns, "NamespaceId");
  if (namespace_ref.empty()) return invalidInput("NamespaceId is required.");
  Namespace* ns = BERTH_TRY(findNamespace(namespace_ref));
  std::string namespace_id = json::stringOr(ns->doc, "Id");
  std::string ns_type = json::stringOr(ns->doc, "Type");
  bool http_only = json::stringOr(in, "Type") == "HTTP";
  if (dns && (ns_type == "HTTP" || http_only))
    return invalidInput(ns_type == "HTTP" ? "DnsConfig can't be specified for a service in an HTTP namespace."
                                          : "DnsConfig can't be specified for a service of type HTTP.");
  const bj::object* hc = json::getObject(in, "HealthCheckConfig");
  const bj::object* custom = json::getObject(in, "HealthCheckCustomConfig");
  if (hc && custom) return invalidInput("HealthCheckConfig and HealthCheckCustomConfig are mutually exclusive.");
  if (hc && ns_type != "DNS_PUBLIC")
    return invalidInput("HealthCheckConfig can only be specified for services in a public DNS namespace.");
  bj::array tags = json::getArray(in, "Tags") ? *json::getArray(in, "Tags") : bj::array{};
  if (tags.size() > 200) return tooManyTags("A resource can have at most 200 tags.");

  std::string wanted = lower(name);
  for (const auto& [id, s] : services_)
    if (json::stringOr(s.doc, "NamespaceId") == namespace_id && lower(json::stringOr(s.doc, "Name")) == wanted)
      return serviceAlreadyExists(
          fmt::format("Service {} already exists in namespace {} with id {}.", name, namespace_id, id));

  Service s;
  std::string id = "srv-" + randomLower16();
  s.doc = bj::object{{"Id", id},
                     {"Arn", arn("service/" + id)},
                     {"ResourceOwner", config_.account_id},
                     {"Name", name},
                     {"NamespaceId", namespace_id},
                     {"Type", dns ? "DNS_HTTP" : "HTTP"},
                     {"CreateDate", clock_.epochSeconds()},
                     {"CreatedByAccount", config_.account_id}};
  if (auto d = json::getString(in, "Description")) s.doc["Description"] = *d;
  if (auto c = json::getString(in, "CreatorRequestId")) s.doc["CreatorRequestId"] = *c;
  if (dns) {
    std::string policy = json::stringOr(*dns, "RoutingPolicy", "MULTIVALUE");
    bj::array records = json::getArray(*dns, "DnsRecords") ? *json::getArray(*dns, "DnsRecords") : bj::array{};
    BERTH_TRY(validateDnsRecords(records, policy));
    s.doc["DnsConfig"] =
        bj::object{{"NamespaceId", namespace_id}, {"RoutingPolicy", policy}, {"DnsRecords", std::move(records)}};
  }
  if (hc) s.doc["HealthCheckConfig"] = BERTH_TRY(healthCheckConfig(*hc));
  if (custom) s.doc["HealthCheckCustomConfig"] = bj::object{{"FailureThreshold", 1}};
  s.tags = std::move(tags);

  store::Batch batch;
  persist(batch, s);
  BERTH_TRY(commit(batch));
  auto& stored = services_[id] = std::move(s);
  if (dns) publish();
  return bj::object{{"Service", serviceView(stored)}};
}

Result<bj::value> CloudMap::getService(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "Id")));
  return bj::object{{"Service", serviceView(*s)}};
}

Result<bj::value> CloudMap::listServices(const bj::object& in) {
  std::vector<Filter> filters = BERTH_TRY(parseFilters(in, {"NAMESPACE_ID", "RESOURCE_OWNER"}));
  int64_t max = json::getInt(in, "MaxResults").value_or(100);
  std::string after = json::stringOr(in, "NextToken");
  bj::array out;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? services_.begin() : services_.upper_bound(after); it != services_.end(); ++it) {
    const bj::object& d = it->second.doc;
    bool keep = std::all_of(filters.begin(), filters.end(), [&](const Filter& f) {
      if (f.name == "NAMESPACE_ID") return f.matches(json::stringOr(d, "NamespaceId"));
      return f.matches("SELF");
    });
    if (!keep) continue;
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    bj::object summary = serviceView(it->second);
    summary.erase("NamespaceId");
    summary.erase("CreatorRequestId");
    out.push_back(std::move(summary));
    last = it->first;
  }
  bj::object result{{"Services", std::move(out)}};
  if (more) result["NextToken"] = last;
  return result;
}

Result<bj::value> CloudMap::updateService(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "Id")));
  std::string id = json::stringOr(s->doc, "Id");
  const bj::object* change = json::getObject(in, "Service");
  bj::object doc = s->doc;
  bool dns_changed = false;
  if (change) {
    if (auto d = json::getString(*change, "Description")) doc["Description"] = *d;
    if (const auto* dns = json::getObject(*change, "DnsConfig")) {
      bj::object* current = doc["DnsConfig"].if_object();
      if (!current) return invalidInput(fmt::format("Service {} has no DnsConfig to update.", id));
      bj::array records = json::getArray(*dns, "DnsRecords") ? *json::getArray(*dns, "DnsRecords") : bj::array{};
      BERTH_TRY(validateDnsRecords(records, json::stringOr(*current, "RoutingPolicy", "MULTIVALUE")));
      (*current)["DnsRecords"] = std::move(records);
      dns_changed = true;
    }
    if (const auto* hc = json::getObject(*change, "HealthCheckConfig")) {
      if (!json::getObject(doc, "HealthCheckConfig"))
        return invalidInput(fmt::format("Service {} was not created with a HealthCheckConfig.", id));
      doc["HealthCheckConfig"] = BERTH_TRY(healthCheckConfig(*hc));
    }
  }
  store::Batch batch;
  std::swap(doc, s->doc);
  persist(batch, *s);
  std::string op = newOperation(batch, "UPDATE_SERVICE", bj::object{{"SERVICE", id}});
  if (auto ok = commit(batch); !ok) {
    std::swap(doc, s->doc);
    return std::unexpected(ok.error());
  }
  if (dns_changed) publish();
  return bj::object{{"OperationId", op}};
}

Result<bj::value> CloudMap::deleteService(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "Id")));
  std::string id = json::stringOr(s->doc, "Id");
  if (!s->instances.empty())
    return resourceInUse(fmt::format("Service {} has {} registered instance(s).", id, s->instances.size()));
  store::Batch batch;
  batch.erase("sd.service", id);
  BERTH_TRY(commit(batch));
  bool dns = json::getObject(s->doc, "DnsConfig") != nullptr;
  services_.erase(id);
  if (dns) publish();
  return bj::object{};
}

Result<bj::value> CloudMap::getServiceAttributes(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  return bj::object{{"ServiceAttributes", bj::object{{"ServiceArn", s->doc["Arn"]},
                                                     {"ResourceOwner", config_.account_id},
                                                     {"Attributes", s->attributes}}}};
}

Result<bj::value> CloudMap::updateServiceAttributes(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  bj::object attributes = s->attributes;
  if (const auto* add = json::getObject(in, "Attributes"))
    for (const auto& [k, v] : *add) attributes[k] = v;
  if (attributes.size() > kMaxServiceAttributes)
    return fail(ErrorCode::kResourceExhausted,
                fmt::format("A service can have at most {} attributes.", kMaxServiceAttributes),
                "ServiceAttributesLimitExceededException");
  std::swap(attributes, s->attributes);
  store::Batch batch;
  persist(batch, *s);
  if (auto ok = commit(batch); !ok) {
    std::swap(attributes, s->attributes);
    return std::unexpected(ok.error());
  }
  return bj::object{};
}

Result<bj::value> CloudMap::deleteServiceAttributes(const bj::object& in) {
  Service* s = BERTH_TRY(findService(json::stringOr(in, "ServiceId")));
  bj::object attributes = s->attributes;
  for (const auto& key : json::stringList(in, "Attributes")) attributes.erase(key);
  std::swap(attributes, s->attributes);
  store::Batch batch;
  persist(batch, *s);
  if (auto ok = commit(batch); !ok) {
    std::swap(attributes, s->attributes);
    return std::unexpected(ok.error());
  }
  return bj::object{};
}

}  // namespace berth::servicediscovery
