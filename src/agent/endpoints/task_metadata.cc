#include "agent/endpoints/task_metadata.h"

#include <set>

#include <fmt/format.h>

#include "agent/endpoints/launch_metadata.h"
#include "common/random.h"

namespace berth::agent::endpoints {
namespace {

bool validEndpointId(std::string_view id) {
  if (id.size() < 8 || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool isPhaseStopping(TaskPhase phase) { return phase >= TaskPhase::kDeactivating; }

void applyContainerState(ContainerMetadata& c, const ContainerState& s, WallTime at) {
  if (!s.last_status.empty() && s.last_status != c.known_status) {
    c.known_status = s.last_status;
    if (s.last_status == "RUNNING" && !c.started_at) c.started_at = at;
    if (s.last_status == "STOPPED" && !c.finished_at) c.finished_at = at;
  }
  if (s.last_status == "STOPPED") c.desired_status = "STOPPED";
  if (s.exit_code) c.exit_code = s.exit_code;
  if (!s.image_digest.empty()) c.image_id = s.image_digest;
  // The runtime has the container once it reports an id: Docker's CreatedAt.
  if (!s.runtime_id.empty() && !c.created_at) c.created_at = at;
  if (c.has_health_check && !s.health_status.empty() && s.health_status != c.health.status) {
    c.health.status = s.health_status;
    c.health.status_since = at;
  }
}

}  // namespace

std::string metadataUriV4(std::string_view endpoint_id, std::string_view host) {
  return fmt::format("http://{}/v4/{}", host, endpoint_id);
}

std::string metadataUriV3(std::string_view endpoint_id, std::string_view host) {
  return fmt::format("http://{}/v3/{}", host, endpoint_id);
}

std::string newEndpointId() {
  // randomUuid() is fast but predictable; these ids are capabilities.
  std::string h = randomHex(16);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4), h.substr(16, 4), h.substr(20));
}

const char* knownStatusForPhase(TaskPhase phase) {
  switch (phase) {
    case TaskPhase::kProvisioning:
    case TaskPhase::kPending:
    case TaskPhase::kActivating:
      return "PENDING";
    case TaskPhase::kRunning:
    case TaskPhase::kDeactivating:
    case TaskPhase::kStopping:
      // Containers still run until STOPPING ends.
      return "RUNNING";
    case TaskPhase::kDeprovisioning:
    case TaskPhase::kStopped:
      return "STOPPED";
  }
  return "PENDING";
}

Result<std::map<std::string, std::string>> TaskMetadataRegistry::registerTask(TaskMetadata task) {
  if (task.task_arn.empty()) return fail(ErrorCode::kInvalidArgument, "task metadata without a task ARN");
  std::set<std::string> names;
  for (auto& c : task.containers) {
    if (!names.insert(c.name).second)
      return fail(ErrorCode::kInvalidArgument, fmt::format("duplicate container name '{}'", c.name));
    if (c.endpoint_id.empty()) {
      c.endpoint_id = newEndpointId();
    } else if (!validEndpointId(c.endpoint_id)) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("malformed endpoint id for container '{}'", c.name));
    }
  }
  std::map<std::string, std::string> ids;
  for (const auto& c : task.containers) ids[c.name] = c.endpoint_id;

  std::lock_guard lock(mu_);
  if (tasks_.contains(task.task_arn))
    return fail(ErrorCode::kAlreadyExists, fmt::format("task {} is registered already", task.task_arn));
  for (const auto& c : task.containers)
    if (endpoints_.contains(c.endpoint_id))
      return fail(ErrorCode::kAlreadyExists, fmt::format("endpoint id of container '{}' is in use", c.name));
  for (size_t i = 0; i < task.containers.size(); ++i) endpoints_[task.containers[i].endpoint_id] = {task.task_arn, i};
  std::string arn = task.task_arn;
  tasks_[arn].doc = std::make_shared<const TaskMetadata>(std::move(task));
  return ids;
}

Status TaskMetadataRegistry::update(const std::string& task_arn, const std::function<void(TaskMetadata&)>& mutate) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_arn);
  if (it == tasks_.end()) return fail(ErrorCode::kNotFound, fmt::format("task {} is not registered", task_arn));
  const TaskMetadata& old = *it->second.doc;
  auto next = std::make_shared<TaskMetadata>(old);
  mutate(*next);
  // The endpoint index depends on these; a mutator may not move them.
  next->task_arn = old.task_arn;
  if (next->containers.size() != old.containers.size()) next->containers = old.containers;
  for (size_t i = 0; i < old.containers.size(); ++i) {
    next->containers[i].name = old.containers[i].name;
    next->containers[i].endpoint_id = old.containers[i].endpoint_id;
  }
  it->second.doc = std::move(next);
  return {};
}

Status TaskMetadataRegistry::applyEvent(const TaskEvent& event) {
  return update(event.task_arn, [&](TaskMetadata& t) {
    t.known_status = knownStatusForPhase(event.phase);
    if (isPhaseStopping(event.phase) || !event.stop_code.empty()) t.desired_status = "STOPPED";
    if (event.pull_started_at) t.pull_started_at = event.pull_started_at;
    if (event.pull_stopped_at) t.pull_stopped_at = event.pull_stopped_at;
    if (event.phase >= TaskPhase::kDeprovisioning && !t.execution_stopped_at) t.execution_stopped_at = event.at;
    for (auto& c : t.containers) {
      if (t.desired_status == "STOPPED") c.desired_status = "STOPPED";
      if (!event.private_ipv4.empty()) {
        if (c.networks.empty()) c.networks.emplace_back();
        NetworkMetadata& n = c.networks.front();
        n.ipv4_addresses = {event.private_ipv4};
        if (!event.mac_address.empty()) n.mac_address = event.mac_address;
        if (std::string region = regionOfArn(t.task_arn); !region.empty())
          n.private_dns_name = privateDnsName(event.private_ipv4, region);
      }
      for (const auto& s : event.containers)
        if (s.name == c.name) applyContainerState(c, s, event.at);
    }
  });
}

void TaskMetadataRegistry::unregisterTask(const std::string& task_arn) {
  std::shared_ptr<const TaskMetadata> doc;  // released outside the lock
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_arn);
  if (it == tasks_.end()) return;
  doc = std::move(it->second.doc);
  for (const auto& c : doc->containers) endpoints_.erase(c.endpoint_id);
  tasks_.erase(it);
}

std::optional<EndpointView> TaskMetadataRegistry::lookup(std::string_view endpoint_id) const {
  std::lock_guard lock(mu_);
  auto it = endpoints_.find(std::string(endpoint_id));
  if (it == endpoints_.end()) return std::nullopt;
  auto task = tasks_.find(it->second.first);
  if (task == tasks_.end()) return std::nullopt;
  return EndpointView{task->second.doc, it->second.second};
}

std::shared_ptr<const TaskMetadata> TaskMetadataRegistry::task(const std::string& task_arn) const {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_arn);
  return it == tasks_.end() ? nullptr : it->second.doc;
}

size_t TaskMetadataRegistry::taskCount() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

std::optional<ContainerStatsSample> TaskMetadataRegistry::exchangeStatsSample(const std::string& task_arn,
                                                                              const std::string& container,
                                                                              ContainerStatsSample current) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(task_arn);
  if (it == tasks_.end()) return std::nullopt;  // unregistered meanwhile: keep nothing
  auto [slot, fresh] = it->second.last_samples.try_emplace(container);
  std::optional<ContainerStatsSample> previous;
  if (!fresh) previous = std::move(slot->second);
  slot->second = std::move(current);
  return previous;
}

}  // namespace berth::agent::endpoints
