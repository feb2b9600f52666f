// FakeAgent: runs every task instantly and in memory. Containers "run" from
// the moment they are launched until stop() is called; no process, no
// network namespace. IPs come from a per-subnet counter, so tasks still get
// distinct addresses inside their subnet.
//
// Options let tests make launches fail, to drive the control plane's failure
// paths without containers.
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

 private:
  struct Running {
    TaskLaunch launch;
    std::string ip;
    std::string mac;
  };
  std::string allocateIp(const std::string& cidr);
  std::vector<ContainerState> containers(const TaskLaunch& launch, const std::string& status,
                                         std::optional<int> exit_code) const;

  const Clock& clock_;
  EventSink sink_;
  Options options_;
  std::map<std::string, Running> running_;
  std::map<std::string, uint32_t> next_host_;  // per subnet CIDR
};

}  // namespace berth::agent
