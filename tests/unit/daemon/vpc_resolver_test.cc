#include "daemon/vpc_resolver.h"

#include <gtest/gtest.h>

#include "agent/network/fake_netlink.h"

namespace berth::daemon {
namespace {

using agent::net::FakeKernel;
using agent::net::FakeNetlink;

TEST(VpcResolver, PutsEachSubnetsDotTwoOnTheBridge) {
  FakeKernel kernel;
  FakeNetlink host(kernel);
  ASSERT_TRUE(host.createBridge("bb1", std::nullopt));
  auto listen = addVpcResolverAddresses(host, "bb1", {"172.31.0.0/20", "172.31.16.0/20"});
  ASSERT_TRUE(listen) << listen.error().message;
  EXPECT_EQ(*listen, (std::vector<std::string>{"172.31.0.2:53", "172.31.16.2:53"}));
  int bridge = *host.linkIndex("bb1");
  auto addresses = host.addresses(bridge);
  ASSERT_TRUE(addresses);
  std::vector<std::string> text;
  for (const auto& a : *addresses) text.push_back(a.address.toString());
  EXPECT_EQ(text, (std::vector<std::string>{"172.31.0.2/20", "172.31.16.2/20"}));
  // Again (a restart): already there is fine.
  EXPECT_TRUE(addVpcResolverAddresses(host, "bb1", {"172.31.0.0/20"}));
  EXPECT_FALSE(addVpcResolverAddresses(host, "nope", {"172.31.0.0/20"}));
  EXPECT_FALSE(addVpcResolverAddresses(host, "bb1", {"garbage"}));
}

}  // namespace
}  // namespace berth::daemon
