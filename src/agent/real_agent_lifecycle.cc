// RealAgent's task lifecycle: launch → RUNNING, exits, stop, cleanup. Every
// function here runs on the task's strand.
#include <sys/resource.h>

#include <algorithm>
#include <csignal>

#include <fmt/format.h>

#include "agent/endpoints/credentials.h"
#include "agent/real_agent_task.h"

namespace berth::agent {

namespace {

void logError(const std::string& task_id, const std::string& what, const Error& e) {
  fmt::print(stderr, "berthd: agent: task {}: {}: {}\n", task_id, what, e.message);
}

}  // namespace

void RealAgent::runLaunch(const TaskPtr& t) {
  if (t->stopping) return;
  if (auto s = registerMetadata(t); !s) {
    return beginStop(t, "TaskFailedToStart", "ResourceInitializationError: task metadata: " + s.error().message);
  }
  persist(t);
  if (auto s = provision(t); !s) {
    return beginStop(t, "TaskFailedToStart", "ResourceInitializationError: " + s.error().message);
  }
  enterPhase(t, TaskPhase::kProvisioning, false);  // now with the address
  if (t->stop_requested) return;            // stop()'s handler is queued behind us

  t->pull_started_at = clock_.now();
  enterPhase(t, TaskPhase::kPending, false);
  if (auto s = pullImages(t); !s) {
    t->pull_stopped_at = clock_.now();
    std::string reason = s.error().aws_type == "CannotPullContainerError"
                             ? "CannotPullContainerError: " + s.error().message
                             : "ResourceInitializationError: " + s.error().message;
    return beginStop(t, "TaskFailedToStart", reason);
  }
  t->pull_stopped_at = clock_.now();
  if (t->stop_requested) return;
  if (auto s = prepareLogs(t); !s) {
    return beginStop(t, "TaskFailedToStart", "ResourceInitializationError: " + s.error().message);
  }
  enterPhase(t, TaskPhase::kActivating, false);
  startReady(t);
}

Status RealAgent::provision(const TaskPtr& t) {
  const std::string& id = t->launch.task_id;
  auto subnet = net::Ipv4Prefix::parseNetwork(t->launch.subnet_cidr);
  if (!subnet) return fail(ErrorCode::kInvalidArgument, "the task has no subnet (awsvpc network configuration)");
  t->network = true;
  auto attachment = network_.prepare(id, *subnet);
  if (!attachment)
    return std::unexpected(Error{attachment.error().code,
                                 "failed to configure the task's network interface: " + attachment.error().message});
  t->attachment = *attachment;
  std::string ip = attachment->address.address.toString();
  std::string dashed = ip;
  std::replace(dashed.begin(), dashed.end(), '.', '-');
  std::string nameserver = net::Ipv4Address{subnet->network().value + 2}.toString();
  auto etc = writeTaskEtcFiles(config_.data_dir, id, ip, "ip-" + dashed + ".ec2.internal", nameserver);
  if (!etc) return std::unexpected(Error{etc.error().code, "failed to write /etc files: " + etc.error().message});
  t->etc = *etc;
  t->cgroup = true;
  auto cgroup =
      runtime_.createTaskCgroup(runtime::TaskLimits{id, t->plan.cpu_units, t->plan.memory_mib, config_.pids_limit});
  if (!cgroup)
    return std::unexpected(Error{cgroup.error().code, "failed to create the task cgroup: " + cgroup.error().message});
  return {};
}

Status RealAgent::pullImages(const TaskPtr& t) {
  std::map<std::string, image::PulledImage> pulled;
  image::RootfsManager rootfs(t->rootfsBase(config_.data_dir), mounter_);
  for (auto& c : t->containers) {
    auto it = pulled.find(c.plan.image);
    if (it == pulled.end()) {
      auto image = images_.pull(c.plan.image);
      if (!image) return std::unexpected(image.error());
      it = pulled.emplace(c.plan.image, std::move(*image)).first;
    }
    const image::PulledImage& image = it->second;
    c.image = image.config;
    c.image_digest = image.manifest_digest;
    c.stop_signal = parseStopSignal(image.config.stop_signal);
    std::vector<std::filesystem::path> layers = image.layer_dirs;
    if (layers.empty()) {
      // FROM scratch with nothing added still gets a root (as ImageStore does).
      std::filesystem::path empty = config_.data_dir / "layers" / ".empty";
      std::error_code ec;
      std::filesystem::create_directories(empty, ec);
      layers.push_back(empty);
    }
    c.rootfs = true;
    auto path = rootfs.create(c.plan.name, layers, c.plan.read_only_rootfs);
    if (!path)
      return fail(path.error().code,
                  "failed to create the root filesystem of container '" + c.plan.name + "': " + path.error().message);
    c.rootfs_path = *path;
  }
  // Not persisted here: the digests are recorded with the first container
  // start, and a crash before it stops the task whatever the record says.
  return {};
}

// Starts every pending container whose dependencies are met; fails the task
// when a dependency can no longer be met; enters RUNNING once every
// essential container runs.
void RealAgent::startReady(const TaskPtr& t) {
  if (t->stopping) return;
  for (size_t i : startOrder(t->plan)) {
    Container& c = t->containers[i];
    if (c.state != Container::State::kPending) continue;
    bool ready = true;
    for (const auto& d : c.plan.depends_on) {
      const Container* dep = t->container(d.container);
      bool met = false, impossible = false;
      switch (d.condition) {
        case DependencyCondition::kStart:
          met = dep->started;
          impossible = dep->state == Container::State::kStopped && !dep->started;
          break;
        case DependencyCondition::kComplete:
          met = dep->exited();
          impossible = dep->state == Container::State::kStopped && !dep->started;
          break;
        case DependencyCondition::kSuccess:
          met = dep->exited() && dep->exit_code == 0;
          impossible = dep->state == Container::State::kStopped && !met;
          break;
        case DependencyCondition::kHealthy:
          met = dep->running() && dep->health && dep->health->status() == Health::kHealthy;
          impossible = dep->state == Container::State::kStopped ||
                       (dep->health && dep->health->status() == Health::kUnhealthy) ||
                       (dep->running() && !dep->plan.health_check);
          break;
      }
      if (!met && (impossible || dep->start_timed_out)) {
        return beginStop(t, "TaskFailedToStart",
                         fmt::format("CannotStartContainerError: dependency of container '{}' on container '{}' "
                                     "({}) {}",
                                     c.plan.name, d.container, dependencyConditionName(d.condition),
                                     dep->start_timed_out ? "timed out" : "can no longer be met"));
      }
      ready &= met;
    }
    if (!ready) continue;
    if (auto s = startContainer(t, c); !s) {
      return beginStop(t, "TaskFailedToStart", "CannotStartContainerError: " + s.error().message);
    }
  }
  if (t->phase == TaskPhase::kActivating) {
    bool all = true;
    for (const auto& c : t->containers)
      if (c.plan.essential && !c.running()) all = false;
    if (all) enterPhase(t, TaskPhase::kRunning);
  }
}

Status RealAgent::startContainer(const TaskPtr& t, Container& c) {
  std::string credentials_id =
      t->plan.has_task_role ? endpoints::credentialsIdFor(config_.credentials_key, t->launch.task_arn) : "";
  TaskContext ctx{t->launch.task_id, config_.region, config_.endpoint_url, "169.254.170.2", credentials_id, {}};
  for (const auto& other : t->containers)
    if (!other.endpoint_id.empty()) ctx.endpoint_ids[other.plan.name] = other.endpoint_id;
  runtime::ContainerConfig config = containerConfig(c.plan, c.image, ctx);
  if (config.argv.empty())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("container '{}': no command specified (neither the image nor the task definition "
                            "has an entrypoint or command)",
                            c.plan.name));
  config.rootfs = c.rootfs_path;
  if (c.plan.default_nofile) {
    rlimit host{};
    if (::getrlimit(RLIMIT_NOFILE, &host) == 0 && host.rlim_max != RLIM_INFINITY)
      for (auto& u : config.ulimits)
        if (u.name == "nofile") u.soft = u.hard = std::min<uint64_t>(u.hard, host.rlim_max);
  }
  if (t->attachment) {
    config.netns_path = t->attachment->netns_path;
    std::string dashed = t->attachment->address.address.toString();
    std::replace(dashed.begin(), dashed.end(), '.', '-');
    config.hostname = "ip-" + dashed + ".ec2.internal";
  }
  config.mounts = {runtime::BindMount{t->etc.hosts, "/etc/hosts", false},
                   runtime::BindMount{t->etc.resolv_conf, "/etc/resolv.conf", false},
                   runtime::BindMount{t->etc.hostname, "/etc/hostname", false}};
  auto started = runtime_.start(config);
  if (!started) return std::unexpected(started.error());
  c.started = true;
  c.state = Container::State::kRunning;
  watchLogs(t, c);
  persist(t);
  if (c.plan.health_check) {
    c.health.emplace(*c.plan.health_check, started->started_at);
    scheduleHealthCheck(t, c, c.plan.health_check->interval);
  }
  if (c.plan.start_timeout) {
    // startTimeout bounds how long dependents wait for this container's
    // condition (COMPLETE, SUCCESS, HEALTHY) from its start.
    c.start_timer = timers_.scheduleAfter(*c.plan.start_timeout, [this, t, name = c.plan.name] {
      post(t, [this, t, name] {
        Container* c = t->container(name);
        if (!c || t->stopping) return;
        c->start_timer = 0;
        c->start_timed_out = true;
        startReady(t);
      });
    });
  }
  return {};
}

void RealAgent::onExit(const TaskPtr& t, const std::string& name, const runtime::ExitStatus& status) {
  Container* c = t->container(name);
  if (!c || c->state == Container::State::kStopped) return;
  c->state = Container::State::kStopped;
  c->exit_code = status.exit_code;
  if (status.oom_killed) {
    c->exit_code = 137;
    c->reason = kOomReason;
  }
  timers_.cancel(c->health_timer);
  timers_.cancel(c->kill_timer);
  c->health_timer = c->kill_timer = 0;
  drainLogs(t, *c);  // its monitor is gone: the file is final
  if (t->stopping) return stopNext(t);
  if (c->plan.essential) return beginStop(t, "EssentialContainerExited", "Essential container in task exited");
  persist(t);
  emit(t);
  startReady(t);  // COMPLETE / SUCCESS dependents
}

void RealAgent::beginStop(const TaskPtr& t, const std::string& stop_code, const std::string& reason) {
  if (t->stopping || t->done) return;
  t->stopping = true;
  t->stop_code = stop_code;
  t->stopped_reason = reason;
  for (auto& c : t->containers) {
    timers_.cancel(c.health_timer);
    timers_.cancel(c.start_timer);
    c.health_timer = c.start_timer = 0;
    // Never started: it will not be.
    if (c.state == Container::State::kPending) c.state = Container::State::kStopped;
  }
  if (t->phase == TaskPhase::kRunning) enterPhase(t, TaskPhase::kDeactivating, false);  // STOPPING is persisted
  enterPhase(t, TaskPhase::kStopping);
  stopNext(t);
}

// Signals each running container whose dependents have all exited (shutdown
// in reverse dependency order); deprovisions once none runs.
void RealAgent::stopNext(const TaskPtr& t) {
  if (t->done) return;
  bool any_running = false;
  for (auto& c : t->containers) {
    if (!c.running()) continue;
    any_running = true;
    if (c.signalled) continue;
    bool dependents_done = true;
    for (const auto& other : t->containers)
      for (const auto& d : other.plan.depends_on)
        if (d.container == c.plan.name && other.running()) dependents_done = false;
    if (!dependents_done) continue;
    c.signalled = true;
    runtime::ContainerRef ref{t->launch.task_id, c.plan.name};
    c.kill_timer = timers_.scheduleAfter(c.plan.stop_timeout, [this, t, name = c.plan.name] {
      post(t, [this, t, name] {
        Container* c = t->container(name);
        if (!c || !c->running()) return;
        c->kill_timer = 0;
        if (auto s = runtime_.signal({t->launch.task_id, name}, SIGKILL); !s)
          logError(t->launch.task_id, "SIGKILL " + name, s.error());
      });
    });
    if (auto s = runtime_.signal(ref, c.stop_signal); !s) {
      logError(t->launch.task_id, "stop signal to " + c.plan.name, s.error());
      if (s.error().code == ErrorCode::kNotFound) {
        // Gone without telling us: count it as exited.
        timers_.cancel(c.kill_timer);
        c.kill_timer = 0;
        c.state = Container::State::kStopped;
      }
    }
  }
  // Exits caused by the signals above arrive as posted onExit handlers.
  if (!any_running) return deprovision(t);
  bool still_running = false;
  for (const auto& c : t->containers) still_running |= c.running();
  if (!still_running) deprovision(t);
}

void RealAgent::deprovision(const TaskPtr& t) {
  if (t->done || t->deprovisioned) return;
  t->deprovisioned = true;
  enterPhase(t, TaskPhase::kDeprovisioning);
  const std::string& id = t->launch.task_id;
  image::RootfsManager rootfs(t->rootfsBase(config_.data_dir), mounter_);
  for (auto& c : t->containers) {
    if (c.started)
      if (auto s = runtime_.remove({id, c.plan.name}); !s) logError(id, "remove container " + c.plan.name, s.error());
    if (c.rootfs)
      if (auto s = rootfs.remove(c.plan.name); !s) logError(id, "remove rootfs of " + c.plan.name, s.error());
  }
  std::error_code ec;
  std::filesystem::remove_all(t->rootfsBase(config_.data_dir), ec);
  if (t->cgroup)
    if (auto s = runtime_.removeTaskCgroup(id); !s) logError(id, "remove the task cgroup", s.error());
  if (t->network)
    if (auto s = network_.cleanup(id); !s) logError(id, "clean up the network", s.error());
  // Containers removed above are gone with their monitors (remove() waits).
  for (auto& c : t->containers) drainLogs(t, c);
  if (logsPending(*t)) {
    t->drain_timer = timers_.scheduleAfter(kLogDrainTimeout, [this, t] {
      post(t, [this, t] {
        t->drain_timer = 0;
        completeStop(t);
      });
    });
    return;  // onLogsDrained() completes the stop
  }
  completeStop(t);
}

void RealAgent::completeStop(const TaskPtr& t) {
  if (t->done) return;
  timers_.cancel(t->drain_timer);
  t->drain_timer = 0;
  const std::string& id = t->launch.task_id;
  t->done = true;
  t->phase = TaskPhase::kStopped;
  emit(t);
  if (metadata_) metadata_->unregisterTask(t->launch.task_arn);
  if (auto s = removeTaskRecord(config_.data_dir, id); !s) logError(id, "remove the task record", s.error());
  // With logs still shipping (the drain timed out), onLogsDrained() does it.
  if (!logsPending(*t)) removeTaskFiles(t);
  std::lock_guard lock(mu_);
  tasks_.erase(id);
}

}  // namespace berth::agent
