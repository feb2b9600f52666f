// TaskNetwork on the in-memory kernel (FakeNetlink, FakeNetnsOps): the
// order of operations, idempotence, rollback and recovery.
#include "agent/network/task_network.h"

#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>

#include "agent/network/fake_netlink.h"

namespace berth::agent::net {
namespace {

Ipv4Prefix net(const char* text) { return Ipv4Prefix::parseNetwork(text).value(); }
Ipv4Prefix addr(const char* text) { return Ipv4Prefix::parse(text).value(); }

class TaskNetworkTest : public ::testing::Test {
 protected:
  TaskNetworkTest() : host_(kernel_), netns_(kernel_), ipam_(net("172.31.0.0/16"), store_) {}

  std::unique_ptr<TaskNetwork> make() {
    TaskNetworkConfig config;
    config.bridge = "berth0";
    config.subnets = {net("172.31.0.0/20"), net("172.31.16.0/20")};
    config.tasks_dir = "/data/tasks";
    return std::make_unique<TaskNetwork>(config, host_, netns_, ipam_);
  }

  int bridgeIndex() { return kernel_.findLink(FakeKernel::kHostNamespace, "berth0")->info.index; }

  std::vector<Ipv4Prefix> hostAddresses(int index) {
    std::vector<Ipv4Prefix> out;
    auto infos = host_.addresses(index).value();
    for (const auto& a : infos) out.push_back(a.address);
    return out;
  }

  // The namespace pinned for a task, or -1.
  int taskNamespace(const std::string& id) {
    auto it = kernel_.pins().find("/data/tasks/" + id + "/netns");
    return it == kernel_.pins().end() ? -1 : it->second;
  }

  FakeKernel kernel_;
  FakeNetlink host_;
  FakeNetnsOps netns_;
  MemoryIpamStore store_;
  Ipam ipam_;
};

TEST_F(TaskNetworkTest, SetUpBridgeCreatesItWithGatewaysAndTheTaskEndpointAndIsIdempotent) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  ASSERT_TRUE(network->setUpBridge());
  const auto* bridge = kernel_.findLink(FakeKernel::kHostNamespace, "berth0");
  ASSERT_NE(bridge, nullptr);
  EXPECT_EQ(bridge->info.kind, "bridge");
  EXPECT_TRUE(bridge->info.up);
  EXPECT_EQ(bridge->info.mac->toString(), "02:b7:ac:1f:00:01");
  EXPECT_EQ(hostAddresses(bridge->info.index),
            (std::vector<Ipv4Prefix>{addr("172.31.0.1/20"), addr("172.31.16.1/20"), addr("169.254.170.2/32")}));
  EXPECT_EQ(kernel_.calls("createBridge"), 1);
}

TEST_F(TaskNetworkTest, SetUpBridgeRefusesALinkOfAnotherKind) {
  ASSERT_TRUE(host_.createVeth(VethSpec{"berth0", "other", -1, {}, 0, true, 0}));
  auto network = make();
  auto status = network->setUpBridge();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(TaskNetworkTest, PrepareGivesTheTaskItsNamespaceAddressAndRoutes) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  auto attachment = network->prepare("t1", net("172.31.16.0/20"));
  ASSERT_TRUE(attachment) << attachment.error().message;
  EXPECT_EQ(attachment->address.toString(), "172.31.16.4/20");
  EXPECT_EQ(attachment->gateway.toString(), "172.31.16.1");
  EXPECT_EQ(attachment->mac.toString(), "02:b7:ac:1f:10:04");
  EXPECT_EQ(attachment->netns_path, "/data/tasks/t1/netns");
  EXPECT_EQ(attachment->host_veth, network->hostVethName("t1"));
  EXPECT_LE(attachment->host_veth.size(), 15u);

  const auto* veth = kernel_.findLink(FakeKernel::kHostNamespace, attachment->host_veth);
  ASSERT_NE(veth, nullptr);
  EXPECT_EQ(veth->info.master, bridgeIndex());
  EXPECT_TRUE(veth->info.up);

  int ns = taskNamespace("t1");
  ASSERT_GE(ns, 0);
  EXPECT_EQ(veth->peer->first, ns) << "the peer is created inside the task's namespace";
  EXPECT_EQ(kernel_.calls("moveToNetns"), 0);
  FakeNetlink inside(kernel_, ns);
  EXPECT_TRUE(inside.linkByName("lo").value().up);
  auto eth0 = inside.linkByName("eth0").value();
  EXPECT_TRUE(eth0.up);
  EXPECT_EQ(eth0.mac, attachment->mac);
  auto addrs = inside.addresses(eth0.index).value();
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(addrs[0].address, addr("172.31.16.4/20"));
  auto routes = inside.routes().value();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].destination, addr("0.0.0.0/0"));
  EXPECT_EQ(routes[0].gateway->toString(), "172.31.16.1");
  EXPECT_EQ(routes[1].destination, addr("169.254.170.2/32"));
  EXPECT_EQ(routes[1].oif, eth0.index);

  // A second task gets the next address; both pins exist.
  auto second = network->prepare("t2", net("172.31.16.0/20")).value();
  EXPECT_EQ(second.address.toString(), "172.31.16.5/20");
  EXPECT_NE(taskNamespace("t2"), ns);
}

TEST_F(TaskNetworkTest, PrepareAddsTheGatewayOfASubnetNotConfigured) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  ASSERT_TRUE(network->prepare("t1", net("172.31.32.0/20")));
  auto addrs = hostAddresses(bridgeIndex());
  EXPECT_NE(std::find(addrs.begin(), addrs.end(), addr("172.31.32.1/20")), addrs.end());
}

TEST_F(TaskNetworkTest, PrepareNeedsTheBridge) {
  auto network = make();
  auto attachment = network->prepare("t1", net("172.31.0.0/20"));
  ASSERT_FALSE(attachment);
  EXPECT_EQ(attachment.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(TaskNetworkTest, CleanupRemovesEverythingAndIsIdempotent) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  auto attachment = network->prepare("t1", net("172.31.0.0/20")).value();
  size_t namespaces = kernel_.namespaceCount();
  ASSERT_TRUE(network->cleanup("t1"));
  EXPECT_EQ(kernel_.findLink(FakeKernel::kHostNamespace, attachment.host_veth), nullptr);
  EXPECT_EQ(taskNamespace("t1"), -1);
  EXPECT_EQ(kernel_.namespaceCount(), namespaces - 1);
  EXPECT_FALSE(ipam_.find("t1"));
  EXPECT_EQ(store_.size(), 0u);
  ASSERT_TRUE(network->cleanup("t1"));
  ASSERT_TRUE(network->cleanup("never-prepared"));
}

TEST_F(TaskNetworkTest, AFailedPrepareLeavesNothingBehind) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  for (const char* op : {"netnsCreate", "createVeth", "addAddress", "addRoute", "openIn"}) {
    SCOPED_TRACE(op);
    size_t namespaces = kernel_.namespaceCount();
    size_t host_links = host_.links().value().size();
    kernel_.failNext(op, ENOMEM);
    auto attachment = network->prepare("t1", net("172.31.0.0/20"));
    ASSERT_FALSE(attachment);
    EXPECT_EQ(attachment.error().sys_errno, ENOMEM);
    EXPECT_EQ(kernel_.namespaceCount(), namespaces);
    EXPECT_EQ(host_.links().value().size(), host_links);
    EXPECT_EQ(taskNamespace("t1"), -1);
    EXPECT_FALSE(ipam_.find("t1"));
  }
  EXPECT_TRUE(network->prepare("t1", net("172.31.0.0/20")));
}

TEST_F(TaskNetworkTest, PrepareAgainRedoesTheLinksAndKeepsLeaseAndNamespace) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  auto first = network->prepare("t1", net("172.31.0.0/20")).value();
  int ns = taskNamespace("t1");
  // A half-made state, as after a crash in the middle: eth0 lost its address.
  FakeNetlink inside(kernel_, ns);
  int eth0 = inside.linkIndex("eth0").value();
  ASSERT_TRUE(inside.deleteAddress(eth0, first.address));
  auto again = network->prepare("t1", net("172.31.0.0/20")).value();
  EXPECT_EQ(again.address, first.address);
  EXPECT_EQ(taskNamespace("t1"), ns);
  EXPECT_EQ(inside.addresses(inside.linkIndex("eth0").value()).value().size(), 1u);
  EXPECT_EQ(ipam_.leases().size(), 1u);
}

TEST_F(TaskNetworkTest, RecoverAdoptsRepairsCleansAndReportsLostTasks) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  auto intact = network->prepare("intact", net("172.31.0.0/20")).value();
  auto broken = network->prepare("broken", net("172.31.0.0/20")).value();
  auto gone = network->prepare("gone", net("172.31.0.0/20")).value();
  auto stopped = network->prepare("stopped", net("172.31.16.0/20")).value();
  // "broken" lost its veth; "gone" lost its namespace; a stray veth sits on the bridge.
  ASSERT_TRUE(host_.deleteLink(host_.linkIndex(broken.host_veth).value()));
  kernel_.destroyNamespace(taskNamespace("gone"));
  kernel_.pins().erase("/data/tasks/gone/netns");
  ASSERT_TRUE(host_.createVeth(VethSpec{"bvstray", "bvstray-p", -1, {}, bridgeIndex(), true, 0}));

  // A new berthd: fresh objects over the same kernel and store.
  Ipam ipam(net("172.31.0.0/16"), store_);
  ASSERT_TRUE(ipam.recover());
  TaskNetworkConfig config = network->config();
  network.reset();
  TaskNetwork restarted(config, host_, netns_, ipam);
  ASSERT_TRUE(restarted.setUpBridge());
  auto recovered = restarted.recover({"intact", "broken", "gone"});
  ASSERT_TRUE(recovered) << recovered.error().message;

  std::vector<std::string> adopted;
  for (const auto& a : recovered->adopted) adopted.push_back(a.task_id);
  std::sort(adopted.begin(), adopted.end());
  EXPECT_EQ(adopted, (std::vector<std::string>{"broken", "intact"}));
  EXPECT_EQ(recovered->lost, std::vector<std::string>{"gone"});
  EXPECT_EQ(recovered->cleaned, std::vector<std::string>{"stopped"});

  EXPECT_NE(kernel_.findLink(FakeKernel::kHostNamespace, broken.host_veth), nullptr) << "repaired";
  EXPECT_EQ(kernel_.findLink(FakeKernel::kHostNamespace, "bvstray"), nullptr);
  EXPECT_EQ(kernel_.findLink(FakeKernel::kHostNamespace, stopped.host_veth), nullptr);
  EXPECT_EQ(taskNamespace("stopped"), -1);
  EXPECT_EQ(ipam.leases().size(), 2u);
  EXPECT_EQ(ipam.find("intact")->address, intact.address.address);
}

TEST_F(TaskNetworkTest, PrepareInAnotherSubnetIsRefusedAndLeavesTheFirstNetworkAlone) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  auto first = network->prepare("t1", net("172.31.0.0/20")).value();
  auto other = network->prepare("t1", net("172.31.16.0/20"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(kernel_.findLink(FakeKernel::kHostNamespace, first.host_veth), nullptr);
  EXPECT_GE(taskNamespace("t1"), 0);
  EXPECT_EQ(ipam_.find("t1")->address, first.address.address);
}

TEST_F(TaskNetworkTest, HostVethNamesAreStableShortAndDistinct) {
  auto network = make();
  EXPECT_EQ(network->hostVethName("abc"), network->hostVethName("abc"));
  EXPECT_NE(network->hostVethName("abc"), network->hostVethName("abd"));
  EXPECT_EQ(network->hostVethName("0123456789abcdef0123456789abcdef").size(), 14u);
}

TEST_F(TaskNetworkTest, RejectsTaskIdsThatAreNotAPathComponent) {
  auto network = make();
  ASSERT_TRUE(network->setUpBridge());
  for (const char* bad : {"", "..", "a/b"}) {
    EXPECT_EQ(network->prepare(bad, net("172.31.0.0/20")).error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST_F(TaskNetworkTest, WithoutTheTaskEndpointNoAddressOrRouteIsAdded) {
  TaskNetworkConfig config;
  config.tasks_dir = "/data/tasks";
  config.task_endpoint = false;
  TaskNetwork network(config, host_, netns_, ipam_);
  ASSERT_TRUE(network.setUpBridge());
  EXPECT_TRUE(hostAddresses(bridgeIndex()).empty());
  ASSERT_TRUE(network.prepare("t1", net("172.31.0.0/20")));
  EXPECT_EQ(FakeNetlink(kernel_, taskNamespace("t1")).routes().value().size(), 1u);
}

}  // namespace
}  // namespace berth::agent::net
