// Answers DNS queries authoritatively for the zones of a ZoneSource, the
// way Route 53 answers for the records Cloud Map creates:
//
//   service.zone      A / AAAA: MULTIVALUE: up to 8 healthy instances'
//                     addresses, picked at random (none healthy: up to 8
//                     unhealthy ones); WEIGHTED: one random healthy instance
//                     SRV: 1 1 <port> <instance>.service.zone, with the
//                     instances' A/AAAA in the additional section
//                     CNAME services: the instance's AWS_INSTANCE_CNAME
//   <instance>.service.zone   the instance's own A / AAAA (SRV services)
//   zone (apex)       SOA and NS (ns1.zone, with an A record of
//                     ResolverOptions::ns_ipv4)
//
// A name exists when a record lives there or below it (so a service with
// no instances is NXDOMAIN, as in Route 53); an existing name without the
// asked type is NOERROR/NODATA; both negative answers carry the zone's SOA.
// TTLs are the service's DnsRecords'. Names outside every zone are for the
// forwarder (Action::kForward).
//
// Threads: a Resolver is shared by all DNS threads and is const after
// construction; each thread owns a Scratch (its query, random state and
// the compiled zones it last saw). refresh() takes one short lock when the
// source's snapshot changed; handle() allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "dns/message.h"
#include "dns/zone_source.h"

namespace berth::dns {

struct ResolverOptions {
  // The address of ns1.<zone> (the server itself); empty: no A record.
  std::string ns_ipv4 = "127.0.0.1";
  // Whether names outside the zones go to the forwarder; if not they are
  // REFUSED. Also sets RA in answers.
  bool forward = true;
};

struct CompiledZones;  // resolver.cc

class Resolver {
 public:
  Resolver(const ZoneSource& source, ResolverOptions options);
  ~Resolver();

  struct Scratch {
    Query query;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    std::shared_ptr<const ZoneSnapshot> snapshot;
    std::shared_ptr<const CompiledZones> zones;
  };
  // Picks up the source's current snapshot; call once per batch.
  void refresh(Scratch& scratch) const;

  enum class Action { kRespond, kForward, kDrop };
  // Handles one packet. kRespond: the response is out[0, *size). kForward:
  // scratch.query holds the parsed query; send `packet` upstream and answer
  // with relay() or servfail(). `udp` limits the answer to what the client
  // accepts (TC beyond it); over TCP the limit is 64 KiB. `out` should be
  // kMaxTcpMessage bytes for TCP, at least kEdnsUdpSize for UDP.
  Action handle(Scratch& scratch, std::span<const uint8_t> packet, bool udp, std::span<uint8_t> out,
                size_t* size) const;

  // The answer to a forwarded query: the upstream's response with the
  // client's id, cut to header + question with TC when over `limit`.
  static size_t relay(const Query& q, std::span<const uint8_t> upstream, std::span<uint8_t> out, size_t limit);
  // SERVFAIL for `q` (the upstream did not answer).
  static size_t servfail(const Query& q, std::span<uint8_t> out, size_t limit);

 private:
  std::shared_ptr<const CompiledZones> compile(const std::shared_ptr<const ZoneSnapshot>& s) const;

  const ZoneSource& source_;
  const ResolverOptions options_;
  std::array<uint8_t, 4> ns_addr_{};
  bool has_ns_addr_ = false;
  mutable std::mutex mu_;  // guards the cache below
  mutable std::shared_ptr<const ZoneSnapshot> cached_snapshot_;
  mutable std::shared_ptr<const CompiledZones> cached_zones_;
};

}  // namespace berth::dns
