#include "agent/fake_agent.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "common/json.h"

namespace berth::agent {

FakeAgent::FakeAgent(const Clock& clock, EventSink sink, Options options)
    : clock_(clock), sink_(std::move(sink)), options_(std::move(options)) {}

std::string FakeAgent::allocateIp(const std::string& cidr) {
  auto slash = cidr.find('/');
  in_addr base{};
  if (slash == std::string::npos || inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &base) != 1) return {};
  int prefix = std::stoi(cidr.substr(slash + 1));
  uint32_t size = prefix >= 32 ? 1 : (uint32_t{1} << (32 - prefix));
  // As in a VPC subnet, the first four addresses and the last are reserved.
  uint32_t& next = next_host_[cidr];
  if (next < 4) next = 4;
  if (next >= size - 1) next = 4;
  uint32_t host = ntohl(base.s_addr) + next++;
  in_addr out{htonl(host)};
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &out, text, sizeof text);
  return text;
}

std::vector<ContainerState> FakeAgent::containers(const TaskLaunch& launch, const std::string& status,
                                                  std::optional<int> exit_code) const {
  std::vector<ContainerState> out;
  if (const auto* defs = json::getArray(launch.task_definition, "containerDefinitions")) {
    for (const auto& def : *defs) {
      if (!def.is_object()) continue;
      ContainerState c;
      c.name = json::stringOr(def.get_object(), "name");
      c.last_status = status;
      c.exit_code = exit_code;
      c.health_status = json::getObject(def.get_object(), "healthCheck") ? "HEALTHY" : "UNKNOWN";
      c.runtime_id = launch.task_id + "-" + c.name;
      out.push_back(std::move(c));
    }
  }
  return out;
}

void FakeAgent::launch(TaskLaunch launch) {
  WallTime now = clock_.now();
  std::set<std::string> images;
  if (const auto* defs = json::getArray(launch.task_definition, "containerDefinitions"))
    for (const auto& def : *defs)
      if (def.is_object()) images.insert(json::stringOr(def.get_object(), "image"));
  for (const auto& image : images) {
    if (!options_.unpullable_images.contains(image)) continue;
    TaskEvent stopped;
    stopped.task_arn = launch.task_arn;
    stopped.phase = TaskPhase::kStopped;
    stopped.at = now;
    stopped.stop_code = "TaskFailedToStart";
    stopped.stopped_reason = fmt::format(
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {}: not found",
        image);
    stopped.containers = containers(launch, "STOPPED", std::nullopt);
    sink_(std::move(stopped));
    return;
  }

  Running r{launch, allocateIp(launch.subnet_cidr), {}};
  r.load = default_load_;
  r.advanced_at = now;
  std::string hex = launch.task_id.substr(0, 10);
  while (hex.size() < 10) hex.push_back('0');
  r.mac = fmt::format("0a:{}:{}:{}:{}:{}", hex.substr(0, 2), hex.substr(2, 2), hex.substr(4, 2), hex.substr(6, 2),
                      hex.substr(8, 2));

  TaskEvent running;
  running.task_arn = launch.task_arn;
  running.phase = TaskPhase::kRunning;
  running.at = now;
  running.pull_started_at = now;
  running.pull_stopped_at = now;
  running.private_ipv4 = r.ip;
  running.mac_address = r.mac;
  running.containers = containers(launch, "RUNNING", std::nullopt);
  bool any_check = false;
  for (const auto& c : running.containers) any_check |= c.health_status == "HEALTHY";
  running.health_status = any_check ? "HEALTHY" : "UNKNOWN";
  running_.emplace(launch.task_arn, std::move(r));
  sink_(std::move(running));
}

void FakeAgent::stop(const std::string& task_arn, StopRequest request) {
  auto it = running_.find(task_arn);
  if (it == running_.end()) return;
  TaskEvent stopped;
  stopped.task_arn = task_arn;
  stopped.phase = TaskPhase::kStopped;
  stopped.at = clock_.now();
  stopped.stop_code = request.stop_code;
  stopped.stopped_reason = request.reason;
  stopped.private_ipv4 = it->second.ip;
  stopped.mac_address = it->second.mac;
  // SIGTERM to a well-behaved process: exit code 0... a fake has no process;
  // ECS reports 143 for a container killed by SIGTERM that did not handle it.
  stopped.containers = containers(it->second.launch, "STOPPED", 0);
  running_.erase(it);
  sink_(std::move(stopped));
}

void FakeAgent::advance(Running& r, WallTime now) const {
  double seconds = std::chrono::duration<double>(now - r.advanced_at).count();
  if (seconds <= 0) return;
  r.cpu_ns += r.load.cores * seconds * 1e9;
  r.rx_bytes += r.load.rx_per_second * seconds;
  r.tx_bytes += r.load.tx_per_second * seconds;
  r.advanced_at = now;
}

void FakeAgent::sampleUsage(std::vector<TaskUsage>& out) {
  WallTime now = clock_.now();
  out.resize(running_.size());
  size_t i = 0;
  for (auto& [arn, r] : running_) {
    advance(r, now);
    TaskUsage& u = out[i++];
    u.task_arn = arn;
    u.cpu_ns = static_cast<uint64_t>(r.cpu_ns);
    u.memory_bytes = r.load.memory_bytes;
    u.rx_bytes = static_cast<uint64_t>(r.rx_bytes);
    u.tx_bytes = static_cast<uint64_t>(r.tx_bytes);
  }
}

template <typename F>
void FakeAgent::changeLoad(const std::string& task_arn, F&& change) {
  WallTime now = clock_.now();
  if (!task_arn.empty()) {
    auto it = running_.find(task_arn);
    if (it == running_.end()) return;
    advance(it->second, now);  // the old rate applies up to now
    change(it->second.load);
    it->second.own_load = true;
    return;
  }
  change(default_load_);
  for (auto& [_, r] : running_) {
    if (r.own_load) continue;
    advance(r, now);
    change(r.load);
  }
}

void FakeAgent::setCpuLoad(const std::string& task_arn, double cores) {
  changeLoad(task_arn, [cores](Load& l) { l.cores = cores; });
}

void FakeAgent::setMemoryUsage(const std::string& task_arn, uint64_t bytes) {
  changeLoad(task_arn, [bytes](Load& l) { l.memory_bytes = bytes; });
}

void FakeAgent::setNetworkRates(const std::string& task_arn, double rx_per_second, double tx_per_second) {
  changeLoad(task_arn, [=](Load& l) {
    l.rx_per_second = rx_per_second;
    l.tx_per_second = tx_per_second;
  });
}

std::vector<std::string> FakeAgent::knownTasks() const {
  std::vector<std::string> out;
  for (const auto& [arn, _] : running_) out.push_back(arn);
  return out;
}

}  // namespace berth::agent
