// IP address management for task ENIs, per subnet of the VPC, as AWS does
// it: in every subnet the first four addresses and the last are reserved
// (network, .1 router — berth's bridge gateway —, .2 DNS, .3 reserved by AWS,
// broadcast), so a /20 has 4091 usable addresses (ARCHITECTURE.md,
// decision 5).
//
// Leases are durable through `IpamStore`: allocate() writes the lease before
// returning it, release() erases it, recover() reloads them after a restart.
// berthd backs the store with its state store; MemoryIpamStore serves tests.
//
// Allocation is next-fit per subnet: it continues after the last address
// handed out and wraps, so a just-released address is reused as late as
// possible (stale neighbour entries in other tasks then have time to expire).
// Allocation is idempotent per owner: asking again for the same task returns
// its lease.
//
// Threads: all methods are safe to call concurrently (one mutex); the store
// is called under it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/network/address.h"
#include "common/result.h"

namespace berth::agent::net {

struct IpamLease {
  std::string owner;     // the task id
  Ipv4Prefix subnet;     // the subnet's network, e.g. 172.31.16.0/20
  Ipv4Address address;   // the task's address, e.g. 172.31.16.4
  MacAddress mac;

  Ipv4Prefix interfaceAddress() const { return Ipv4Prefix{address, subnet.length}; }
  Ipv4Address gateway() const { return Ipv4Address{subnet.network().value + 1}; }

  friend bool operator==(const IpamLease&, const IpamLease&) = default;
};

// Durable storage of leases, keyed by owner.
class IpamStore {
 public:
  virtual ~IpamStore() = default;
  virtual Result<std::vector<IpamLease>> load() = 0;
  virtual Status put(const IpamLease& lease) = 0;
  virtual Status erase(const std::string& owner) = 0;
};

class MemoryIpamStore final : public IpamStore {
 public:
  Result<std::vector<IpamLease>> load() override;
  Status put(const IpamLease& lease) override;
  Status erase(const std::string& owner) override;

  // Fault injection for tests: the next put/erase fails.
  void failNextWrite() { fail_next_write_ = true; }
  size_t size() const { return leases_.size(); }

 private:
  std::map<std::string, IpamLease> leases_;
  bool fail_next_write_ = false;
};

enum class MacPolicy {
  kFromIp,   // MacAddress::fromIpv4: stable per address
  kRandom,   // MacAddress::random
};

class Ipam {
 public:
  // `vpc` is the VPC CIDR; every subnet asked for must lie inside it and be
  // at most a /28 (AWS's smallest subnet).
  Ipam(Ipv4Prefix vpc, IpamStore& store, MacPolicy mac_policy = MacPolicy::kFromIp);

  // Reloads all leases from the store, replacing what is in memory. Leases
  // outside the VPC or clashing with another lease are dropped from the
  // store and reported in the error-free result's `dropped` count.
  struct Recovered {
    size_t leases = 0;
    size_t dropped = 0;
  };
  Result<Recovered> recover();

  // A lease for `owner` in `subnet`: its existing one if it has one in that
  // subnet (kFailedPrecondition if it has one elsewhere), else a new one,
  // stored before it is returned. kResourceExhausted when the subnet is full.
  Result<IpamLease> allocate(const std::string& owner, const Ipv4Prefix& subnet);
  // Frees `owner`'s address. Idempotent.
  Status release(const std::string& owner);

  std::optional<IpamLease> find(const std::string& owner) const;
  std::vector<IpamLease> leases() const;
  size_t allocatedIn(const Ipv4Prefix& subnet) const;

  // Usable addresses of a subnet: everything but the first four and the last.
  static uint64_t capacity(const Ipv4Prefix& subnet);
  // True for the addresses AWS reserves in `subnet`.
  static bool isReserved(const Ipv4Prefix& subnet, Ipv4Address address);

 private:
  struct SubnetState {
    std::set<uint32_t> used;
    uint32_t cursor = 0;  // last address handed out
  };
  Status checkSubnet(const Ipv4Prefix& subnet) const;

  const Ipv4Prefix vpc_;
  IpamStore& store_;
  const MacPolicy mac_policy_;
  mutable std::mutex mu_;
  std::map<std::string, IpamLease> by_owner_;         // guarded by mu_
  std::map<uint32_t, SubnetState> subnets_;           // by network address, guarded by mu_
};

}  // namespace berth::agent::net
