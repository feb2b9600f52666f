// FakeAgent: runs every task instantly and in memory. Containers "run" from
// the moment they are launched until stop() is called; no process, no
// network namespace. IPs come from a per-subnet counter, so tasks still get
// distinct addresses inside their subnet.
//
// Options let tests make launches fail, to drive the control plane's failure
// paths without containers.
//
// Usage is synthetic: each running task burns a set number of cores, holds a
// set amount of memory and moves bytes at set rates (setCpuLoad and
// friends, for one task or as the default for all). sampleUsage() advances
// the cumulative counters by rate x the time elapsed on the injected clock
// since the last sample, so tests drive CPU utilisation with
// FakeClock::advance. (berthd gives the agent the real clock, also under
// --time-scale, as it does the real agent.)
//
// Threads: like the interface, every method on the control executor.
#pragma once

#include <map>
#include <set>

#include "agent/agent.h"

namespace berth::agent {

class FakeAgent final : public Agent {
 public:
  struct Options {
    // Images whose tasks fail to start with CannotPullContainerError.
    std::set<std::string> unpullable_images;
  };

  FakeAgent(const Clock& clock, EventSink sink, Options options);
  FakeAgent(const Clock& clock, EventSink sink) : FakeAgent(clock, std::move(sink), Options{}) {}

  void launch(TaskLaunch launch) override;
  void stop(const std::string& task_arn, StopRequest request) override;
  std::vector<std::string> knownTasks() const override;
  std::string_view name() const override { return "fake"; }
  void sampleUsage(std::vector<TaskUsage>& out) override;

  // Synthetic load of `task_arn`, or with "" of every running task and the
  // tasks launched later (a task given a setting of its own no longer
  // follows the default in any of them).
  void setCpuLoad(const std::string& task_arn, double cores);
  void setMemoryUsage(const std::string& task_arn, uint64_t bytes);
  // Bytes per second received and sent by the task.
  void setNetworkRates(const std::string& task_arn, double rx_per_second, double tx_per_second);

 private:
  struct Load {
    double cores = 0;
    uint64_t memory_bytes = 0;
    double rx_per_second = 0;
    double tx_per_second = 0;
  };
  struct Running {
    TaskLaunch launch;
    std::string ip;
    std::string mac;
    bool own_load = false;  // set for this task: the default no longer applies
    Load load;
    // Cumulative counters, advanced to `advanced_at` (fractions kept).
    double cpu_ns = 0, rx_bytes = 0, tx_bytes = 0;
    WallTime advanced_at{};
  };
  void advance(Running& r, WallTime now) const;
  // Applies `change` to the task's load, or to the default and every task
  // without a load of its own ("").
  template <typename F>
  void changeLoad(const std::string& task_arn, F&& change);
  std::string allocateIp(const std::string& cidr);
  std::vector<ContainerState> containers(const TaskLaunch& launch, const std::string& status,
                                         std::optional<int> exit_code) const;

  const Clock& clock_;
  EventSink sink_;
  Options options_;
  std::map<std::string, Running> running_;
  std::map<std::string, uint32_t> next_host_;  // per subnet CIDR
  Load default_load_;
};

}  // namespace berth::agent
