// Shared fixtures for the task endpoint tests: a TaskLaunch as the control
// plane builds it (task definition as DescribeTaskDefinition returns it) and
// a fake StatsSource.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include <boost/json.hpp>

#include "agent/agent.h"
#include "agent/endpoints/stats_source.h"

namespace berth::agent::endpoints::testing {

inline TaskLaunch exampleLaunch(const std::string& task_id = "0123456789abcdef0123456789abcdef") {
  TaskLaunch l;
  l.task_id = task_id;
  l.task_arn = "arn:aws:ecs:us-west-2:123456789012:task/default/" + task_id;
  l.cluster_arn = "arn:aws:ecs:us-west-2:123456789012:cluster/default";
  l.availability_zone = "us-west-2a";
  l.subnet_id = "subnet-0123456789abcdef0";
  l.subnet_cidr = "172.31.16.0/20";
  l.capacity_provider = "FARGATE";
  l.task_definition = boost::json::parse(R"({
    "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/web:3",
    "family": "web",
    "revision": 3,
    "networkMode": "awsvpc",
    "cpu": "512",
    "memory": "1024",
    "requiresCompatibilities": ["FARGATE"],
    "status": "ACTIVE",
    "containerDefinitions": [
      {"name": "app", "image": "nginx:1.25", "cpu": 256, "memory": 512, "essential": true,
       "dockerLabels": {"team": "web"},
       "healthCheck": {"command": ["CMD-SHELL", "true"]},
       "logConfiguration": {"logDriver": "awslogs",
         "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-west-2",
                     "awslogs-stream-prefix": "ecs"}}},
      {"name": "sidecar", "image": "busybox", "essential": false}
    ]
  })")
                          .as_object();
  l.overrides = boost::json::parse(R"({"containerOverrides": [{"name": "sidecar", "memory": 64}]})").as_object();
  return l;
}

// Returns a configurable sample per container; counts grow by `step` per
// call so that rates are non-zero. Thread-safe.
class FakeStatsSource final : public StatsSource {
 public:
  Result<ContainerStatsSample> sample(const std::string& task_arn, const std::string& container) override {
    calls.fetch_add(1);
    std::lock_guard lock(mu_);
    if (missing_.contains(container)) return fail(ErrorCode::kNotFound, "container " + container + " not running");
    uint64_t n = ++counter_[task_arn + "/" + container];
    ContainerStatsSample s;
    s.cpu.total_usage_ns = 1'000'000 * n;
    s.cpu.usage_in_usermode_ns = 600'000 * n;
    s.cpu.usage_in_kernelmode_ns = 400'000 * n;
    s.cpu.percpu_usage_ns = {500'000 * n, 500'000 * n};
    s.cpu.system_cpu_usage_ns = 2'000'000'000 * n;
    s.cpu.online_cpus = 2;
    s.memory_usage_bytes = 4 << 20;
    s.memory_max_usage_bytes = 6 << 20;
    s.memory_limit_bytes = 512ull << 20;
    s.memory_stats = {{"cache", 4096}, {"rss", 1 << 20}};
    s.pids_current = 3;
    s.pids_limit = 4096;
    NetworkCounters eth;
    eth.interface = "eth1";
    eth.rx_bytes = 1000 * n;
    eth.tx_bytes = 500 * n;
    eth.rx_packets = n;
    eth.tx_packets = n;
    s.networks.push_back(eth);
    return s;
  }

  // From now on, `container` is not running (kNotFound).
  void setMissing(const std::string& container) {
    std::lock_guard lock(mu_);
    missing_[container] = true;
  }
  std::atomic<int> calls{0};

 private:
  std::mutex mu_;
  std::map<std::string, bool> missing_;
  std::map<std::string, uint64_t> counter_;
};

}  // namespace berth::agent::endpoints::testing
