// Live resource usage of a container, as the task metadata endpoint's
// `/stats` and `/task/stats` report it (Docker's ContainerStats shape).
//
// The agent implements StatsSource from the task's cgroups (cpuacct / cpu.stat,
// memory, pids) and the task's network namespace (the ENI's counters); tests
// use a fake. The endpoint stamps each sample with its Clock and keeps the
// previous one for `precpu_stats`/`preread` and `network_rate_stats`.
//
// Threads: sample() is called from the HTTP server's threads, concurrently,
// for any container; it must be thread-safe and quick (a few cgroupfs
// reads), as it runs on the connection's strand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace berth::agent::endpoints {

struct CpuSample {
  uint64_t total_usage_ns = 0;  // cumulative CPU time of the container
  uint64_t usage_in_usermode_ns = 0;
  uint64_t usage_in_kernelmode_ns = 0;
  std::vector<uint64_t> percpu_usage_ns;  // may be empty (cgroup v2 has none)
  uint64_t system_cpu_usage_ns = 0;       // the host's total CPU time (/proc/stat)
  uint32_t online_cpus = 0;
  uint64_t throttling_periods = 0;
  uint64_t throttled_periods = 0;
  uint64_t throttled_time_ns = 0;
};

struct NetworkCounters {
  std::string interface;  // Fargate names the task's ENI "eth1"
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};

struct ContainerStatsSample {
  WallTime read{};  // set by the endpoint from its Clock
  CpuSample cpu;
  uint64_t memory_usage_bytes = 0;
  uint64_t memory_max_usage_bytes = 0;  // 0 where the kernel keeps no peak
  uint64_t memory_limit_bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> memory_stats;  // memory.stat, as read
  uint64_t pids_current = 0;
  std::optional<uint64_t> pids_limit;
  std::vector<NetworkCounters> networks;  // empty when unavailable
};

class StatsSource {
 public:
  virtual ~StatsSource() = default;
  // The container's current usage. kNotFound when it is not running (no
  // cgroup); other errors are reported to the caller as a 500.
  virtual Result<ContainerStatsSample> sample(const std::string& task_arn, const std::string& container) = 0;
};

}  // namespace berth::agent::endpoints
