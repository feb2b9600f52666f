// FakeContainerRuntime: an in-memory ContainerRuntime for the agent's unit
// tests. Nothing touches the OS. Tests drive it: containers "run" until the
// test calls exitContainer() (or signal() with a signal the fake is told
// terminates them), exec results are scripted, and any operation can be made
// to fail once with failNext().
//
// Threads: thread-safe (one mutex). The ExitCallback is invoked synchronously
// on the thread that caused the exit (exitContainer(), signal(), remove()),
// after the mutex is released.
#pragma once

#include <map>
#include <mutex>
#include <set>

#include "agent/runtime/container_runtime.h"

namespace berth::agent::runtime {

class FakeContainerRuntime final : public ContainerRuntime {
 public:
  explicit FakeContainerRuntime(const Clock& clock);

  void setExitCallback(ExitCallback callback) override;
  Status createTaskCgroup(const TaskLimits& limits) override;
  Status removeTaskCgroup(const std::string& task_id) override;
  Result<TaskStats> taskStats(const std::string& task_id) const override;
  Result<TaskStats> containerStats(const ContainerRef& ref) const override;
  Result<StartedContainer> start(const ContainerConfig& config) override;
  Status signal(const ContainerRef& ref, int signal) override;
  Result<int> exec(const ContainerRef& ref, const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout) override;
  Status remove(const ContainerRef& ref) override;
  Result<std::vector<RecoveredContainer>> recover() override;
  std::filesystem::path logPath(const ContainerRef& ref) const override;

  // --- test controls ---
  // Ends a running container as if its process exited with `status`
  // (exited_at is filled from the clock when unset). No-op when not running.
  void exitContainer(const ContainerRef& ref, ExitStatus status);
  // Signals that end a container when sent (default: SIGTERM and SIGKILL, exit
  // code 128+signal). A container that ignores SIGTERM: setTerminatingSignals({SIGKILL}).
  void setTerminatingSignals(std::set<int> signals);
  // The exit code exec() returns for commands whose argv equals `argv`
  // (default 0); a negative value makes exec() time out.
  void setExecResult(const std::vector<std::string>& argv, int exit_code);
  // The next call of the named operation ("createTaskCgroup", "start",
  // "signal", "exec", "remove", "removeTaskCgroup") fails with `error`.
  void failNext(const std::string& operation, Error error);
  // What recover() returns (simulating a restart); running ones are adopted.
  void setRecoverable(std::vector<RecoveredContainer> found);
  // logPath() under <data_dir>/tasks/... (layout.h) instead of /fake, so that
  // tests can write the files a monitor would. The fake creates none.
  void setDataDir(std::filesystem::path data_dir);

  // --- inspection ---
  bool running(const ContainerRef& ref) const;
  bool exists(const ContainerRef& ref) const;  // started and not removed
  std::optional<ContainerConfig> config(const ContainerRef& ref) const;
  std::optional<TaskLimits> taskCgroup(const std::string& task_id) const;
  std::vector<int> signalsSent(const ContainerRef& ref) const;
  std::vector<std::vector<std::string>> execs(const ContainerRef& ref) const;
  int startCount() const;

 private:
  struct Container {
    ContainerConfig config;
    bool running = true;
    std::optional<ExitStatus> exit;
    std::vector<int> signals;
    std::vector<std::vector<std::string>> execs;
    int pid = 0;
  };
  std::optional<Error> takeFailure(const std::string& operation);  // mu_ held
  static std::string key(const ContainerRef& ref) { return ref.task_id + "/" + ref.name; }
  // Marks it exited and returns the callback to invoke after unlocking.
  ExitCallback finish(Container& c, ExitStatus status);  // mu_ held

  const Clock& clock_;
  mutable std::mutex mu_;
  ExitCallback callback_;
  std::map<std::string, Container> containers_;
  std::map<std::string, TaskLimits> cgroups_;
  std::map<std::vector<std::string>, int> exec_results_;
  std::map<std::string, Error> failures_;
  std::set<int> terminating_ = {15, 9};
  std::vector<RecoveredContainer> recoverable_;
  std::filesystem::path data_dir_;
  int next_pid_ = 1000;
  int starts_ = 0;
};

}  // namespace berth::agent::runtime
