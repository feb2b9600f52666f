#include "control/usage/usage_metrics.h"

#include <map>
#include <utility>

namespace berth::usage {
namespace {

namespace cw = cloudwatch;

constexpr double kBytesPerMiB = 1024.0 * 1024.0;

// One dimension set's statistics for the minute.
struct Group {
  cw::StatisticSet cpu_percent, memory_percent;
  cw::StatisticSet cpu_used, cpu_reserved, memory_used, memory_reserved, rx, tx;
};

void add(cw::StatisticSet& s, double value) { s.add(cw::StatisticSet::of(value)); }

bool insightsOn(const std::string& setting) { return setting == "enabled" || setting == "enhanced"; }

}  // namespace

UsageMetrics::UsageMetrics(const ecs::Ecs& ecs, cw::CloudWatch& cloudwatch) : ecs_(ecs), cloudwatch_(cloudwatch) {}

void UsageMetrics::sample(WallTime now, SteadyTime steady, std::span<const agent::TaskUsage> samples) {
  int64_t minute = cw::epochSeconds(now);
  minute -= ((minute % 60) + 60) % 60;
  if (open_minute_ < 0) open_minute_ = minute;
  ++round_number_;

  // Intervals ending now belong to the minute open before this round.
  round_.clear();
  for (const auto& s : samples) {
    auto it = tasks_.find(s.task_arn);
    if (it == tasks_.end()) it = tasks_.emplace(s.task_arn, TaskState{}).first;
    TaskState& t = it->second;
    if (!t.known) {
      if (auto info = ecs_.usageTaskInfo(s.task_arn)) {
        t.info = std::move(*info);
        t.known = true;
      }
    }
    bool forward = s.cpu_ns >= t.cpu_ns && s.rx_bytes >= t.rx_bytes && s.tx_bytes >= t.tx_bytes;
    if (t.has_last && steady > t.last_at && forward) {
      t.seconds += std::chrono::duration<double>(steady - t.last_at).count();
      t.cpu_ns_sum += static_cast<double>(s.cpu_ns - t.cpu_ns);
      t.rx_sum += static_cast<double>(s.rx_bytes - t.rx_bytes);
      t.tx_sum += static_cast<double>(s.tx_bytes - t.tx_bytes);
    }
    t.has_last = true;
    t.cpu_ns = s.cpu_ns;
    t.rx_bytes = s.rx_bytes;
    t.tx_bytes = s.tx_bytes;
    t.last_at = steady;
    t.seen_round = round_number_;
    round_.push_back(&t);
  }

  if (minute != open_minute_) {
    publishMinute(open_minute_);
    open_minute_ = minute;
    // Tasks missing from this round have stopped (or their cgroup is gone):
    // their minute is published, nothing of them is left to keep.
    std::erase_if(tasks_, [this](const auto& entry) { return entry.second.seen_round != round_number_; });
  } else {
    // A task missing from a round loses its baseline: the time it was not
    // seen is not counted.
    for (auto& [_, t] : tasks_)
      if (t.seen_round != round_number_) t.has_last = false;
  }

  // Memory is a level, read now: it belongs to the minute open from now on.
  for (size_t i = 0; i < round_.size(); ++i) {
    round_[i]->memory_sum += static_cast<double>(samples[i].memory_bytes);
    ++round_[i]->memory_samples;
  }
}

void UsageMetrics::publishMinute(int64_t minute_start) {
  // Groups by (cluster, service); service "" is the whole cluster.
  std::map<std::pair<std::string, std::string>, Group> groups;
  for (auto& [_, t] : tasks_) {
    if (t.known && (t.seconds > 0 || t.memory_samples > 0)) {
      Group* targets[2] = {&groups[{t.info.cluster, ""}], nullptr};
      if (!t.info.service.empty()) targets[1] = &groups[{t.info.cluster, t.info.service}];
      for (Group* g : targets) {
        if (!g) continue;
        if (t.seconds > 0) {
          double cores = t.cpu_ns_sum / 1e9 / t.seconds;
          if (t.info.cpu_units > 0) add(g->cpu_percent, cores * 1024.0 * 100.0 / static_cast<double>(t.info.cpu_units));
          add(g->cpu_used, cores * 1024.0);
          add(g->rx, t.rx_sum / t.seconds);
          add(g->tx, t.tx_sum / t.seconds);
        }
        if (t.memory_samples > 0) {
          double bytes = t.memory_sum / static_cast<double>(t.memory_samples);
          if (t.info.memory_mib > 0)
            add(g->memory_percent, bytes * 100.0 / (static_cast<double>(t.info.memory_mib) * kBytesPerMiB));
          add(g->memory_used, bytes / kBytesPerMiB);
        }
        add(g->cpu_reserved, static_cast<double>(t.info.cpu_units));
        add(g->memory_reserved, static_cast<double>(t.info.memory_mib));
      }
    }
    // The next minute starts from nothing.
    t.seconds = t.cpu_ns_sum = t.rx_sum = t.tx_sum = t.memory_sum = 0;
    t.memory_samples = 0;
  }

  std::vector<ecs::UsageClusterCounts> counts = ecs_.usageCounts();
  std::map<std::string, const ecs::UsageClusterCounts*, std::less<>> insights;
  for (const auto& c : counts)
    if (insightsOn(c.container_insights)) insights[c.name] = &c;

  WallTime at = cw::fromEpochSeconds(static_cast<double>(minute_start));
  std::vector<cw::MetricDatum> data;
  auto put = [&](const char* ns, const char* name, const std::string& cluster, const std::string& service,
                 const cw::StatisticSet& values, const char* unit) {
    if (values.empty()) return;
    std::vector<cw::Dimension> dims{{"ClusterName", cluster}};
    if (!service.empty()) dims.push_back({"ServiceName", service});
    data.push_back(cw::MetricDatum{cw::makeKey(ns, name, std::move(dims)), at, values, unit, false});
  };

  for (const auto& [key, g] : groups) {
    const auto& [cluster, service] = key;
    put("AWS/ECS", "CPUUtilization", cluster, service, g.cpu_percent, "Percent");
    put("AWS/ECS", "MemoryUtilization", cluster, service, g.memory_percent, "Percent");
    if (!insights.contains(cluster)) continue;
    const char* ci = "ECS/ContainerInsights";
    put(ci, "CpuUtilized", cluster, service, g.cpu_used, "None");
    put(ci, "CpuReserved", cluster, service, g.cpu_reserved, "None");
    put(ci, "MemoryUtilized", cluster, service, g.memory_used, "Megabytes");
    put(ci, "MemoryReserved", cluster, service, g.memory_reserved, "Megabytes");
    put(ci, "NetworkRxBytes", cluster, service, g.rx, "Bytes/Second");
    put(ci, "NetworkTxBytes", cluster, service, g.tx, "Bytes/Second");
  }
  for (const auto& [cluster, c] : insights) {
    const char* ci = "ECS/ContainerInsights";
    put(ci, "TaskCount", c->name, "", cw::StatisticSet::of(static_cast<double>(c->running)), "Count");
    put(ci, "ServiceCount", c->name, "", cw::StatisticSet::of(static_cast<double>(c->services.size())), "Count");
    for (const auto& s : c->services) {
      put(ci, "RunningTaskCount", c->name, s.name, cw::StatisticSet::of(static_cast<double>(s.running)), "Count");
      put(ci, "PendingTaskCount", c->name, s.name, cw::StatisticSet::of(static_cast<double>(s.pending)), "Count");
      put(ci, "DesiredTaskCount", c->name, s.name, cw::StatisticSet::of(static_cast<double>(s.desired)), "Count");
    }
  }
  if (data.empty()) return;
  cloudwatch_.publish(std::span<const cw::MetricDatum>(data));
  published_ += data.size();
}

}  // namespace berth::usage
