#include "daemon/node.h"

#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "agent/endpoints/credentials.h"
#include "agent/endpoints/stats_source.h"
#include "agent/endpoints/task_endpoint.h"
#include "agent/endpoints/task_metadata.h"
#include "agent/real_agent_stack.h"
#include "agent/runtime/container_runtime.h"

namespace berth::daemon {
namespace {

namespace asio = boost::asio;

// The host's total CPU time in nanoseconds (the first line of /proc/stat, in
// USER_HZ ticks), as Docker reports system_cpu_usage.
uint64_t hostCpuTimeNs() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  uint64_t ticks = 0, value = 0;
  for (int i = 0; i < 8 && in >> value; ++i) ticks += value;
  long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? ticks * (1'000'000'000ull / static_cast<uint64_t>(hz)) : 0;
}

// Container stats for the task endpoint from the task's cgroup. Fargate
// reports per-container numbers; berth's limits and accounting are per task
// (the containers share the task cgroup's budget), so every container of a
// task shows the task's usage.
class CgroupStats final : public agent::endpoints::StatsSource {
 public:
  explicit CgroupStats(agent::runtime::ContainerRuntime& runtime) : runtime_(runtime) {}

  // The container's own cgroup, as Docker's stats report a container; the
  // memory limit is the task's where the container has none of its own.
  Result<agent::endpoints::ContainerStatsSample> sample(const std::string& task_arn,
                                                        const std::string& container) override {
    std::string task_id = task_arn.substr(task_arn.rfind('/') + 1);
    agent::runtime::TaskStats stats = BERTH_TRY(runtime_.containerStats({task_id, container}));
    if (stats.memory_limit_bytes == 0) stats.memory_limit_bytes = BERTH_TRY(runtime_.taskStats(task_id)).memory_limit_bytes;
    agent::endpoints::ContainerStatsSample out;
    out.cpu.total_usage_ns = stats.cpu_usage_ns;
    out.cpu.system_cpu_usage_ns = hostCpuTimeNs();
    out.cpu.online_cpus = static_cast<uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN));
    out.memory_usage_bytes = stats.memory_usage_bytes;
    out.memory_max_usage_bytes = stats.memory_max_usage_bytes;
    out.memory_limit_bytes = stats.memory_limit_bytes;
    out.pids_current = stats.pids_current;
    return out;
  }

 private:
  agent::runtime::ContainerRuntime& runtime_;
};

}  // namespace

struct Node::Parts {
  // Declared before the stack: the agent holds a pointer to it.
  agent::endpoints::TaskMetadataRegistry metadata;
  agent::endpoints::CredentialsStore credentials;
  std::unique_ptr<agent::RealAgentStack> stack;
  std::unique_ptr<CgroupStats> stats;
  std::unique_ptr<agent::endpoints::TaskEndpointServer> endpoint;

  ~Parts() {
    if (endpoint) endpoint->stop();
  }
};

Result<std::unique_ptr<Node>> Node::open(const NodeOptions& o, const Clock& clock, store::Store& store,
                                         image::ManifestSource& manifests, image::BlobSource& blobs,
                                         asio::io_context& endpoint_io, agent::EventSink sink) {
  if (::geteuid() != 0)
    return fail(ErrorCode::kFailedPrecondition, "the real agent needs root (namespaces, cgroups, mounts)");
  auto p = std::make_unique<Parts>();

  agent::RealAgentStackOptions stack_options;
  stack_options.data_dir = o.data_dir;
  stack_options.region = o.region;
  stack_options.endpoint_url = o.endpoint_url;
  stack_options.credentials_key = o.credentials_key;
  stack_options.vpc_cidr = o.vpc_cidr;
  stack_options.subnet_cidrs = o.subnet_cidrs;
  stack_options.bridge = o.bridge;
  if (o.runtime == "crun") {
    stack_options.runtime.kind = agent::runtime::OciRuntimeKind::kCrun;
  } else if (o.runtime == "native") {
    stack_options.runtime.kind = agent::runtime::OciRuntimeKind::kNative;
  } else if (o.runtime != "runc") {
    return fail(ErrorCode::kInvalidArgument, "--runtime must be native, runc or crun");
  }
  stack_options.runtime.cgroup_parent = o.cgroup_parent;
  stack_options.worker_threads = o.worker_threads;
  stack_options.log_store = o.log_store;
  bool endpoint = o.task_endpoint_port != 0;
  p->stack = BERTH_TRY(agent::RealAgentStack::open(stack_options, clock, store, manifests, blobs,
                                                   endpoint ? &p->metadata : nullptr, std::move(sink)));

  if (endpoint) {
    p->stats = std::make_unique<CgroupStats>(p->stack->runtime());
    p->endpoint = std::make_unique<agent::endpoints::TaskEndpointServer>(endpoint_io, p->metadata, *p->stats,
                                                                          &p->credentials, clock);
    agent::endpoints::TaskEndpointOptions endpoint_options;
    endpoint_options.host = o.task_endpoint_host;
    endpoint_options.port = o.task_endpoint_port;
    if (auto bound = p->endpoint->listen(endpoint_options); !bound) {
      return fail(bound.error().code, fmt::format("task metadata endpoint on {}:{}: {}", o.task_endpoint_host,
                                                  o.task_endpoint_port, bound.error().message));
    }
  }
  return std::unique_ptr<Node>(new Node(std::move(p)));
}

Node::Node(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Node::~Node() = default;

agent::Agent& Node::agent() { return parts_->stack->agent(); }

agent::endpoints::CredentialsStore& Node::credentials() { return parts_->credentials; }

}  // namespace berth::daemon
