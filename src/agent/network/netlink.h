// rtnetlink, narrowed to what task networking needs: links (bridge, veth),
// IPv4 addresses and routes in one network namespace.
//
// `Netlink` is the interface; `MnlNetlink` talks to the kernel through
// libmnl (ARCHITECTURE.md decision 3: no `ip` subprocesses), and
// `FakeNetlink` (fake_netlink.h) keeps an in-memory kernel for unit tests.
//
// A Netlink object is bound to the network namespace it was opened in, for
// its whole life (a netlink socket belongs to the namespace that created it).
// `openIn()` gives one bound to another namespace.
//
// Threads: an object is not thread-safe; one caller at a time. Calls block
// on the kernel (tens of microseconds), so they belong on a worker thread,
// not on the control plane's executor.
//
// Errors keep the kernel's errno in Error::sys_errno and its extended ack
// message, when there is one, in the message. EEXIST maps to
// kAlreadyExists, ENODEV/ESRCH/EADDRNOTAVAIL to kNotFound, the rest to kIo.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/network/address.h"
#include "common/result.h"

namespace berth::agent::net {

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;     // IFLA_INFO_KIND: "bridge", "veth", "" for plain devices
  int master = 0;       // index of the bridge it is enslaved to, 0 if none
  bool up = false;      // administratively up (IFF_UP)
  std::optional<MacAddress> mac;
};

struct AddressInfo {
  int index = 0;        // link index
  Ipv4Prefix address;   // e.g. 172.31.0.1/20
};

struct RouteInfo {
  Ipv4Prefix destination;            // 0.0.0.0/0 for the default route
  std::optional<Ipv4Address> gateway;
  int oif = 0;                       // output link index
};

// A veth pair. The host side is created in the namespace of the Netlink
// object; the peer directly inside `peer_netns_fd` when that is >= 0 (one
// message, no move: 0.6 ms instead of 17 ms, decision 3).
struct VethSpec {
  std::string name;                  // host side, at most 15 bytes
  std::string peer_name;             // e.g. "eth0"
  int peer_netns_fd = -1;
  std::optional<MacAddress> peer_mac;
  int master = 0;                    // enslave the host side to this bridge on creation
  bool up = true;                    // bring the host side up on creation (the peer
                                     // cannot be: set it up in its namespace)
  int mtu = 0;                       // 0: the kernel's default
};

class Netlink {
 public:
  virtual ~Netlink() = default;

  // Another Netlink object bound to the namespace behind `netns_fd`.
  virtual Result<std::unique_ptr<Netlink>> openIn(int netns_fd) = 0;

  // --- links
  // kAlreadyExists (EEXIST) when a link of that name exists. A bridge
  // without a fixed MAC takes the lowest of its ports' and changes it as
  // ports come and go, which breaks its neighbours' ARP entries; give one.
  virtual Status createBridge(const std::string& name, std::optional<MacAddress> mac) = 0;
  virtual Status createVeth(const VethSpec& spec) = 0;
  // Moves an existing link into another namespace (IFLA_NET_NS_FD on a
  // RTM_NEWLINK for the link). Slow in the kernel; kept for the benchmark
  // that shows why createVeth creates the peer in place.
  virtual Status moveToNetns(int index, int netns_fd) = 0;
  virtual Status setUp(int index, bool up) = 0;
  // Enslaves the link to bridge `master`; 0 releases it.
  virtual Status setMaster(int index, int master) = 0;
  // kNotFound when there is no such link.
  virtual Status deleteLink(int index) = 0;
  virtual Result<LinkInfo> linkByName(const std::string& name) = 0;
  virtual Result<LinkInfo> linkByIndex(int index) = 0;
  virtual Result<std::vector<LinkInfo>> links() = 0;

  // --- IPv4 addresses. `address` carries the prefix length of its subnet.
  virtual Status addAddress(int index, const Ipv4Prefix& address) = 0;
  virtual Status deleteAddress(int index, const Ipv4Prefix& address) = 0;
  // All IPv4 addresses, or those of one link when index > 0.
  virtual Result<std::vector<AddressInfo>> addresses(int index = 0) = 0;

  // --- IPv4 routes in the main table
  // A route to `destination` out of link `oif`, via `gateway` if given
  // (else a link-scope route).
  virtual Status addRoute(const Ipv4Prefix& destination, std::optional<Ipv4Address> gateway, int oif) = 0;
  Status addDefaultRoute(Ipv4Address gateway, int oif) { return addRoute(Ipv4Prefix{{0}, 0}, gateway, oif); }
  virtual Result<std::vector<RouteInfo>> routes() = 0;

  // Convenience: the index of a link by name (kNotFound if none).
  Result<int> linkIndex(const std::string& name) {
    LinkInfo info = BERTH_TRY(linkByName(name));
    return info.index;
  }
};

// The kernel's rtnetlink through libmnl.
class MnlNetlink final : public Netlink {
 public:
  // Bound to the calling thread's current network namespace.
  static Result<std::unique_ptr<MnlNetlink>> open();
  ~MnlNetlink() override;
  MnlNetlink(const MnlNetlink&) = delete;
  MnlNetlink& operator=(const MnlNetlink&) = delete;

  Result<std::unique_ptr<Netlink>> openIn(int netns_fd) override;
  Status createBridge(const std::string& name, std::optional<MacAddress> mac) override;
  Status createVeth(const VethSpec& spec) override;
  Status moveToNetns(int index, int netns_fd) override;
  Status setUp(int index, bool up) override;
  Status setMaster(int index, int master) override;
  Status deleteLink(int index) override;
  Result<LinkInfo> linkByName(const std::string& name) override;
  Result<LinkInfo> linkByIndex(int index) override;
  Result<std::vector<LinkInfo>> links() override;
  Status addAddress(int index, const Ipv4Prefix& address) override;
  Status deleteAddress(int index, const Ipv4Prefix& address) override;
  Result<std::vector<AddressInfo>> addresses(int index) override;
  Status addRoute(const Ipv4Prefix& destination, std::optional<Ipv4Address> gateway, int oif) override;
  Result<std::vector<RouteInfo>> routes() override;

 private:
  struct Socket;
  explicit MnlNetlink(std::unique_ptr<Socket> socket);
  std::unique_ptr<Socket> socket_;
};

// Maps an rtnetlink errno to an Error as described at the top of this file.
std::unexpected<Error> netlinkError(const std::string& what, int err, const std::string& kernel_message = {});

}  // namespace berth::agent::net
