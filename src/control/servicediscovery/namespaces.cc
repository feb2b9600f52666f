// Namespaces, operations and tags.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/servicediscovery/cloud_map.h"
#include "control/servicediscovery/errors.h"
#include "control/servicediscovery/filters.h"

namespace berth::servicediscovery {
namespace {

constexpr size_t kMaxTags = 200;
constexpr int64_t kDefaultSoaTtl = 15;

std::string randomUpper(size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(kAlphabet[randomBelow(36)]);
  return out;
}

// A DNS namespace name must be a DNS name: labels of 1-63 letters, digits,
// hyphens and underscores.
bool validDnsName(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

Status checkTags(const bj::array& tags) {
  if (tags.size() > kMaxTags) return tooManyTags(fmt::format("A resource can have at most {} tags.", kMaxTags));
  return {};
}

// Merges `add` into `tags` (same key: the new value wins).
void mergeTags(bj::array& tags, const bj::array& add) {
  for (const auto& t : add) {
    std::string key = json::stringOr(t.as_object(), "Key");
    auto it = std::find_if(tags.begin(), tags.end(),
                           [&](const bj::value& x) { return json::stringOr(x.as_object(), "Key") == key; });
    if (it != tags.end())
      *it = t;
    else
      tags.push_back(t);
  }
}

}  // namespace

Result<bj::value> CloudMap::createHttpNamespace(const bj::object& in) { return createNamespace(in, "HTTP"); }
Result<bj::value> CloudMap::createPrivateDnsNamespace(const bj::object& in) {
  return createNamespace(in, "DNS_PRIVATE");
}
Result<bj::value> CloudMap::createPublicDnsNamespace(const bj::object& in) { return createNamespace(in, "DNS_PUBLIC"); }

Result<bj::value> CloudMap::createNamespace(const bj::object& in, std::string type) {
  std::string name = json::stringOr(in, "Name");
  std::string creator = json::stringOr(in, "CreatorRequestId");
  bool dns = type != "HTTP";
  if (dns && !validDnsName(name)) return invalidInput(fmt::format("Namespace name {} is not a valid DNS name.", name));
  if (type == "DNS_PRIVATE" && json::stringOr(in, "Vpc").empty()) return invalidInput("Vpc is required.");
  bj::array tags = json::getArray(in, "Tags") ? *json::getArray(in, "Tags") : bj::array{};
  BERTH_TRY(checkTags(tags));
  if (!creator.empty()) {
    for (const auto& [id, n] : namespaces_)
      if (json::stringOr(n.doc, "CreatorRequestId") == creator)
        return duplicateRequest(
            fmt::format("A request with CreatorRequestId {} was already made for namespace {}.", creator, id));
  }
  std::string wanted = lower(name);
  while (!wanted.empty() && wanted.back() == '.') wanted.pop_back();
  for (const auto& [id, n] : namespaces_) {
    std::string existing = lower(json::stringOr(n.doc, "Name"));
    while (!existing.empty() && existing.back() == '.') existing.pop_back();
    if (existing == wanted)
      return namespaceAlreadyExists(fmt::format("Namespace {} already exists with id {}.", name, id));
  }

  Namespace n;
  std::string id = "ns-" + randomLower16();
  bj::object props;
  if (dns) {
    int64_t soa_ttl = kDefaultSoaTtl;
    if (const auto* p = json::getObject(in, "Properties"))
      if (const auto* d = json::getObject(*p, "DnsProperties"))
        if (const auto* soa = json::getObject(*d, "SOA")) soa_ttl = json::getInt(*soa, "TTL").value_or(kDefaultSoaTtl);
    props["DnsProperties"] = bj::object{{"HostedZoneId", "Z" + randomUpper(20)}, {"SOA", bj::object{{"TTL", soa_ttl}}}};
  }
  props["HttpProperties"] = bj::object{{"HttpName", name}};
  n.doc = bj::object{
      {"Id", id},     {"Arn", arn("namespace/" + id)},  {"ResourceOwner", config_.account_id}, {"Name", name},
      {"Type", type}, {"Properties", std::move(props)}, {"CreateDate", clock_.epochSeconds()}};
  if (auto d = json::getString(in, "Description")) n.doc["Description"] = *d;
  if (!creator.empty()) n.doc["CreatorRequestId"] = creator;
  n.tags = std::move(tags);
  if (type == "DNS_PRIVATE") n.vpc = json::stringOr(in, "Vpc");

  store::Batch batch;
  persist(batch, n);
  std::string op = newOperation(batch, "CREATE_NAMESPACE", bj::object{{"NAMESPACE", id}});
  BERTH_TRY(commit(batch));
  namespaces_[id] = std::move(n);
  if (dns) publish();
  return bj::object{{"OperationId", op}};
}

Result<bj::value> CloudMap::getNamespace(const bj::object& in) {
  Namespace* n = BERTH_TRY(findNamespace(json::stringOr(in, "Id")));
  return bj::object{{"Namespace", namespaceView(*n)}};
}

Result<bj::value> CloudMap::listNamespaces(const bj::object& in) {
  std::vector<Filter> filters = BERTH_TRY(parseFilters(in, {"TYPE", "NAME", "HTTP_NAME", "RESOURCE_OWNER"}));
  int64_t max = json::getInt(in, "MaxResults").value_or(100);
  std::string after = json::stringOr(in, "NextToken");
  bj::array out;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? namespaces_.begin() : namespaces_.upper_bound(after); it != namespaces_.end(); ++it) {
    const bj::object& d = it->second.doc;
    std::string http_name;
    if (const auto* p = json::getObject(d, "Properties"))
      if (const auto* h = json::getObject(*p, "HttpProperties")) http_name = json::stringOr(*h, "HttpName");
    bool keep = std::all_of(filters.begin(), filters.end(), [&](const Filter& f) {
      if (f.name == "TYPE") return f.matches(json::stringOr(d, "Type"));
      if (f.name == "NAME") return f.matches(json::stringOr(d, "Name"));
      if (f.name == "HTTP_NAME") return f.matches(http_name);
      return f.matches("SELF");  // RESOURCE_OWNER: everything here is the caller's
    });
    if (!keep) continue;
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    bj::object summary = namespaceView(it->second);
    summary.erase("CreatorRequestId");
    out.push_back(std::move(summary));
    last = it->first;
  }
  bj::object result{{"Namespaces", std::move(out)}};
  if (more) result["NextToken"] = last;
  return result;
}

Result<bj::value> CloudMap::deleteNamespace(const bj::object& in) {
  Namespace* n = BERTH_TRY(findNamespace(json::stringOr(in, "Id")));
  std::string id = json::stringOr(n->doc, "Id");
  if (int64_t count = serviceCountOf(id); count > 0)
    return resourceInUse(fmt::format("Namespace {} has {} associated service(s).", id, count));
  store::Batch batch;
  batch.erase("sd.namespace", id);
  std::string op = newOperation(batch, "DELETE_NAMESPACE", bj::object{{"NAMESPACE", id}});
  BERTH_TRY(commit(batch));
  bool dns = json::stringOr(n->doc, "Type") != "HTTP";
  namespaces_.erase(id);
  if (dns) publish();
  return bj::object{{"OperationId", op}};
}

Result<bj::value> CloudMap::updateHttpNamespace(const bj::object& in) { return updateNamespace(in, "HTTP"); }
Result<bj::value> CloudMap::updatePrivateDnsNamespace(const bj::object& in) {
  return updateNamespace(in, "DNS_PRIVATE");
}
Result<bj::value> CloudMap::updatePublicDnsNamespace(const bj::object& in) { return updateNamespace(in, "DNS_PUBLIC"); }

Result<bj::value> CloudMap::updateNamespace(const bj::object& in, std::string_view type) {
  Namespace* n = BERTH_TRY(findNamespace(json::stringOr(in, "Id")));
  std::string id = json::stringOr(n->doc, "Id");
  if (json::stringOr(n->doc, "Type") != type)
    return invalidInput(fmt::format("Namespace {} is not of type {}.", id, type));
  Namespace updated = *n;
  const bj::object* change = json::getObject(in, "Namespace");
  if (change) {
    if (auto d = json::getString(*change, "Description")) updated.doc["Description"] = *d;
    if (const auto* p = json::getObject(*change, "Properties"))
      if (const auto* d = json::getObject(*p, "DnsProperties"))
        if (const auto* soa = json::getObject(*d, "SOA"))
          if (auto ttl = json::getInt(*soa, "TTL")) {
            auto& props = updated.doc["Properties"].as_object();
            props["DnsProperties"].as_object()["SOA"] = bj::object{{"TTL", *ttl}};
          }
  }
  store::Batch batch;
  persist(batch, updated);
  std::string op = newOperation(batch, "UPDATE_NAMESPACE", bj::object{{"NAMESPACE", id}});
  BERTH_TRY(commit(batch));
  *n = std::move(updated);
  if (type != "HTTP") publish();
  return bj::object{{"OperationId", op}};
}

Result<bj::value> CloudMap::getOperation(const bj::object& in) {
  std::string id = json::stringOr(in, "OperationId");
  auto it = operations_.find(id);
  if (it == operations_.end()) return operationNotFound(id);
  return bj::object{{"Operation", operationView(it->second)}};
}

Result<bj::value> CloudMap::listOperations(const bj::object& in) {
  std::vector<Filter> filters =
      BERTH_TRY(parseFilters(in, {"NAMESPACE_ID", "SERVICE_ID", "STATUS", "TYPE", "UPDATE_DATE"}));
  int64_t max = json::getInt(in, "MaxResults").value_or(100);
  std::string after = json::stringOr(in, "NextToken");
  bj::array out;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? operations_.begin() : operations_.upper_bound(after); it != operations_.end(); ++it) {
    bj::object view = operationView(it->second);
    const bj::object* targets = json::getObject(view, "Targets");
    bool keep = std::all_of(filters.begin(), filters.end(), [&](const Filter& f) {
      if (f.name == "NAMESPACE_ID") return targets && f.matches(json::stringOr(*targets, "NAMESPACE"));
      if (f.name == "SERVICE_ID") return targets && f.matches(json::stringOr(*targets, "SERVICE"));
      if (f.name == "STATUS") return f.matches(json::stringOr(view, "Status"));
      if (f.name == "TYPE") return f.matches(json::stringOr(view, "Type"));
      const bj::value* at = json::find(view, "UpdateDate");
      return at && at->is_number() && f.between(at->to_number<double>());
    });
    if (!keep) continue;
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    out.push_back(bj::object{{"Id", it->first}, {"Status", view["Status"]}});
    last = it->first;
  }
  bj::object result{{"Operations", std::move(out)}};
  if (more) result["NextToken"] = last;
  return result;
}

// Tags ---------------------------------------------------------------------

Result<bj::value> CloudMap::editTags(const std::string& resource,
                                     const std::function<Result<bj::array>(bj::array)>& edit) {
  store::Batch batch;
  if (auto it = namespaces_.find(idOf(resource));
      it != namespaces_.end() && json::stringOr(it->second.doc, "Arn") == resource) {
    Namespace updated = it->second;
    updated.tags = BERTH_TRY(edit(updated.tags));
    persist(batch, updated);
    BERTH_TRY(commit(batch));
    it->second = std::move(updated);
    return bj::object{};
  }
  if (Service* s = serviceByArn(resource)) {
    bj::array tags = BERTH_TRY(edit(s->tags));
    std::swap(tags, s->tags);
    persist(batch, *s);
    if (auto ok = commit(batch); !ok) {
      std::swap(tags, s->tags);
      return std::unexpected(ok.error());
    }
    return bj::object{};
  }
  return resourceNotFound(fmt::format("Resource {} not found.", resource));
}

Result<bj::value> CloudMap::tagResource(const bj::object& in) {
  const bj::array* add = json::getArray(in, "Tags");
  bj::array empty;
  if (!add) add = &empty;
  return editTags(json::stringOr(in, "ResourceARN"), [&](bj::array tags) -> Result<bj::array> {
    mergeTags(tags, *add);
    BERTH_TRY(checkTags(tags));
    return tags;
  });
}

Result<bj::value> CloudMap::untagResource(const bj::object& in) {
  std::vector<std::string> keys = json::stringList(in, "TagKeys");
  return editTags(json::stringOr(in, "ResourceARN"), [&](bj::array tags) -> Result<bj::array> {
    bj::array out;
    for (auto& t : tags)
      if (std::find(keys.begin(), keys.end(), json::stringOr(t.as_object(), "Key")) == keys.end())
        out.push_back(std::move(t));
    return out;
  });
}

Result<bj::value> CloudMap::listTagsForResource(const bj::object& in) {
  std::string resource = json::stringOr(in, "ResourceARN");
  if (auto it = namespaces_.find(idOf(resource));
      it != namespaces_.end() && json::stringOr(it->second.doc, "Arn") == resource)
    return bj::object{{"Tags", it->second.tags}};
  if (Service* s = serviceByArn(resource)) return bj::object{{"Tags", s->tags}};
  return resourceNotFound(fmt::format("Resource {} not found.", resource));
}

}  // namespace berth::servicediscovery
