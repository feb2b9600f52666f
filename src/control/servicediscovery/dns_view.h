// DnsView: the read side of Cloud Map for the DNS server (src/dns/).
//
// Cloud Map (cloud_map.h) owns the namespaces, services and instances and
// publishes, after every change that can alter a DNS answer, one immutable
// DnsSnapshot of every DNS namespace (private and public) with its services
// and their instances. The DNS server reads it from any number of threads:
//
//   std::shared_ptr<const DnsSnapshot> snap = view.snapshot();  // one atomic load
//   if (auto hit = snap->lookup(lowercase_qname)) ...           // one hash lookup
//
// Contract
// - A snapshot never changes after it is published; hold the shared_ptr for
//   as long as its pointers and string_views are used. Answers change when
//   the reader takes the next snapshot.
// - Names in the snapshot are lowercase, without the trailing dot. lookup()
//   and findZone() expect a lowercase name without the trailing dot (DNS is
//   case-insensitive: lowercase the query once, answer with the query's
//   case).
// - Which records to answer is the DNS server's job (Cloud Map semantics:
//   MULTIVALUE answers up to 8 healthy instances, or up to 8 unhealthy ones
//   when none is healthy; WEIGHTED answers one healthy instance at random,
//   or one unhealthy one when none is healthy; SRV data is
//   `1 1 <port> <instance-id>.<service>.<namespace>`). DnsInstance::healthy
//   is false only for an instance whose status is UNHEALTHY (a custom health
//   status, or ECS marking a task whose container health check failed);
//   HEALTHY and UNKNOWN (no health checks) instances are healthy.
// - Instances whose attributes do not fit a record type simply lack that
//   data (an empty ipv4 means "no A record for this instance").
//
// Threads: snapshot() and revision() may be called from any thread, at any
// rate (a relaxed revision check lets a hot reader keep a thread-local
// snapshot and reload only when it moved). publish() is for Cloud Map, on
// the control executor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace berth::servicediscovery {

enum class DnsRecordType : uint8_t { kA, kAAAA, kSRV, kCNAME };

struct DnsRecordConfig {
  DnsRecordType type = DnsRecordType::kA;
  uint32_t ttl = 60;  // seconds, from the service's DnsConfig
};

struct DnsInstance {
  std::string id;     // the instance id as registered (ECS: the task id), original case
  std::string ipv4;   // AWS_INSTANCE_IPV4, dotted quad, or empty
  std::string ipv6;   // AWS_INSTANCE_IPV6, or empty
  std::string cname;  // AWS_INSTANCE_CNAME, or empty
  uint16_t port = 0;  // AWS_INSTANCE_PORT (0: none)
  bool healthy = true;
};

struct DnsService {
  std::string name;       // lowercase service name ("backend")
  std::string fqdn;       // lowercase "backend.dev.local"
  bool weighted = false;  // RoutingPolicy WEIGHTED (false: MULTIVALUE)
  std::vector<DnsRecordConfig> records;
  std::vector<DnsInstance> instances;  // by instance id
  // The record of `type` in the DnsConfig, or nullptr (answer NODATA).
  const DnsRecordConfig* record(DnsRecordType type) const {
    for (const auto& r : records)
      if (r.type == type) return &r;
    return nullptr;
  }
};

struct DnsZone {
  std::string name;  // lowercase namespace name ("dev.local")
  std::string namespace_id;
  bool is_private = true;  // DNS_PRIVATE (false: DNS_PUBLIC)
  std::string vpc;         // DNS_PRIVATE: the VPC id it was created for
  uint32_t soa_ttl = 15;   // the namespace's SOA TTL (negative-answer TTL)
  std::vector<DnsService> services;
};

// What a lowercase query name is, within the snapshot.
struct DnsLookup {
  const DnsZone* zone = nullptr;        // always set: the zone the name belongs to
  const DnsService* service = nullptr;  // the name is a service ("backend.dev.local")
  // The name is one instance of `service` ("<instance-id>.backend.dev.local",
  // the target of its SRV record): its own A/AAAA records.
  const DnsInstance* instance = nullptr;
  bool apex = false;  // the name is the zone itself (SOA, NS)
};

class DnsSnapshot {
 public:
  DnsSnapshot() = default;
  // The index points into the snapshot itself: never copied or moved.
  DnsSnapshot(const DnsSnapshot&) = delete;
  DnsSnapshot& operator=(const DnsSnapshot&) = delete;

  uint64_t revision = 0;
  std::vector<DnsZone> zones;

  // Indexes names; call once after filling `zones` (Cloud Map does).
  void index();
  // The zone a name falls in (longest matching namespace), or nullptr: the
  // name is not Cloud Map's (forward it).
  const DnsZone* findZone(std::string_view lowercase_name) const;
  // Classifies a name: nullopt when no zone holds it; a result with only
  // `zone` set when the zone holds no such name (NXDOMAIN).
  std::optional<DnsLookup> lookup(std::string_view lowercase_name) const;

 private:
  std::unordered_map<std::string_view, const DnsZone*> zones_by_name_;
  std::unordered_map<std::string_view, DnsLookup> names_;
  std::vector<std::string> instance_names_;  // storage for instance FQDN keys
};

class DnsView {
 public:
  DnsView() : current_(std::make_shared<const DnsSnapshot>()) {}
  // The current snapshot; never null. Any thread.
  std::shared_ptr<const DnsSnapshot> snapshot() const { return current_.load(std::memory_order_acquire); }
  // Bumped on every publish; any thread.
  uint64_t revision() const { return revision_.load(std::memory_order_acquire); }
  // Replaces the snapshot (Cloud Map, on the control executor).
  void publish(std::shared_ptr<const DnsSnapshot> next) {
    uint64_t rev = next->revision;
    current_.store(std::move(next), std::memory_order_release);
    revision_.store(rev, std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const DnsSnapshot>> current_;
  std::atomic<uint64_t> revision_{0};
};

}  // namespace berth::servicediscovery
