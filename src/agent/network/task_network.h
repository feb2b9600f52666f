// awsvpc networking for tasks: each task gets its own network namespace and
// an address in its subnet of the VPC, as a Fargate task gets an ENI.
//
//   host netns                                   task netns (<tasks>/<id>/netns)
//   berth0 (bridge, fixed MAC)                   lo   up
//     172.31.0.1/20, 172.31.16.1/20, ...         eth0 172.31.0.4/20, MAC 02:b7:ac:1f:00:04
//     169.254.170.2/32 (task endpoints)          default via 172.31.0.1
//     bv<hash> ── veth ───────────────────────── 169.254.170.2 via 172.31.0.1
//
// The bridge owns the gateway (.1) of every subnet in use; tasks of one
// subnet talk over the bridge at layer 2, and reach the gateway and the
// task endpoint address (169.254.170.2, where berthd will serve the task
// metadata and credentials endpoints) on the host. Nothing is forwarded off
// the machine: berth does not enable IP forwarding.
//
// Lifecycle (Mesos isolator style): setUpBridge() once, prepare() per task
// before its containers start, cleanup() after they are gone, recover()
// after a berthd restart. prepare() is retry-safe and cleanup() idempotent;
// the IPAM lease is taken first and dropped last, so after any crash the
// leases name every task that may have left something behind.
//
// All kernel access goes through Netlink and NetnsOps, so the logic is
// tested on FakeNetlink; the ROOT_ tests run it on the real kernel.
//
// Threads: every method takes one internal mutex (the host's netlink socket
// is not shareable), so calls are serialized; call from a worker thread,
// never from the control plane's executor (they block on the kernel).
#pragma once

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agent/network/address.h"
#include "agent/network/ipam.h"
#include "agent/network/netlink.h"
#include "agent/network/netns.h"
#include "common/result.h"

namespace berth::agent::net {

// The address of the task metadata and credentials endpoints (ECS's).
inline constexpr Ipv4Address kTaskEndpointAddress{(169u << 24) | (254u << 16) | (170u << 8) | 2u};

struct TaskNetworkConfig {
  std::string bridge = "berth0";
  Ipv4Prefix vpc{Ipv4Address{(172u << 24) | (31u << 16)}, 16};
  // Subnets whose gateways go on the bridge at setUpBridge(); others are
  // added on first use by prepare().
  std::vector<Ipv4Prefix> subnets;
  // Task namespaces are pinned at <tasks_dir>/<task id>/netns.
  std::filesystem::path tasks_dir;
  // Host-side veth names are <veth_prefix><12 hex of a hash of the task id>.
  std::string veth_prefix = "bv";
  // Put 169.254.170.2/32 on the bridge and route it from every task.
  bool task_endpoint = true;
  int mtu = 0;  // 0: the kernel's default (1500)
};

// What a task's network looks like; what DescribeTasks' ENI attachment shows.
struct TaskAttachment {
  std::string task_id;
  std::filesystem::path netns_path;
  std::string host_veth;
  std::string interface = "eth0";
  Ipv4Prefix address;    // 172.31.0.4/20
  Ipv4Prefix subnet;     // 172.31.0.0/20
  Ipv4Address gateway;   // 172.31.0.1
  MacAddress mac;
};

class TaskNetwork {
 public:
  // `host` is bound to the host's namespace; all references must outlive
  // this object.
  TaskNetwork(TaskNetworkConfig config, Netlink& host, NetnsOps& netns, Ipam& ipam);

  // Creates the bridge or adopts an existing one: up, gateway addresses of
  // the configured subnets, the task endpoint address. Idempotent. Addresses
  // berth did not put there are left alone.
  Status setUpBridge();
  // Deletes the bridge (tests, uninstall). berthd keeps it across restarts.
  Status removeBridge();

  // Gives `task_id` its namespace, address and routes in `subnet` (a
  // subnet of the VPC). Retrying after a failure or a crash redoes the
  // links from scratch, keeping the lease and the namespace. On failure
  // everything made for the task is removed again.
  Result<TaskAttachment> prepare(const std::string& task_id, const Ipv4Prefix& subnet);

  // Removes the namespace pin and then the lease; the kernel destroys the
  // namespace, and with it the veth pair, asynchronously once nothing holds
  // it (call it when the task's processes are gone: one still inside keeps
  // the namespace, its eth0 and the veth until it exits). Idempotent.
  Status cleanup(const std::string& task_id);

  // After a restart, with the IPAM already recovered: tasks in `live` whose
  // network is intact are adopted, those whose namespace survived but links
  // did not are repaired, those whose namespace is gone are `lost` (their
  // lease is released; the caller stops them). Leases of tasks not in `live`
  // are cleaned up, and stray host veths on the bridge are deleted.
  struct Recovered {
    std::vector<TaskAttachment> adopted;
    std::vector<std::string> lost;
    std::vector<std::string> cleaned;
  };
  Result<Recovered> recover(const std::set<std::string>& live);

  std::filesystem::path netnsPath(const std::string& task_id) const;
  std::string hostVethName(const std::string& task_id) const;
  const TaskNetworkConfig& config() const { return config_; }

 private:
  Result<int> bridgeIndex();
  Status ensureGateway(const Ipv4Prefix& subnet);
  Result<TaskAttachment> prepareLocked(const std::string& task_id, const Ipv4Prefix& subnet);
  Status configureInside(Netlink& inside, const IpamLease& lease);
  Status cleanupLocked(const std::string& task_id);
  Result<bool> intact(const IpamLease& lease);
  TaskAttachment attachmentFor(const IpamLease& lease) const;

  const TaskNetworkConfig config_;
  Netlink& host_;
  NetnsOps& netns_;
  Ipam& ipam_;
  std::mutex mu_;
  int bridge_index_ = 0;                    // cached, guarded by mu_
  std::set<uint32_t> gateways_;             // subnets whose gateway is on the bridge, guarded by mu_
};

}  // namespace berth::agent::net
