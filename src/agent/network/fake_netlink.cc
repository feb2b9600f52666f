#include "agent/network/fake_netlink.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

namespace berth::agent::net {

FakeKernel::FakeKernel() { namespaces_[kHostNamespace].links[1] = Link{LinkInfo{1, "lo", "", 0, true, {}}, {}}; }

int FakeKernel::createNamespace() {
  int id = next_ns_++;
  namespaces_[id].links[1] = Link{LinkInfo{1, "lo", "", 0, false, {}}, {}};
  return id;
}

void FakeKernel::destroyNamespace(int id) {
  auto it = namespaces_.find(id);
  if (it == namespaces_.end()) return;
  for (auto& [index, link] : it->second.links) {
    if (!link.peer) continue;
    auto peer_ns = namespaces_.find(link.peer->first);
    if (peer_ns == namespaces_.end() || peer_ns->first == id) continue;
    int peer_index = link.peer->second;
    peer_ns->second.links.erase(peer_index);
    std::erase_if(peer_ns->second.addresses, [&](const AddressInfo& a) { return a.index == peer_index; });
    std::erase_if(peer_ns->second.routes, [&](const RouteInfo& r) { return r.oif == peer_index; });
  }
  namespaces_.erase(it);
}

std::optional<int> FakeKernel::namespaceOfFd(int fd) const {
  auto it = fd_to_ns_.find(fd);
  if (it == fd_to_ns_.end() || !namespaces_.contains(it->second)) return std::nullopt;
  return it->second;
}

std::optional<int> FakeKernel::enter(const std::string& op) {
  ++calls_[op];
  auto it = failures_.find(op);
  if (it == failures_.end()) return std::nullopt;
  int err = it->second;
  failures_.erase(it);
  return err;
}

int FakeKernel::calls(const std::string& op) const {
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

const FakeKernel::Link* FakeKernel::findLink(int ns_id, const std::string& name) {
  if (!namespaces_.contains(ns_id)) return nullptr;
  for (auto& [index, link] : namespaces_.at(ns_id).links) {
    if (link.info.name == name) return &link;
  }
  return nullptr;
}

// --- FakeNetlink

namespace {

bool hasName(const FakeKernel::Namespace& ns, const std::string& name) {
  return std::any_of(ns.links.begin(), ns.links.end(), [&](const auto& l) { return l.second.info.name == name; });
}

void removeLink(FakeKernel::Namespace& ns, int index) {
  ns.links.erase(index);
  std::erase_if(ns.addresses, [&](const AddressInfo& a) { return a.index == index; });
  std::erase_if(ns.routes, [&](const RouteInfo& r) { return r.oif == index; });
  for (auto& [i, link] : ns.links) {
    if (link.info.master == index) link.info.master = 0;
  }
}

}  // namespace

Result<FakeKernel::Namespace*> FakeNetlink::space(const std::string& op) {
  if (auto err = kernel_.enter(op)) return netlinkError(op + " (injected)", *err);
  if (!kernel_.hasNamespace(ns_)) return netlinkError(op, EBADF);  // the namespace died under the socket
  return &kernel_.ns(ns_);
}

Result<std::unique_ptr<Netlink>> FakeNetlink::openIn(int netns_fd) {
  BERTH_TRY(space("openIn"));
  auto target = kernel_.namespaceOfFd(netns_fd);
  if (!target) return failErrno("setns", EINVAL);
  return std::unique_ptr<Netlink>(new FakeNetlink(kernel_, *target));
}

Status FakeNetlink::createBridge(const std::string& name, std::optional<MacAddress> mac) {
  auto* ns = BERTH_TRY(space("createBridge"));
  if (name.empty() || name.size() > 15) return netlinkError("create bridge " + name, EINVAL);
  if (hasName(*ns, name)) return netlinkError("create bridge " + name, EEXIST);
  int index = ns->next_index++;
  ns->links[index] = FakeKernel::Link{LinkInfo{index, name, "bridge", 0, false, mac.value_or(MacAddress::random())}, {}};
  return {};
}

Status FakeNetlink::createVeth(const VethSpec& spec) {
  auto* ns = BERTH_TRY(space("createVeth"));
  const std::string what = "create veth " + spec.name;
  if (spec.name.empty() || spec.name.size() > 15 || spec.peer_name.empty() || spec.peer_name.size() > 15) {
    return netlinkError(what, EINVAL);
  }
  int peer_ns_id = ns_;
  if (spec.peer_netns_fd >= 0) {
    auto target = kernel_.namespaceOfFd(spec.peer_netns_fd);
    if (!target) return netlinkError(what, EBADF);
    peer_ns_id = *target;
  }
  auto& peer_ns = kernel_.ns(peer_ns_id);
  if (hasName(*ns, spec.name) || hasName(peer_ns, spec.peer_name) || (spec.name == spec.peer_name && ns == &peer_ns)) {
    return netlinkError(what, EEXIST);
  }
  if (spec.master > 0) {
    auto m = ns->links.find(spec.master);
    if (m == ns->links.end()) return netlinkError(what, ENODEV);
    if (m->second.info.kind != "bridge") return netlinkError(what, EOPNOTSUPP);
  }
  int index = ns->next_index++;
  int peer_index = peer_ns.next_index++;
  ns->links[index] = FakeKernel::Link{LinkInfo{index, spec.name, "veth", spec.master, spec.up, MacAddress::random()},
                                      std::pair{peer_ns_id, peer_index}};
  peer_ns.links[peer_index] =
      FakeKernel::Link{LinkInfo{peer_index, spec.peer_name, "veth", 0, false, spec.peer_mac.value_or(MacAddress::random())},
                       std::pair{ns_, index}};
  return {};
}

Status FakeNetlink::moveToNetns(int index, int netns_fd) {
  auto* ns = BERTH_TRY(space("moveToNetns"));
  auto it = ns->links.find(index);
  if (it == ns->links.end()) return netlinkError("move link", ENODEV);
  auto target = kernel_.namespaceOfFd(netns_fd);
  if (!target) return netlinkError("move link", EBADF);
  auto& dst = kernel_.ns(*target);
  if (hasName(dst, it->second.info.name)) return netlinkError("move link", EEXIST);
  FakeKernel::Link link = it->second;
  removeLink(*ns, index);
  int new_index = dst.next_index++;
  link.info.index = new_index;
  link.info.master = 0;
  link.info.up = false;
  if (link.peer) kernel_.ns(link.peer->first).links.at(link.peer->second).peer = std::pair{*target, new_index};
  dst.links[new_index] = link;
  return {};
}

Status FakeNetlink::setUp(int index, bool up) {
  auto* ns = BERTH_TRY(space("setUp"));
  auto it = ns->links.find(index);
  if (it == ns->links.end()) return netlinkError("set link up", ENODEV);
  it->second.info.up = up;
  return {};
}

Status FakeNetlink::setMaster(int index, int master) {
  auto* ns = BERTH_TRY(space("setMaster"));
  auto it = ns->links.find(index);
  if (it == ns->links.end()) return netlinkError("set master", ENODEV);
  if (master > 0) {
    auto m = ns->links.find(master);
    if (m == ns->links.end()) return netlinkError("set master", ENODEV);
    if (m->second.info.kind != "bridge") return netlinkError("set master", EOPNOTSUPP);
  }
  it->second.info.master = master;
  return {};
}

Status FakeNetlink::deleteLink(int index) {
  auto* ns = BERTH_TRY(space("deleteLink"));
  auto it = ns->links.find(index);
  if (it == ns->links.end()) return netlinkError("delete link", ENODEV);
  if (index == 1) return netlinkError("delete link", EINVAL);  // lo
  auto peer = it->second.peer;
  removeLink(*ns, index);
  if (peer && kernel_.hasNamespace(peer->first)) removeLink(kernel_.ns(peer->first), peer->second);
  return {};
}

Result<LinkInfo> FakeNetlink::linkByName(const std::string& name) {
  auto* ns = BERTH_TRY(space("linkByName"));
  for (auto& [index, link] : ns->links) {
    if (link.info.name == name) return link.info;
  }
  return netlinkError("get link " + name, ENODEV);
}

Result<LinkInfo> FakeNetlink::linkByIndex(int index) {
  auto* ns = BERTH_TRY(space("linkByIndex"));
  auto it = ns->links.find(index);
  if (it == ns->links.end()) return netlinkError("get link", ENODEV);
  return it->second.info;
}

Result<std::vector<LinkInfo>> FakeNetlink::links() {
  auto* ns = BERTH_TRY(space("links"));
  std::vector<LinkInfo> out;
  for (auto& [index, link] : ns->links) out.push_back(link.info);
  return out;
}

Status FakeNetlink::addAddress(int index, const Ipv4Prefix& address) {
  auto* ns = BERTH_TRY(space("addAddress"));
  if (!ns->links.contains(index)) return netlinkError("add address", ENODEV);
  for (const auto& a : ns->addresses) {
    if (a.index == index && a.address.address == address.address) return netlinkError("add address", EEXIST);
  }
  ns->addresses.push_back(AddressInfo{index, address});
  return {};
}

Status FakeNetlink::deleteAddress(int index, const Ipv4Prefix& address) {
  auto* ns = BERTH_TRY(space("deleteAddress"));
  size_t removed = std::erase_if(ns->addresses, [&](const AddressInfo& a) {
    return a.index == index && a.address.address == address.address && a.address.length == address.length;
  });
  if (removed == 0) return netlinkError("delete address", EADDRNOTAVAIL);
  return {};
}

Result<std::vector<AddressInfo>> FakeNetlink::addresses(int index) {
  auto* ns = BERTH_TRY(space("addresses"));
  std::vector<AddressInfo> out;
  for (const auto& a : ns->addresses) {
    if (index <= 0 || a.index == index) out.push_back(a);
  }
  return out;
}

Status FakeNetlink::addRoute(const Ipv4Prefix& destination, std::optional<Ipv4Address> gateway, int oif) {
  auto* ns = BERTH_TRY(space("addRoute"));
  auto link = ns->links.find(oif);
  if (link == ns->links.end()) return netlinkError("add route", ENODEV);
  if (gateway) {
    // As the kernel: the link must be up and the gateway on one of its subnets.
    if (!link->second.info.up) return netlinkError("add route", ENETDOWN);
    bool connected = std::any_of(ns->addresses.begin(), ns->addresses.end(), [&](const AddressInfo& a) {
      return a.index == oif && a.address.contains(*gateway);
    });
    if (!connected) return netlinkError("add route", ENETUNREACH);
  }
  for (const auto& r : ns->routes) {
    if (r.destination.network() == destination.network() && r.destination.length == destination.length) {
      return netlinkError("add route", EEXIST);
    }
  }
  ns->routes.push_back(RouteInfo{Ipv4Prefix{destination.network(), destination.length}, gateway, oif});
  return {};
}

Result<std::vector<RouteInfo>> FakeNetlink::routes() {
  auto* ns = BERTH_TRY(space("routes"));
  return ns->routes;
}

// --- FakeNetnsOps

Result<NetnsHandle> FakeNetnsOps::handleFor(const std::filesystem::path& path, int ns_id) {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failErrno("open /dev/null", errno);
  kernel_.bindFd(fd, ns_id);
  return NetnsHandle{path, UniqueFd(fd)};
}

Result<NetnsHandle> FakeNetnsOps::create(const std::filesystem::path& path) {
  if (auto err = kernel_.enter("netnsCreate")) return failErrno("create netns (injected)", *err);
  if (kernel_.pins().contains(path)) return fail(ErrorCode::kAlreadyExists, "netns already pinned at " + path.string());
  int id = kernel_.createNamespace();
  kernel_.pins()[path] = id;
  return handleFor(path, id);
}

Result<NetnsHandle> FakeNetnsOps::open(const std::filesystem::path& path) {
  if (auto err = kernel_.enter("netnsOpen")) return failErrno("open netns (injected)", *err);
  auto it = kernel_.pins().find(path);
  if (it == kernel_.pins().end()) return fail(ErrorCode::kNotFound, "no network namespace at " + path.string());
  return handleFor(path, it->second);
}

Status FakeNetnsOps::remove(const std::filesystem::path& path) {
  if (auto err = kernel_.enter("netnsRemove")) return failErrno("remove netns (injected)", *err);
  auto it = kernel_.pins().find(path);
  if (it == kernel_.pins().end()) return {};
  kernel_.destroyNamespace(it->second);
  kernel_.pins().erase(it);
  return {};
}

}  // namespace berth::agent::net
