// sd_namespace and sd_service (Cloud Map).
#include <fmt/format.h>

#include "stack/resource_common.h"

namespace berth::stack {
namespace {

// Polls GetOperation until it succeeds (its Targets) or fails.
Result<bj::object> waitForOperation(AwsApi& api, const std::string& operation_id) {
  for (int attempt = 0; attempt < 300; ++attempt) {
    bj::object out = BERTH_TRY(api.json("servicediscovery", "GetOperation", {{"OperationId", operation_id}}));
    const bj::object* op = json::getObject(out, "Operation");
    std::string status = op ? json::stringOr(*op, "Status") : "";
    if (status == "SUCCESS") {
      const bj::object* targets = json::getObject(*op, "Targets");
      return targets ? *targets : bj::object{};
    }
    if (status == "FAIL")
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("Cloud Map operation {} failed: {}", operation_id, json::stringOr(*op, "ErrorMessage")));
    pollPause(attempt);
  }
  return fail(ErrorCode::kInternal, fmt::format("Cloud Map operation {} did not finish", operation_id));
}

// Private DNS namespace: {Name, Description?} in the default VPC. Outputs
// id, arn, name.
class SdNamespace final : public ResourceType {
 public:
  std::string_view type() const override { return "sd_namespace"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "Name", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view k) const override { return k == "Name" || k == "Vpc"; }
  // update() changes nothing (see there), so a removed Description stays.
  bool resetsWhenRemoved(std::string_view k) const override { return k != "Description"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string ns_id = id;
    if (ns_id.empty()) {
      std::string want = propString(props, "Name", name);
      BERTH_TRY(forEachJsonPage(api, "servicediscovery", "ListNamespaces", {}, "NextToken", [&](const bj::object& out) {
        if (const bj::array* list = json::getArray(out, "Namespaces"))
          for (const auto& n : *list)
            if (n.is_object() && json::stringOr(n.as_object(), "Name") == want &&
                json::stringOr(n.as_object(), "Type") == "DNS_PRIVATE")
              ns_id = json::stringOr(n.as_object(), "Id");
        return ns_id.empty();
      }));
      if (ns_id.empty()) return std::nullopt;
    }
    auto out = api.json("servicediscovery", "GetNamespace", {{"Id", ns_id}});
    if (!out && isNotFound(out.error())) return std::nullopt;
    if (!out) return std::unexpected(out.error());
    const bj::object* n = json::getObject(*out, "Namespace");
    if (!n) return std::nullopt;
    std::string ns_name = json::stringOr(*n, "Name");
    LiveResource live{ns_id,
                      {{"Name", ns_name}, {"Description", json::stringOr(*n, "Description")}},
                      {{"id", ns_id}, {"arn", json::stringOr(*n, "Arn")}, {"name", ns_name}}};
    // The VPC is not part of GetNamespace's answer: compare what was asked.
    if (props && props->contains("Vpc")) live.properties["Vpc"] = props->at("Vpc");
    return live;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    std::string vpc = propString(&props, "Vpc");
    if (vpc.empty()) vpc = BERTH_TRY(defaultNetwork(api)).vpc_id;
    std::string ns_name = propString(&props, "Name", name);
    bj::object in{{"Name", ns_name}, {"Vpc", vpc}, {"CreatorRequestId", fmt::format("berth-{}", ns_name)}};
    if (auto d = json::getString(props, "Description")) in["Description"] = *d;
    bj::object out = BERTH_TRY(api.json("servicediscovery", "CreatePrivateDnsNamespace", in));
    bj::object targets = BERTH_TRY(waitForOperation(api, json::stringOr(out, "OperationId")));
    std::string id = json::stringOr(targets, "NAMESPACE");
    auto live = BERTH_TRY(read(api, name, id, &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("namespace {} vanished", ns_name));
    return *live;
  }
  Result<LiveResource> update(AwsApi&, const std::string&, const LiveResource& live, const bj::object&,
                              const std::vector<std::string>&) override {
    return live;  // only Description can differ; Cloud Map's UpdatePrivateDnsNamespace is not used
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    auto out = api.json("servicediscovery", "DeleteNamespace", {{"Id", live.id}});
    if (!out && isNotFound(out.error())) return {};
    if (!out) return std::unexpected(out.error());
    BERTH_TRY(waitForOperation(api, json::stringOr(*out, "OperationId")));
    return {};
  }
};

// Cloud Map service as ECS service discovery needs it: {Name, NamespaceId,
// DnsConfig? (default {RoutingPolicy: MULTIVALUE, DnsRecords: [{Type: A,
// TTL: 10}]}), HealthCheckCustomConfig? (default {FailureThreshold: 1})}.
// Outputs id, arn, name.
class SdService final : public ResourceType {
 public:
  std::string_view type() const override { return "sd_service"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "Name", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view) const override { return true; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string svc_id = id;
    if (svc_id.empty()) {
      std::string ns = propString(props, "NamespaceId");
      if (ns.empty() || ns == kKnownAfterApply) return std::nullopt;
      std::string want = propString(props, "Name", name);
      bj::object in{
          {"Filters",
           bj::array{bj::object{{"Name", "NAMESPACE_ID"}, {"Values", bj::array{bj::value(ns)}}, {"Condition", "EQ"}}}}};
      BERTH_TRY(forEachJsonPage(api, "servicediscovery", "ListServices", std::move(in), "NextToken",
                                [&](const bj::object& out) {
                                  if (const bj::array* list = json::getArray(out, "Services"))
                                    for (const auto& s : *list)
                                      if (s.is_object() && json::stringOr(s.as_object(), "Name") == want)
                                        svc_id = json::stringOr(s.as_object(), "Id");
                                  return svc_id.empty();
                                }));
      if (svc_id.empty()) return std::nullopt;
    }
    auto out = api.json("servicediscovery", "GetService", {{"Id", svc_id}});
    if (!out && isNotFound(out.error())) return std::nullopt;
    if (!out) return std::unexpected(out.error());
    const bj::object* s = json::getObject(*out, "Service");
    if (!s) return std::nullopt;
    LiveResource live{
        svc_id, {}, {{"id", svc_id}, {"arn", json::stringOr(*s, "Arn")}, {"name", json::stringOr(*s, "Name")}}};
    for (const char* k : {"Name", "NamespaceId", "DnsConfig", "HealthCheckCustomConfig"})
      if (const bj::value* v = s->if_contains(k)) live.properties[k] = *v;
    if (!live.properties.contains("NamespaceId"))
      if (const bj::object* dns = json::getObject(*s, "DnsConfig"))
        live.properties["NamespaceId"] = json::stringOr(*dns, "NamespaceId");
    return live;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    std::string svc_name = propString(&props, "Name", name);
    std::string ns = propString(&props, "NamespaceId");
    bj::object in{{"Name", svc_name},
                  {"NamespaceId", ns},
                  {"CreatorRequestId", fmt::format("berth-{}-{}", ns, svc_name)},
                  {"DnsConfig", bj::object{{"RoutingPolicy", "MULTIVALUE"},
                                           {"DnsRecords", bj::array{bj::object{{"Type", "A"}, {"TTL", 10}}}}}},
                  {"HealthCheckCustomConfig", bj::object{{"FailureThreshold", 1}}}};
    if (const bj::value* dns = props.if_contains("DnsConfig")) in["DnsConfig"] = *dns;
    if (const bj::value* hc = props.if_contains("HealthCheckCustomConfig")) in["HealthCheckCustomConfig"] = *hc;
    bj::object out = BERTH_TRY(api.json("servicediscovery", "CreateService", in));
    const bj::object* s = json::getObject(out, "Service");
    auto live = BERTH_TRY(read(api, name, s ? json::stringOr(*s, "Id") : "", &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("Cloud Map service {} vanished", svc_name));
    return *live;
  }
  Result<LiveResource> update(AwsApi&, const std::string&, const LiveResource& live, const bj::object&,
                              const std::vector<std::string>&) override {
    return live;  // every change replaces
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    // ECS deregisters a deleted service's instances asynchronously: retry
    // while the service still has some.
    for (int attempt = 0;; ++attempt) {
      auto out = api.json("servicediscovery", "DeleteService", {{"Id", live.id}});
      if (out || isNotFound(out.error())) return {};
      if (out.error().aws_type != "ResourceInUse" || attempt >= 60) return std::unexpected(out.error());
      pollPause(attempt);
    }
  }
};

}  // namespace

std::unique_ptr<ResourceType> makeSdNamespace() { return std::make_unique<SdNamespace>(); }
std::unique_ptr<ResourceType> makeSdService() { return std::make_unique<SdService>(); }

}  // namespace berth::stack
