// What the DNS server answers from: the Cloud Map private (and public) DNS
// namespaces as zones, their services' DNS records and the instances
// registered in them. The control plane implements ZoneSource (Cloud Map,
// src/control/servicediscovery/); tests and benchmarks use StaticZoneSource.
//
// A ZoneSnapshot is immutable once published: the control plane builds a
// new one on every change and swaps it in. The DNS threads call snapshot()
// once per batch of queries and must get a cheap, consistent value.
//
// Threads: snapshot() is called from any DNS thread, concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace berth::dns {

enum class RoutingPolicy { kMultivalue, kWeighted };

// One of a service's DnsConfig.DnsRecords.
struct DnsRecordSpec {
  enum class Type { kA, kAaaa, kSrv, kCname } type = Type::kA;
  uint32_t ttl = 60;
};

// A registered instance, from its attributes.
struct DnsInstance {
  std::string id;    // the InstanceId (a DNS label for SRV targets)
  std::string ipv4;  // AWS_INSTANCE_IPV4, dotted quad; empty: none
  std::string ipv6;  // AWS_INSTANCE_IPV6; empty: none
  uint16_t port = 0;  // AWS_INSTANCE_PORT; 0: none
  std::string cname;  // AWS_INSTANCE_CNAME (CNAME services)
  bool healthy = true;
};

struct DnsService {
  std::string name;  // the service's name, relative to the zone ("backend")
  RoutingPolicy routing = RoutingPolicy::kMultivalue;
  std::vector<DnsRecordSpec> records;
  std::vector<DnsInstance> instances;
};

struct DnsZone {
  std::string name;  // the namespace's name ("dev.local")
  uint32_t soa_ttl = 15;  // the namespace's SOA TTL (Cloud Map's default is 15)
  std::vector<DnsService> services;
};

struct ZoneSnapshot {
  uint32_t serial = 1;  // the SOA serial; bump it on change
  std::vector<DnsZone> zones;
};

class ZoneSource {
 public:
  virtual ~ZoneSource() = default;
  // The current zones; never null.
  virtual std::shared_ptr<const ZoneSnapshot> snapshot() const = 0;
};

// A ZoneSource holding whatever was set last (tests, benchmarks, and the
// daemon until Cloud Map publishes).
class StaticZoneSource final : public ZoneSource {
 public:
  StaticZoneSource() : snapshot_(std::make_shared<const ZoneSnapshot>()) {}
  explicit StaticZoneSource(ZoneSnapshot s) : snapshot_(std::make_shared<const ZoneSnapshot>(std::move(s))) {}
  void set(ZoneSnapshot s) {
    auto next = std::make_shared<const ZoneSnapshot>(std::move(s));
    std::lock_guard lock(mu_);
    snapshot_ = std::move(next);
  }
  std::shared_ptr<const ZoneSnapshot> snapshot() const override {
    std::lock_guard lock(mu_);
    return snapshot_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ZoneSnapshot> snapshot_;
};

}  // namespace berth::dns
