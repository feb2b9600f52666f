#include "dns/resolver.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace berth::dns {

// The zones of one snapshot, as lookup tables keyed by lower-case wire names.
struct CompiledInstance {
  std::string wire_name;  // <id>.<service>.<zone>, when the service has SRV
  bool has4 = false, has6 = false;
  std::array<uint8_t, 4> v4{};
  std::array<uint8_t, 16> v6{};
  uint16_t port = 0;
  std::string cname_wire;
  bool healthy = true;
};

struct CompiledZone;

struct CompiledService {
  std::string wire_name;
  const CompiledZone* zone = nullptr;
  RoutingPolicy routing = RoutingPolicy::kMultivalue;
  int64_t ttl_a = -1, ttl_aaaa = -1, ttl_srv = -1, ttl_cname = -1;  // -1: no such record
  std::vector<CompiledInstance> instances;
};

struct CompiledZone {
  std::string wire_name;
  std::string ns_wire;          // ns1.<zone>
  std::string hostmaster_wire;  // hostmaster.<zone>
  uint32_t soa_ttl = 15;
  uint32_t serial = 1;
};

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

enum class NodeKind { kEmpty, kApex, kNs, kService, kInstance };
struct Node {
  NodeKind kind = NodeKind::kEmpty;
  const CompiledZone* zone = nullptr;
  const CompiledService* service = nullptr;
  const CompiledInstance* instance = nullptr;
};

uint64_t nextRandom(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

constexpr uint32_t kSoaRefresh = 7200, kSoaRetry = 900, kSoaExpire = 1209600, kSoaMinimum = 86400;
constexpr uint32_t kNsTtl = 172800;  // Route 53's NS TTL
constexpr size_t kMaxMultivalue = 8;
constexpr size_t kOptSize = 11;

}  // namespace

struct CompiledZones {
  std::vector<std::unique_ptr<CompiledZone>> zones;
  std::vector<std::unique_ptr<CompiledService>> services;
  std::unordered_map<std::string, const CompiledZone*, StringHash, std::equal_to<>> by_zone;
  std::unordered_map<std::string, Node, StringHash, std::equal_to<>> by_name;
};

Resolver::Resolver(const ZoneSource& source, ResolverOptions options) : source_(source), options_(std::move(options)) {
  in_addr a{};
  if (!options_.ns_ipv4.empty() && ::inet_pton(AF_INET, options_.ns_ipv4.c_str(), &a) == 1) {
    std::memcpy(ns_addr_.data(), &a, 4);
    has_ns_addr_ = true;
  }
}
Resolver::~Resolver() = default;

std::shared_ptr<const CompiledZones> Resolver::compile(const std::shared_ptr<const ZoneSnapshot>& snapshot) const {
  auto out = std::make_shared<CompiledZones>();
  if (!snapshot) return out;
  // Marks `wire` and every name between it and the zone apex as existing.
  auto add_name = [&](const std::string& wire, const Node& node, size_t zone_size) {
    auto [it, inserted] = out->by_name.try_emplace(wire, node);
    if (!inserted && node.kind != NodeKind::kEmpty && (it->second.kind == NodeKind::kEmpty || it->second.kind == NodeKind::kNs))
      it->second = node;
    size_t i = 0;
    while (wire.size() - i > zone_size) {
      i += 1 + static_cast<uint8_t>(wire[i]);
      if (wire.size() - i <= zone_size) break;
      out->by_name.try_emplace(wire.substr(i), Node{NodeKind::kEmpty, node.zone, nullptr, nullptr});
    }
  };
  for (const DnsZone& z : snapshot->zones) {
    auto zone_wire = toWire(z.name);
    if (!zone_wire || out->by_zone.contains(*zone_wire)) continue;
    auto cz = std::make_unique<CompiledZone>();
    cz->wire_name = *zone_wire;
    cz->ns_wire = "\3ns1" + *zone_wire;
    cz->hostmaster_wire = "\12hostmaster" + *zone_wire;
    cz->soa_ttl = z.soa_ttl;
    cz->serial = snapshot->serial;
    const CompiledZone* zp = cz.get();
    out->by_zone.emplace(cz->wire_name, zp);
    out->zones.push_back(std::move(cz));
    size_t zsize = zp->wire_name.size();
    out->by_name.insert_or_assign(zp->wire_name, Node{NodeKind::kApex, zp, nullptr, nullptr});
    if (zp->ns_wire.size() <= kMaxNameWire) out->by_name.try_emplace(zp->ns_wire, Node{NodeKind::kNs, zp, nullptr, nullptr});
    for (const DnsService& s : z.services) {
      auto rel = toWire(s.name);
      if (!rel || rel->size() <= 1) continue;
      std::string wire = rel->substr(0, rel->size() - 1) + zp->wire_name;
      if (wire.size() > kMaxNameWire) continue;
      auto cs = std::make_unique<CompiledService>();
      cs->wire_name = wire;
      cs->zone = zp;
      cs->routing = s.routing;
      for (const DnsRecordSpec& r : s.records) {
        switch (r.type) {
          case DnsRecordSpec::Type::kA: cs->ttl_a = r.ttl; break;
          case DnsRecordSpec::Type::kAaaa: cs->ttl_aaaa = r.ttl; break;
          case DnsRecordSpec::Type::kSrv: cs->ttl_srv = r.ttl; break;
          case DnsRecordSpec::Type::kCname: cs->ttl_cname = r.ttl; break;
        }
      }
      for (const DnsInstance& inst : s.instances) {
        CompiledInstance ci;
        in_addr a4{};
        in6_addr a6{};
        if (!inst.ipv4.empty() && ::inet_pton(AF_INET, inst.ipv4.c_str(), &a4) == 1) {
          ci.has4 = true;
          std::memcpy(ci.v4.data(), &a4, 4);
        }
        if (!inst.ipv6.empty() && ::inet_pton(AF_INET6, inst.ipv6.c_str(), &a6) == 1) {
          ci.has6 = true;
          std::memcpy(ci.v6.data(), &a6, 16);
        }
        ci.port = inst.port;
        ci.healthy = inst.healthy;
        if (!inst.cname.empty())
          if (auto c = toWire(inst.cname)) ci.cname_wire = *c;
        if (cs->ttl_srv >= 0) {
          auto id = toWire(inst.id);
          if (id && id->size() > 1) {
            std::string iw = id->substr(0, id->size() - 1) + wire;
            if (iw.size() <= kMaxNameWire) ci.wire_name = std::move(iw);
          }
        }
        cs->instances.push_back(std::move(ci));
      }
      if (cs->instances.empty()) continue;  // no records: the name does not exist
      const CompiledService* sp = cs.get();
      out->services.push_back(std::move(cs));
      add_name(sp->wire_name, Node{NodeKind::kService, zp, sp, nullptr}, zsize);
      for (const CompiledInstance& ci : sp->instances)
        if (!ci.wire_name.empty()) add_name(ci.wire_name, Node{NodeKind::kInstance, zp, sp, &ci}, zsize);
    }
  }
  return out;
}

void Resolver::refresh(Scratch& scratch) const {
  auto snapshot = source_.snapshot();
  if (snapshot == scratch.snapshot && scratch.zones) return;
  std::lock_guard lock(mu_);
  if (snapshot != cached_snapshot_ || !cached_zones_) {
    cached_zones_ = compile(snapshot);
    cached_snapshot_ = snapshot;
  }
  scratch.snapshot = std::move(snapshot);
  scratch.zones = cached_zones_;
}

namespace {

class Selector {
 public:
  explicit Selector(uint64_t& rng) : rng_(rng) {}

  // Picks the instances an address (or SRV) query returns, at random:
  // healthy first, else unhealthy; up to 8 for MULTIVALUE, 1 for WEIGHTED.
  size_t select(const CompiledService& s, bool (*eligible)(const CompiledInstance&),
                std::array<const CompiledInstance*, kMaxMultivalue>& picked) {
    size_t limit = s.routing == RoutingPolicy::kWeighted ? 1 : kMaxMultivalue;
    for (int pass = 0; pass < 2; ++pass) {
      bool want_healthy = pass == 0;
      size_t seen = 0, n = 0;
      for (const CompiledInstance& i : s.instances) {
        if (i.healthy != want_healthy || !eligible(i)) continue;
        // Reservoir sampling: a uniform random subset without allocating.
        if (n < limit) {
          picked[n++] = &i;
        } else {
          size_t j = nextRandom(rng_) % (seen + 1);
          if (j < limit) picked[j] = &i;
        }
        ++seen;
      }
      if (n > 0) {
        for (size_t k = n - 1; k > 0; --k) std::swap(picked[k], picked[nextRandom(rng_) % (k + 1)]);
        return n;
      }
    }
    return 0;
  }


 private:
  uint64_t& rng_;
};

bool hasV4(const CompiledInstance& i) { return i.has4; }
bool hasV6(const CompiledInstance& i) { return i.has6; }
bool hasCname(const CompiledInstance& i) { return !i.cname_wire.empty(); }
bool hasTarget(const CompiledInstance& i) { return !i.wire_name.empty(); }

}  // namespace

Resolver::Action Resolver::handle(Scratch& scratch, std::span<const uint8_t> packet, bool udp, std::span<uint8_t> out,
                                  size_t* size) const {
  Query& q = scratch.query;
  bool has_question = false;
  ParseOutcome parsed = parseQuery(packet, q, &has_question);
  if (parsed == ParseOutcome::kDrop) return Action::kDrop;

  size_t limit = udp ? q.udpLimit() : kMaxTcpMessage;
  if (parsed != ParseOutcome::kOk) limit = std::min(limit, kClassicUdpSize);
  limit = std::min(limit, out.size());
  ResponseWriter w(out, limit);
  uint16_t flags = flag::kQr | (q.flags & (flag::kRd | flag::kCd)) | static_cast<uint16_t>(q.opcode << 11);
  if (options_.forward) flags |= flag::kRa;
  w.header(q.id, flags);
  bool edns = q.edns && parsed != ParseOutcome::kFormErr;
  if (edns) w.setLimit(limit - kOptSize);

  auto finish = [&](uint8_t rc) {
    w.setRcode(rc);
    if (edns) {
      w.setLimit(limit);
      w.opt(kEdnsUdpSize, 0, q.dnssec_ok);
    }
    *size = w.finish();
    return *size ? Action::kRespond : Action::kDrop;
  };

  switch (parsed) {
    case ParseOutcome::kFormErr:
      if (has_question) w.question(q.name.view(), q.qtype, q.qclass);
      return finish(rcode::kFormErr);
    case ParseOutcome::kNotImp:
      if (has_question) w.question(q.name.view(), q.qtype, q.qclass);
      return finish(rcode::kNotImp);
    case ParseOutcome::kBadVers:
      w.question(q.name.view(), q.qtype, q.qclass);
      w.setLimit(limit);
      w.opt(kEdnsUdpSize, static_cast<uint8_t>(rcode::kBadVers >> 4), q.dnssec_ok);
      *size = w.finish();
      return Action::kRespond;
    default:
      break;
  }
  if (!w.question(q.name.view(), q.qtype, q.qclass)) return Action::kDrop;
  if (q.qclass != kClassIn && q.qclass != rrtype::kAny) return finish(rcode::kRefused);
  if (q.qtype == rrtype::kAxfr || q.qtype == 251 /* IXFR */) return finish(rcode::kRefused);

  // The closest enclosing zone: try each suffix of the name, longest first.
  const CompiledZones& zones = *scratch.zones;
  std::string_view name = q.lower_name.view();
  const CompiledZone* zone = nullptr;
  if (!zones.by_zone.empty()) {
    for (size_t i = 0; i < name.size();) {
      auto it = zones.by_zone.find(name.substr(i));
      if (it != zones.by_zone.end()) {
        zone = it->second;
        break;
      }
      uint8_t len = static_cast<uint8_t>(name[i]);
      if (len == 0) break;
      i += 1 + len;
    }
  }
  if (!zone) {
    if (!options_.forward) return finish(rcode::kRefused);
    return Action::kForward;
  }
  w.setFlag(flag::kAa);

  std::string_view owner = q.name.view();  // compresses to the question
  const uint16_t qt = q.qtype;
  const bool any = qt == rrtype::kAny;
  auto negative = [&](uint8_t rc) {
    ResponseWriter::Soa soa{zone->ns_wire, zone->hostmaster_wire, zone->serial, kSoaRefresh, kSoaRetry, kSoaExpire,
                            kSoaMinimum};
    w.soa(Section::kAuthority, zone->wire_name, std::min(zone->soa_ttl, kSoaMinimum), soa);
    return finish(rc);
  };
  auto truncated = [&](const ResponseWriter::Mark& after_question) {
    // RFC 2181 9: a truncated answer is dropped whole; the client retries
    // over TCP.
    w.rollback(after_question);
    w.setFlag(flag::kTc);
    return finish(rcode::kNoError);
  };
  const ResponseWriter::Mark after_question = w.mark();

  auto node_it = zones.by_name.find(name);
  if (node_it == zones.by_name.end()) return negative(rcode::kNxDomain);
  const Node& node = node_it->second;

  size_t answers = 0;
  Selector answerer(scratch.rng);
  std::array<const CompiledInstance*, kMaxMultivalue> picked{};
  // Instances whose addresses go into the additional section (SRV targets).
  std::array<const CompiledInstance*, kMaxMultivalue> extra{};
  size_t extras = 0;
  const CompiledService* extra_service = nullptr;

  switch (node.kind) {
    case NodeKind::kEmpty:
      break;
    case NodeKind::kApex: {
      if (qt == rrtype::kSoa || any) {
        ResponseWriter::Soa soa{zone->ns_wire, zone->hostmaster_wire, zone->serial, kSoaRefresh, kSoaRetry,
                                kSoaExpire, kSoaMinimum};
        if (!w.soa(Section::kAnswer, owner, zone->soa_ttl, soa)) return truncated(after_question);
        ++answers;
      }
      if (qt == rrtype::kNs || any) {
        if (!w.ns(Section::kAnswer, owner, kNsTtl, zone->ns_wire)) return truncated(after_question);
        ++answers;
        if (has_ns_addr_) w.a(Section::kAdditional, zone->ns_wire, kNsTtl, ns_addr_);
      }
      break;
    }
    case NodeKind::kNs:
      if ((qt == rrtype::kA || any) && has_ns_addr_) {
        if (!w.a(Section::kAnswer, owner, kNsTtl, ns_addr_)) return truncated(after_question);
        ++answers;
      }
      break;
    case NodeKind::kInstance: {
      const CompiledService& s = *node.service;
      const CompiledInstance& i = *node.instance;
      if ((qt == rrtype::kA || any) && s.ttl_a >= 0 && i.has4) {
        if (!w.a(Section::kAnswer, owner, static_cast<uint32_t>(s.ttl_a), i.v4)) return truncated(after_question);
        ++answers;
      }
      if ((qt == rrtype::kAaaa || any) && s.ttl_aaaa >= 0 && i.has6) {
        if (!w.aaaa(Section::kAnswer, owner, static_cast<uint32_t>(s.ttl_aaaa), i.v6))
          return truncated(after_question);
        ++answers;
      }
      break;
    }
    case NodeKind::kService: {
      const CompiledService& s = *node.service;
      if (s.ttl_cname >= 0) {
        // A CNAME owns its name alone: every type but CNAME itself gets it too.
        size_t n = answerer.select(s, hasCname, picked);
        if (n > 0) {
          if (!w.cname(Section::kAnswer, owner, static_cast<uint32_t>(s.ttl_cname), picked[0]->cname_wire))
            return truncated(after_question);
          ++answers;
        }
        break;
      }
      if ((qt == rrtype::kA || any) && s.ttl_a >= 0) {
        size_t n = answerer.select(s, hasV4, picked);
        for (size_t k = 0; k < n; ++k) {
          if (!w.a(Section::kAnswer, owner, static_cast<uint32_t>(s.ttl_a), picked[k]->v4))
            return truncated(after_question);
          ++answers;
        }
      }
      if ((qt == rrtype::kAaaa || any) && s.ttl_aaaa >= 0) {
        size_t n = answerer.select(s, hasV6, picked);
        for (size_t k = 0; k < n; ++k) {
          if (!w.aaaa(Section::kAnswer, owner, static_cast<uint32_t>(s.ttl_aaaa), picked[k]->v6))
            return truncated(after_question);
          ++answers;
        }
      }
      if ((qt == rrtype::kSrv || any) && s.ttl_srv >= 0) {
        size_t n = answerer.select(s, hasTarget, extra);
        for (size_t k = 0; k < n; ++k) {
          if (!w.srv(Section::kAnswer, owner, static_cast<uint32_t>(s.ttl_srv), 1, 1, extra[k]->port,
                     extra[k]->wire_name))
            return truncated(after_question);
          ++answers;
        }
        extras = n;
        extra_service = &s;
      }
      break;
    }
  }
  if (answers == 0) return negative(rcode::kNoError);
  // Additional data is optional: what does not fit is left out, without TC.
  for (size_t k = 0; k < extras; ++k) {
    const CompiledInstance& i = *extra[k];
    if (extra_service->ttl_a >= 0 && i.has4 &&
        !w.a(Section::kAdditional, i.wire_name, static_cast<uint32_t>(extra_service->ttl_a), i.v4))
      break;
    if (extra_service->ttl_aaaa >= 0 && i.has6 &&
        !w.aaaa(Section::kAdditional, i.wire_name, static_cast<uint32_t>(extra_service->ttl_aaaa), i.v6))
      break;
  }
  return finish(rcode::kNoError);
}

size_t Resolver::relay(const Query& q, std::span<const uint8_t> upstream, std::span<uint8_t> out, size_t limit) {
  limit = std::min(limit, out.size());
  if (upstream.size() < kHeaderSize) return servfail(q, out, limit);
  if (upstream.size() <= limit) {
    std::memcpy(out.data(), upstream.data(), upstream.size());
    out[0] = static_cast<uint8_t>(q.id >> 8);
    out[1] = static_cast<uint8_t>(q.id);
    return upstream.size();
  }
  ResponseWriter w(out, limit);
  uint16_t flags = static_cast<uint16_t>(upstream[2] << 8 | upstream[3]);
  w.header(q.id, static_cast<uint16_t>(flags | flag::kTc | flag::kQr));
  w.question(q.name.view(), q.qtype, q.qclass);
  if (q.edns) w.opt(kEdnsUdpSize, 0, q.dnssec_ok);
  return w.finish();
}

size_t Resolver::servfail(const Query& q, std::span<uint8_t> out, size_t limit) {
  ResponseWriter w(out, std::min(limit, out.size()));
  w.header(q.id, flag::kQr | flag::kRa | (q.flags & (flag::kRd | flag::kCd)));
  w.setRcode(rcode::kServFail);
  w.question(q.name.view(), q.qtype, q.qclass);
  if (q.edns) w.opt(kEdnsUdpSize, 0, q.dnssec_ok);
  return w.finish();
}

}  // namespace berth::dns
