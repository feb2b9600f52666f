// The Agent interface: the node side of berth. The control plane says "this
// task should run" and "this task should stop"; the agent makes it so and
// reports every state change back as a TaskEvent.
//
// Two implementations: the real one (containers; a later issue) and
// FakeAgent (instant, in memory) for control-plane tests and scale
// benchmarks, chosen only explicitly (`berthd --agent fake`).
//
// Threads: launch() and stop() are called on the control plane's executor.
// Events are delivered through the EventSink given at construction, which
// posts them to that same executor; an agent never calls the control plane
// directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "common/clock.h"

namespace berth::agent {

// ECS task lastStatus values, in lifecycle order.
enum class TaskPhase {
  kProvisioning,
  kPending,
  kActivating,
  kRunning,
  kDeactivating,
  kStopping,
  kDeprovisioning,
  kStopped,
};
const char* taskPhaseName(TaskPhase phase);

struct TaskLaunch {
  std::string task_arn;
  std::string task_id;
  std::string cluster_arn;
  boost::json::object task_definition;  // as DescribeTaskDefinition returns it
  boost::json::object overrides;        // RunTask's overrides, may be empty
  std::string subnet_id;
  std::string subnet_cidr;  // e.g. 172.31.0.0/20
  std::string availability_zone;
  std::vector<std::string> security_groups;
  std::string capacity_provider;  // FARGATE or FARGATE_SPOT
  // Each container's `secrets`, resolved by berthd before the launch
  // (container name -> environment entries). Held in memory only: never
  // persisted, rendered or logged.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> secrets;
  // Set when berthd found before the launch that the task cannot start (its
  // execution role may not read a secret): the agent stops it at once with
  // TaskFailedToStart and "ResourceInitializationError: " + this reason.
  std::string launch_error;
};

struct ContainerState {
  std::string name;
  std::string last_status;  // PENDING, RUNNING, STOPPED
  std::optional<int> exit_code;
  std::string reason;
  std::string health_status;  // HEALTHY, UNHEALTHY, UNKNOWN
  std::string runtime_id;
  std::string image_digest;
};

struct TaskEvent {
  std::string task_arn;
  TaskPhase phase = TaskPhase::kProvisioning;
  WallTime at;
  std::string private_ipv4;  // set once the network is up
  std::string mac_address;
  std::string health_status;  // task health: HEALTHY, UNHEALTHY, UNKNOWN
  std::optional<WallTime> pull_started_at, pull_stopped_at;
  // Set on kStopped (and kStopping when the agent decided to stop the task).
  std::string stop_code;  // e.g. EssentialContainerExited, TaskFailedToStart
  std::string stopped_reason;
  std::vector<ContainerState> containers;
};

struct StopRequest {
  std::string stop_code;  // UserInitiated, ServiceSchedulerInitiated, ...
  std::string reason;
};

using EventSink = std::function<void(TaskEvent)>;

// One task's resource usage as the node measures it: cumulative counters
// (the control plane turns them into rates between two samples) and the
// current memory. Network counters are the task's view (rx: received by
// the task).
struct TaskUsage {
  std::string task_arn;
  uint64_t cpu_ns = 0;        // CPU time of the task cgroup since it was made
  uint64_t memory_bytes = 0;  // usage minus inactive page cache, as ECS counts it
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
};

class Agent {
 public:
  virtual ~Agent() = default;
  // Starts bringing the task up. Progress and failure arrive as events.
  virtual void launch(TaskLaunch launch) = 0;
  // Stops a task; idempotent. Ends with a kStopped event.
  virtual void stop(const std::string& task_arn, StopRequest request) = 0;
  // Tasks the agent still knows after a restart of berthd (recover()).
  virtual std::vector<std::string> knownTasks() const = 0;
  virtual std::string_view name() const = 0;
  // Usage of every task that is RUNNING, one entry per task, into `out`
  // (resized; its strings' storage is reused from call to call). Called on
  // the control executor about once a second: must be cheap and must not
  // wait for a task's work. Default: no usage known.
  virtual void sampleUsage(std::vector<TaskUsage>& out) { out.clear(); }
};

}  // namespace berth::agent
