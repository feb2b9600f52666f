// Task networking on the real kernel: namespaces, netlink, and traffic
// between two task namespaces over a bridge. Needs root; each test makes its
// own bridge (bt<hex>), its own VPC CIDR in 10.0.0.0/8 that no host route
// touches, its own veth prefix and a temporary tasks directory, and removes
// all of them in TearDown even when it fails. Traffic goes only between the
// test's namespaces and the test's bridge.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <thread>

#include <gtest/gtest.h>

#include "agent/network/ipam.h"
#include "agent/network/netlink.h"
#include "agent/network/netns.h"
#include "agent/network/task_network.h"
#include "common/random.h"

namespace berth::agent::net {
namespace {

namespace fs = std::filesystem;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Prefixes of the host's IPv4 routes (except the default route).
std::vector<Ipv4Prefix> hostRoutes() {
  std::vector<Ipv4Prefix> out;
  std::istringstream lines(readFile("/proc/net/route"));
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    // The file prints the network-order words in host order.
    uint32_t d = static_cast<uint32_t>(std::stoul(dest, nullptr, 16));
    uint32_t m = static_cast<uint32_t>(std::stoul(mask, nullptr, 16));
    int length = __builtin_popcount(m);
    if (length == 0) continue;
    out.push_back(Ipv4Prefix{Ipv4Address::fromNetworkOrder(d), length});
  }
  return out;
}

// A 10.x.0.0/16 that overlaps no host route and no host address.
std::optional<Ipv4Prefix> pickFreeCidr(Netlink& host) {
  std::vector<Ipv4Prefix> taken = hostRoutes();
  if (auto addrs = host.addresses(0)) {
    for (const auto& a : *addrs) taken.push_back(a.address);
  }
  for (int attempt = 0; attempt < 200; ++attempt) {
    Ipv4Prefix candidate{Ipv4Address{(10u << 24) | (static_cast<uint32_t>(1 + randomBelow(254)) << 16)}, 16};
    bool clash = false;
    for (const auto& t : taken) clash = clash || candidate.overlaps(Ipv4Prefix{t.network(), t.length});
    if (!clash) return candidate;
  }
  return std::nullopt;
}

bool mountinfoMentions(const std::string& path) {
  return readFile("/proc/self/mountinfo").find(path) != std::string::npos;
}

std::vector<std::string> sysClassNet() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator("/sys/class/net")) out.push_back(e.path().filename());
  return out;
}

// A TCP socket created inside the namespace `netns_fd` (-1: the host's). A
// socket stays in the namespace it was created in.
UniqueFd tcpSocketIn(int netns_fd) {
  std::optional<ScopedNetnsEnter> entered;
  if (netns_fd >= 0) {
    auto e = ScopedNetnsEnter::enter(netns_fd);
    if (!e) return UniqueFd();
    entered.emplace(std::move(*e));
  }
  return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

sockaddr_in sockaddrOf(Ipv4Address ip, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = ip.networkOrder();
  return sa;
}

// Listens on ip:0 inside `netns_fd`; returns the socket and its port.
std::pair<UniqueFd, uint16_t> listenIn(int netns_fd, Ipv4Address ip) {
  UniqueFd fd = tcpSocketIn(netns_fd);
  if (!fd) return {};
  sockaddr_in sa = sockaddrOf(ip, 0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd.get(), 4) != 0) return {};
  socklen_t len = sizeof sa;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return {std::move(fd), ntohs(sa.sin_port)};
}

// Connects from inside `from_netns` to ip:port, sends "ping", expects the
// listener to read it and answer "pong". Returns "" on success, else why not.
std::string pingPong(int from_netns, int listener, Ipv4Address ip, uint16_t port) {
  UniqueFd client = tcpSocketIn(from_netns);
  if (!client) return "socket failed";
  timeval tv{2, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::fcntl(client.get(), F_SETFL, O_NONBLOCK);
  sockaddr_in sa = sockaddrOf(ip, port);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    return std::string("connect: ") + std::strerror(errno);
  }
  pollfd p{client.get(), POLLOUT, 0};
  if (::poll(&p, 1, 3000) != 1) return "connect timed out";
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return std::string("connect: ") + std::strerror(err);
  ::fcntl(client.get(), F_SETFL, 0);

  pollfd l{listener, POLLIN, 0};
  if (::poll(&l, 1, 3000) != 1) return "accept timed out";
  UniqueFd server(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!server) return "accept failed";
  ::setsockopt(server.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[8] = {};
  if (::send(client.get(), "ping", 4, MSG_NOSIGNAL) != 4) return "send ping failed";
  if (::recv(server.get(), buf, 4, MSG_WAITALL) != 4 || std::string(buf, 4) != "ping") return "no ping";
  if (::send(server.get(), "pong", 4, MSG_NOSIGNAL) != 4) return "send pong failed";
  char back[8] = {};
  if (::recv(client.get(), back, 4, MSG_WAITALL) != 4 || std::string(back, 4) != "pong") return "no pong";
  return "";
}

class NetworkRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      std::printf("SKIPPED: %s needs root (netns, veth, bridges)\n", testName());
      GTEST_SKIP() << "needs root";
    }
    char tmpl[] = "/tmp/berth-net-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto host = MnlNetlink::open();
    ASSERT_TRUE(host) << host.error().message;
    host_ = std::move(*host);
    // Can this host make a namespace at all (a container without CAP_SYS_ADMIN cannot)?
    auto probe = netns_.create(dir_ / "probe");
    if (!probe) {
      std::printf("SKIPPED: %s: cannot create a network namespace: %s\n", testName(),
                  probe.error().message.c_str());
      GTEST_SKIP() << probe.error().message;
    }
    probe->fd.reset();
    ASSERT_TRUE(netns_.remove(dir_ / "probe"));

    bridge_ = "bt" + randomHex(4);
    veth_prefix_ = "t" + randomHex(1);
    auto cidr = pickFreeCidr(*host_);
    ASSERT_TRUE(cidr) << "no free 10.x.0.0/16 on this host";
    vpc_ = *cidr;
    subnet_ = Ipv4Prefix{vpc_.network(), 24};
  }

  void TearDown() override {
    if (host_) {
      // Links first (a veth left behind would keep nothing alive, but it
      // would be a leak on the host), then the pins, then the directory.
      if (auto links = host_->links()) {
        for (const auto& link : *links) {
          if (link.name == bridge_ || (link.name.starts_with(veth_prefix_) && link.kind == "veth")) {
            (void)host_->deleteLink(link.index);
          }
        }
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->path().filename() == "netns" || it->path().filename() == "probe") (void)netns_.remove(it->path());
      }
      fs::remove_all(dir_, ec);
    }
  }

  static const char* testName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

  TaskNetworkConfig config() const {
    TaskNetworkConfig c;
    c.bridge = bridge_;
    c.vpc = vpc_;
    c.subnets = {subnet_};
    c.tasks_dir = dir_ / "tasks";
    c.veth_prefix = veth_prefix_;
    return c;
  }

  bool linkExists(const std::string& name) {
    auto names = sysClassNet();
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  // cleanup() leaves the veth pair to the kernel, which destroys it with
  // the namespace asynchronously: give it a moment (a leak fails after 5 s).
  bool linkGoneSoon(const std::string& name) {
    for (int i = 0; i < 500 && linkExists(name); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return !linkExists(name);
  }

  fs::path dir_;
  std::unique_ptr<MnlNetlink> host_;
  LinuxNetns netns_;
  std::string bridge_, veth_prefix_;
  Ipv4Prefix vpc_, subnet_;
};

TEST_F(NetworkRootTest, ROOT_NamespacesArePinnedReopenedAndRemoved) {
  fs::path path = dir_ / "tasks" / "t1" / "netns";
  auto created = netns_.create(path);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(isNetnsFd(created->fd.get()));
  EXPECT_TRUE(mountinfoMentions(path.string()));
  auto twice = netns_.create(path);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kAlreadyExists);

  // Reopening (as after a restart) finds the same namespace.
  auto reopened = netns_.open(path);
  ASSERT_TRUE(reopened);
  struct stat a {}, b {};
  ASSERT_EQ(fstat(created->fd.get(), &a), 0);
  ASSERT_EQ(fstat(reopened->fd.get(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);

  ASSERT_TRUE(netns_.remove(path));
  EXPECT_FALSE(mountinfoMentions(path.string()));
  EXPECT_FALSE(fs::exists(path));
  ASSERT_TRUE(netns_.remove(path)) << "idempotent";
  EXPECT_EQ(netns_.open(path).error().code, ErrorCode::kNotFound);

  // An empty file left by a crash before the mount is not a namespace, and
  // create() reuses it.
  { std::ofstream(path.string()).put('\0'); }
  EXPECT_EQ(netns_.open(path).error().code, ErrorCode::kNotFound);
  auto again = netns_.create(path);
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_TRUE(netns_.remove(path));
}

TEST_F(NetworkRootTest, ROOT_NetlinkErrorsKeepTheErrno) {
  ASSERT_TRUE(host_->createBridge(bridge_, std::nullopt));
  auto dup = host_->createBridge(bridge_, std::nullopt);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().sys_errno, EEXIST);
  auto missing = host_->linkByName(veth_prefix_ + "nothere");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().sys_errno, ENODEV);
  int bridge = host_->linkIndex(bridge_).value();
  EXPECT_EQ(host_->linkByIndex(bridge).value().kind, "bridge");
  auto route = host_->addRoute(Ipv4Prefix{vpc_.network(), 24}, Ipv4Address{vpc_.network().value + 1}, bridge);
  ASSERT_FALSE(route) << "a gateway on no connected subnet is refused";
  EXPECT_NE(route.error().sys_errno, 0);
  ASSERT_TRUE(host_->deleteLink(bridge));
  EXPECT_EQ(host_->deleteLink(bridge).error().sys_errno, ENODEV);
  EXPECT_FALSE(linkExists(bridge_));
}

TEST_F(NetworkRootTest, ROOT_TwoTasksReachEachOtherAndTheGatewayAndLeaveNothingBehind) {
  MemoryIpamStore store;
  Ipam ipam(vpc_, store);
  TaskNetwork network(config(), *host_, netns_, ipam);
  auto up = network.setUpBridge();
  ASSERT_TRUE(up) << up.error().message;
  auto a = network.prepare("task-a", subnet_);
  ASSERT_TRUE(a) << a.error().message;
  auto b = network.prepare("task-b", subnet_);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_TRUE(linkExists(bridge_));
  EXPECT_TRUE(linkExists(a->host_veth));
  for (const auto& link : host_->links().value_or(std::vector<LinkInfo>{})) {
    EXPECT_NE(link.mac, a->mac) << link.name << ": the task's eth0 is not in the host namespace";
  }

  auto ns_a = netns_.open(a->netns_path).value();
  auto ns_b = netns_.open(b->netns_path).value();

  // Inside a: eth0 has the address and MAC from IPAM, and the routes.
  auto inside = host_->openIn(ns_a.fd.get()).value();
  auto eth0 = inside->linkByName("eth0").value();
  EXPECT_EQ(eth0.mac, a->mac);
  EXPECT_EQ(inside->addresses(eth0.index).value().at(0).address, a->address);
  bool has_default = false, has_endpoint = false;
  auto routes = inside->routes().value();
  for (const auto& r : routes) {
    has_default = has_default || (r.destination.length == 0 && r.gateway == a->gateway);
    has_endpoint = has_endpoint || (r.destination == Ipv4Prefix{kTaskEndpointAddress, 32} && r.gateway == a->gateway);
  }
  EXPECT_TRUE(has_default);
  EXPECT_TRUE(has_endpoint);
  // The bridge owns the gateway and the task endpoint address.
  std::vector<Ipv4Prefix> bridge_addrs;
  auto bridge_infos = host_->addresses(host_->linkIndex(bridge_).value()).value();
  for (const auto& x : bridge_infos) bridge_addrs.push_back(x.address);
  EXPECT_NE(std::find(bridge_addrs.begin(), bridge_addrs.end(), Ipv4Prefix{a->gateway, 24}), bridge_addrs.end());
  EXPECT_NE(std::find(bridge_addrs.begin(), bridge_addrs.end(), Ipv4Prefix{kTaskEndpointAddress, 32}),
            bridge_addrs.end());

  // b → a over the bridge.
  auto [listen_a, port_a] = listenIn(ns_a.fd.get(), a->address.address);
  ASSERT_TRUE(listen_a);
  EXPECT_EQ(pingPong(ns_b.fd.get(), listen_a.get(), a->address.address, port_a), "");
  // a → b.
  auto [listen_b, port_b] = listenIn(ns_b.fd.get(), b->address.address);
  ASSERT_TRUE(listen_b);
  EXPECT_EQ(pingPong(ns_a.fd.get(), listen_b.get(), b->address.address, port_b), "");
  // a → the gateway (a listener in the host namespace on the bridge's address).
  auto [listen_gw, port_gw] = listenIn(-1, a->gateway);
  ASSERT_TRUE(listen_gw);
  EXPECT_EQ(pingPong(ns_a.fd.get(), listen_gw.get(), a->gateway, port_gw), "");
  // Loopback inside a task works (containers of a task share it).
  auto [listen_lo, port_lo] = listenIn(ns_a.fd.get(), Ipv4Address{0x7f000001});
  ASSERT_TRUE(listen_lo);
  EXPECT_EQ(pingPong(ns_a.fd.get(), listen_lo.get(), Ipv4Address{0x7f000001}, port_lo), "");

  // Nothing of ours may hold a task namespace, or it (and its veth) lives on.
  listen_a.reset();
  listen_b.reset();
  listen_lo.reset();
  inside.reset();
  ns_a.fd.reset();
  ns_b.fd.reset();
  ASSERT_TRUE(network.cleanup("task-a"));
  ASSERT_TRUE(network.cleanup("task-b"));
  ASSERT_TRUE(network.cleanup("task-b")) << "idempotent";
  EXPECT_TRUE(linkGoneSoon(a->host_veth));
  EXPECT_TRUE(linkGoneSoon(b->host_veth));
  EXPECT_FALSE(mountinfoMentions(dir_.string()));
  EXPECT_EQ(store.size(), 0u);
  ASSERT_TRUE(network.removeBridge());
  EXPECT_FALSE(linkExists(bridge_));
  for (const auto& name : sysClassNet()) EXPECT_FALSE(name.starts_with(veth_prefix_)) << name;
}

TEST_F(NetworkRootTest, ROOT_RecoverAfterARestartAdoptsTheLiveTaskAndCleansTheRest) {
  MemoryIpamStore store;
  std::string veth_live, veth_dead;
  Ipv4Address live_ip;
  {
    Ipam ipam(vpc_, store);
    TaskNetwork network(config(), *host_, netns_, ipam);
    ASSERT_TRUE(network.setUpBridge());
    auto live = network.prepare("live", subnet_);
    ASSERT_TRUE(live) << live.error().message;
    auto dead = network.prepare("dead", subnet_);
    ASSERT_TRUE(dead) << dead.error().message;
    veth_live = live->host_veth;
    veth_dead = dead->host_veth;
    live_ip = live->address.address;
  }  // "berthd" goes away; the kernel state stays.

  Ipam ipam(vpc_, store);
  ASSERT_TRUE(ipam.recover());
  TaskNetwork network(config(), *host_, netns_, ipam);
  ASSERT_TRUE(network.setUpBridge());
  auto recovered = network.recover({"live"});
  ASSERT_TRUE(recovered) << recovered.error().message;
  ASSERT_EQ(recovered->adopted.size(), 1u);
  EXPECT_EQ(recovered->adopted[0].address.address, live_ip);
  EXPECT_EQ(recovered->cleaned, std::vector<std::string>{"dead"});
  EXPECT_TRUE(linkExists(veth_live));
  EXPECT_FALSE(linkExists(veth_dead));

  // The adopted namespace still works: the gateway answers from inside.
  auto ns = netns_.open(recovered->adopted[0].netns_path).value();
  auto [listen_gw, port_gw] = listenIn(-1, recovered->adopted[0].gateway);
  ASSERT_TRUE(listen_gw);
  EXPECT_EQ(pingPong(ns.fd.get(), listen_gw.get(), recovered->adopted[0].gateway, port_gw), "");
  ns.fd.reset();

  ASSERT_TRUE(network.cleanup("live"));
  ASSERT_TRUE(network.removeBridge());
  EXPECT_FALSE(mountinfoMentions(dir_.string()));
}

}  // namespace
}  // namespace berth::agent::net
