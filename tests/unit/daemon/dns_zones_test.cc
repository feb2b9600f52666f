#include "daemon/dns_zones.h"

#include <gtest/gtest.h>

#include "dns/resolver.h"

namespace berth::daemon {
namespace {

namespace sd = servicediscovery;

std::shared_ptr<sd::DnsSnapshot> cloudMapSnapshot(uint64_t revision, std::vector<std::string> ips) {
  auto s = std::make_shared<sd::DnsSnapshot>();
  s->revision = revision;
  sd::DnsZone z;
  z.name = "dev.local";
  z.soa_ttl = 30;
  sd::DnsService svc;
  svc.name = "backend";
  svc.fqdn = "backend.dev.local";
  svc.weighted = true;
  svc.records = {{sd::DnsRecordType::kA, 10}, {sd::DnsRecordType::kSRV, 20}};
  for (size_t i = 0; i < ips.size(); ++i) {
    sd::DnsInstance in;
    in.id = "t" + std::to_string(i);
    in.ipv4 = ips[i];
    in.port = 8000;
    in.healthy = i != 1;
    svc.instances.push_back(in);
  }
  z.services.push_back(svc);
  s->zones.push_back(z);
  s->index();
  return s;
}

TEST(DnsZones, ConvertsCloudMapsSnapshot) {
  auto s = cloudMapSnapshot(4, {"10.0.0.1", "10.0.0.2"});
  dns::ZoneSnapshot z = toZoneSnapshot(*s);
  ASSERT_EQ(z.zones.size(), 1u);
  EXPECT_EQ(z.zones[0].name, "dev.local");
  EXPECT_EQ(z.zones[0].soa_ttl, 30u);
  ASSERT_EQ(z.zones[0].services.size(), 1u);
  const auto& svc = z.zones[0].services[0];
  EXPECT_EQ(svc.name, "backend");
  EXPECT_EQ(svc.routing, dns::RoutingPolicy::kWeighted);
  ASSERT_EQ(svc.records.size(), 2u);
  EXPECT_EQ(svc.records[1].type, dns::DnsRecordSpec::Type::kSrv);
  EXPECT_EQ(svc.records[1].ttl, 20u);
  ASSERT_EQ(svc.instances.size(), 2u);
  EXPECT_EQ(svc.instances[1].ipv4, "10.0.0.2");
  EXPECT_FALSE(svc.instances[1].healthy);
  EXPECT_EQ(svc.instances[0].port, 8000);
}

TEST(DnsZones, FollowsPublishedSnapshots) {
  sd::DnsView view;
  CloudMapZoneSource source(view);
  auto first = source.snapshot();
  EXPECT_TRUE(first->zones.empty());
  EXPECT_EQ(source.snapshot(), first);  // unchanged: the same object
  view.publish(cloudMapSnapshot(1, {"10.0.0.1"}));
  auto second = source.snapshot();
  ASSERT_EQ(second->zones.size(), 1u);
  EXPECT_EQ(source.snapshot(), second);
  // Through the resolver: the answer follows the next publish.
  dns::Resolver resolver(source, dns::ResolverOptions{"", false});
  dns::Resolver::Scratch scratch;
  auto ask = [&] {
    resolver.refresh(scratch);
    auto q = dns::buildQuery(1, "backend.dev.local", dns::rrtype::kA);
    std::vector<uint8_t> out(512);
    size_t n = 0;
    EXPECT_EQ(resolver.handle(scratch, *q, true, out, &n), dns::Resolver::Action::kRespond);
    return dns::decodeMessage({out.data(), n})->answers.size();
  };
  EXPECT_EQ(ask(), 1u);
  view.publish(cloudMapSnapshot(2, {}));
  EXPECT_EQ(ask(), 0u);
}

}  // namespace
}  // namespace berth::daemon
