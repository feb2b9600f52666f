// UsageMetrics: the CloudWatch metrics ECS publishes about its tasks' usage,
// computed from the agent's samples (Agent::sampleUsage).
//
// Every minute (on the control clock), for the tasks that were RUNNING in it:
//
//   AWS/ECS, always, by {ClusterName} (all the cluster's tasks) and
//   {ClusterName, ServiceName} (a service's tasks; RunTask tasks only count
//   for the cluster):
//     CPUUtilization      Percent  the task's CPU time over its task-level
//                                  `cpu` (1024 units = one core)
//     MemoryUtilization   Percent  memory in use over its task-level `memory`
//
//   ECS/ContainerInsights, for clusters whose containerInsights setting is
//   "enabled" or "enhanced", by {ClusterName} and {ClusterName, ServiceName}:
//     CpuUtilized     None          CPU units in use
//     CpuReserved     None          task-level cpu units
//     MemoryUtilized  Megabytes     MiB in use
//     MemoryReserved  Megabytes     task-level MiB
//     NetworkRxBytes  Bytes/Second  received by the task
//     NetworkTxBytes  Bytes/Second  sent by the task
//   and, from ECS's counts when the minute closes:
//     TaskCount, ServiceCount                                 {ClusterName}
//     RunningTaskCount, PendingTaskCount, DesiredTaskCount    {ClusterName, ServiceName}
//   (Container Insights' deployment, task set and storage metrics are not
//   published.)
//
// Each datum is a statistic set (SampleCount, Sum, Minimum, Maximum) over
// the tasks' one-minute averages, so Average is the mean over the tasks,
// Sum their total and Minimum/Maximum the extremes, as CloudWatch shows
// ECS's own metrics. Its timestamp is the start of the minute.
//
// Time. The minute a sample belongs to comes from the control clock (`now`,
// which berthd --time-scale speeds up); rates come from the real time
// between two samples (`steady`), since the counters are real CPU time and
// bytes. The interval ending at a round counts for the minute that was open
// before it; a minute closes, and is published, at the first round of the
// next one. A task's first sample only sets its baseline; a counter that
// goes backwards sets a new one.
//
// Threads: single writer; the control executor (it reads Ecs and publishes
// to CloudWatch, both of which live there). References must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/agent.h"
#include "common/clock.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/ecs/ecs.h"

namespace berth::usage {

class UsageMetrics {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  UsageMetrics(const ecs::Ecs& ecs, cloudwatch::CloudWatch& cloudwatch);

  // One sampling round: every RUNNING task's counters as the agent read them
  // at real time `steady`, control time `now`. Publishes the minute that
  // `now` closes, if any.
  void sample(WallTime now, SteadyTime steady, std::span<const agent::TaskUsage> samples);

  // Tasks with state kept (sampled this minute or last round).
  size_t trackedTasks() const { return tasks_.size(); }
  // Data points published so far.
  uint64_t publishedCount() const { return published_; }

 private:
  struct TaskState {
    ecs::UsageTaskInfo info;
    bool known = false;  // Ecs knows the task (info is set)
    // The last sample: the baseline of the next interval.
    bool has_last = false;
    uint64_t cpu_ns = 0, rx_bytes = 0, tx_bytes = 0;
    SteadyTime last_at{};
    uint64_t seen_round = 0;
    // The open minute's sums.
    double seconds = 0;  // real time covered by intervals
    double cpu_ns_sum = 0, rx_sum = 0, tx_sum = 0;
    double memory_sum = 0;  // bytes, over memory_samples samples
    int64_t memory_samples = 0;
  };

  void publishMinute(int64_t minute_start);

  const ecs::Ecs& ecs_;
  cloudwatch::CloudWatch& cloudwatch_;
  std::unordered_map<std::string, TaskState> tasks_;  // by task ARN
  std::vector<TaskState*> round_;                     // this round's tasks, in sample order
  int64_t open_minute_ = -1;                          // epoch seconds; -1 before the first round
  uint64_t round_number_ = 0;
  uint64_t published_ = 0;
};

}  // namespace berth::usage
