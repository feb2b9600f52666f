// ContainerRuntime: the container layer of the real agent. It turns a task's
// limits into a task cgroup and a ContainerConfig into a running OCI
// container (runc by default, crun selectable), tells the agent when a
// container exits, runs health-check commands inside it, and finds what is
// still on disk after berthd restarts.
//
// Supervision survives `kill -9 berthd`: every container is run by its own
// small `berth-monitor` process (subreaper of the container), which copies
// stdout/stderr into the container's log file, reaps the container and
// records its ExitStatus in the container's state dir (layout.h). berthd
// only watches the monitors (pidfds) and reads the exit files.
//
// Names: a container is addressed by ContainerRef {task_id, name}; its OCI
// id (ContainerConfig::runtime_id) must be unique on the host.
//
// Threads: all methods are thread-safe and may block (they fork/exec the OCI
// runtime, write cgroup files); call them from the agent's worker pool, not
// from an event loop. The ExitCallback runs on the runtime's own watcher
// thread, exactly once per container that was started (or recovered as
// running) and has exited; it must not block for long and must not call
// remove() or start() synchronously (remove() of a running container waits
// for this very thread to report the exit): post the work elsewhere, which
// is the intended use. A container that was
// already exited when recover() ran is reported by recover(), not by the
// callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace berth::agent::runtime {

// A task's resource limits (the task definition's task-level cpu/memory).
struct TaskLimits {
  std::string task_id;
  int cpu_units = 0;       // 1024 = one core → CFS quota (period 100 ms); 0 = no quota
  int64_t memory_mib = 0;  // hard limit; 0 = unlimited
  int64_t pids_limit = 0;  // 0 = unlimited
};

struct Ulimit {
  std::string name;  // ECS names: "nofile", "nproc", "core", ... (→ RLIMIT_NOFILE, ...)
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct BindMount {
  std::filesystem::path source;  // host path (a file or a directory)
  std::string destination;       // absolute path in the container
  bool read_only = false;
};

struct ContainerConfig {
  std::string task_id;
  std::string name;                  // the container's name in the task definition
  std::string runtime_id;            // OCI container id, unique on the host ([A-Za-z0-9_.-]+)
  std::filesystem::path rootfs;      // already mounted (overlay); not touched by remove()
  std::filesystem::path netns_path;  // network namespace to join; empty = new one
  std::vector<std::string> argv;     // final (entryPoint + command), non-empty
  std::vector<std::string> env;      // "KEY=VALUE"
  std::string cwd = "/";
  // "", "uid", "uid:gid", "name", "name:group" (names resolved from the
  // rootfs /etc/passwd and /etc/group). Empty = root.
  std::string user;
  std::string hostname;
  bool read_only_rootfs = false;
  bool init_process_enabled = false;  // a tiny init as pid 1 (signals forwarded, zombies reaped)
  std::vector<Ulimit> ulimits;
  std::vector<BindMount> mounts;       // e.g. /etc/hosts, /etc/resolv.conf
  int cpu_shares = 0;                  // container `cpu`; 0 = runtime default
  int64_t memory_mib = 0;              // container `memory` hard limit; 0 = none
  int64_t memory_reservation_mib = 0;  // container `memoryReservation` soft limit; 0 = none
  std::filesystem::path log_path;      // empty = layout default (<container dir>/output.log)
};

// Identifies a container of a task.
struct ContainerRef {
  std::string task_id;
  std::string name;
  bool operator==(const ContainerRef&) const = default;
};

// How a container ended. exit_code follows Docker/ECS: the process's exit
// status, or 128 + signal when a signal killed it (137 for SIGKILL).
struct ExitStatus {
  int exit_code = 0;
  int signal = 0;           // the killing signal, 0 when it exited normally
  bool oom_killed = false;  // the kernel OOM killer killed a process of the container
  WallTime exited_at{};
};

// Decodes a wait status (from waitpid) into an ExitStatus (exited_at unset).
ExitStatus decodeWaitStatus(int wait_status, bool oom_killed);

enum class ContainerState {
  kRunning,  // its monitor is alive
  kExited,   // the exit status is recorded
  kUnknown,  // state dir exists but neither a live monitor nor an exit file (crashed mid-start)
};

// What recover() found for one container.
struct RecoveredContainer {
  ContainerRef ref;
  std::string runtime_id;
  ContainerState state = ContainerState::kUnknown;
  std::optional<ExitStatus> exit;  // set when kExited
  int pid = 0;                     // container init pid (host namespace) when kRunning
};

struct TaskStats {
  uint64_t cpu_usage_ns = 0;            // cumulative CPU time of the task cgroup
  uint64_t memory_usage_bytes = 0;      // current usage
  uint64_t memory_max_usage_bytes = 0;  // peak where the kernel reports it (v1), else 0
  uint64_t memory_limit_bytes = 0;      // hard limit; 0 = unlimited
  uint64_t pids_current = 0;
};

// The cgroupfs files a task's usage is sampled from (UsageProbes keeps them
// open). Version-neutral: the v1/v2 differences are in the names and keys.
struct TaskUsageFiles {
  // v1 cpuacct.usage (nanoseconds, alone in the file); v2 cpu.stat (its
  // usage_usec line).
  std::filesystem::path cpu;
  bool cpu_stat = false;              // `cpu` is a cpu.stat
  std::filesystem::path memory;       // v1 memory.usage_in_bytes; v2 memory.current
  std::filesystem::path memory_stat;  // memory.stat
  // The page cache that ECS (as docker stats) leaves out of memory usage:
  // v1 total_inactive_file (hierarchical: the containers are child
  // cgroups); v2 inactive_file (always hierarchical).
  std::string inactive_file_key;
};

struct StartedContainer {
  int pid = 0;  // container init pid in the host pid namespace
  WallTime started_at{};
};

using ExitCallback = std::function<void(const ContainerRef& ref, const ExitStatus& status)>;

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  // Where exits are reported. Set it before the first start()/recover();
  // not thread-safe against concurrent exits when changed later.
  virtual void setExitCallback(ExitCallback callback) = 0;

  // Creates the task cgroup (under the configured parent, e.g. `berth/<task>`)
  // in every controller in use and writes the limits. Idempotent: an existing
  // cgroup gets the limits written again.
  virtual Status createTaskCgroup(const TaskLimits& limits) = 0;
  // Removes the task cgroup; kFailedPrecondition while processes remain in
  // it. Idempotent (a missing cgroup is success).
  virtual Status removeTaskCgroup(const std::string& task_id) = 0;
  // Live cgroup stats of a task.
  virtual Result<TaskStats> taskStats(const std::string& task_id) const = 0;
  // Live cgroup stats of one container (its cgroup under the task's);
  // kNotFound when it has none. memory_limit_bytes is 0 when the container
  // has no hard limit of its own (the task's limit applies).
  virtual Result<TaskStats> containerStats(const ContainerRef& ref) const = 0;
  // The files a task's usage is read from, for sampling without a call per
  // sample; nullopt when the runtime has no cgroupfs (the fake). Pure: does
  // not check that the cgroup exists.
  virtual std::optional<TaskUsageFiles> taskUsageFiles(const std::string& /*task_id*/) const { return std::nullopt; }

  // Writes the bundle (config.json) and starts the container under its
  // monitor; returns once the container process runs (or with the OCI
  // runtime's error message: a CannotStartContainerError for the agent).
  // The task cgroup must exist. kAlreadyExists when the ref is in use.
  virtual Result<StartedContainer> start(const ContainerConfig& config) = 0;

  // Sends a signal to the container's init process (SIGTERM or the image's
  // StopSignal; SIGKILL). kNotFound when not running (already exited is
  // success: nothing to do).
  virtual Status signal(const ContainerRef& ref, int signal) = 0;

  // Runs argv inside the running container (its namespaces, user, env, cwd)
  // and returns its exit code (128+signal when killed). On timeout the
  // command is killed and the result is an Error with code
  // kResourceExhausted ("timed out"). kNotFound when the container is not
  // running. Blocks for up to `timeout` (plus the OCI runtime's start-up).
  virtual Result<int> exec(const ContainerRef& ref, const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout) = 0;

  // Removes what the container left behind: OCI runtime state, the bundle,
  // its cgroup, its state files — everything in its state dir except
  // output.log (the agent deletes the task directory once the logs are
  // shipped). Kills it first if still running (SIGKILL; the exit is still
  // reported through the callback). Idempotent.
  virtual Status remove(const ContainerRef& ref) = 0;

  // Scans the data dir after a berthd restart: running containers are
  // watched again (their exits arrive through the callback), exited ones
  // are returned with their recorded ExitStatus (and not reported again).
  virtual Result<std::vector<RecoveredContainer>> recover() = 0;

  // The log file of a container (where its stdout/stderr go; layout.h
  // describes the format).
  virtual std::filesystem::path logPath(const ContainerRef& ref) const = 0;
};

// kNative: berth's own launcher inside berth-monitor (launcher.h), no OCI
// runtime binary; needs cgroup v1 for now (on v2 makeOciRuntime falls back
// to runc or crun, whichever exists).
enum class OciRuntimeKind { kRunc, kCrun, kNative };
enum class CgroupVersion { kV1, kV2 };

struct RuntimeOptions {
  std::filesystem::path data_dir;  // <data-dir>; containers live under tasks/<id>/containers/<name>
  OciRuntimeKind kind = OciRuntimeKind::kRunc;
  // empty = /usr/sbin/<kind>, /usr/bin/<kind> or PATH; when `kind` is not
  // installed at all, the other runtime (whichever exists). Unused by kNative.
  std::filesystem::path runtime_binary;
  std::filesystem::path runtime_root;    // the OCI runtime's --root; empty = <data-dir>/runtime/<kind>
  std::filesystem::path monitor_binary;  // berth-monitor; empty = next to /proc/self/exe
  std::string cgroup_parent = "berth";   // task cgroups are <parent>/<task-id>
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
  std::optional<CgroupVersion> cgroup_version;  // empty = detect
  // Monitors kept started and waiting, so that start() skips spawning one
  // (0 = none; each idle spare is a ~150 kB process).
  int spare_monitors = 2;
};

// The real runtime (runc/crun + berth-monitor + cgroupfs).
Result<std::unique_ptr<ContainerRuntime>> makeOciRuntime(RuntimeOptions options);

}  // namespace berth::agent::runtime
