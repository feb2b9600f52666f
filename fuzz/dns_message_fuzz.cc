// libFuzzer target for the DNS wire format (src/dns/message.h) and the
// resolver that answers from it (src/dns/resolver.h): arbitrary bytes as a
// UDP and a TCP query against a small zone, and through decodeMessage().
//
// Properties checked beyond "no crash, no sanitizer report":
// - an answer fits the limit it was built for (512 bytes for a client
//   without EDNS, its EDNS size up to 1232, 64 KiB over TCP);
// - every answer decodes again, with the query's id;
// - relay() of the input as an upstream answer stays within the limit.
//
// Seeds in fuzz/corpus/dns_message_fuzz/: queries as dig sends them (A, SRV,
// AAAA, ANY, with and without EDNS), a compression loop, a truncated packet.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "dns/resolver.h"

namespace {

using namespace berth::dns;

ZoneSnapshot zone() {
  ZoneSnapshot s;
  DnsZone z;
  z.name = "dev.local";
  DnsService svc;
  svc.name = "backend";
  svc.records = {{DnsRecordSpec::Type::kA, 10}, {DnsRecordSpec::Type::kAaaa, 10}, {DnsRecordSpec::Type::kSrv, 10}};
  for (int i = 0; i < 12; ++i) {
    DnsInstance in;
    in.id = "task-" + std::to_string(i);
    in.ipv4 = "172.31.0." + std::to_string(4 + i);
    in.ipv6 = "fd00::" + std::to_string(4 + i);
    in.port = 8000;
    in.healthy = i % 3 != 0;
    svc.instances.push_back(in);
  }
  DnsService alias;
  alias.name = "alias";
  alias.routing = RoutingPolicy::kWeighted;
  alias.records = {{DnsRecordSpec::Type::kCname, 5}};
  alias.instances = {DnsInstance{"c", "", "", 0, "backend.dev.local", true}};
  z.services = {svc, alias};
  s.zones = {z};
  return s;
}

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "dns_message_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static StaticZoneSource source(zone());
  static Resolver resolver(source, ResolverOptions{});
  static Resolver::Scratch scratch;
  static std::vector<uint8_t> out(kMaxTcpMessage);
  resolver.refresh(scratch);
  std::span<const uint8_t> packet(data, size);

  for (bool udp : {true, false}) {
    size_t n = 0;
    auto action = resolver.handle(scratch, packet, udp, out, &n);
    if (action != Resolver::Action::kRespond) continue;
    size_t limit = udp ? scratch.query.udpLimit() : kMaxTcpMessage;
    check(n <= std::max<size_t>(limit, kClassicUdpSize), "answer over the limit");
    auto decoded = decodeMessage({out.data(), n});
    check(decoded.has_value(), "an answer does not decode");
    check(decoded->id == static_cast<uint16_t>(data[0] << 8 | data[1]), "answer id differs");
  }
  (void)decodeMessage(packet);
  Query q;
  if (parseQuery(packet, q) == ParseOutcome::kOk) {
    size_t n = Resolver::relay(q, packet, out, q.udpLimit());
    check(n <= q.udpLimit(), "relayed answer over the limit");
  }
  return 0;
}
