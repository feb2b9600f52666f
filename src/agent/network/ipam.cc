#include "agent/network/ipam.h"

namespace berth::agent::net {

Result<std::vector<IpamLease>> MemoryIpamStore::load() {
  std::vector<IpamLease> out;
  for (const auto& [owner, lease] : leases_) out.push_back(lease);
  return out;
}

Status MemoryIpamStore::put(const IpamLease& lease) {
  if (std::exchange(fail_next_write_, false)) return fail(ErrorCode::kIo, "injected IPAM store failure");
  leases_[lease.owner] = lease;
  return {};
}

Status MemoryIpamStore::erase(const std::string& owner) {
  if (std::exchange(fail_next_write_, false)) return fail(ErrorCode::kIo, "injected IPAM store failure");
  leases_.erase(owner);
  return {};
}

Ipam::Ipam(Ipv4Prefix vpc, IpamStore& store, MacPolicy mac_policy)
    : vpc_{vpc.network(), vpc.length}, store_(store), mac_policy_(mac_policy) {}

uint64_t Ipam::capacity(const Ipv4Prefix& subnet) { return subnet.length > 28 ? 0 : subnet.size() - 5; }

bool Ipam::isReserved(const Ipv4Prefix& subnet, Ipv4Address address) {
  uint32_t offset = address.value - subnet.network().value;
  return offset < 4 || address == subnet.broadcast();
}

Status Ipam::checkSubnet(const Ipv4Prefix& subnet) const {
  if (subnet.address != subnet.network()) {
    return fail(ErrorCode::kInvalidArgument, "subnet " + subnet.toString() + " has host bits set");
  }
  if (subnet.length > 28) return fail(ErrorCode::kInvalidArgument, "subnet " + subnet.toString() + " is smaller than /28");
  if (!vpc_.contains(subnet)) {
    return fail(ErrorCode::kInvalidArgument, "subnet " + subnet.toString() + " is not in the VPC " + vpc_.toString());
  }
  return {};
}

Result<Ipam::Recovered> Ipam::recover() {
  std::vector<IpamLease> stored = BERTH_TRY(store_.load());
  std::lock_guard lock(mu_);
  by_owner_.clear();
  subnets_.clear();
  Recovered out;
  for (const auto& lease : stored) {
    bool valid = checkSubnet(lease.subnet).has_value() && lease.subnet.contains(lease.address) &&
                 !isReserved(lease.subnet, lease.address);
    SubnetState& state = subnets_[lease.subnet.network().value];
    if (!valid || state.used.contains(lease.address.value)) {
      BERTH_TRY(store_.erase(lease.owner));
      ++out.dropped;
      continue;
    }
    state.used.insert(lease.address.value);
    // Continue after the highest address in use: next-fit survives restarts
    // well enough without storing the cursor.
    state.cursor = std::max(state.cursor, lease.address.value);
    by_owner_[lease.owner] = lease;
    ++out.leases;
  }
  return out;
}

Result<IpamLease> Ipam::allocate(const std::string& owner, const Ipv4Prefix& subnet) {
  BERTH_TRY(checkSubnet(subnet));
  std::lock_guard lock(mu_);
  if (auto it = by_owner_.find(owner); it != by_owner_.end()) {
    if (it->second.subnet == subnet) return it->second;
    return fail(ErrorCode::kFailedPrecondition,
                owner + " already has an address in subnet " + it->second.subnet.toString());
  }
  SubnetState& state = subnets_[subnet.network().value];
  const uint64_t usable = capacity(subnet);
  if (state.used.size() >= usable) {
    return fail(ErrorCode::kResourceExhausted, "no free address in subnet " + subnet.toString());
  }
  const uint32_t first = subnet.network().value + 4;
  const uint32_t last = subnet.broadcast().value - 1;
  uint32_t candidate = state.cursor;
  for (uint64_t tries = 0; tries < usable; ++tries) {
    candidate = (candidate < first || candidate >= last) ? first : candidate + 1;
    if (!state.used.contains(candidate)) break;
  }
  IpamLease lease{owner, subnet, Ipv4Address{candidate}, {}};
  lease.mac = mac_policy_ == MacPolicy::kFromIp ? MacAddress::fromIpv4(lease.address) : MacAddress::random();
  BERTH_TRY(store_.put(lease));
  state.used.insert(candidate);
  state.cursor = candidate;
  by_owner_[owner] = lease;
  return lease;
}

Status Ipam::release(const std::string& owner) {
  std::lock_guard lock(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return {};
  BERTH_TRY(store_.erase(owner));
  subnets_[it->second.subnet.network().value].used.erase(it->second.address.value);
  by_owner_.erase(it);
  return {};
}

std::optional<IpamLease> Ipam::find(const std::string& owner) const {
  std::lock_guard lock(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return std::nullopt;
  return it->second;
}

std::vector<IpamLease> Ipam::leases() const {
  std::lock_guard lock(mu_);
  std::vector<IpamLease> out;
  for (const auto& [owner, lease] : by_owner_) out.push_back(lease);
  return out;
}

size_t Ipam::allocatedIn(const Ipv4Prefix& subnet) const {
  std::lock_guard lock(mu_);
  auto it = subnets_.find(subnet.network().value);
  return it == subnets_.end() ? 0 : it->second.used.size();
}

}  // namespace berth::agent::net
