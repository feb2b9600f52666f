#include "agent/real_agent.h"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "agent/endpoints/launch_metadata.h"
#include "agent/real_agent_task.h"

namespace berth::agent {

namespace asio = boost::asio;

RealAgent::RealAgent(RealAgentConfig config, RealAgentDeps deps, EventSink sink)
    : config_(std::move(config)),
      clock_(deps.clock),
      images_(deps.images),
      mounter_(deps.mounter),
      network_(deps.network),
      runtime_(deps.runtime),
      executor_(std::move(deps.executor)),
      metadata_(deps.metadata),
      logs_wanted_(deps.logs != nullptr),
      sink_(std::move(sink)),
      timers_(deps.clock),
      alive_(std::make_shared<std::atomic<bool>>(true)) {
  if (deps.logs) {
    auto driver = logging::AwslogsDriver::start(*deps.logs, deps.clock, config_.awslogs);
    if (driver) {
      logs_ = std::move(*driver);
    } else {
      // Tasks with awslogs then fail to start, saying why.
      logs_error_ = driver.error().message;
      fmt::print(stderr, "berthd: agent: the awslogs driver cannot start: {}\n", logs_error_);
    }
  }
  runtime_.setExitCallback([this, alive = alive_](const runtime::ContainerRef& ref, const runtime::ExitStatus& status) {
    if (alive->load()) onRuntimeExit(ref, status);
  });
  if (config_.timer_period.count() > 0) poll_thread_ = std::thread([this] { pollTimers(); });
}

RealAgent::~RealAgent() {
  // The runtime keeps the callback (another agent may have replaced it);
  // `alive_` turns ours into a no-op.
  alive_->store(false);
  logs_.reset();  // its thread calls back into us
  if (poll_thread_.joinable()) {
    {
      std::lock_guard lock(poll_mu_);
      poll_stop_ = true;
    }
    poll_cv_.notify_all();
    poll_thread_.join();
  }
}

// The timer callbacks only post to strands, so this thread never blocks on
// a task's work.
void RealAgent::pollTimers() {
  std::unique_lock lock(poll_mu_);
  while (!poll_cv_.wait_for(lock, config_.timer_period, [this] { return poll_stop_; })) {
    lock.unlock();
    timers_.runDue();
    lock.lock();
  }
}

void RealAgent::post(const TaskPtr& t, std::function<void()> fn) { asio::post(t->strand, std::move(fn)); }

RealAgent::TaskPtr RealAgent::find(const std::string& task_id) const {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : it->second;
}

void RealAgent::launch(TaskLaunch launch) {
  auto plan = planTask(launch.task_definition, launch.overrides);
  if (plan && launch.launch_error.empty())
    for (ContainerPlan& p : plan->containers)
      if (auto s = launch.secrets.find(p.name); s != launch.secrets.end())
        p.environment.insert(p.environment.end(), s->second.begin(), s->second.end());
  if (plan && !launch.launch_error.empty())
    plan = std::unexpected(Error{ErrorCode::kFailedPrecondition, launch.launch_error, {}, 0});
  launch.secrets.clear();  // the plan holds them now; the launch is persisted
  auto t = std::make_shared<Task>(launch, plan ? std::move(*plan) : TaskPlan{}, asio::make_strand(executor_));
  for (const auto& p : t->plan.containers) t->containers.push_back(Container{p});
  {
    std::lock_guard lock(mu_);
    if (tasks_.contains(launch.task_id)) return;  // launched twice: the first one counts
    tasks_[launch.task_id] = t;
  }
  if (!plan) {
    post(t, [this, t, message = plan.error().message] {
      beginStop(t, "TaskFailedToStart", "ResourceInitializationError: " + message);
    });
    return;
  }
  post(t, [this, t] { runLaunch(t); });
}

void RealAgent::stop(const std::string& task_arn, StopRequest request) {
  TaskPtr t = find(task_arn.substr(task_arn.rfind('/') + 1));
  if (!t || t->launch.task_arn != task_arn) return;
  if (t->stop_requested.exchange(true)) return;  // idempotent: the first reason counts
  post(t, [this, t, request] { beginStop(t, request.stop_code, request.reason); });
}

std::vector<std::string> RealAgent::knownTasks() const {
  std::lock_guard lock(mu_);
  std::set<std::string> arns = recovered_arns_;
  for (const auto& [id, t] : tasks_) arns.insert(t->launch.task_arn);
  return {arns.begin(), arns.end()};
}

size_t RealAgent::activeTasks() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

void RealAgent::onRuntimeExit(const runtime::ContainerRef& ref, const runtime::ExitStatus& status) {
  TaskPtr t;
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(ref.task_id);
    if (it == tasks_.end()) {
      orphan_exits_[ref.task_id].emplace_back(ref.name, status);
      return;
    }
    t = it->second;
  }
  post(t, [this, t, name = ref.name, status] { onExit(t, name, status); });
}

void RealAgent::enterPhase(const TaskPtr& t, TaskPhase phase, bool persist_record) {
  t->phase = phase;
  if (phase == TaskPhase::kRunning) t->running_at = clock_.now();
  if (persist_record) persist(t);
  emit(t);
}

std::string RealAgent::taskHealthStatus(const Task& t) const {
  std::vector<ContainerHealth> health;
  for (const auto& c : t.containers)
    health.push_back(ContainerHealth{c.plan.essential, c.plan.health_check.has_value(),
                                     c.health ? c.health->status() : Health::kUnknown});
  return healthName(taskHealth(health));
}

void RealAgent::syncUsageProbe(const TaskPtr& t) {
  bool wanted = t->phase == TaskPhase::kRunning && t->cgroup;
  if (wanted == t->usage_probe) return;
  t->usage_probe = wanted;
  if (!wanted) {
    usage_.remove(t->launch.task_arn);
    return;
  }
  auto files = runtime_.taskUsageFiles(t->launch.task_id);
  if (!files) return;  // a runtime without cgroupfs: no usage
  std::string veth = t->attachment ? t->attachment->host_veth : std::string();
  if (auto ok = usage_.add(t->launch.task_arn, *files, veth); !ok)
    fmt::print(stderr, "berthd: agent: task {}: usage sampling: {}\n", t->launch.task_id, ok.error().message);
}

void RealAgent::emit(const TaskPtr& t) {
  // Every phase change is emitted, on the task's strand.
  syncUsageProbe(t);
  TaskEvent e;
  e.task_arn = t->launch.task_arn;
  e.phase = t->phase;
  // Updates within RUNNING keep the time RUNNING began (it is startedAt).
  e.at = t->phase == TaskPhase::kRunning && t->running_at ? *t->running_at : clock_.now();
  if (t->attachment) {
    e.private_ipv4 = t->attachment->address.address.toString();
    e.mac_address = t->attachment->mac.toString();
  }
  e.health_status = taskHealthStatus(*t);
  e.pull_started_at = t->pull_started_at;
  e.pull_stopped_at = t->pull_stopped_at;
  if (t->phase >= TaskPhase::kStopping) {
    e.stop_code = t->stop_code;
    e.stopped_reason = t->stopped_reason;
  }
  for (const auto& c : t->containers) {
    ContainerState s;
    s.name = c.plan.name;
    s.last_status = c.lastStatus();
    s.exit_code = c.exit_code;
    s.reason = c.reason;
    s.health_status = c.health ? healthName(c.health->status()) : "UNKNOWN";
    if (c.started) s.runtime_id = runtimeIdFor(t->launch.task_id, c.plan.name);
    s.image_digest = c.image_digest;
    e.containers.push_back(std::move(s));
  }
  if (metadata_) (void)metadata_->applyEvent(e);
  sink_(std::move(e));
}

Status RealAgent::registerMetadata(const TaskPtr& t) {
  if (!metadata_) return {};
  endpoints::LaunchExtras extras;
  for (const auto& c : t->containers)
    if (!c.docker_id.empty()) extras.docker_ids[c.plan.name] = c.docker_id;
  endpoints::TaskMetadata doc = endpoints::metadataFromLaunch(t->launch, extras);
  for (auto& mc : doc.containers)
    if (const Container* c = t->container(mc.name)) mc.endpoint_id = c->endpoint_id;
  metadata_->unregisterTask(t->launch.task_arn);  // a retried registration replaces the old one
  auto ids = BERTH_TRY(metadata_->registerTask(std::move(doc)));
  auto registered = metadata_->task(t->launch.task_arn);
  for (auto& c : t->containers) {
    if (auto it = ids.find(c.plan.name); it != ids.end()) c.endpoint_id = it->second;
    if (registered)
      for (const auto& mc : registered->containers)
        if (mc.name == c.plan.name) c.docker_id = mc.docker_id;
  }
  return {};
}

void RealAgent::persist(const TaskPtr& t) {
  TaskRecord r;
  r.launch = t->launch;
  r.phase = t->phase;
  r.pull_started_at = t->pull_started_at;
  r.pull_stopped_at = t->pull_stopped_at;
  r.running_at = t->running_at;
  r.stopping = t->stopping;
  r.stop_code = t->stop_code;
  r.stopped_reason = t->stopped_reason;
  for (const auto& c : t->containers)
    r.containers.push_back(ContainerRecord{c.plan.name, c.image_digest, c.stop_signal, c.started, c.exit_code, c.reason,
                                           c.endpoint_id, c.docker_id});
  if (auto s = writeTaskRecord(config_.data_dir, r); !s)
    fmt::print(stderr, "berthd: agent: task {}: cannot write its record: {}\n", t->launch.task_id, s.error().message);
}

}  // namespace berth::agent
