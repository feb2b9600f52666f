// Ecs's read-only view for usage metrics (usage_view.h).
#include <charconv>

#include "common/json.h"
#include "control/ecs/ecs.h"

namespace berth::ecs {
namespace {

// Task-level cpu and memory are strings in the Task shape ("256").
int64_t numberOr0(const bj::object& doc, std::string_view key) {
  const bj::value* v = doc.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (!v->is_string()) return 0;
  std::string_view s = v->get_string();
  int64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

bool isPending(std::string_view status) {
  return status == "PROVISIONING" || status == "PENDING" || status == "ACTIVATING";
}

}  // namespace

std::optional<UsageTaskInfo> Ecs::usageTaskInfo(std::string_view task_arn) const {
  auto it = tasks_.find(task_arn);
  if (it == tasks_.end()) return std::nullopt;
  const Task& t = it->second;
  return UsageTaskInfo{t.cluster_name, t.service_name, numberOr0(t.doc, "cpu"), numberOr0(t.doc, "memory")};
}

std::vector<UsageClusterCounts> Ecs::usageCounts() const {
  std::vector<UsageClusterCounts> out;
  for (const auto& [name, c] : clusters_) {
    if (json::stringOr(c.doc, "status") != "ACTIVE") continue;
    UsageClusterCounts& cc = out.emplace_back();
    cc.name = name;
    cc.container_insights = "disabled";
    if (const auto* settings = json::getArray(c.doc, "settings"))
      for (const auto& s : *settings)
        if (s.is_object() && json::stringOr(s.get_object(), "name") == "containerInsights")
          cc.container_insights = json::stringOr(s.get_object(), "value");
    forEachTaskInCluster(name, [&](const Task& t) {
      std::string status = json::stringOr(t.doc, "lastStatus");
      if (status == "RUNNING")
        ++cc.running;
      else if (isPending(status))
        ++cc.pending;
    });
    // services_ is keyed "cluster/name": the cluster's services are one range.
    std::string prefix = name + "/";
    for (auto it = services_.lower_bound(prefix); it != services_.end() && it->first.starts_with(prefix); ++it) {
      const Service& s = it->second;
      if (json::stringOr(s.doc, "status") != "ACTIVE") continue;
      UsageServiceCounts& sc = cc.services.emplace_back();
      sc.name = json::stringOr(s.doc, "serviceName");
      sc.desired = json::getInt(s.doc, "desiredCount").value_or(0);
      auto idx = tasks_by_service_.find(it->first);
      if (idx == tasks_by_service_.end()) continue;
      // Counted as serviceView counts them: tasks the service still wants.
      for (const auto& task_arn : idx->second) {
        auto t = tasks_.find(task_arn);
        if (t == tasks_.end() || json::stringOr(t->second.doc, "desiredStatus") != "RUNNING") continue;
        std::string status = json::stringOr(t->second.doc, "lastStatus");
        if (status == "RUNNING")
          ++sc.running;
        else if (isPending(status))
          ++sc.pending;
      }
    }
  }
  return out;
}

}  // namespace berth::ecs
