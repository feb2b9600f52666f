#include "control/servicediscovery/cloud_map.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/servicediscovery/errors.h"
#include "control/servicediscovery/filters.h"

namespace berth::servicediscovery {
namespace {

constexpr std::string_view kNamespaceKind = "sd.namespace";
constexpr std::string_view kServiceKind = "sd.service";
constexpr std::string_view kInstanceKind = "sd.instance";
constexpr std::string_view kOperationKind = "sd.operation";

}  // namespace

CloudMap::CloudMap(CloudMapConfig config, store::Store& store, const Clock& clock)
    : config_(std::move(config)), store_(store), clock_(clock) {}

const std::map<std::string, CloudMap::Handler, std::less<>>& CloudMap::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"CreateHttpNamespace", &CloudMap::createHttpNamespace},
      {"CreatePrivateDnsNamespace", &CloudMap::createPrivateDnsNamespace},
      {"CreatePublicDnsNamespace", &CloudMap::createPublicDnsNamespace},
      {"GetNamespace", &CloudMap::getNamespace},
      {"ListNamespaces", &CloudMap::listNamespaces},
      {"DeleteNamespace", &CloudMap::deleteNamespace},
      {"UpdateHttpNamespace", &CloudMap::updateHttpNamespace},
      {"UpdatePrivateDnsNamespace", &CloudMap::updatePrivateDnsNamespace},
      {"UpdatePublicDnsNamespace", &CloudMap::updatePublicDnsNamespace},
      {"GetOperation", &CloudMap::getOperation},
      {"ListOperations", &CloudMap::listOperations},
      {"TagResource", &CloudMap::tagResource},
      {"UntagResource", &CloudMap::untagResource},
      {"ListTagsForResource", &CloudMap::listTagsForResource},
      {"CreateService", &CloudMap::createService},
      {"GetService", &CloudMap::getService},
      {"ListServices", &CloudMap::listServices},
      {"UpdateService", &CloudMap::updateService},
      {"DeleteService", &CloudMap::deleteService},
      {"GetServiceAttributes", &CloudMap::getServiceAttributes},
      {"UpdateServiceAttributes", &CloudMap::updateServiceAttributes},
      {"DeleteServiceAttributes", &CloudMap::deleteServiceAttributes},
      {"RegisterInstance", &CloudMap::registerInstance},
      {"DeregisterInstance", &CloudMap::deregisterInstance},
      {"GetInstance", &CloudMap::getInstance},
      {"ListInstances", &CloudMap::listInstances},
      {"GetInstancesHealthStatus", &CloudMap::getInstancesHealthStatus},
      {"UpdateInstanceCustomHealthStatus", &CloudMap::updateInstanceCustomHealthStatus},
      {"DiscoverInstances", &CloudMap::discoverInstances},
      {"DiscoverInstancesRevision", &CloudMap::discoverInstancesRevision},
  };
  return kHandlers;
}

bool CloudMap::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> CloudMap::invoke(std::string_view operation, const bj::object& input) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement Cloud Map {} yet.", operation));
  return (this->*(it->second))(input);
}

Status CloudMap::load() {
  auto parse = [](const store::Record& r) -> Result<bj::object> {
    auto v = json::parse(r.value);
    if (!v || !v->is_object())
      return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{} in the store", r.kind, r.key));
    return std::move(v->get_object());
  };
  for (const auto& r : BERTH_TRY(store_.loadAll(kNamespaceKind))) {
    bj::object o = BERTH_TRY(parse(r));
    Namespace n;
    if (const auto* d = json::getObject(o, "namespace")) n.doc = *d;
    if (const auto* t = json::getArray(o, "tags")) n.tags = *t;
    n.vpc = json::stringOr(o, "vpc");
    namespaces_[r.key] = std::move(n);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kServiceKind))) {
    bj::object o = BERTH_TRY(parse(r));
    Service s;
    if (const auto* d = json::getObject(o, "service")) s.doc = *d;
    if (const auto* t = json::getArray(o, "tags")) s.tags = *t;
    if (const auto* a = json::getObject(o, "attributes")) s.attributes = *a;
    s.revision = json::getInt(o, "revision").value_or(1);
    services_[r.key] = std::move(s);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kInstanceKind))) {
    bj::object o = BERTH_TRY(parse(r));
    auto slash = r.key.find('/');
    if (slash == std::string::npos) continue;
    auto sit = services_.find(std::string_view(r.key).substr(0, slash));
    if (sit == services_.end()) continue;
    Instance i;
    if (const auto* d = json::getObject(o, "instance")) i.doc = *d;
    i.health = json::stringOr(o, "health", "UNKNOWN");
    sit->second.instances[r.key.substr(slash + 1)] = std::move(i);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kOperationKind))) operations_[r.key] = BERTH_TRY(parse(r));
  publish();
  return {};
}

void CloudMap::tick() {
  double cutoff = clock_.epochSeconds() - static_cast<double>(config_.operation_retention.count());
  store::Batch batch;
  std::vector<std::string> gone;
  for (const auto& [id, op] : operations_) {
    const bj::value* at = json::find(op, "CreateDate");
    if (at && at->is_number() && at->to_number<double>() < cutoff) {
      batch.erase(std::string(kOperationKind), id);
      gone.push_back(id);
    }
  }
  if (batch.empty() || !commit(batch)) return;
  for (const auto& id : gone) operations_.erase(id);
}

std::string CloudMap::arn(std::string_view resource) const {
  return fmt::format("arn:aws:servicediscovery:{}:{}:{}", config_.region, config_.account_id, resource);
}

Result<CloudMap::Namespace*> CloudMap::findNamespace(std::string_view id_or_arn) {
  auto it = namespaces_.find(idOf(id_or_arn));
  if (it == namespaces_.end()) return namespaceNotFound(id_or_arn);
  return &it->second;
}

Result<CloudMap::Service*> CloudMap::findService(std::string_view id_or_arn) {
  auto it = services_.find(idOf(id_or_arn));
  if (it == services_.end()) return serviceNotFound(id_or_arn);
  return &it->second;
}

CloudMap::Service* CloudMap::serviceByArn(std::string_view registry_arn) {
  auto it = services_.find(idOf(registry_arn));
  if (it == services_.end() || json::stringOr(it->second.doc, "Arn") != registry_arn) return nullptr;
  return &it->second;
}

const CloudMap::Service* CloudMap::serviceByArn(std::string_view registry_arn) const {
  auto it = services_.find(idOf(registry_arn));
  if (it == services_.end() || json::stringOr(it->second.doc, "Arn") != registry_arn) return nullptr;
  return &it->second;
}

int64_t CloudMap::serviceCountOf(std::string_view namespace_id) const {
  int64_t n = 0;
  for (const auto& [_, s] : services_)
    if (json::stringOr(s.doc, "NamespaceId") == namespace_id) ++n;
  return n;
}

bj::object CloudMap::namespaceView(const Namespace& n) const {
  bj::object out = n.doc;
  out["ServiceCount"] = serviceCountOf(json::stringOr(n.doc, "Id"));
  return out;
}

bj::object CloudMap::serviceView(const Service& s) const {
  bj::object out = s.doc;
  out["InstanceCount"] = static_cast<int64_t>(s.instances.size());
  return out;
}

bj::object CloudMap::operationView(const bj::object& op) const {
  bj::object out = op;
  double created = 0;
  if (const bj::value* v = json::find(op, "CreateDate"); v && v->is_number()) created = v->to_number<double>();
  double elapsed = clock_.epochSeconds() - created;
  double pending_after = std::chrono::duration<double>(kOperationPendingAfter).count();
  double done_after = std::chrono::duration<double>(kOperationDoneAfter).count();
  if (elapsed < pending_after) {
    out["Status"] = "SUBMITTED";
    out["UpdateDate"] = created;
  } else if (elapsed < done_after) {
    out["Status"] = "PENDING";
    out["UpdateDate"] = created + pending_after;
  } else {
    out["UpdateDate"] = created + done_after;
  }
  if (json::stringOr(out, "Status") != "FAIL") {
    out.erase("ErrorCode");
    out.erase("ErrorMessage");
  }
  return out;
}

std::string CloudMap::newOperation(store::Batch& batch, std::string_view type, bj::object targets) {
  std::string id = randomLower(32) + "-" + randomLower(8);
  double now = clock_.epochSeconds();
  bj::object op{{"Id", id},
                {"OwnerAccount", config_.account_id},
                {"Type", type},
                {"Status", "SUCCESS"},
                {"CreateDate", now},
                {"UpdateDate", now},
                {"Targets", std::move(targets)}};
  batch.put(std::string(kOperationKind), id, json::serialize(op));
  operations_[id] = std::move(op);  // dropped again by commit() when it fails
  return id;
}

Status CloudMap::commit(store::Batch& batch) {
  auto ok = store_.commit(batch);
  if (!ok) {
    // Operations recorded for this batch did not happen.
    for (const auto& change : batch.changes())
      if (change.kind == kOperationKind && change.op == store::Batch::Op::kPut) operations_.erase(change.key);
  }
  return ok;
}

void CloudMap::persist(store::Batch& batch, const Namespace& n) const {
  bj::object o{{"namespace", n.doc}, {"tags", n.tags}};
  if (!n.vpc.empty()) o["vpc"] = n.vpc;
  batch.put(std::string(kNamespaceKind), json::stringOr(n.doc, "Id"), json::serialize(o));
}

void CloudMap::persist(store::Batch& batch, const Service& s) const {
  bj::object o{{"service", s.doc}, {"tags", s.tags}, {"attributes", s.attributes}, {"revision", s.revision}};
  batch.put(std::string(kServiceKind), json::stringOr(s.doc, "Id"), json::serialize(o));
}

void CloudMap::persistInstance(store::Batch& batch, const Service& s, const std::string& id) const {
  std::string key = json::stringOr(s.doc, "Id") + "/" + id;
  auto it = s.instances.find(id);
  if (it == s.instances.end()) {
    batch.erase(std::string(kInstanceKind), key);
    return;
  }
  bj::object o{{"instance", it->second.doc}, {"health", it->second.health}};
  batch.put(std::string(kInstanceKind), key, json::serialize(o));
}

std::string CloudMap::initialHealth(const Service& s) {
  if (json::getObject(s.doc, "HealthCheckCustomConfig") || json::getObject(s.doc, "HealthCheckConfig"))
    return "HEALTHY";
  return "UNKNOWN";
}

void CloudMap::publish() {
  auto snap = std::make_shared<DnsSnapshot>();
  snap->revision = ++dns_revision_;
  for (const auto& [id, n] : namespaces_) {
    std::string type = json::stringOr(n.doc, "Type");
    if (type != "DNS_PRIVATE" && type != "DNS_PUBLIC") continue;
    DnsZone z;
    z.name = lower(json::stringOr(n.doc, "Name"));
    while (!z.name.empty() && z.name.back() == '.') z.name.pop_back();
    z.namespace_id = id;
    z.is_private = type == "DNS_PRIVATE";
    z.vpc = n.vpc;
    if (const auto* props = json::getObject(n.doc, "Properties"))
      if (const auto* dns = json::getObject(*props, "DnsProperties"))
        if (const auto* soa = json::getObject(*dns, "SOA"))
          z.soa_ttl = static_cast<uint32_t>(json::getInt(*soa, "TTL").value_or(15));
    snap->zones.push_back(std::move(z));
  }
  auto zone_of = [&](std::string_view namespace_id) -> DnsZone* {
    for (auto& z : snap->zones)
      if (z.namespace_id == namespace_id) return &z;
    return nullptr;
  };
  for (const auto& [id, s] : services_) {
    const bj::object* dns = json::getObject(s.doc, "DnsConfig");
    DnsZone* zone = dns ? zone_of(json::stringOr(s.doc, "NamespaceId")) : nullptr;
    if (!zone) continue;
    DnsService ds;
    ds.name = lower(json::stringOr(s.doc, "Name"));
    ds.fqdn = ds.name == "." ? zone->name : ds.name + "." + zone->name;
    ds.weighted = json::stringOr(*dns, "RoutingPolicy") == "WEIGHTED";
    if (const auto* records = json::getArray(*dns, "DnsRecords"))
      for (const auto& r : *records) {
        const bj::object& ro = r.as_object();
        std::string type = json::stringOr(ro, "Type");
        DnsRecordConfig rc;
        rc.ttl = static_cast<uint32_t>(std::clamp<int64_t>(json::getInt(ro, "TTL").value_or(60), 0, 2147483647));
        if (type == "A")
          rc.type = DnsRecordType::kA;
        else if (type == "AAAA")
          rc.type = DnsRecordType::kAAAA;
        else if (type == "SRV")
          rc.type = DnsRecordType::kSRV;
        else if (type == "CNAME")
          rc.type = DnsRecordType::kCNAME;
        else
          continue;
        ds.records.push_back(rc);
      }
    for (const auto& [iid, inst] : s.instances) {
      DnsInstance di;
      di.id = iid;
      if (const auto* attrs = json::getObject(inst.doc, "Attributes")) {
        di.ipv4 = json::stringOr(*attrs, "AWS_INSTANCE_IPV4");
        di.ipv6 = json::stringOr(*attrs, "AWS_INSTANCE_IPV6");
        di.cname = json::stringOr(*attrs, "AWS_INSTANCE_CNAME");
        std::string port = json::stringOr(*attrs, "AWS_INSTANCE_PORT");
        if (!port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), ::isdigit) &&
            std::stoi(port) <= 65535)
          di.port = static_cast<uint16_t>(std::stoi(port));
      }
      di.healthy = inst.health != "UNHEALTHY";
      ds.instances.push_back(std::move(di));
    }
    zone->services.push_back(std::move(ds));
  }
  snap->index();
  dns_view_.publish(std::move(snap));
}

// ecs::ServiceRegistries ------------------------------------------------------

bool CloudMap::registryExists(std::string_view registry_arn) const { return serviceByArn(registry_arn) != nullptr; }

void CloudMap::registerTask(const ecs::TaskInstance& task) {
  Service* s = serviceByArn(task.registry_arn);
  if (!s) return;
  bj::object attributes;
  for (const auto& [k, v] : task.attributes) attributes[k] = v;
  std::string health = task.healthy ? initialHealth(*s) : "UNHEALTHY";
  if (auto it = s->instances.find(task.instance_id); it != s->instances.end()) {
    const bj::object* old = json::getObject(it->second.doc, "Attributes");
    if (old && *old == attributes && it->second.health == health) return;
  }
  (void)putInstance(*s, task.instance_id, std::move(attributes), "", health);
}

void CloudMap::setTaskHealth(std::string_view registry_arn, std::string_view instance_id, bool healthy) {
  Service* s = serviceByArn(registry_arn);
  if (!s) return;
  auto it = s->instances.find(instance_id);
  if (it == s->instances.end()) return;
  std::string health = healthy ? initialHealth(*s) : "UNHEALTHY";
  if (it->second.health == health) return;
  std::string old = std::exchange(it->second.health, health);
  ++s->revision;
  store::Batch batch;
  persistInstance(batch, *s, it->first);
  persist(batch, *s);
  if (!commit(batch)) {
    it->second.health = old;
    --s->revision;
    return;
  }
  publish();
}

void CloudMap::deregisterTask(std::string_view registry_arn, std::string_view instance_id) {
  Service* s = serviceByArn(registry_arn);
  if (!s || !s->instances.contains(instance_id)) return;
  (void)removeInstance(*s, std::string(instance_id));
}

void CloudMap::deregisterTaskEverywhere(std::string_view instance_id) {
  for (auto& [_, s] : services_)
    if (s.instances.contains(instance_id)) (void)removeInstance(s, std::string(instance_id));
}

}  // namespace berth::servicediscovery
