// RealAgent and the awslogs driver: group and stream before the containers
// start, a watch per started container, a drain once it has exited, and the
// task's directory (which holds the log files) deleted only after every
// drain. Everything but drainFinishedTasks() runs on the task's strand.
#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "agent/real_agent_task.h"

namespace berth::agent {

namespace {

runtime::ContainerRef refOf(const std::string& task_id, const std::string& name) { return {task_id, name}; }

}  // namespace

Status RealAgent::prepareLogs(const TaskPtr& t) {
  if (!logs_wanted_) return {};
  const std::string& id = t->launch.task_id;
  std::vector<AwslogsRecord> records;
  for (auto& c : t->containers) {
    if (c.plan.log_driver != "awslogs") continue;
    if (!logs_) return fail(ErrorCode::kInternal, "the awslogs log driver is not running: " + logs_error_);
    // Without a stream prefix Docker names the stream after the container id.
    std::string fallback = c.docker_id.empty() ? runtimeIdFor(id, c.plan.name) : c.docker_id;
    auto config = logging::parseAwslogsOptions(c.plan.log_options, id, c.plan.name, fallback);
    if (!config) return fail(config.error().code, "failed to validate logger args: " + config.error().message);
    BERTH_TRY(logs_->prepare(*config));
    c.awslogs = *config;
    records.push_back(AwslogsRecord{c.plan.name, *config});
  }
  // On disk before any container starts: a restarted berthd must find
  // every log file it has to ship, even after task.json is gone.
  if (!records.empty()) BERTH_TRY(writeAwslogsRecords(config_.data_dir, id, records));
  return {};
}

void RealAgent::watchLogs(const TaskPtr& t, Container& c) {
  if (!logs_ || !c.awslogs || c.logs != Container::Logs::kNone) return;
  runtime::ContainerRef ref = refOf(t->launch.task_id, c.plan.name);
  logs_->watch(logging::sourceId(ref.task_id, ref.name), runtime_.logPath(ref), *c.awslogs);
  c.logs = Container::Logs::kWatching;
}

// Call only once the container's monitor is gone (it exited, or was removed).
void RealAgent::drainLogs(const TaskPtr& t, Container& c) {
  if (c.logs != Container::Logs::kWatching) return;
  c.logs = Container::Logs::kDraining;
  logs_->finish(logging::sourceId(t->launch.task_id, c.plan.name), [this, alive = alive_, t, name = c.plan.name] {
    if (alive->load()) post(t, [this, t, name] { onLogsDrained(t, name); });
  });
}

void RealAgent::onLogsDrained(const TaskPtr& t, const std::string& name) {
  if (Container* c = t->container(name)) c->logs = Container::Logs::kDrained;
  if (!t->deprovisioned || logsPending(*t)) return;
  if (!t->done) return completeStop(t);
  removeTaskFiles(t);  // STOPPED went out when the drain timed out
}

bool RealAgent::logsPending(const Task& t) const {
  for (const auto& c : t.containers)
    if (c.logs == Container::Logs::kWatching || c.logs == Container::Logs::kDraining) return true;
  return false;
}

void RealAgent::removeTaskFiles(const TaskPtr& t) {
  const std::string& id = t->launch.task_id;
  if (auto s = removeTaskDir(config_.data_dir, id); !s)
    fmt::print(stderr, "berthd: agent: task {}: {}\n", id, s.error().message);
  // The marks go after the files: a crash in between must not ship a file
  // again from its start.
  if (logs_)
    for (const auto& c : t->containers)
      if (c.awslogs) logs_->forget(logging::sourceId(id, c.plan.name));
}

void RealAgent::drainFinishedTasks() {
  for (const std::string& id : finishedTaskDirs(config_.data_dir)) {
    std::vector<AwslogsRecord> records =
        logs_ ? loadAwslogsRecords(config_.data_dir, id) : std::vector<AwslogsRecord>{};
    if (records.empty()) {
      if (auto s = removeTaskDir(config_.data_dir, id); !s)
        fmt::print(stderr, "berthd: agent: task {}: {}\n", id, s.error().message);
      continue;
    }
    auto left = std::make_shared<std::atomic<size_t>>(records.size());
    for (const auto& r : records) {
      runtime::ContainerRef ref = refOf(id, r.container);
      std::string source = logging::sourceId(id, r.container);
      logs_->watch(source, runtime_.logPath(ref), r.config);
      logs_->finish(source, [this, alive = alive_, left, id, records] {
        if (left->fetch_sub(1) != 1 || !alive->load()) return;
        // Off the driver thread: deleting a directory can take a while.
        boost::asio::post(executor_, [this, id, records] {
          if (auto s = removeTaskDir(config_.data_dir, id); !s)
            fmt::print(stderr, "berthd: agent: task {}: {}\n", id, s.error().message);
          for (const auto& r : records) logs_->forget(logging::sourceId(id, r.container));
        });
      });
    }
  }
}

}  // namespace berth::agent
