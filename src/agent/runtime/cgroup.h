// Task cgroups on cgroup v1 (one hierarchy per controller under
// <root>/<controller>/, as on these hybrid hosts) and v2 (one unified tree).
//
// A task's cgroup is `<parent>/<task-id>`; its containers are children
// `<parent>/<task-id>/<container>` created by the OCI runtime from the
// spec's cgroupsPath. TaskCgroups writes the task-level limits, reads stats,
// and removes the task cgroup (children first) in every hierarchy.
//
// The limit math is pure (the free functions) and unit-tested. TaskCgroups
// works on a root directory, so tests point it at a temporary directory that
// stands in for /sys/fs/cgroup.
//
// Threads: stateless after construction; any thread. Calls block on
// cgroupfs writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/runtime/container_runtime.h"
#include "common/result.h"

namespace berth::agent::runtime {

inline constexpr int64_t kCfsPeriodUs = 100'000;

// CFS quota for ECS cpu units (1024 = one core): units * period / 1024, at
// least 1000 µs (the kernel's minimum); nullopt for 0 (no quota).
std::optional<int64_t> cfsQuotaUs(int cpu_units, int64_t period_us = kCfsPeriodUs);
// v1 cpu.shares → v2 cpu.weight (the OCI/runc conversion: 2..262144 → 1..10000).
uint64_t sharesToWeight(uint64_t shares);
// Docker's minimum for cpu shares is 2; ECS passes container `cpu` as shares.
uint64_t clampShares(int cpu_units);
inline int64_t mibToBytes(int64_t mib) { return mib << 20; }

// Which cgroup layout the host has: v2 when <root> itself is a cgroup2 mount
// (cgroup.controllers at the root), else v1.
Result<CgroupVersion> detectCgroupVersion(const std::filesystem::path& root);

// A container's own limits (the container definition's cpu, memory and
// memoryReservation); 0 = none.
struct ContainerLimits {
  int cpu_shares = 0;
  int64_t memory_mib = 0;
  int64_t memory_reservation_mib = 0;
};

// One directory a container joins: its v1 hierarchy ("memory", ...), or ""
// on v2.
struct ContainerCgroupDir {
  std::string controller;
  std::filesystem::path dir;
};

class TaskCgroups {
 public:
  TaskCgroups(std::filesystem::path root, CgroupVersion version, std::string parent);

  // Creates <parent>/<task> with the limits (idempotent). v1: cpu, cpuacct,
  // memory, pids hierarchies (those that exist); v2: enables the cpu, memory
  // and pids controllers down the path first.
  Status create(const TaskLimits& limits) const;
  // Removes <parent>/<task> and its children in every hierarchy.
  // kFailedPrecondition when processes remain; a missing cgroup is success.
  Status remove(const std::string& task_id) const;
  // Stats of <parent>/<rel>: a task ("<task>") or a container ("<task>/<name>").
  Result<TaskStats> stats(const std::string& rel) const;
  // The files usage sampling reads for <parent>/<task> (pure).
  TaskUsageFiles usageFiles(const std::string& task_id) const;
  // Creates <parent>/<task>/<container> with the container's limits for
  // berth's own launcher (an OCI runtime creates it from the spec instead).
  // v1: in every hierarchy (as runc), cpuset seeded from its parent, the
  // devices hierarchy with runc's default allow-list (everything denied but
  // mknod and the standard nodes: null, zero, full, random, urandom, tty,
  // ptmx, pts, tun); v2: one
  // directory, and kFailedPrecondition (v2 confines devices with an eBPF
  // program, which berth does not load yet). Returns the directories.
  Result<std::vector<ContainerCgroupDir>> createContainer(const std::string& task_id, const std::string& container,
                                                          const ContainerLimits& limits) const;
  // The directories createContainer made (those that exist), e.g. to join
  // them for an exec.
  std::vector<ContainerCgroupDir> containerDirs(const std::string& task_id, const std::string& container) const;
  // Removes <parent>/<task>/<container> in every hierarchy (missing is fine).
  Status removeContainer(const std::string& task_id, const std::string& container) const;
  // Removes <parent> itself when empty (tests; berthd keeps it).
  Status removeParent() const;

  // The OCI spec's linux.cgroupsPath for a container of the task.
  std::string containerCgroupsPath(const std::string& task_id, const std::string& container) const;
  // The file and key the monitor reads for the OOM-kill count of a container
  // (v1 memory.oom_control, v2 memory.events; key "oom_kill").
  std::filesystem::path containerOomFile(const std::string& task_id, const std::string& container) const;

  CgroupVersion version() const { return version_; }
  const std::string& parent() const { return parent_; }

 private:
  std::filesystem::path dir(const char* controller, const std::string& rel) const;

  std::filesystem::path root_;
  CgroupVersion version_;
  std::string parent_;
};

}  // namespace berth::agent::runtime
