// RealAgent::recover(): rebuilds tasks from their records after a berthd
// restart and decides, per task, whether it keeps running.
#include <fmt/format.h>

#include "agent/real_agent_task.h"

namespace berth::agent {

Status RealAgent::recover() {
  std::vector<TaskRecord> records = BERTH_TRY(loadTaskRecords(config_.data_dir));
  std::set<std::string> live;
  for (const auto& r : records) live.insert(r.launch.task_id);
  // The runtime first: from here on, exits of adopted containers arrive
  // through the callback (parked in orphan_exits_ until their task exists).
  std::vector<runtime::RecoveredContainer> found = BERTH_TRY(runtime_.recover());
  net::TaskNetwork::Recovered networks = BERTH_TRY(network_.recover(live));
  std::map<std::string, net::TaskAttachment> adopted;
  for (auto& a : networks.adopted) adopted[a.task_id] = a;
  std::set<std::string> lost(networks.lost.begin(), networks.lost.end());

  struct Resume {
    TaskPtr task;
    bool was_stopping;
    std::vector<std::pair<std::string, runtime::ExitStatus>> exits;
  };
  std::vector<Resume> resumed;
  for (auto& r : records) {
    auto plan = planTask(r.launch.task_definition, r.launch.overrides);
    const std::string id = r.launch.task_id;
    auto t =
        std::make_shared<Task>(r.launch, plan ? std::move(*plan) : TaskPlan{}, boost::asio::make_strand(executor_));
    t->phase = r.phase;
    t->pull_started_at = r.pull_started_at;
    t->pull_stopped_at = r.pull_stopped_at;
    t->running_at = r.running_at;
    t->stop_code = r.stop_code;
    t->stopped_reason = r.stopped_reason;
    t->network = true;  // cleanup() is idempotent
    t->cgroup = true;
    if (auto it = adopted.find(id); it != adopted.end()) t->attachment = it->second;
    std::filesystem::path etc = taskDir(config_.data_dir, id) / "etc";
    t->etc = TaskEtcFiles{etc / "hosts", etc / "resolv.conf", etc / "hostname"};
    std::vector<AwslogsRecord> awslogs = loadAwslogsRecords(config_.data_dir, id);
    for (const auto& p : t->plan.containers) {
      Container c{p};
      c.rootfs = true;  // RootfsManager::remove is idempotent
      c.rootfs_path = t->rootfsBase(config_.data_dir) / p.name / "rootfs" / "merged";
      for (const auto& cr : r.containers) {
        if (cr.name != p.name) continue;
        c.image_digest = cr.image_digest;
        c.stop_signal = cr.stop_signal;
        c.started = cr.started;
        c.exit_code = cr.exit_code;
        c.reason = cr.reason;
        c.endpoint_id = cr.endpoint_id;
        c.docker_id = cr.docker_id;
        if (cr.started) c.state = Container::State::kStopped;  // unless the runtime says it runs
      }
      for (const auto& f : found) {
        if (f.ref.task_id != id || f.ref.name != p.name) continue;
        c.started = true;
        switch (f.state) {
          case runtime::ContainerState::kRunning:
            c.state = Container::State::kRunning;
            break;
          case runtime::ContainerState::kExited:
            c.state = Container::State::kStopped;
            if (f.exit) {
              c.exit_code = f.exit->oom_killed ? 137 : f.exit->exit_code;
              if (f.exit->oom_killed) c.reason = kOomReason;
            }
            break;
          case runtime::ContainerState::kUnknown:
            c.state = Container::State::kStopped;  // crashed while starting
            break;
        }
      }
      for (const auto& a : awslogs)
        if (a.container == p.name && c.started) c.awslogs = a.config;
      t->containers.push_back(std::move(c));
    }
    // Not yet shared with a strand: set up the watches here, before any
    // exit can be handled.
    for (auto& c : t->containers) watchLogs(t, c);
    if (lost.contains(id)) t->attachment.reset();
    if (auto s = registerMetadata(t); !s)
      fmt::print(stderr, "berthd: agent: task {}: cannot register its metadata again: {}\n", id, s.error().message);
    Resume resume{t, r.stopping, {}};
    {
      std::lock_guard lock(mu_);
      tasks_[id] = t;
      recovered_arns_.insert(r.launch.task_arn);
      if (auto it = orphan_exits_.find(id); it != orphan_exits_.end()) {
        resume.exits = std::move(it->second);
        orphan_exits_.erase(it);
      }
    }
    resumed.push_back(std::move(resume));
  }
  drainFinishedTasks();

  for (auto& r : resumed) {
    TaskPtr t = r.task;
    bool network_lost = lost.contains(t->launch.task_id);
    post(t, [this, t, was_stopping = r.was_stopping, network_lost, exits = std::move(r.exits)] {
      // Exited while berthd was down: their files are final.
      for (auto& c : t->containers)
        if (!c.running()) drainLogs(t, c);
      if (was_stopping) {
        t->stopping = true;
        for (auto& c : t->containers)
          if (c.state == Container::State::kPending) c.state = Container::State::kStopped;
        stopNext(t);
      } else if (network_lost) {
        beginStop(t, "TaskFailedToStart",
                  "ResourceInitializationError: the task's network namespace was lost across a restart of berthd");
      } else if (t->phase < TaskPhase::kRunning || t->plan.containers.empty()) {
        beginStop(t, "TaskFailedToStart", "ResourceInitializationError: berthd restarted while the task was starting");
      } else {
        bool essential_exited = false;
        for (auto& c : t->containers) {
          if (c.plan.essential && c.state == Container::State::kStopped) essential_exited = true;
          // Health starts over: UNKNOWN until the first check after the restart.
          if (c.running() && c.plan.health_check) {
            c.health.emplace(*c.plan.health_check, clock_.now());
            scheduleHealthCheck(t, c, c.plan.health_check->interval);
          }
          // A container still waiting for its dependencies when berthd went
          // down cannot be started without its image config: give up on it.
          if (c.state == Container::State::kPending) c.state = Container::State::kStopped;
        }
        if (essential_exited) {
          beginStop(t, "EssentialContainerExited", "Essential container in task exited");
        } else {
          persist(t);
          emit(t);
        }
      }
      for (const auto& [name, status] : exits) onExit(t, name, status);
    });
  }
  return {};
}

}  // namespace berth::agent
