// IpamStore on berth's state store (src/store/): task address leases survive
// a restart of berthd, in the same SQLite database as the control plane's
// state, as records of kind "agent.ipam" keyed by the owner (task id) with
// the value {"subnet":"172.31.0.0/20","address":"172.31.0.4","mac":"02:b7:..."}.
//
// Each put/erase is one durable commit (Store::commit), so a lease handed
// out by Ipam::allocate() is on disk before the task uses the address.
//
// Threads: called under Ipam's mutex from the agent's workers. The Store
// serializes its own calls, so sharing it with the control plane's executor
// is safe (a commit of one waits for the other).
#pragma once

#include "agent/network/ipam.h"
#include "store/store.h"

namespace berth::agent {

class StoreIpamStore final : public net::IpamStore {
 public:
  static constexpr const char* kKind = "agent.ipam";

  // `store` must outlive this object.
  explicit StoreIpamStore(store::Store& store) : store_(store) {}

  // Records that do not parse are skipped (and reported by Ipam::recover as
  // nothing: they hold no address); they are erased on the next release.
  Result<std::vector<net::IpamLease>> load() override;
  Status put(const net::IpamLease& lease) override;
  Status erase(const std::string& owner) override;

 private:
  store::Store& store_;
};

}  // namespace berth::agent
