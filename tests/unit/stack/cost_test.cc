// `berth cost`: the seed's dev and prod environments priced line by line
// from the price table, values worked out by hand.
#include "stack/cost.h"

#include <gtest/gtest.h>

namespace berth::stack {
namespace {

Service service(std::string name, int cpu, int memory, int count, std::string provider, int retention) {
  Service s;
  s.name = std::move(name);
  s.cpu = cpu;
  s.memory = memory;
  s.count = count;
  s.capacity_provider = std::move(provider);
  s.log_retention_days = retention;
  return s;
}

Environment dev() {
  Environment env;
  env.project = "durableai";
  env.name = "dev";
  env.cluster = "durableai-dev-cluster";
  env.services = {service("backend", 256, 512, 1, "FARGATE_SPOT", 7),
                  service("frontend", 256, 512, 1, "FARGATE_SPOT", 7)};
  return env;
}

Environment prod() {
  Environment env;
  env.project = "durableai";
  env.name = "prod";
  env.cluster = "durableai-prod-cluster";
  env.container_insights = true;
  env.services = {service("backend", 512, 1024, 2, "FARGATE", 30), service("frontend", 256, 512, 2, "FARGATE", 30)};
  env.services[0].autoscaling = Autoscaling{60, std::nullopt, 1, 4, 120, 300};
  return env;
}

TEST(StackCostTest, DevOnFargateSpot) {
  CostEstimate e = estimateCost(dev());
  ASSERT_EQ(e.lines.size(), 4u);
  // 1 x (0.25 x 0.04048 + 0.5 x 0.004445) x 730 x 0.3
  EXPECT_NEAR(e.lines[0].monthly, 2.7030075, 1e-9);
  EXPECT_EQ(e.lines[0].item, "Fargate Spot: backend (1 x 0.25 vCPU, 0.5 GB)");
  EXPECT_EQ(e.lines[0].arithmetic, "1 x (0.25 vCPU x $0.04048 + 0.5 GB x $0.004445) x 730 h x (1 - 0.70) = $2.70");
  EXPECT_NEAR(e.lines[2].monthly, 0.5, 1e-9);                  // 2 tasks x 0.5 GB x $0.50
  EXPECT_NEAR(e.lines[3].monthly, 1.0 * 7 / 30 * 0.03, 1e-9);  // 7 of 30 days kept
  EXPECT_NEAR(e.total, 2 * 2.7030075 + 0.5 + 0.007, 1e-9);
  EXPECT_EQ(e.total_at_max, e.total);
}

TEST(StackCostTest, ProdOnFargateWithInsightsAndAutoscaling) {
  CostEstimate e = estimateCost(prod());
  ASSERT_EQ(e.lines.size(), 5u);
  EXPECT_NEAR(e.lines[0].monthly, 2 * 0.024685 * 730, 1e-9);  // backend: 0.5 vCPU, 1 GB
  EXPECT_NEAR(e.lines[1].monthly, 2 * 0.0123425 * 730, 1e-9);
  EXPECT_NEAR(e.lines[4].monthly, (8 + 2 * 9) * 0.30, 1e-9);  // Container Insights
  EXPECT_EQ(e.lines[4].item, "Container Insights metrics");
  double total = 36.0401 + 18.02005 + 2 * 0.5 + 2 * 0.03 + 7.8;
  EXPECT_NEAR(e.total, total, 1e-9);
  // The backend at its maximum of 4: two more tasks and their logs.
  EXPECT_NEAR(e.total_at_max, total + 36.0401 + 2 * 0.5 * (0.5 + 0.03), 1e-9);
}

TEST(StackCostTest, TheReportShowsTheSeedsFiguresAndWhy) {
  Environment env = dev();
  CostEstimate e = estimateCost(env);
  std::string report = renderCost(env, e, PriceTable{}, UsageAssumptions{});
  EXPECT_NE(report.find("Fargate Spot (2 tasks)"), std::string::npos) << report;
  EXPECT_NE(report.find("~$4.00"), std::string::npos) << report;
  EXPECT_NE(report.find("Why they differ: the seed's compute figure ($3.00)"), std::string::npos) << report;
  EXPECT_NE(report.find("($5.41 by the lines above"), std::string::npos) << report;
  EXPECT_TRUE(seedCostBreakdown("staging").empty());
}

// --metered: task-minutes as CloudWatch counted them, priced at today's sizes.
TEST(StackCostTest, MeteredPricesTaskMinutesAtTheDeclaredSize) {
  Environment env = prod();
  env.services[1].capacity_provider = "FARGATE_SPOT";
  // backend: 0.5 vCPU, 1 GB on demand; frontend: 0.25 vCPU, 0.5 GB on Spot.
  MeteredCost m = meteredCost(env, {{"backend", 2220}, {"frontend", 600}});
  ASSERT_EQ(m.lines.size(), 2u);
  EXPECT_EQ(m.lines[0].service, "backend");
  EXPECT_DOUBLE_EQ(m.lines[0].task_hours, 37);
  EXPECT_NEAR(m.lines[0].hourly, 0.024685, 1e-12);  // no discount on FARGATE
  EXPECT_NEAR(m.lines[0].cost, 37 * 0.024685, 1e-12);
  EXPECT_DOUBLE_EQ(m.lines[1].task_hours, 10);
  EXPECT_NEAR(m.lines[1].hourly, 0.0123425 * 0.3, 1e-12);  // 70 % off on FARGATE_SPOT only
  EXPECT_NEAR(m.lines[1].cost, 0.0370275, 1e-12);
  EXPECT_DOUBLE_EQ(m.task_hours, 47);
  EXPECT_NEAR(m.total, 0.913345 + 0.0370275, 1e-12);
  std::string report = renderMeteredCost(env, m, PriceTable{}, "From X to now");
  EXPECT_NE(
      report.find("backend (FARGATE, 0.5 vCPU, 1 GB): 37.00 task-hours (2220 task-minutes) x $0.024685 = $0.9133"),
      std::string::npos)
      << report;
  EXPECT_NE(report.find("frontend (FARGATE_SPOT, 0.25 vCPU, 0.5 GB): 10.00 task-hours (600 task-minutes) x "
                        "$0.003703 = $0.0370"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("Total: 47.00 task-hours = $0.9504"), std::string::npos) << report;
  EXPECT_NE(report.find("priced at the new size"), std::string::npos) << report;
}

TEST(StackCostTest, MeteredWithoutTaskMinutesIsZeroWithANote) {
  Environment env = dev();
  PriceTable prices;
  prices.spot_discount = 0.5;
  // Nothing measured, and a service the file no longer declares: ignored.
  MeteredCost m = meteredCost(env, {{"gone", 600}}, prices);
  ASSERT_EQ(m.lines.size(), 2u);
  EXPECT_EQ(m.lines[1].task_hours, 0);
  EXPECT_NEAR(m.lines[1].hourly, 0.0123425 * 0.5, 1e-12);
  EXPECT_EQ(m.total, 0);
  std::string report = renderMeteredCost(env, m, prices, "From X to now");
  EXPECT_NE(report.find("Total: 0.00 task-hours = $0.00"), std::string::npos) << report;
  EXPECT_NE(report.find("No task-minutes recorded"), std::string::npos) << report;
}

}  // namespace
}  // namespace berth::stack
