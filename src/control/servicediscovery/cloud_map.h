// Cloud Map (Route53AutoNaming_v20170314): namespaces, services, instances
// and the asynchronous operations that report on them, as botocore's
// servicediscovery model defines them.
//
// The model is kept in memory as AWS-shaped JSON documents and written
// through to the Store (kinds "sd.namespace", "sd.service", "sd.instance",
// "sd.operation"): a mutating call commits before it returns, and nothing
// changes in memory when the commit fails.
//
// Asynchronous operations: Create*/Delete*/Update*Namespace, UpdateService,
// RegisterInstance and DeregisterInstance take effect at once, but the
// Operation they return reports SUBMITTED, then PENDING (after
// kOperationPendingAfter), then SUCCESS (after kOperationDoneAfter) on the
// injected clock, so that clients which poll GetOperation see the states.
//
// After every change that can alter a DNS answer a new DnsSnapshot is
// published on dnsView() (dns_view.h), for the DNS server.
//
// ECS registers tasks through the ecs::ServiceRegistries interface.
//
// Threads: single writer. Every method except dnsView() must be called on
// the control executor (the same one as ecs::Ecs).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "control/ecs/service_registries.h"
#include "control/servicediscovery/dns_view.h"
#include "store/store.h"

namespace berth::servicediscovery {

namespace bj = boost::json;

struct CloudMapConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Finished operations are forgotten this long after they finished.
  std::chrono::seconds operation_retention{std::chrono::hours(24 * 7)};
};

inline constexpr std::chrono::milliseconds kOperationPendingAfter{300};
inline constexpr std::chrono::milliseconds kOperationDoneAfter{1000};

class CloudMap final : public ecs::ServiceRegistries {
 public:
  CloudMap(CloudMapConfig config, store::Store& store, const Clock& clock);

  // Loads the model from the store and publishes the first DNS snapshot.
  // Call once, before anything else.
  Status load();

  // Runs one Cloud Map operation; `input` is type-checked against the model
  // by the protocol layer. Unknown operations: kUnimplemented.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input);
  bool supports(std::string_view operation) const;

  // Periodic work: forgets old finished operations.
  void tick();

  // The DNS server's view. Any thread.
  const DnsView& dnsView() const { return dns_view_; }

  // ecs::ServiceRegistries.
  bool registryExists(std::string_view registry_arn) const override;
  void registerTask(const ecs::TaskInstance& instance) override;
  void setTaskHealth(std::string_view registry_arn, std::string_view instance_id, bool healthy) override;
  void deregisterTask(std::string_view registry_arn, std::string_view instance_id) override;
  void deregisterTaskEverywhere(std::string_view instance_id) override;

  size_t namespaceCount() const { return namespaces_.size(); }
  size_t serviceCount() const { return services_.size(); }

 private:
  struct Namespace {
    bj::object doc;  // Namespace shape; ServiceCount computed on read
    bj::array tags;
    std::string vpc;  // DNS_PRIVATE (not part of the Namespace shape)
  };
  struct Instance {
    bj::object doc;      // Instance shape
    std::string health;  // HEALTHY | UNHEALTHY | UNKNOWN
  };
  struct Service {
    bj::object doc;  // Service shape; InstanceCount computed on read
    bj::array tags;
    bj::object attributes;                                   // ServiceAttributes
    int64_t revision = 1;                                    // InstancesRevision
    std::map<std::string, Instance, std::less<>> instances;  // by id
  };

  using Handler = Result<bj::value> (CloudMap::*)(const bj::object&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  // Namespaces and operations (namespaces.cc).
  Result<bj::value> createHttpNamespace(const bj::object& in);
  Result<bj::value> createPrivateDnsNamespace(const bj::object& in);
  Result<bj::value> createPublicDnsNamespace(const bj::object& in);
  Result<bj::value> createNamespace(const bj::object& in, std::string type);
  Result<bj::value> getNamespace(const bj::object& in);
  Result<bj::value> listNamespaces(const bj::object& in);
  Result<bj::value> deleteNamespace(const bj::object& in);
  Result<bj::value> updateHttpNamespace(const bj::object& in);
  Result<bj::value> updatePrivateDnsNamespace(const bj::object& in);
  Result<bj::value> updatePublicDnsNamespace(const bj::object& in);
  Result<bj::value> updateNamespace(const bj::object& in, std::string_view type);
  Result<bj::value> getOperation(const bj::object& in);
  Result<bj::value> listOperations(const bj::object& in);
  Result<bj::value> tagResource(const bj::object& in);
  Result<bj::value> untagResource(const bj::object& in);
  Result<bj::value> listTagsForResource(const bj::object& in);
  // Replaces the tags of the namespace or service whose ARN is `resource`
  // with edit(its tags), committed before memory changes.
  Result<bj::value> editTags(const std::string& resource, const std::function<Result<bj::array>(bj::array)>& edit);
  // Services (services.cc).
  Result<bj::value> createService(const bj::object& in);
  Result<bj::value> getService(const bj::object& in);
  Result<bj::value> listServices(const bj::object& in);
  Result<bj::value> updateService(const bj::object& in);
  Result<bj::value> deleteService(const bj::object& in);
  Result<bj::value> getServiceAttributes(const bj::object& in);
  Result<bj::value> updateServiceAttributes(const bj::object& in);
  Result<bj::value> deleteServiceAttributes(const bj::object& in);
  // Instances (instances.cc).
  Result<bj::value> registerInstance(const bj::object& in);
  Result<bj::value> deregisterInstance(const bj::object& in);
  Result<bj::value> getInstance(const bj::object& in);
  Result<bj::value> listInstances(const bj::object& in);
  Result<bj::value> getInstancesHealthStatus(const bj::object& in);
  Result<bj::value> updateInstanceCustomHealthStatus(const bj::object& in);
  Result<bj::value> discoverInstances(const bj::object& in);
  Result<bj::value> discoverInstancesRevision(const bj::object& in);
  // Registers (or replaces) an instance durably, with its operation; returns
  // the operation id.
  Result<std::string> putInstance(Service& s, const std::string& id, bj::object attributes,
                                  std::string creator_request_id, std::string health);
  Result<std::string> removeInstance(Service& s, const std::string& id);

  // Shared helpers (cloud_map.cc).
  std::string arn(std::string_view resource) const;
  Result<Namespace*> findNamespace(std::string_view id_or_arn);
  Result<Service*> findService(std::string_view id_or_arn);
  Service* serviceByArn(std::string_view registry_arn);
  const Service* serviceByArn(std::string_view registry_arn) const;
  int64_t serviceCountOf(std::string_view namespace_id) const;
  bj::object namespaceView(const Namespace& n) const;
  bj::object serviceView(const Service& s) const;
  bj::object operationView(const bj::object& op) const;
  // A new operation record, added to `batch`; returns its id.
  std::string newOperation(store::Batch& batch, std::string_view type, bj::object targets);
  Status commit(store::Batch& batch);
  void persist(store::Batch& batch, const Namespace& n) const;
  void persist(store::Batch& batch, const Service& s) const;
  void persistInstance(store::Batch& batch, const Service& s, const std::string& id) const;
  // The health an instance of `s` starts with.
  static std::string initialHealth(const Service& s);
  // Rebuilds and publishes the DNS snapshot.
  void publish();

  CloudMapConfig config_;
  store::Store& store_;
  const Clock& clock_;
  std::map<std::string, Namespace, std::less<>> namespaces_;   // by id
  std::map<std::string, Service, std::less<>> services_;       // by id
  std::map<std::string, bj::object, std::less<>> operations_;  // by id
  DnsView dns_view_;
  uint64_t dns_revision_ = 0;
};

}  // namespace berth::servicediscovery
