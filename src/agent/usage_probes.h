// UsageProbes: samples running tasks' CPU, memory and network counters
// cheaply enough to do for every task once a second.
//
// Each probe keeps the task's files open (cgroupfs: the CPU counter, memory
// usage, memory.stat; sysfs: the statistics of the task's host-side veth)
// and a sample is one pread() of each, parsed in place: no open(), no path
// building and no allocation per sample beyond what `out` already holds.
// Re-reading a cgroupfs or sysfs file at offset 0 makes the kernel render it
// anew, so an fd stays valid for the cgroup's lifetime; once the cgroup is
// gone its reads fail and the task is left out of the sample.
//
// memory.stat is the one costly read (the kernel renders some forty
// counters, summed over the cgroup tree on v1: ~6 us against ~0.5 us for the
// others). Only its inactive_file is used, and page cache moves slowly, so
// it is read when the probe is added and then at every kMemoryStatEvery-th
// sample, staggered over the tasks; memory usage itself is read every time.
//
// Network: the host side of the veth sees the task's traffic mirrored, so
// the host's rx_bytes is what the task sent (TaskUsage::tx_bytes) and the
// host's tx_bytes what it received.
//
// bench/usage_bench.cc measures sample() over 1,000 task cgroups.
//
// Threads: thread-safe. add() and remove() run on the tasks' strands
// (add() opens files: it blocks briefly, outside the lock); sample() runs on
// the control executor and holds the lock while it reads, which is a few
// microseconds per task.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/runtime/container_runtime.h"
#include "common/result.h"

namespace berth::agent {

inline constexpr int kMemoryStatEvery = 10;

class UsageProbes {
 public:
  // `net_class`: where interfaces' statistics are (/sys/class/net).
  explicit UsageProbes(std::filesystem::path net_class = "/sys/class/net");
  ~UsageProbes();
  UsageProbes(const UsageProbes&) = delete;
  UsageProbes& operator=(const UsageProbes&) = delete;

  // Opens the task's files and samples it from now on, replacing a probe
  // it already had. `host_veth` empty: no network counters (zeros). Fails
  // when a cgroup file cannot be opened; a missing veth only loses the
  // network counters.
  Status add(const std::string& task_arn, const runtime::TaskUsageFiles& files, const std::string& host_veth);
  // Stops sampling the task and closes its files; unknown tasks are fine.
  void remove(const std::string& task_arn);
  // One entry per task whose cgroup could be read, into `out` (resized;
  // strings keep their storage across calls).
  void sample(std::vector<TaskUsage>& out);
  size_t size() const;

 private:
  struct Probe;

  std::filesystem::path net_class_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Probe>, std::less<>> probes_;  // by task ARN; guarded by mu_
};

}  // namespace berth::agent
