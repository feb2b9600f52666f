// An in-memory kernel for unit tests of task networking: network namespaces,
// links (bridges, veth pairs across namespaces), IPv4 addresses and routes,
// with the kernel's checks that matter to callers (EEXIST on duplicates,
// ENODEV on unknown links, a gateway route needs the link up and the
// gateway on a connected subnet, a master must be a bridge), call counts and
// fault injection.
//
// Simplification: a namespace dies when its pin is removed
// (FakeNetnsOps::remove), not when its last user goes away; deleting a
// namespace deletes its veths and their peers, as the kernel does.
//
// Namespace handles carry real file descriptors (of /dev/null) so they can be
// passed where a netns fd is expected; the fake maps them to namespaces.
//
// Threads: not thread-safe; tests use it from one thread.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/network/netlink.h"
#include "agent/network/netns.h"

namespace berth::agent::net {

class FakeKernel {
 public:
  struct Link {
    LinkInfo info;
    // For a veth: the other end.
    std::optional<std::pair<int, int>> peer;  // namespace id, link index
  };
  struct Namespace {
    std::map<int, Link> links;
    std::vector<AddressInfo> addresses;
    std::vector<RouteInfo> routes;
    int next_index = 2;  // 1 is lo
  };

  static constexpr int kHostNamespace = 0;

  FakeKernel();

  int createNamespace();
  // Deletes the namespace with its links, and the far ends of its veths.
  void destroyNamespace(int id);
  bool hasNamespace(int id) const { return namespaces_.contains(id); }
  Namespace& ns(int id) { return namespaces_.at(id); }
  size_t namespaceCount() const { return namespaces_.size(); }

  void bindFd(int fd, int ns_id) { fd_to_ns_[fd] = ns_id; }
  std::optional<int> namespaceOfFd(int fd) const;

  // Pins (FakeNetnsOps): path → namespace id.
  std::map<std::filesystem::path, int>& pins() { return pins_; }

  // The next call of `op` (the Netlink/NetnsOps method name, e.g.
  // "createVeth") fails with `err`.
  void failNext(const std::string& op, int err) { failures_[op] = err; }
  // Consumes an injected failure and counts the call.
  std::optional<int> enter(const std::string& op);
  int calls(const std::string& op) const;

  // Link lookups for assertions.
  const Link* findLink(int ns_id, const std::string& name);

 private:
  std::map<int, Namespace> namespaces_;
  std::map<int, int> fd_to_ns_;
  std::map<std::filesystem::path, int> pins_;
  std::map<std::string, int> failures_;
  std::map<std::string, int> calls_;
  int next_ns_ = 1;
};

class FakeNetlink final : public Netlink {
 public:
  FakeNetlink(FakeKernel& kernel, int ns_id = FakeKernel::kHostNamespace) : kernel_(kernel), ns_(ns_id) {}

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
  Result<FakeKernel::Namespace*> space(const std::string& op);
  FakeKernel& kernel_;
  int ns_;
};

class FakeNetnsOps final : public NetnsOps {
 public:
  explicit FakeNetnsOps(FakeKernel& kernel) : kernel_(kernel) {}
  Result<NetnsHandle> create(const std::filesystem::path& path) override;
  Result<NetnsHandle> open(const std::filesystem::path& path) override;
  Status remove(const std::filesystem::path& path) override;

 private:
  Result<NetnsHandle> handleFor(const std::filesystem::path& path, int ns_id);
  FakeKernel& kernel_;
};

}  // namespace berth::agent::net
