// What the real agent makes of a task definition: per container, the
// settings that decide how it is started, stopped and checked, and the
// final OCI-level ContainerConfig once its image is known.
//
// Pure functions, no I/O and no clock: safe on any thread, deterministic.
// The task definition was validated at RegisterTaskDefinition (STYLE.md 4),
// so these accept what ECS accepts and clamp what Fargate clamps; they never
// fail on a member of an unexpected type (it is ignored).
//
// Docker's rules for argv: an entryPoint in the definition (or none in the
// image) replaces the image's Entrypoint *and* resets its Cmd; a command
// replaces Cmd. RunTask's containerOverrides.command replaces the
// definition's command. The environment, later entries winning by name:
// image Env, the Fargate defaults (AWS_REGION, AWS_DEFAULT_REGION,
// AWS_EXECUTION_ENV, AWS_ENDPOINT_URL), the definition's `environment`, the
// override's `environment`, and last the agent-owned variables a user cannot
// change (ECS_CONTAINER_METADATA_URI[_V4], AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
// — the latter only when the task has a taskRoleArn, as on Fargate).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "agent/runtime/container_runtime.h"
#include "common/result.h"
#include "image/manifest.h"

namespace berth::agent {

enum class DependencyCondition { kStart, kComplete, kSuccess, kHealthy };
const char* dependencyConditionName(DependencyCondition c);

struct Dependency {
  std::string container;
  DependencyCondition condition = DependencyCondition::kStart;
};

// A container definition's healthCheck with AWS's defaults, clamped to its
// bounds: interval 5-300 s (30), timeout 2-60 s (5), retries 1-10 (3),
// startPeriod 0-300 s (0).
struct HealthCheckSpec {
  std::vector<std::string> command;  // ["CMD", ...] or ["CMD-SHELL", "..."]
  std::chrono::seconds interval{30};
  std::chrono::seconds timeout{5};
  std::chrono::seconds start_period{0};
  int retries = 3;

  // What runs inside the container: CMD's arguments, or /bin/sh -c for
  // CMD-SHELL; a command without either prefix is run as given.
  std::vector<std::string> argv() const;
};

struct ContainerPlan {
  std::string name;
  std::string image;
  bool essential = true;
  std::optional<std::vector<std::string>> entry_point;           // the definition's
  std::optional<std::vector<std::string>> command;               // the override's, else the definition's
  std::vector<std::pair<std::string, std::string>> environment;  // definition, then override
  std::string working_directory;
  std::string user;
  bool read_only_rootfs = false;
  bool init_process = false;
  std::vector<runtime::Ulimit> ulimits;  // Fargate's nofile 65535 unless set
  // The nofile entry is Fargate's default, not the definition's: the agent
  // lowers it to what the host allows (raising a hard limit needs
  // CAP_SYS_RESOURCE, which berthd may lack).
  bool default_nofile = false;
  int cpu = 0;
  int64_t memory_mib = 0;
  int64_t memory_reservation_mib = 0;
  std::vector<Dependency> depends_on;
  std::optional<std::chrono::seconds> start_timeout;  // 2-120 when set
  std::chrono::seconds stop_timeout{30};              // 2-120, default 30
  std::optional<HealthCheckSpec> health_check;
  // logConfiguration: the driver and its options (the agent ships awslogs
  // containers' output, logging/awslogs_config.h).
  std::string log_driver;
  std::map<std::string, std::string> log_options;
};

struct TaskPlan {
  int cpu_units = 0;       // task cpu (override wins)
  int64_t memory_mib = 0;  // task memory (override wins)
  bool has_task_role = false;
  std::vector<ContainerPlan> containers;  // in definition order
};

// Reads the task definition (DescribeTaskDefinition's shape) and RunTask's
// overrides. kInvalidArgument only for a definition without containers or
// with a dependsOn naming an unknown container or forming a cycle.
Result<TaskPlan> planTask(const boost::json::object& task_definition, const boost::json::object& overrides);

// What every container of a task shares.
struct TaskContext {
  std::string task_id;
  std::string region;
  std::string endpoint_url;  // AWS_ENDPOINT_URL as seen from a task; empty: not set
  std::string metadata_host = "169.254.170.2";
  // The task role's credentials id (credentials.h); empty: no task role.
  std::string credentials_id;
  // Container name → the task metadata endpoint's id for it (the path of
  // ECS_CONTAINER_METADATA_URI[_V4]); runtimeIdFor() when absent.
  std::map<std::string, std::string> endpoint_ids;
};

// The OCI container id, unique on the host, and the id in the metadata URIs.
std::string runtimeIdFor(std::string_view task_id, std::string_view container);

std::vector<std::string> containerArgv(const ContainerPlan& plan, const image::ImageConfig& image);
std::vector<std::string> containerEnv(const ContainerPlan& plan, const image::ImageConfig& image,
                                      const TaskContext& task);

// The runtime's ContainerConfig, except rootfs, netns_path, hostname and
// mounts, which the agent fills from what it prepared.
runtime::ContainerConfig containerConfig(const ContainerPlan& plan, const image::ImageConfig& image,
                                         const TaskContext& task);

// "SIGQUIT", "QUIT", "3" → 3; empty or unknown → SIGTERM.
int parseStopSignal(std::string_view text);

// Containers in an order where every container comes after the containers
// it depends on (definition order otherwise). planTask() guarantees there
// is no cycle.
std::vector<size_t> startOrder(const TaskPlan& plan);

}  // namespace berth::agent
