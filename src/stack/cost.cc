#include "stack/cost.h"

#include <fmt/format.h>

namespace berth::stack {
namespace {

constexpr int kClusterInsightsMetrics = 8;  // what berth publishes per cluster (usage_metrics.h)
constexpr int kServiceInsightsMetrics = 9;  // and per service

std::string money(double v) { return fmt::format("${:.2f}", v); }

// Metered amounts are small: cents need two more digits below a dollar.
std::string meteredMoney(double v) { return v >= 1 || v == 0 ? money(v) : fmt::format("${:.4f}", v); }

// "0.25" vCPU, "0.5" GB: as few digits as the value needs.
std::string amount(double v, int digits = 3) {
  std::string s = fmt::format("{:.{}f}", v, digits);
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

MeteredCost meteredCost(const Environment& env, const std::vector<MeteredService>& measured, const PriceTable& prices) {
  MeteredCost out;
  for (const Service& s : env.services) {
    MeteredLine l{s.name, s.capacity_provider, s.cpu / 1024.0, s.memory / 1024.0};
    for (const auto& m : measured)
      if (m.service == s.name) l.task_hours += m.task_minutes / 60.0;
    double factor = s.capacity_provider == "FARGATE_SPOT" ? 1 - prices.spot_discount : 1;
    l.hourly = (l.vcpu * prices.vcpu_hour + l.gb * prices.gb_hour) * factor;
    l.cost = l.task_hours * l.hourly;
    out.task_hours += l.task_hours;
    out.total += l.cost;
    out.lines.push_back(std::move(l));
  }
  return out;
}

std::string renderMeteredCost(const Environment& env, const MeteredCost& cost, const PriceTable& prices,
                              std::string_view period) {
  std::string out = fmt::format("Metered cost of {} ({}) on Fargate, prices of {}:\n  {}\n\n", env.cluster, env.name,
                                prices.as_of, period);
  for (const auto& l : cost.lines) {
    std::string spot =
        l.capacity_provider == "FARGATE_SPOT" ? fmt::format(" x (1 - {:.2f})", prices.spot_discount) : "";
    out += fmt::format(
        "  {} ({}, {} vCPU, {} GB): {:.2f} task-hours ({} task-minutes) x ${} = {}\n"
        "      ${}/h = ({} vCPU x ${} + {} GB x ${}){}\n",
        l.service, l.capacity_provider, amount(l.vcpu), amount(l.gb), l.task_hours, amount(l.task_hours * 60, 1),
        amount(l.hourly, 6), meteredMoney(l.cost), amount(l.hourly, 6), amount(l.vcpu), prices.vcpu_hour, amount(l.gb),
        prices.gb_hour, spot);
  }
  out += fmt::format("  Total: {:.2f} task-hours = {}\n", cost.task_hours, meteredMoney(cost.total));
  if (cost.task_hours == 0)
    out += "\nNo task-minutes recorded: the environment ran no tasks in this period, or was never applied.\n";
  out +=
      "\nTask-minutes are what CloudWatch recorded: the SampleCount of AWS/ECS CPUUtilization per\n"
      "service, one sample per running task per minute (a task that ran part of a minute counts\n"
      "that whole minute). Sizes and capacity providers are the stack file's declaration today:\n"
      "a resized service's past tasks are priced at the new size, and services no longer in the\n"
      "file are not counted. Only Fargate compute is priced (no logs or metrics); Fargate itself\n"
      "bills by the second, with a one-minute minimum.\n";
  return out;
}

}  // namespace berth::stack
