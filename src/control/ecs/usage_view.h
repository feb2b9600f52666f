// What usage metrics (control/usage/usage_metrics.h) read from ECS: the
// reservation and grouping of a task, and the task counts per cluster and
// service. Implemented in usage_view.cc; read-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::ecs {

struct UsageTaskInfo {
  std::string cluster;     // cluster name
  std::string service;     // service name; empty for RunTask and StartTask tasks
  int64_t cpu_units = 0;   // task-level cpu (1024 = one vCPU); 0 when unset
  int64_t memory_mib = 0;  // task-level memory; 0 when unset
};

struct UsageServiceCounts {
  std::string name;
  int64_t desired = 0;
  int64_t running = 0;  // as DescribeServices' runningCount
  int64_t pending = 0;  // as its pendingCount
};

struct UsageClusterCounts {
  std::string name;
  std::string container_insights;            // the cluster setting: enabled, enhanced or disabled
  int64_t running = 0;                       // as DescribeClusters' runningTasksCount
  int64_t pending = 0;                       // as its pendingTasksCount
  std::vector<UsageServiceCounts> services;  // ACTIVE services, by name
};

}  // namespace berth::ecs
