#include "agent/network/ipam.h"

#include <set>

#include <gtest/gtest.h>

#include "agent/network/address.h"

namespace berth::agent::net {
namespace {

Ipv4Prefix net(const char* text) { return Ipv4Prefix::parseNetwork(text).value(); }
Ipv4Address ip(const char* text) { return Ipv4Address::parse(text).value(); }

TEST(AddressTest, ParsesAndFormats) {
  EXPECT_EQ(ip("172.31.0.5").value, 0xac1f0005u);
  EXPECT_EQ(ip("172.31.0.5").toString(), "172.31.0.5");
  EXPECT_FALSE(Ipv4Address::parse("172.31.0"));
  EXPECT_FALSE(Ipv4Address::parse("172.31.0.256"));
  EXPECT_FALSE(Ipv4Address::parse("172.31.0.5 "));
  auto p = Ipv4Prefix::parse("172.31.16.7/20").value();
  EXPECT_EQ(p.network().toString(), "172.31.16.0");
  EXPECT_EQ(p.broadcast().toString(), "172.31.31.255");
  EXPECT_EQ(p.toString(), "172.31.16.7/20");
  EXPECT_EQ(Ipv4Prefix::parse("10.0.0.1").value().length, 32);
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.0.0/"));
  EXPECT_FALSE(Ipv4Prefix::parse("10.0.0.0/2x"));
  EXPECT_FALSE(Ipv4Prefix::parseNetwork("172.31.16.7/20"));
  EXPECT_EQ(Ipv4Prefix::parse("0.0.0.0/0").value().mask(), 0u);
  EXPECT_TRUE(net("172.31.0.0/16").contains(net("172.31.16.0/20")));
  EXPECT_FALSE(net("172.31.16.0/20").contains(net("172.31.0.0/16")));
  EXPECT_FALSE(net("172.31.0.0/16").contains(net("172.30.0.0/20")));
  EXPECT_TRUE(net("10.0.0.0/8").overlaps(net("10.1.0.0/16")));
}

TEST(AddressTest, MacAddresses) {
  EXPECT_EQ(MacAddress::fromIpv4(ip("172.31.0.5")).toString(), "02:b7:ac:1f:00:05");
  EXPECT_EQ(MacAddress::parse("02:b7:ac:1f:00:05").value(), MacAddress::fromIpv4(ip("172.31.0.5")));
  EXPECT_FALSE(MacAddress::parse("02:b7:ac:1f:00"));
  EXPECT_FALSE(MacAddress::parse("02-b7-ac-1f-00-05"));
  EXPECT_FALSE(MacAddress::parse("02:b7:ac:1f:00:zz"));
  for (int i = 0; i < 50; ++i) {
    MacAddress m = MacAddress::random();
    EXPECT_EQ(m.bytes[0] & 0x01, 0) << "unicast";
    EXPECT_EQ(m.bytes[0] & 0x02, 0x02) << "locally administered";
  }
}

TEST(IpamTest, ReservesTheFirstFourAndTheLastAddressOfEverySubnet) {
  auto subnet = net("172.31.16.0/20");
  EXPECT_EQ(Ipam::capacity(subnet), 4091u);
  EXPECT_EQ(Ipam::capacity(net("10.0.0.0/28")), 11u);
  for (const char* reserved : {"172.31.16.0", "172.31.16.1", "172.31.16.2", "172.31.16.3", "172.31.31.255"}) {
    EXPECT_TRUE(Ipam::isReserved(subnet, ip(reserved))) << reserved;
  }
  EXPECT_FALSE(Ipam::isReserved(subnet, ip("172.31.16.4")));
  EXPECT_FALSE(Ipam::isReserved(subnet, ip("172.31.31.254")));
}

TEST(IpamTest, AllocatesInOrderAndIsIdempotentPerOwner) {
  MemoryIpamStore store;
  Ipam ipam(net("172.31.0.0/16"), store);
  auto a = ipam.allocate("task-a", net("172.31.16.0/20")).value();
  EXPECT_EQ(a.address.toString(), "172.31.16.4");
  EXPECT_EQ(a.gateway().toString(), "172.31.16.1");
  EXPECT_EQ(a.interfaceAddress().toString(), "172.31.16.4/20");
  EXPECT_EQ(a.mac.toString(), "02:b7:ac:1f:10:04");
  auto b = ipam.allocate("task-b", net("172.31.16.0/20")).value();
  EXPECT_EQ(b.address.toString(), "172.31.16.5");
  EXPECT_EQ(ipam.allocate("task-a", net("172.31.16.0/20")).value(), a);
  auto elsewhere = ipam.allocate("task-a", net("172.31.0.0/20"));
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(ipam.allocatedIn(net("172.31.16.0/20")), 2u);
}

TEST(IpamTest, RejectsSubnetsOutsideTheVpcOrTooSmall) {
  MemoryIpamStore store;
  Ipam ipam(net("172.31.0.0/16"), store);
  EXPECT_EQ(ipam.allocate("t", net("10.0.0.0/20")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ipam.allocate("t", net("172.31.0.0/29")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ipam.allocate("t", Ipv4Prefix::parse("172.31.0.5/20").value()).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.size(), 0u);
}

TEST(IpamTest, FillsASubnetThenReportsExhaustionAndReusesReleasedAddressesLast) {
  MemoryIpamStore store;
  Ipam ipam(net("10.9.0.0/16"), store);
  auto subnet = net("10.9.0.0/28");
  std::set<std::string> seen;
  for (int i = 0; i < 11; ++i) {
    auto lease = ipam.allocate("t" + std::to_string(i), subnet).value();
    EXPECT_FALSE(Ipam::isReserved(subnet, lease.address));
    seen.insert(lease.address.toString());
  }
  EXPECT_EQ(seen.size(), 11u);
  auto full = ipam.allocate("t11", subnet);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kResourceExhausted);

  ASSERT_TRUE(ipam.release("t3"));  // 10.9.0.7
  ASSERT_TRUE(ipam.release("t3"));  // idempotent
  EXPECT_EQ(ipam.allocate("t11", subnet).value().address.toString(), "10.9.0.7");

  // Next-fit: with room everywhere, a released address is not handed out next.
  MemoryIpamStore store2;
  Ipam ipam2(net("10.9.0.0/16"), store2);
  auto big = net("10.9.1.0/24");
  auto first = ipam2.allocate("a", big).value();
  ASSERT_TRUE(ipam2.release("a"));
  EXPECT_NE(ipam2.allocate("b", big).value().address, first.address);
}

TEST(IpamTest, RecoversLeasesFromTheStoreAndContinuesAfterThem) {
  MemoryIpamStore store;
  {
    Ipam ipam(net("172.31.0.0/16"), store);
    ASSERT_TRUE(ipam.allocate("a", net("172.31.0.0/20")));
    ASSERT_TRUE(ipam.allocate("b", net("172.31.0.0/20")));
    ASSERT_TRUE(ipam.allocate("c", net("172.31.16.0/20")));
  }
  // A corrupt lease (reserved address) and a duplicate are dropped.
  ASSERT_TRUE(store.put(IpamLease{"bad", net("172.31.0.0/20"), ip("172.31.0.2"), {}}));
  ASSERT_TRUE(store.put(IpamLease{"dup", net("172.31.0.0/20"), ip("172.31.0.4"), {}}));

  Ipam ipam(net("172.31.0.0/16"), store);
  auto recovered = ipam.recover().value();
  EXPECT_EQ(recovered.leases + recovered.dropped, 5u);
  EXPECT_EQ(recovered.dropped, 2u);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(ipam.find("b").value().address.toString(), "172.31.0.5");
  EXPECT_FALSE(ipam.find("bad"));
  EXPECT_EQ(ipam.allocate("d", net("172.31.0.0/20")).value().address.toString(), "172.31.0.6");
}

TEST(IpamTest, AFailedStoreWriteLeavesNothingAllocated) {
  MemoryIpamStore store;
  Ipam ipam(net("172.31.0.0/16"), store);
  store.failNextWrite();
  auto lease = ipam.allocate("a", net("172.31.0.0/20"));
  ASSERT_FALSE(lease);
  EXPECT_EQ(lease.error().code, ErrorCode::kIo);
  EXPECT_FALSE(ipam.find("a"));
  EXPECT_EQ(ipam.allocatedIn(net("172.31.0.0/20")), 0u);
  EXPECT_EQ(ipam.allocate("a", net("172.31.0.0/20")).value().address.toString(), "172.31.0.4");

  store.failNextWrite();
  EXPECT_FALSE(ipam.release("a"));
  EXPECT_TRUE(ipam.find("a")) << "a lease the store still has stays allocated";
}

TEST(IpamTest, RandomMacPolicy) {
  MemoryIpamStore store;
  Ipam ipam(net("172.31.0.0/16"), store, MacPolicy::kRandom);
  auto a = ipam.allocate("a", net("172.31.0.0/20")).value();
  EXPECT_NE(a.mac, MacAddress::fromIpv4(a.address));
  EXPECT_EQ(a.mac.bytes[0] & 0x03, 0x02);
}

}  // namespace
}  // namespace berth::agent::net
