// RealAgentStack: everything the real agent runs on, built and recovered in
// the right order, so berthd's wiring is one call:
//
//   agent::RealAgentStackOptions o;  // data dir, region, VPC, subnets, runtime
//   auto stack = agent::RealAgentStack::open(o, clock, **store, registry_source.manifests(),
//                                            registry_source.blobs(), &metadata_registry, sink);
//   ecs.attachAgent(&(*stack)->agent());
//
// open() does, in order: the image store (ImageStore::open, KernelMounter),
// the host netlink socket and netns ops, the durable IPAM (StoreIpamStore on
// the state store, Ipam::recover), the bridge (TaskNetwork::setUpBridge),
// the OCI runtime (makeOciRuntime), a worker pool, the RealAgent, and
// RealAgent::recover(). Needs root (netlink, mounts, cgroups).
//
// Threads: open() blocks; call it before the control executor serves
// requests (recover()'s events are posted through `sink` and must apply
// after Ecs::load()). Destruction stops the worker pool (abandoning queued
// work: tasks keep running and are re-adopted next time) and then destroys
// the agent and its components in reverse order. Destroy the stack while
// the control executor still runs, or pulls waiting on the registry (which
// answers on the control executor) hold shutdown for their timeout.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "agent/endpoints/task_metadata.h"
#include "agent/network/ipam.h"
#include "agent/network/netlink.h"
#include "agent/network/netns.h"
#include "agent/network/task_network.h"
#include "agent/real_agent.h"
#include "agent/runtime/container_runtime.h"
#include "agent/store_ipam_store.h"
#include "image/image_store.h"
#include "image/rootfs.h"
#include "logs/log_store.h"
#include "store/store.h"

namespace berth::agent {

struct RealAgentStackOptions {
  std::filesystem::path data_dir;
  std::string region = "us-east-1";
  std::string endpoint_url;  // AWS_ENDPOINT_URL for containers; empty: unset
  std::string credentials_key;  // RealAgentConfig::credentials_key
  std::string vpc_cidr = "172.31.0.0/16";
  std::vector<std::string> subnet_cidrs;  // gateways put on the bridge at start
  std::string bridge = "berth0";
  std::string veth_prefix = "bv";
  runtime::RuntimeOptions runtime;  // data_dir is filled from data_dir above
  int worker_threads = 4;
  int64_t pids_limit = 0;
  // Where awslogs containers' output goes (must outlive the stack); null:
  // awslogs configurations are ignored.
  logs::LogStore* log_store = nullptr;
};

class RealAgentStack {
 public:
  // `store`, `manifests`, `blobs`, `metadata` (may be null) and `clock` must
  // outlive the stack.
  static Result<std::unique_ptr<RealAgentStack>> open(const RealAgentStackOptions& options, const Clock& clock,
                                                      store::Store& store, image::ManifestSource& manifests,
                                                      image::BlobSource& blobs,
                                                      endpoints::TaskMetadataRegistry* metadata, EventSink sink);
  ~RealAgentStack();
  RealAgentStack(const RealAgentStack&) = delete;
  RealAgentStack& operator=(const RealAgentStack&) = delete;

  RealAgent& agent() { return *agent_; }
  image::ImageStore& images() { return *images_; }
  runtime::ContainerRuntime& runtime() { return *runtime_; }
  net::TaskNetwork& network() { return *network_; }

 private:
  RealAgentStack() = default;

  image::KernelMounter mounter_;
  std::unique_ptr<image::ImageStore> images_;
  net::LinuxNetns netns_;
  std::unique_ptr<net::Netlink> netlink_;
  std::unique_ptr<StoreIpamStore> ipam_store_;
  std::unique_ptr<net::Ipam> ipam_;
  std::unique_ptr<net::TaskNetwork> network_;
  std::unique_ptr<runtime::ContainerRuntime> runtime_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::unique_ptr<RealAgent> agent_;
};

}  // namespace berth::agent
