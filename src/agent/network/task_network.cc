#include "agent/network/task_network.h"

#include <cstdio>

namespace berth::agent::net {

namespace {

// A failure whose cleanup also failed reports both.
Error withCleanupNote(Error error, const Status& cleanup) {
  if (!cleanup) error.message += "; cleanup also failed: " + cleanup.error().message;
  return error;
}

bool isNotFound(const Status& s) { return !s && s.error().code == ErrorCode::kNotFound; }

// FNV-1a, 64 bit: a stable short name from a task id (not a security measure).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

Ipv4Prefix gatewayOf(const Ipv4Prefix& subnet) { return Ipv4Prefix{Ipv4Address{subnet.network().value + 1}, subnet.length}; }

}  // namespace

TaskNetwork::TaskNetwork(TaskNetworkConfig config, Netlink& host, NetnsOps& netns, Ipam& ipam)
    : config_(std::move(config)), host_(host), netns_(netns), ipam_(ipam) {}

std::filesystem::path TaskNetwork::netnsPath(const std::string& task_id) const {
  return config_.tasks_dir / task_id / "netns";
}

std::string TaskNetwork::hostVethName(const std::string& task_id) const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(task_id)));
  // IFNAMSIZ is 16 with the NUL: at most 15 characters.
  std::string name = config_.veth_prefix + std::string(hex, 12);
  return name.substr(0, 15);
}

TaskAttachment TaskNetwork::attachmentFor(const IpamLease& lease) const {
  return TaskAttachment{lease.owner,          netnsPath(lease.owner), hostVethName(lease.owner), "eth0",
                        lease.interfaceAddress(), lease.subnet,        lease.gateway(),           lease.mac};
}

Result<int> TaskNetwork::bridgeIndex() {
  if (bridge_index_ > 0) return bridge_index_;
  auto link = host_.linkByName(config_.bridge);
  if (!link) {
    if (link.error().code != ErrorCode::kNotFound) return std::unexpected(link.error());
    return fail(ErrorCode::kFailedPrecondition, "bridge " + config_.bridge + " is not set up");
  }
  if (link->kind != "bridge") {
    return fail(ErrorCode::kFailedPrecondition, config_.bridge + " exists and is not a bridge (" + link->kind + ")");
  }
  bridge_index_ = link->index;
  return bridge_index_;
}

Status TaskNetwork::ensureGateway(const Ipv4Prefix& subnet) {
  if (gateways_.contains(subnet.network().value)) return {};
  int bridge = BERTH_TRY(bridgeIndex());
  Status added = host_.addAddress(bridge, gatewayOf(subnet));
  if (!added && added.error().code != ErrorCode::kAlreadyExists) return added;
  gateways_.insert(subnet.network().value);
  return {};
}

Status TaskNetwork::setUpBridge() {
  std::lock_guard lock(mu_);
  for (const auto& subnet : config_.subnets) {
    if (!config_.vpc.contains(subnet)) {
      return fail(ErrorCode::kInvalidArgument, "subnet " + subnet.toString() + " is not in the VPC " + config_.vpc.toString());
    }
  }
  bridge_index_ = 0;
  gateways_.clear();
  auto existing = host_.linkByName(config_.bridge);
  if (!existing) {
    if (existing.error().code != ErrorCode::kNotFound) return std::unexpected(existing.error());
    // The VPC's gateway address as MAC: fixed, and distinct per VPC CIDR.
    Status created = host_.createBridge(config_.bridge, MacAddress::fromIpv4(gatewayOf(config_.vpc).address));
    if (!created && created.error().code != ErrorCode::kAlreadyExists) return created;
  }
  int bridge = BERTH_TRY(bridgeIndex());
  BERTH_TRY(host_.setUp(bridge, true));
  for (const auto& subnet : config_.subnets) BERTH_TRY(ensureGateway(subnet));
  if (config_.task_endpoint) {
    Status added = host_.addAddress(bridge, Ipv4Prefix{kTaskEndpointAddress, 32});
    if (!added && added.error().code != ErrorCode::kAlreadyExists) return added;
  }
  return {};
}

Status TaskNetwork::removeBridge() {
  std::lock_guard lock(mu_);
  bridge_index_ = 0;
  gateways_.clear();
  auto link = host_.linkByName(config_.bridge);
  if (!link) return link.error().code == ErrorCode::kNotFound ? Status{} : std::unexpected(link.error());
  Status deleted = host_.deleteLink(link->index);
  if (isNotFound(deleted)) return {};
  return deleted;
}

Result<TaskAttachment> TaskNetwork::prepare(const std::string& task_id, const Ipv4Prefix& subnet) {
  std::lock_guard lock(mu_);
  if (task_id.empty() || task_id.find('/') != std::string::npos || task_id == "." || task_id == "..") {
    return fail(ErrorCode::kInvalidArgument, "bad task id '" + task_id + "'");
  }
  // Failures up to the lease leave nothing to undo, and must not undo the
  // network of a task that asked twice with a different subnet.
  BERTH_TRY(bridgeIndex());
  BERTH_TRY(ipam_.allocate(task_id, subnet));
  auto attachment = prepareLocked(task_id, subnet);
  if (!attachment) return std::unexpected(withCleanupNote(attachment.error(), cleanupLocked(task_id)));
  return attachment;
}

Result<TaskAttachment> TaskNetwork::prepareLocked(const std::string& task_id, const Ipv4Prefix& subnet) {
  int bridge = BERTH_TRY(bridgeIndex());
  IpamLease lease = BERTH_TRY(ipam_.allocate(task_id, subnet));  // the existing lease: allocate is idempotent
  BERTH_TRY(ensureGateway(subnet));

  const std::filesystem::path path = netnsPath(task_id);
  auto handle = netns_.open(path);
  if (!handle) {
    if (handle.error().code != ErrorCode::kNotFound) return std::unexpected(handle.error());
    handle = netns_.create(path);
    if (!handle) return std::unexpected(handle.error());
  }

  // A retry starts the links over: deleting the host end takes the peer in
  // the namespace with it.
  const std::string veth = hostVethName(task_id);
  if (auto old = host_.linkByName(veth)) {
    Status deleted = host_.deleteLink(old->index);
    if (!deleted && !isNotFound(deleted)) return std::unexpected(deleted.error());
  }
  std::unique_ptr<Netlink> inside = BERTH_TRY(host_.openIn(handle->fd.get()));
  if (auto stale = inside->linkByName("eth0")) {
    Status deleted = inside->deleteLink(stale->index);
    if (!deleted && !isNotFound(deleted)) return std::unexpected(deleted.error());
  }

  VethSpec spec;
  spec.name = veth;
  spec.peer_name = "eth0";
  spec.peer_netns_fd = handle->fd.get();
  spec.peer_mac = lease.mac;
  spec.master = bridge;
  spec.up = true;
  spec.mtu = config_.mtu;
  BERTH_TRY(host_.createVeth(spec));
  BERTH_TRY(configureInside(*inside, lease));
  return attachmentFor(lease);
}

Status TaskNetwork::configureInside(Netlink& inside, const IpamLease& lease) {
  // lo is index 1 in every namespace, but ask rather than assume.
  int lo = BERTH_TRY(inside.linkIndex("lo"));
  BERTH_TRY(inside.setUp(lo, true));
  int eth0 = BERTH_TRY(inside.linkIndex("eth0"));
  // The peer cannot be created up (see VethSpec::up); the gateway route
  // below needs it up.
  BERTH_TRY(inside.setUp(eth0, true));
  BERTH_TRY(inside.addAddress(eth0, lease.interfaceAddress()));
  BERTH_TRY(inside.addDefaultRoute(lease.gateway(), eth0));
  if (config_.task_endpoint) {
    // Covered by the default route too; explicit so that the endpoint keeps
    // working if a task ever runs without a default route.
    BERTH_TRY(inside.addRoute(Ipv4Prefix{kTaskEndpointAddress, 32}, lease.gateway(), eth0));
  }
  return {};
}

Status TaskNetwork::cleanup(const std::string& task_id) {
  if (task_id.empty() || task_id.find('/') != std::string::npos || task_id == "." || task_id == "..")
    return fail(ErrorCode::kInvalidArgument, "bad task id '" + task_id + "'");
  // Unpinning the namespace is all it takes once the task's processes are
  // gone: nothing holds it any more, so the kernel destroys it, and with its
  // eth0 the host end of the veth pair (asynchronously, in its cleanup_net
  // work). Deleting the host end here instead waits for RCU grace periods
  // (~50 ms measured) and did so under mu_, which every prepare() needs:
  // that alone capped task churn at ~18 tasks/s. The unmount waits too, so
  // it runs without the lock. The lease goes last (crash safety, as in
  // cleanupLocked): the next-fit IPAM hands the address out again as late
  // as possible, long after the old interface is gone.
  BERTH_TRY(netns_.remove(netnsPath(task_id)));
  std::lock_guard lock(mu_);
  return ipam_.release(task_id);
}

Status TaskNetwork::cleanupLocked(const std::string& task_id) {
  // Order matters for crash safety: links, then the pin, then the lease (the
  // record that something may be left).
  if (auto link = host_.linkByName(hostVethName(task_id))) {
    Status deleted = host_.deleteLink(link->index);
    if (!deleted && !isNotFound(deleted)) return deleted;
  } else if (link.error().code != ErrorCode::kNotFound) {
    return std::unexpected(link.error());
  }
  BERTH_TRY(netns_.remove(netnsPath(task_id)));
  return ipam_.release(task_id);
}

Result<bool> TaskNetwork::intact(const IpamLease& lease) {
  auto veth = host_.linkByName(hostVethName(lease.owner));
  if (!veth) return veth.error().code == ErrorCode::kNotFound ? Result<bool>(false) : std::unexpected(veth.error());
  if (veth->master != BERTH_TRY(bridgeIndex()) || !veth->up) return false;
  auto handle = BERTH_TRY(netns_.open(netnsPath(lease.owner)));
  auto inside = BERTH_TRY(host_.openIn(handle.fd.get()));
  auto eth0 = inside->linkByName("eth0");
  if (!eth0) return false;
  auto addrs = BERTH_TRY(inside->addresses(eth0->index));
  for (const auto& a : addrs) {
    if (a.address == lease.interfaceAddress()) return true;
  }
  return false;
}

Result<TaskNetwork::Recovered> TaskNetwork::recover(const std::set<std::string>& live) {
  std::lock_guard lock(mu_);
  Recovered out;
  int bridge = BERTH_TRY(bridgeIndex());
  std::set<std::string> kept_veths;
  for (const IpamLease& lease : ipam_.leases()) {
    if (!live.contains(lease.owner)) {
      BERTH_TRY(cleanupLocked(lease.owner));
      out.cleaned.push_back(lease.owner);
      continue;
    }
    auto pinned = netns_.open(netnsPath(lease.owner));
    if (!pinned) {
      if (pinned.error().code != ErrorCode::kNotFound) return std::unexpected(pinned.error());
      // The namespace is gone, so are the task's processes' network: lost.
      BERTH_TRY(cleanupLocked(lease.owner));
      out.lost.push_back(lease.owner);
      continue;
    }
    if (!BERTH_TRY(intact(lease))) {
      auto repaired = prepareLocked(lease.owner, lease.subnet);
      if (!repaired) return std::unexpected(repaired.error());
    } else {
      BERTH_TRY(ensureGateway(lease.subnet));
    }
    kept_veths.insert(hostVethName(lease.owner));
    out.adopted.push_back(attachmentFor(lease));
  }
  // Veths on our bridge that no live lease explains (a lost state store,
  // hand-made links) would answer for addresses they do not own.
  for (const LinkInfo& link : BERTH_TRY(host_.links())) {
    if (link.master == bridge && link.kind == "veth" && link.name.starts_with(config_.veth_prefix) &&
        !kept_veths.contains(link.name)) {
      Status deleted = host_.deleteLink(link.index);
      if (!deleted && !isNotFound(deleted)) return std::unexpected(deleted.error());
    }
  }
  return out;
}

}  // namespace berth::agent::net
