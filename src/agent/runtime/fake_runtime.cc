#include "agent/runtime/fake_runtime.h"

#include <csignal>

#include "agent/runtime/layout.h"

namespace berth::agent::runtime {

FakeContainerRuntime::FakeContainerRuntime(const Clock& clock) : clock_(clock) {}

void FakeContainerRuntime::setExitCallback(ExitCallback callback) {
  std::lock_guard lock(mu_);
  callback_ = std::move(callback);
}

std::optional<Error> FakeContainerRuntime::takeFailure(const std::string& operation) {
  auto it = failures_.find(operation);
  if (it == failures_.end()) return std::nullopt;
  Error e = std::move(it->second);
  failures_.erase(it);
  return e;
}

ExitCallback FakeContainerRuntime::finish(Container& c, ExitStatus status) {
  if (status.exited_at == WallTime{}) status.exited_at = clock_.now();
  c.running = false;
  c.exit = status;
  if (!callback_) return {};
  ContainerRef ref{c.config.task_id, c.config.name};
  return [cb = callback_, ref, status](const ContainerRef&, const ExitStatus&) { cb(ref, status); };
}

Status FakeContainerRuntime::createTaskCgroup(const TaskLimits& limits) {
  std::lock_guard lock(mu_);
  if (auto e = takeFailure("createTaskCgroup")) return std::unexpected(*e);
  cgroups_[limits.task_id] = limits;
  return {};
}

Status FakeContainerRuntime::removeTaskCgroup(const std::string& task_id) {
  std::lock_guard lock(mu_);
  if (auto e = takeFailure("removeTaskCgroup")) return std::unexpected(*e);
  for (const auto& [k, c] : containers_) {
    if (c.config.task_id == task_id && c.running)
      return fail(ErrorCode::kFailedPrecondition, "task cgroup " + task_id + " still has processes");
  }
  cgroups_.erase(task_id);
  return {};
}

Result<TaskStats> FakeContainerRuntime::taskStats(const std::string& task_id) const {
  std::lock_guard lock(mu_);
  auto it = cgroups_.find(task_id);
  if (it == cgroups_.end()) return fail(ErrorCode::kNotFound, "no cgroup for task " + task_id);
  TaskStats s;
  s.memory_limit_bytes = static_cast<uint64_t>(it->second.memory_mib) << 20;
  return s;
}

Result<TaskStats> FakeContainerRuntime::containerStats(const ContainerRef& ref) const {
  {
    std::lock_guard lock(mu_);
    if (!containers_.contains(key(ref))) return fail(ErrorCode::kNotFound, "no container " + ref.name);
  }
  TaskStats s = BERTH_TRY(taskStats(ref.task_id));
  s.memory_limit_bytes = 0;
  return s;
}

Result<StartedContainer> FakeContainerRuntime::start(const ContainerConfig& config) {
  std::lock_guard lock(mu_);
  if (auto e = takeFailure("start")) return std::unexpected(*e);
  if (!cgroups_.contains(config.task_id))
    return fail(ErrorCode::kFailedPrecondition, "task cgroup " + config.task_id + " does not exist");
  std::string k = key({config.task_id, config.name});
  if (containers_.contains(k)) return fail(ErrorCode::kAlreadyExists, "container " + k + " exists");
  Container c;
  c.config = config;
  c.pid = next_pid_++;
  containers_[k] = std::move(c);
  ++starts_;
  return StartedContainer{containers_[k].pid, clock_.now()};
}

Status FakeContainerRuntime::signal(const ContainerRef& ref, int sig) {
  ExitCallback notify;
  ExitStatus status;
  {
    std::lock_guard lock(mu_);
    if (auto e = takeFailure("signal")) return std::unexpected(*e);
    auto it = containers_.find(key(ref));
    if (it == containers_.end()) return fail(ErrorCode::kNotFound, "no container " + key(ref));
    Container& c = it->second;
    if (!c.running) return {};
    c.signals.push_back(sig);
    if (terminating_.contains(sig)) {
      status.exit_code = 128 + sig;
      status.signal = sig;
      notify = finish(c, status);
      status = *c.exit;
    }
  }
  if (notify) notify(ref, status);
  return {};
}

Result<int> FakeContainerRuntime::exec(const ContainerRef& ref, const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  if (auto e = takeFailure("exec")) return std::unexpected(*e);
  auto it = containers_.find(key(ref));
  if (it == containers_.end() || !it->second.running)
    return fail(ErrorCode::kNotFound, "container " + key(ref) + " is not running");
  it->second.execs.push_back(argv);
  auto r = exec_results_.find(argv);
  int code = r == exec_results_.end() ? 0 : r->second;
  if (code < 0)
    return fail(ErrorCode::kResourceExhausted, "exec timed out after " + std::to_string(timeout.count()) + " ms");
  return code;
}

Status FakeContainerRuntime::remove(const ContainerRef& ref) {
  ExitCallback notify;
  ExitStatus status;
  {
    std::lock_guard lock(mu_);
    if (auto e = takeFailure("remove")) return std::unexpected(*e);
    auto it = containers_.find(key(ref));
    if (it == containers_.end()) return {};
    if (it->second.running) {
      status.exit_code = 137;
      status.signal = SIGKILL;
      notify = finish(it->second, status);
      status = *it->second.exit;
    }
    containers_.erase(it);
  }
  if (notify) notify(ref, status);
  return {};
}

Result<std::vector<RecoveredContainer>> FakeContainerRuntime::recover() {
  std::lock_guard lock(mu_);
  for (const auto& r : recoverable_) {
    Container c;
    c.config.task_id = r.ref.task_id;
    c.config.name = r.ref.name;
    c.config.runtime_id = r.runtime_id;
    c.running = r.state == ContainerState::kRunning;
    c.exit = r.exit;
    c.pid = r.pid;
    containers_[key(r.ref)] = std::move(c);
  }
  return recoverable_;
}

std::filesystem::path FakeContainerRuntime::logPath(const ContainerRef& ref) const {
  std::lock_guard lock(mu_);
  if (!data_dir_.empty()) return layout::containerDir(data_dir_, ref.task_id, ref.name) / layout::kLogFile;
  return std::filesystem::path("/fake/tasks") / ref.task_id / "containers" / ref.name / "output.log";
}

void FakeContainerRuntime::setDataDir(std::filesystem::path data_dir) {
  std::lock_guard lock(mu_);
  data_dir_ = std::move(data_dir);
}

void FakeContainerRuntime::exitContainer(const ContainerRef& ref, ExitStatus status) {
  ExitCallback notify;
  {
    std::lock_guard lock(mu_);
    auto it = containers_.find(key(ref));
    if (it == containers_.end() || !it->second.running) return;
    notify = finish(it->second, status);
    status = *it->second.exit;
  }
  if (notify) notify(ref, status);
}

void FakeContainerRuntime::setTerminatingSignals(std::set<int> signals) {
  std::lock_guard lock(mu_);
  terminating_ = std::move(signals);
}

void FakeContainerRuntime::setExecResult(const std::vector<std::string>& argv, int exit_code) {
  std::lock_guard lock(mu_);
  exec_results_[argv] = exit_code;
}

void FakeContainerRuntime::failNext(const std::string& operation, Error error) {
  std::lock_guard lock(mu_);
  failures_[operation] = std::move(error);
}

void FakeContainerRuntime::setRecoverable(std::vector<RecoveredContainer> found) {
  std::lock_guard lock(mu_);
  recoverable_ = std::move(found);
}

bool FakeContainerRuntime::running(const ContainerRef& ref) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(key(ref));
  return it != containers_.end() && it->second.running;
}

bool FakeContainerRuntime::exists(const ContainerRef& ref) const {
  std::lock_guard lock(mu_);
  return containers_.contains(key(ref));
}

std::optional<ContainerConfig> FakeContainerRuntime::config(const ContainerRef& ref) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(key(ref));
  if (it == containers_.end()) return std::nullopt;
  return it->second.config;
}

std::optional<TaskLimits> FakeContainerRuntime::taskCgroup(const std::string& task_id) const {
  std::lock_guard lock(mu_);
  auto it = cgroups_.find(task_id);
  if (it == cgroups_.end()) return std::nullopt;
  return it->second;
}

std::vector<int> FakeContainerRuntime::signalsSent(const ContainerRef& ref) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(key(ref));
  return it == containers_.end() ? std::vector<int>{} : it->second.signals;
}

std::vector<std::vector<std::string>> FakeContainerRuntime::execs(const ContainerRef& ref) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(key(ref));
  return it == containers_.end() ? std::vector<std::vector<std::string>>{} : it->second.execs;
}

int FakeContainerRuntime::startCount() const {
  std::lock_guard lock(mu_);
  return starts_;
}

}  // namespace berth::agent::runtime
