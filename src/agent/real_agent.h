// RealAgent: runs ECS tasks as real containers (issue 4, "Lifecycle").
//
// Per task, in the Mesos isolator shape:
//   prepare  PROVISIONING   network namespace + address (TaskNetwork), the
//                           task's /etc files, the task cgroup
//            PENDING        image pulls (pullStartedAt/pullStoppedAt) and one
//                           overlay rootfs per container
//   start    ACTIVATING     containers in dependsOn order (START, COMPLETE,
//                           SUCCESS, HEALTHY; startTimeout)
//            RUNNING        once every essential container runs
//   watch                   exits (runtime callback), health checks (exec
//                           on the injected clock), essential exit → stop
//   stop     DEACTIVATING → STOPPING: StopSignal/SIGTERM to the containers,
//                           dependents before their dependencies, SIGKILL
//                           after each container's stopTimeout
//   cleanup  DEPROVISIONING: containers, rootfs, cgroup, network; then
//            the awslogs containers' output is shipped to its end (at most
//            kLogDrainTimeout; Docker's awslogs flushes before a container
//            counts as stopped) → STOPPED with exit codes and reasons. The
//            task's directory goes once its logs are shipped. Idempotent.
//   recover  after a berthd restart: tasks on disk are re-adopted, those
//            whose essential containers exited meanwhile are stopped and
//            reported with their recorded exit codes. Log files are watched
//            again; those of containers that exited meanwhile, and of tasks
//            stopped before their logs were shipped, are drained first.
// A failure before RUNNING stops the task with stopCode TaskFailedToStart
// and "CannotPullContainerError: ...", "CannotStartContainerError: ..." or
// "ResourceInitializationError: ...", after cleaning up what was made.
//
// Logs. With a LogStore (RealAgentDeps::logs), containers whose
// logConfiguration uses awslogs have their group and stream made at the
// end of PENDING (a missing group without awslogs-create-group fails the
// task as on Fargate) and their output.log shipped by an AwslogsDriver
// (logging/awslogs_driver.h) from start until they exit. Without a store
// awslogs is ignored and nothing is shipped.
//
// Threads. launch(), stop() and knownTasks() may be called from any thread
// (in berthd: the control plane's executor) and never block: they post to
// the task's strand on the worker executor given at construction. All of a
// task's state lives on its strand; blocking work (pulls, mounts, the OCI
// runtime) runs there too, so a slow task does not delay others beyond the
// pool's size. Health-check execs run on the executor outside the strand.
// Events go to the EventSink from the strands (the sink posts them to the
// control executor). Timers are deadlines on the injected Clock
// (TimerQueue): a small thread owned by the agent polls them every
// `timer_period` and posts what is due to the strands; tests set
// timer_period to 0 and call runTimers().
//
// Usage. While a task is RUNNING its cgroup and veth counters are open in
// a UsageProbes table (registered from the task's strand when it reaches
// RUNNING, also after a re-adoption; dropped when it leaves RUNNING).
// sampleUsage() reads that table from the caller's thread (the control
// executor) under the table's own lock, a few microseconds per task; it
// never touches a Task nor waits for a strand.
//
// Lifetime: all references given at construction must outlive the agent.
// Destroy it only after the executor has stopped running its handlers
// (thread_pool::stop() + join(), or io_context::stop() and its threads
// joined): queued handlers refer to the agent. Destroying the agent does not
// stop tasks: they keep running and are re-adopted by recover() in the next
// berthd.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <condition_variable>
#include <thread>

#include "agent/agent.h"
#include "agent/endpoints/task_metadata.h"
#include "agent/logging/awslogs_driver.h"
#include "agent/network/task_network.h"
#include "agent/runtime/container_runtime.h"
#include "agent/timer_queue.h"
#include "agent/usage_probes.h"
#include "image/image_store.h"
#include "image/rootfs.h"

namespace berth::agent {

struct RealAgentConfig {
  std::filesystem::path data_dir;  // tasks live in <data_dir>/tasks/<id>/ (task_record.h)
  std::string region = "us-east-1";
  // AWS_ENDPOINT_URL in every container (berthd as reachable from a task,
  // e.g. http://172.31.0.1:4566); empty: not set.
  std::string endpoint_url;
  // The key task credentials ids are derived under (endpoints/credentials.h);
  // berthd issues the credentials under the same ids.
  std::string credentials_key;
  // How often the timer queue is polled; 0: never (tests call runTimers()).
  std::chrono::milliseconds timer_period{100};
  int64_t pids_limit = 0;  // per task cgroup; 0: unlimited
  logging::AwslogsDriverOptions awslogs;
};

// How long a stopping task waits for its logs to be shipped before it is
// reported STOPPED anyway (its directory still goes once they are).
inline constexpr std::chrono::seconds kLogDrainTimeout{10};

// The components the agent drives; references must outlive it.
struct RealAgentDeps {
  const Clock& clock;
  image::ImageStore& images;  // opened
  image::Mounter& mounter;    // for the per-container overlays (the ImageStore's)
  net::TaskNetwork& network;  // bridge set up, IPAM recovered
  runtime::ContainerRuntime& runtime;
  boost::asio::any_io_executor executor;  // the worker pool
  // Optional: the task metadata endpoint's registry. When set, every task is
  // registered before its containers start (their metadata URIs carry its
  // endpoint ids, persisted for re-adoption), every event is applied to it,
  // and the task is unregistered once STOPPED.
  endpoints::TaskMetadataRegistry* metadata = nullptr;
  // Optional: where awslogs containers' output goes (it must outlive the
  // agent). Null: awslogs configurations are ignored.
  logs::LogStore* logs = nullptr;
};

class RealAgent final : public Agent {
 public:
  // Installs the runtime's exit callback and starts the timer poll.
  RealAgent(RealAgentConfig config, RealAgentDeps deps, EventSink sink);
  ~RealAgent() override;
  RealAgent(const RealAgent&) = delete;
  RealAgent& operator=(const RealAgent&) = delete;

  // Call once, before the control plane attaches (knownTasks) and before
  // any launch. Blocks (disk, netlink, the runtime's scan). Re-adopted
  // tasks keep running; the others are stopped in the background, and
  // their STOPPED events follow.
  Status recover();

  void launch(TaskLaunch launch) override;
  void stop(const std::string& task_arn, StopRequest request) override;
  // Tasks the agent is running or stopping, plus every task recover()
  // found (so the control plane keeps them until their STOPPED arrives).
  std::vector<std::string> knownTasks() const override;
  std::string_view name() const override { return "real"; }
  // Any thread; see "Usage" above.
  void sampleUsage(std::vector<TaskUsage>& out) override { usage_.sample(out); }

  // Runs the timers due on the clock (the poll does this in berthd).
  size_t runTimers() { return timers_.runDue(); }
  // Tasks not yet STOPPED.
  size_t activeTasks() const;
  // Deadlines not yet run (stop timeouts, health checks, startTimeouts).
  size_t pendingTimers() const { return timers_.pending(); }
  // The awslogs driver (its counters); null without a LogStore.
  const logging::AwslogsDriver* logDriver() const { return logs_.get(); }

 private:
  struct Container;
  struct Task;
  using TaskPtr = std::shared_ptr<Task>;

  // Task steps, on the task's strand (real_agent_lifecycle.cc).
  void runLaunch(const TaskPtr& t);
  Status provision(const TaskPtr& t);
  Status pullImages(const TaskPtr& t);
  void startReady(const TaskPtr& t);
  Status startContainer(const TaskPtr& t, Container& c);
  void onExit(const TaskPtr& t, const std::string& name, const runtime::ExitStatus& status);
  void beginStop(const TaskPtr& t, const std::string& stop_code, const std::string& reason);
  void stopNext(const TaskPtr& t);
  void deprovision(const TaskPtr& t);
  void completeStop(const TaskPtr& t);
  // awslogs (real_agent_logs.cc).
  Status prepareLogs(const TaskPtr& t);
  void watchLogs(const TaskPtr& t, Container& c);
  void drainLogs(const TaskPtr& t, Container& c);
  void onLogsDrained(const TaskPtr& t, const std::string& name);
  bool logsPending(const Task& t) const;
  void removeTaskFiles(const TaskPtr& t);
  // Drains and deletes the directories of tasks stopped before their logs
  // were shipped (recover()).
  void drainFinishedTasks();
  // Health checks (real_agent_health.cc).
  void scheduleHealthCheck(const TaskPtr& t, Container& c, std::chrono::seconds after);
  void runHealthCheck(const TaskPtr& t, const std::string& name);
  void onHealthResult(const TaskPtr& t, const std::string& name, bool success);

  // Events and records (real_agent.cc).
  // Records the phase and tells the control plane. `persist_record` false
  // skips rewriting task.json: for phases whose loss in a crash changes
  // nothing (recover() stops every task found before RUNNING alike, and a
  // phase followed at once by another that is persisted).
  void enterPhase(const TaskPtr& t, TaskPhase phase, bool persist_record = true);
  void emit(const TaskPtr& t);
  // Registers the task's usage probe while it is RUNNING, drops it after.
  void syncUsageProbe(const TaskPtr& t);
  void persist(const TaskPtr& t);
  std::string taskHealthStatus(const Task& t) const;
  void post(const TaskPtr& t, std::function<void()> fn);
  // Registers the task with the metadata registry (when there is one),
  // keeping endpoint and Docker ids already assigned (re-adoption).
  Status registerMetadata(const TaskPtr& t);
  TaskPtr find(const std::string& task_id) const;
  void pollTimers();
  void onRuntimeExit(const runtime::ContainerRef& ref, const runtime::ExitStatus& status);

  const RealAgentConfig config_;
  const Clock& clock_;
  image::ImageStore& images_;
  image::Mounter& mounter_;
  net::TaskNetwork& network_;
  runtime::ContainerRuntime& runtime_;
  boost::asio::any_io_executor executor_;
  endpoints::TaskMetadataRegistry* metadata_;
  std::unique_ptr<logging::AwslogsDriver> logs_;  // null without a LogStore (or when it could not start)
  bool logs_wanted_ = false;                      // a LogStore was given
  std::string logs_error_;                        // why logs_ could not start
  EventSink sink_;
  TimerQueue timers_;
  UsageProbes usage_;
  std::shared_ptr<std::atomic<bool>> alive_;
  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool poll_stop_ = false;  // guarded by poll_mu_
  std::thread poll_thread_;

  mutable std::mutex mu_;
  std::map<std::string, TaskPtr> tasks_;  // by task id; guarded by mu_
  std::set<std::string> recovered_arns_;  // guarded by mu_
  // Exits reported for tasks not (yet) known, e.g. while recover() runs.
  std::map<std::string, std::vector<std::pair<std::string, runtime::ExitStatus>>> orphan_exits_;  // guarded by mu_
};

}  // namespace berth::agent
