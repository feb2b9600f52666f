// OciRuntime: the real ContainerRuntime (container_runtime.h) — runc, crun
// or berth's own launcher (launcher.h) driven through berth-monitor, task
// cgroups through TaskCgroups.
//
// Exit notification: one watcher thread per OciRuntime waits in epoll on a
// pidfd of every watched container's monitor; when a monitor exits, the
// thread reads exit.json and invokes the ExitCallback. Destroying the
// OciRuntime stops the watcher but leaves containers and monitors running
// (as a berthd crash would); a new OciRuntime adopts them with recover().
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "agent/runtime/cgroup.h"
#include "agent/runtime/container_runtime.h"

namespace berth::agent::runtime {

class OciRuntime final : public ContainerRuntime {
 public:
  // Use makeOciRuntime(); options are already resolved (binaries exist).
  OciRuntime(RuntimeOptions options, CgroupVersion version);
  ~OciRuntime() override;

  void setExitCallback(ExitCallback callback) override;
  Status createTaskCgroup(const TaskLimits& limits) override;
  Status removeTaskCgroup(const std::string& task_id) override;
  Result<TaskStats> taskStats(const std::string& task_id) const override;
  Result<TaskStats> containerStats(const ContainerRef& ref) const override;
  std::optional<TaskUsageFiles> taskUsageFiles(const std::string& task_id) const override {
    return cgroups_.usageFiles(task_id);
  }
  Result<StartedContainer> start(const ContainerConfig& config) override;
  Status signal(const ContainerRef& ref, int signal) override;
  Result<int> exec(const ContainerRef& ref, const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout) override;
  Status remove(const ContainerRef& ref) override;
  Result<std::vector<RecoveredContainer>> recover() override;
  std::filesystem::path logPath(const ContainerRef& ref) const override;

  const TaskCgroups& cgroups() const { return cgroups_; }
  const RuntimeOptions& options() const { return options_; }

 private:
  struct Watched {
    ContainerRef ref;
    std::string runtime_id;
    int monitor_pidfd = -1;
    int container_pidfd = -1;
    int container_pid = 0;
  };

  std::filesystem::path dirOf(const ContainerRef& ref) const;
  bool native() const { return options_.kind == OciRuntimeKind::kNative; }
  // Registers a monitor with the watcher (mu_ not held). When the monitor
  // is already gone the exit is reported by the watcher soon after.
  void watch(Watched w);
  void watcherLoop();
  void finish(const std::string& key);  // watcher thread: read exit.json, report
  std::vector<std::string> runtimeArgv(std::initializer_list<std::string> verb_and_args) const;
  // Spare monitors (monitor.cc, `spare`): started ahead of need so that a
  // container start does not wait for a monitor to be spawned and detach.
  // Each is a socket to a detached berth-monitor waiting for its arguments.
  int takeSpare();                // -1 when none is ready
  void refillSpares();            // watcher thread
  Result<int> spawnSpare() const;  // the socket

  RuntimeOptions options_;
  TaskCgroups cgroups_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: shutdown or pending exits

  mutable std::mutex mu_;
  std::condition_variable exited_cv_;  // a watched container was reported
  ExitCallback callback_;
  std::map<std::string, Watched> watched_;  // key "task/name"
  std::vector<std::string> pending_;        // monitors already gone at watch()
  std::set<std::string> starting_;          // start() in progress (one per ref)
  std::vector<int> spares_;                 // sockets of idle spare monitors
  bool refill_ = false;                     // the watcher should top spares_ up
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace berth::agent::runtime
