// The task metadata endpoint's state: per task and per container, the facts
// ECS's task metadata endpoint v4 reports (`${ECS_CONTAINER_METADATA_URI_V4}`,
// `/task`, `/taskWithTags`), kept in a registry that the agent fills and the
// endpoint's HTTP handler reads.
//
// Every container gets an endpoint id: 128 random bits from the CSPRNG,
// formatted like a UUID. The id is the only thing that separates one task's
// metadata from another's (all tasks reach 169.254.170.2 over the same
// bridge, where Fargate gives each task its own VM), so it must never be
// derivable from the task id. It is baked into the container's environment
// (ECS_CONTAINER_METADATA_URI_V4), so the agent persists it and passes it
// back to registerTask() when it re-adopts the task after a restart.
//
// Lifecycle, as the agent uses it:
//   1. metadataFromLaunch() (launch_metadata.h) builds the static parts;
//   2. registerTask() before the first container starts; its endpoint ids go
//      into the containers' environment (metadataUriV4());
//   3. applyEvent() with every TaskEvent the agent emits (or update() for
//      anything an event does not carry);
//   4. unregisterTask() once the task is STOPPED and cleaned up.
//
// Threads: every method is thread-safe. Readers get immutable snapshots
// (shared_ptr<const TaskMetadata>), so rendering a response never holds the
// registry's lock; writers copy the task's document, change the copy and
// swap it in (copy-on-write; documents are a few KiB and change a handful of
// times per task life).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/agent.h"
#include "agent/endpoints/stats_source.h"
#include "common/clock.h"
#include "common/result.h"

namespace berth::agent::endpoints {

// The link-local address tasks reach the endpoint at (ECS's, on the bridge).
inline constexpr std::string_view kTaskEndpointAddress = "169.254.170.2";

// One entry of a container's `Networks` (awsvpc: the task's ENI).
struct NetworkMetadata {
  std::string network_mode = "awsvpc";
  std::vector<std::string> ipv4_addresses;
  int attachment_index = 0;
  std::string mac_address;
  std::string ipv4_subnet_cidr_block;  // "172.31.0.0/20"
  std::vector<std::string> domain_name_servers;
  std::vector<std::string> domain_name_search_list;
  std::string private_dns_name;             // "ip-172-31-0-5.us-east-1.compute.internal"
  std::string subnet_gateway_ipv4_address;  // "172.31.0.1/20", as ECS writes it
};

// A container's `Health` (only for containers with a healthCheck).
struct HealthMetadata {
  std::string status = "UNKNOWN";  // HEALTHY, UNHEALTHY, UNKNOWN
  std::optional<WallTime> status_since;
  std::optional<int> exit_code;  // of the last check
  std::string output;            // of the last check
};

struct ContainerMetadata {
  std::string name;
  // Assigned by registerTask() when empty; never shown in a response.
  std::string endpoint_id;
  std::string docker_id;    // Fargate shape: "<task-id>-<10 digits>"
  std::string docker_name;  // Fargate: the container's name
  std::string image;
  std::string image_id;  // "sha256:..." once the image is resolved
  std::map<std::string, std::string> labels;
  std::string desired_status = "RUNNING";
  std::string known_status = "PENDING";
  std::optional<int> exit_code;
  double limit_cpu = 0;          // cpu units, as the container definition says
  int64_t limit_memory_mib = 0;  // hard limit; 0 when the definition has none
  std::optional<WallTime> created_at, started_at, finished_at;
  std::string type = "NORMAL";
  std::string container_arn;
  std::string log_driver;
  std::map<std::string, std::string> log_options;
  bool has_health_check = false;  // Health is rendered only then
  HealthMetadata health;
  std::vector<NetworkMetadata> networks;
  std::string snapshotter = "overlayfs";
};

struct ClockDriftMetadata {
  double clock_error_bound_ms = 0;
  std::string synchronization_status = "SYNCHRONIZED";
};

struct TaskMetadata {
  std::string cluster;  // the cluster ARN, as Fargate reports it
  std::string task_arn;
  std::string family;
  std::string revision;      // a string in the response ("5")
  std::string service_name;  // only for service tasks
  std::string vpc_id;        // ECS shows it on EC2 only; rendered when set
  std::string desired_status = "RUNNING";
  std::string known_status = "PENDING";
  std::optional<double> limit_cpu_vcpus;  // task cpu units / 1024
  std::optional<int64_t> limit_memory_mib;
  std::optional<WallTime> pull_started_at, pull_stopped_at, execution_stopped_at;
  std::string availability_zone;
  std::string launch_type = "FARGATE";
  std::map<std::string, std::string> task_tags;  // /taskWithTags only
  ClockDriftMetadata clock_drift;
  int64_t ephemeral_storage_reserved_mib = 20 * 1024;
  int64_t ephemeral_storage_utilized_mib = 0;
  std::vector<ContainerMetadata> containers;
};

// ECS_CONTAINER_METADATA_URI_V4 (and _URI, v3) for an endpoint id; `host`
// may carry a port ("127.0.0.1:8080") for tests.
std::string metadataUriV4(std::string_view endpoint_id, std::string_view host = kTaskEndpointAddress);
std::string metadataUriV3(std::string_view endpoint_id, std::string_view host = kTaskEndpointAddress);

// A fresh unguessable endpoint id (UUID-shaped, 122+ random bits).
std::string newEndpointId();

// What an endpoint id resolves to: an immutable snapshot of its task and the
// index of its container in task->containers.
struct EndpointView {
  std::shared_ptr<const TaskMetadata> task;
  size_t container_index = 0;
  const ContainerMetadata& container() const { return task->containers[container_index]; }
};

class TaskMetadataRegistry {
 public:
  TaskMetadataRegistry() = default;
  TaskMetadataRegistry(const TaskMetadataRegistry&) = delete;
  TaskMetadataRegistry& operator=(const TaskMetadataRegistry&) = delete;

  // Adds a task. Containers with an empty endpoint_id get a new one; given
  // ids (re-adoption) are kept. Returns container name -> endpoint id.
  // kAlreadyExists when the task ARN or an endpoint id is registered
  // already; kInvalidArgument for an empty ARN, duplicate container names
  // or a malformed id ([A-Za-z0-9-], 8-64 characters).
  Result<std::map<std::string, std::string>> registerTask(TaskMetadata task);

  // Changes a registered task. `mutate` runs on a copy under the registry's
  // lock: it must be quick, must not call back into the registry, and must
  // not change container names or endpoint ids (such changes are undone).
  // kNotFound for an unknown task.
  Status update(const std::string& task_arn, const std::function<void(TaskMetadata&)>& mutate);

  // Applies an agent TaskEvent: task KnownStatus/DesiredStatus from the
  // phase, pull times, the ENI address and MAC, and per container (matched
  // by name) KnownStatus, ExitCode, ImageID, health, and CreatedAt /
  // StartedAt / FinishedAt stamped with event.at on the first transition.
  // kNotFound for an unknown task.
  Status applyEvent(const TaskEvent& event);

  // Forgets a task, its endpoint ids and its stats history. Idempotent.
  void unregisterTask(const std::string& task_arn);

  std::optional<EndpointView> lookup(std::string_view endpoint_id) const;
  std::shared_ptr<const TaskMetadata> task(const std::string& task_arn) const;
  size_t taskCount() const;

  // Stores `current` as the container's latest stats sample and returns the
  // one it replaces (Docker's precpu_stats/preread), nullopt the first time.
  std::optional<ContainerStatsSample> exchangeStatsSample(const std::string& task_arn, const std::string& container,
                                                          ContainerStatsSample current);

 private:
  struct Entry {
    std::shared_ptr<const TaskMetadata> doc;
    std::map<std::string, ContainerStatsSample> last_samples;  // by container name
  };

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> tasks_;  // by task ARN
  // endpoint id -> (task ARN, container index)
  std::unordered_map<std::string, std::pair<std::string, size_t>> endpoints_;
};

// The task-level KnownStatus the endpoint shows for an agent phase.
const char* knownStatusForPhase(TaskPhase phase);

}  // namespace berth::agent::endpoints
