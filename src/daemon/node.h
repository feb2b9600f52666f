// The node: what berthd needs to run tasks as real containers (the
// `--agent real` side of berthd): the agent and its components
// (agent::RealAgentStack: image store, network, IPAM, OCI runtime, worker
// pool, RealAgent), the task metadata registry the agent fills, and the task
// endpoint server on 169.254.170.2 with live cgroup stats.
//
// open() sets up the bridge, recovers the IPAM and the agent (tasks that
// survived a berthd crash are re-adopted) and starts the task endpoint.
// Failures name what could not be set up (not root, no runc, no overlayfs).
//
// Threads: open() and the destructor run on berthd's main thread. Destroy
// the node while the control executor still runs (image pulls wait on it),
// after the endpoint's io_context stopped. The agent's own rules are in
// src/agent/real_agent.h.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "agent/agent.h"
#include "agent/endpoints/credentials.h"
#include "common/clock.h"
#include "common/result.h"
#include "image/source.h"
#include "logs/log_store.h"
#include "store/store.h"

namespace berth::daemon {

struct NodeOptions {
  std::filesystem::path data_dir;
  std::string region = "us-east-1";
  std::string vpc_cidr = "172.31.0.0/16";
  std::vector<std::string> subnet_cidrs;  // gateways put on the bridge up front
  std::string bridge = "berth0";
  std::string runtime = "native";       // native | runc | crun
  std::string cgroup_parent = "berth";  // task cgroups are <parent>/<task id>
  // The task metadata endpoint's address and port (on the bridge); port 0
  // disables it.
  std::string task_endpoint_host = "169.254.170.2";
  uint16_t task_endpoint_port = 80;
  // berthd's API as a task reaches it (AWS_ENDPOINT_URL); may be empty.
  std::string endpoint_url;
  // Task credentials ids are derived under this key (agent/endpoints/credentials.h).
  std::string credentials_key;
  int worker_threads = 4;
  // Where the awslogs driver ships container output; null: no driver.
  logs::LogStore* log_store = nullptr;
};

class Node {
 public:
  // `store`, `clock`, the sources and `endpoint_io` must outlive the node.
  static Result<std::unique_ptr<Node>> open(const NodeOptions& options, const Clock& clock, store::Store& store,
                                            image::ManifestSource& manifests, image::BlobSource& blobs,
                                            boost::asio::io_context& endpoint_io, agent::EventSink sink);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  agent::Agent& agent();
  // Where task role credentials go for the task endpoint to serve.
  agent::endpoints::CredentialsStore& credentials();

  struct Parts;  // node.cc

 private:
  explicit Node(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace berth::daemon
