#include "stack/cost.h"

#include <fmt/format.h>

namespace berth::stack {
namespace {

constexpr int kClusterInsightsMetrics = 8;  // what berth publishes per cluster (usage_metrics.h)
constexpr int kServiceInsightsMetrics = 9;  // and per service

std::string money(double v) { return fmt::format("${:.2f}", v); }

// "0.25" vCPU, "0.5" GB: as few digits as the value needs.
std::string amount(double v) {
  std::string s = fmt::format("{:.3f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

CostEstimate estimateCost(const Environment& env, const PriceTable& prices, const UsageAssumptions& usage) {
  CostEstimate out;
  int tasks = 0, tasks_at_max = 0, max_retention = 0;
  double at_max_extra = 0;
  for (const Service& s : env.services) {
    double vcpu = s.cpu / 1024.0, gb = s.memory / 1024.0;
    double hourly = vcpu * prices.vcpu_hour + gb * prices.gb_hour;
    bool spot = s.capacity_provider == "FARGATE_SPOT";
    double factor = spot ? 1 - prices.spot_discount : 1;
    double monthly = s.count * hourly * prices.hours_per_month * factor;
    std::string spot_part = spot ? fmt::format(" x (1 - {:.2f})", prices.spot_discount) : "";
    out.lines.push_back(
        {fmt::format("{}: {} ({} x {} vCPU, {} GB)", spot ? "Fargate Spot" : "Fargate", s.name, s.count, amount(vcpu),
                     amount(gb)),
         monthly,
         fmt::format("{} x ({} vCPU x ${} + {} GB x ${}) x {} h{} = {}", s.count, amount(vcpu), prices.vcpu_hour,
                     amount(gb), prices.gb_hour, prices.hours_per_month, spot_part, money(monthly))});
    tasks += s.count;
    int at_max = s.autoscaling ? std::max(s.count, s.autoscaling->max) : s.count;
    tasks_at_max += at_max;
    at_max_extra += (at_max - s.count) * hourly * prices.hours_per_month * factor;
    max_retention = std::max(max_retention, s.log_retention_days);
  }
  double logs_gb = tasks * usage.log_gb_per_task_month;
  double ingest = logs_gb * prices.logs_ingest_gb;
  out.lines.push_back({"CloudWatch Logs ingestion", ingest,
                       fmt::format("{} tasks x {} GB x ${} = {}", tasks, amount(usage.log_gb_per_task_month),
                                   prices.logs_ingest_gb, money(ingest))});
  // What is kept at any time: `retention` days of the month's volume.
  double stored_gb = logs_gb * max_retention / 30.0;
  double storage = stored_gb * prices.logs_storage_gb_month;
  out.lines.push_back({fmt::format("CloudWatch Logs storage ({} days kept)", max_retention), storage,
                       fmt::format("{} GB x {} / 30 days x ${} = {}", amount(logs_gb), max_retention,
                                   prices.logs_storage_gb_month, money(storage))});
  if (env.container_insights) {
    int metrics = kClusterInsightsMetrics + kServiceInsightsMetrics * static_cast<int>(env.services.size());
    double insights = metrics * prices.metric_month;
    out.lines.push_back(
        {"Container Insights metrics", insights,
         fmt::format("({} cluster + {} x {} service) metrics x ${} = {}", kClusterInsightsMetrics,
                     kServiceInsightsMetrics, env.services.size(), prices.metric_month, money(insights))});
  }
  for (const auto& l : out.lines) out.total += l.monthly;
  double logs_at_max = (tasks_at_max - tasks) * usage.log_gb_per_task_month *
                       (prices.logs_ingest_gb + prices.logs_storage_gb_month * max_retention / 30.0);
  out.total_at_max = out.total + at_max_extra + logs_at_max;
  return out;
}

std::vector<CostLine> seedCostBreakdown(std::string_view env) {
  if (env == "dev") return {{"Fargate Spot (2 tasks)", 3, "~$3/month"}, {"CloudWatch Logs", 1, "~$1/month"}};
  if (env == "prod") return {{"Fargate (4 tasks)", 20, "~$20/month"}, {"CloudWatch Logs & Insights", 3, "~$3/month"}};
  return {};
}

std::string renderCost(const Environment& env, const CostEstimate& estimate, const PriceTable& prices,
                       const UsageAssumptions& usage) {
  std::string out =
      fmt::format("Monthly cost of {} ({}) on AWS, prices of {}:\n\n", env.cluster, env.name, prices.as_of);
  for (const auto& l : estimate.lines)
    out += fmt::format("  {:<52} {:>9}\n      {}\n", l.item, money(l.monthly), l.arithmetic);
  out += fmt::format("  {:<52} {:>9}\n", "Total", money(estimate.total));
  if (estimate.total_at_max != estimate.total)
    out += fmt::format("  {:<52} {:>9}\n", "Total with autoscaled services at their maximum",
                       money(estimate.total_at_max));
  out += fmt::format("\nAssumed: {} GB of logs per task per month; Fargate Spot {:.0f} % off on-demand.\n",
                     amount(usage.log_gb_per_task_month), prices.spot_discount * 100);
  auto seed = seedCostBreakdown(env.name);
  if (seed.empty()) return out;
  double seed_total = 0;
  out += "\nThe seed's Cost Breakdown for this environment:\n";
  for (const auto& l : seed) {
    out += fmt::format("  {:<52} {:>9}\n", l.item, l.arithmetic);
    seed_total += l.monthly;
  }
  out += fmt::format("  {:<52} {:>9}\n", "Total", fmt::format("~{}", money(seed_total)));
  double fargate = 0;
  for (const auto& l : estimate.lines)
    if (l.item.starts_with("Fargate")) fargate += l.monthly;
  out += fmt::format(
      "\nWhy they differ: the seed's compute figure ({}) is not what AWS's prices give for these task sizes "
      "and counts ({} by the lines above, each task billed {} hours a month for its vCPU and memory). "
      "The seed does not show its arithmetic; berth's is above, line by line.\n",
      money(seed.front().monthly), money(fargate), prices.hours_per_month);
  return out;
}

}  // namespace berth::stack
