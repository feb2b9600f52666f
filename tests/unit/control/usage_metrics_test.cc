// Usage metrics (AWS/ECS CPUUtilization and MemoryUtilization, Container
// Insights) from the fake agent's synthetic load, on a memory store and a
// fake clock that also stands in for the steady clock.
#include "control/usage/usage_metrics.h"

#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/fake_agent.h"
#include "common/json.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "store/store.h"

namespace berth::usage {
namespace {

namespace bj = boost::json;
namespace cw = cloudwatch;

constexpr uint64_t kMiB = 1024 * 1024;

class UsageMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = *control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    ecs_ = std::make_unique<ecs::Ecs>(ecs::EcsConfig{}, *store_, clock_, network_);
    ASSERT_TRUE(ecs_->load());
    agent_ =
        std::make_unique<agent::FakeAgent>(clock_, [this](agent::TaskEvent e) { events_.push_back(std::move(e)); });
    ecs_->attachAgent(agent_.get());
    cloudwatch_ = std::make_unique<cw::CloudWatch>(cw::CloudWatchConfig{}, *store_, clock_);
    ASSERT_TRUE(cloudwatch_->load());
    metrics_ = std::make_unique<UsageMetrics>(*ecs_, *cloudwatch_);
    ok("CreateCluster", R"({"clusterName":"c1"})");
    ok("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
        "cpu":"1024","memory":"2048","containerDefinitions":[{"name":"app","image":"nginx","essential":true}]})");
  }

  void drain() {
    while (!events_.empty()) {
      auto e = std::move(events_.front());
      events_.pop_front();
      ecs_->onTaskEvent(e);
    }
  }

  bj::object ok(std::string_view op, const std::string& input) {
    auto r = ecs_->invoke(op, bj::parse(input).as_object(), ecs::CallContext{"arn:aws:iam::000000000000:root", "req"});
    drain();
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r ? r->as_object() : bj::object{};
  }

  std::string networkJson() const {
    return R"({"awsvpcConfiguration":{"subnets":[")" + network_.subnets[0].id + R"("]}})";
  }

  void createService(const std::string& cluster, const std::string& name, int desired) {
    ok("CreateService", R"({"cluster":")" + cluster + R"(","serviceName":")" + name +
                            R"(","taskDefinition":"web","desiredCount":)" + std::to_string(desired) +
                            R"(,"launchType":"FARGATE","networkConfiguration":)" + networkJson() + "}");
  }

  std::vector<std::string> runTask(const std::string& cluster, int count) {
    bj::object out =
        ok("RunTask", R"({"cluster":")" + cluster + R"(","taskDefinition":"web","count":)" + std::to_string(count) +
                          R"(,"launchType":"FARGATE","networkConfiguration":)" + networkJson() + "}");
    std::vector<std::string> arns;
    for (const auto& t : out.at("tasks").as_array()) arns.emplace_back(t.at("taskArn").as_string());
    return arns;
  }

  std::vector<std::string> serviceTasks(const std::string& cluster, const std::string& service) {
    bj::object list = ok("ListTasks", R"({"cluster":")" + cluster + R"(","serviceName":")" + service + R"("})");
    std::vector<std::string> arns;
    for (const auto& a : list.at("taskArns").as_array()) arns.emplace_back(a.as_string());
    return arns;
  }

  // One sampling round at the fake clock's time (also the "steady" time).
  void round() {
    agent_->sampleUsage(buffer_);
    metrics_->sample(clock_.now(), UsageMetrics::SteadyTime(clock_.now().time_since_epoch()), buffer_);
  }

  // Rounds once a second for `seconds` seconds, starting now.
  void runFor(int seconds) {
    for (int i = 0; i < seconds; ++i) {
      round();
      clock_.advance(std::chrono::seconds(1));
    }
  }

  // The statistics of the minute starting at `minute` (epoch seconds).
  std::optional<cw::StatisticSet> minuteOf(const std::string& ns, const std::string& name, const std::string& cluster,
                                           const std::string& service, int64_t minute, const std::string& unit = {}) {
    std::vector<cw::Dimension> dims{{"ClusterName", cluster}};
    if (!service.empty()) dims.push_back({"ServiceName", service});
    auto points = cloudwatch_->metrics().query(cw::makeKey(ns, name, dims), minute, minute + 60, 60, unit);
    if (points.size() != 1 || points[0].start != minute) return std::nullopt;
    return points[0].stats;
  }

  int64_t minuteNow() const { return cw::epochSeconds(clock_.now()) / 60 * 60; }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  control::NetworkInventory network_;
  FakeClock clock_;  // 2026-01-01T00:00:00Z: a minute boundary
  std::deque<agent::TaskEvent> events_;
  std::unique_ptr<ecs::Ecs> ecs_;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<cw::CloudWatch> cloudwatch_;
  std::unique_ptr<UsageMetrics> metrics_;
  std::vector<agent::TaskUsage> buffer_;
};

TEST_F(UsageMetricsTest, ServiceCpuIsStatisticSetOverTasks) {
  createService("c1", "svc", 2);
  auto tasks = serviceTasks("c1", "svc");
  ASSERT_EQ(tasks.size(), 2u);
  agent_->setCpuLoad(tasks[0], 0.25);
  agent_->setCpuLoad(tasks[1], 0.75);
  int64_t minute = minuteNow();
  runFor(60);
  EXPECT_FALSE(minuteOf("AWS/ECS", "CPUUtilization", "c1", "svc", minute)) << "published before the minute closed";
  round();  // the first round of the next minute closes it

  auto cpu = minuteOf("AWS/ECS", "CPUUtilization", "c1", "svc", minute, "Percent");
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->sample_count, 2);
  EXPECT_NEAR(cw::statValue(*cpu, cw::Stat::kAverage), 50, 1e-6);
  EXPECT_NEAR(cpu->minimum, 25, 1e-6);
  EXPECT_NEAR(cpu->maximum, 75, 1e-6);
  // The cluster dimension has the same two tasks.
  auto cluster = minuteOf("AWS/ECS", "CPUUtilization", "c1", "", minute);
  ASSERT_TRUE(cluster);
  EXPECT_EQ(cluster->sample_count, 2);
  EXPECT_NEAR(cw::statValue(*cluster, cw::Stat::kAverage), 50, 1e-6);
}

TEST_F(UsageMetricsTest, RunTaskTasksCountOnlyForTheCluster) {
  createService("c1", "svc", 1);
  auto run = runTask("c1", 1);
  ASSERT_EQ(run.size(), 1u);
  agent_->setCpuLoad("", 0.5);
  agent_->setCpuLoad(run[0], 1.5);  // above its reservation: reported as measured
  int64_t minute = minuteNow();
  runFor(61);

  auto svc = minuteOf("AWS/ECS", "CPUUtilization", "c1", "svc", minute);
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc->sample_count, 1);
  EXPECT_NEAR(svc->maximum, 50, 1e-6);
  auto cluster = minuteOf("AWS/ECS", "CPUUtilization", "c1", "", minute);
  ASSERT_TRUE(cluster);
  EXPECT_EQ(cluster->sample_count, 2);
  EXPECT_NEAR(cluster->minimum, 50, 1e-6);
  EXPECT_NEAR(cluster->maximum, 150, 1e-6);
}

TEST_F(UsageMetricsTest, MemoryUtilizationOfTaskMemory) {
  createService("c1", "svc", 2);
  auto tasks = serviceTasks("c1", "svc");
  ASSERT_EQ(tasks.size(), 2u);
  agent_->setMemoryUsage(tasks[0], 512 * kMiB);   // 25 % of 2048 MiB
  agent_->setMemoryUsage(tasks[1], 1536 * kMiB);  // 75 %
  int64_t minute = minuteNow();
  runFor(61);

  auto memory = minuteOf("AWS/ECS", "MemoryUtilization", "c1", "svc", minute, "Percent");
  ASSERT_TRUE(memory);
  EXPECT_EQ(memory->sample_count, 2);
  EXPECT_NEAR(cw::statValue(*memory, cw::Stat::kAverage), 50, 1e-6);
  EXPECT_NEAR(memory->minimum, 25, 1e-6);
  EXPECT_NEAR(memory->maximum, 75, 1e-6);
}

TEST_F(UsageMetricsTest, ContainerInsightsOnlyWhenEnabled) {
  ok("CreateCluster", R"({"clusterName":"ci","settings":[{"name":"containerInsights","value":"enabled"}]})");
  createService("c1", "svc", 2);
  createService("ci", "svc", 2);
  agent_->setCpuLoad("", 0.5);
  agent_->setMemoryUsage("", 256 * kMiB);
  agent_->setNetworkRates("", 1000, 250);
  int64_t minute = minuteNow();
  runFor(61);

  const std::string ns = "ECS/ContainerInsights";
  // Both clusters have the AWS/ECS metrics; only "ci" has Container Insights.
  EXPECT_TRUE(minuteOf("AWS/ECS", "CPUUtilization", "c1", "svc", minute));
  EXPECT_TRUE(minuteOf("AWS/ECS", "CPUUtilization", "ci", "svc", minute));
  for (const auto& [key, series] : cloudwatch_->metrics().series()) {
    if (key.ns != ns) continue;
    for (const auto& d : key.dimensions) EXPECT_NE(d.value, "c1") << key.name;
  }

  auto used = minuteOf(ns, "CpuUtilized", "ci", "svc", minute, "None");
  ASSERT_TRUE(used);
  EXPECT_EQ(used->sample_count, 2);
  EXPECT_NEAR(used->sum, 1024, 1e-6);  // 2 x 0.5 core
  auto reserved = minuteOf(ns, "CpuReserved", "ci", "svc", minute, "None");
  ASSERT_TRUE(reserved);
  EXPECT_NEAR(reserved->sum, 2048, 1e-6);
  auto memory = minuteOf(ns, "MemoryUtilized", "ci", "", minute, "Megabytes");
  ASSERT_TRUE(memory);
  EXPECT_NEAR(cw::statValue(*memory, cw::Stat::kAverage), 256, 1e-6);
  auto memory_reserved = minuteOf(ns, "MemoryReserved", "ci", "", minute, "Megabytes");
  ASSERT_TRUE(memory_reserved);
  EXPECT_NEAR(memory_reserved->sum, 4096, 1e-6);
  auto rx = minuteOf(ns, "NetworkRxBytes", "ci", "svc", minute, "Bytes/Second");
  ASSERT_TRUE(rx);
  EXPECT_NEAR(cw::statValue(*rx, cw::Stat::kAverage), 1000, 1e-3);
  auto tx = minuteOf(ns, "NetworkTxBytes", "ci", "svc", minute, "Bytes/Second");
  ASSERT_TRUE(tx);
  EXPECT_NEAR(cw::statValue(*tx, cw::Stat::kAverage), 250, 1e-3);

  auto running = minuteOf(ns, "RunningTaskCount", "ci", "svc", minute, "Count");
  ASSERT_TRUE(running);
  EXPECT_EQ(running->maximum, 2);
  auto desired = minuteOf(ns, "DesiredTaskCount", "ci", "svc", minute, "Count");
  ASSERT_TRUE(desired);
  EXPECT_EQ(desired->maximum, 2);
  auto pending = minuteOf(ns, "PendingTaskCount", "ci", "svc", minute, "Count");
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->maximum, 0);
  auto task_count = minuteOf(ns, "TaskCount", "ci", "", minute, "Count");
  ASSERT_TRUE(task_count);
  EXPECT_EQ(task_count->maximum, 2);
  EXPECT_FALSE(minuteOf(ns, "TaskCount", "c1", "", minute));
}

TEST_F(UsageMetricsTest, EnhancedCountsAsEnabled) {
  ok("CreateCluster", R"({"clusterName":"ce","settings":[{"name":"containerInsights","value":"enhanced"}]})");
  createService("ce", "svc", 1);
  int64_t minute = minuteNow();
  runFor(61);
  EXPECT_TRUE(minuteOf("ECS/ContainerInsights", "CpuUtilized", "ce", "svc", minute));
}

TEST_F(UsageMetricsTest, TaskStoppedMidMinuteCountsForWhatItRan) {
  auto run = runTask("c1", 2);
  ASSERT_EQ(run.size(), 2u);
  agent_->setCpuLoad(run[0], 1.0);
  agent_->setCpuLoad(run[1], 0.5);
  int64_t minute = minuteNow();
  runFor(30);
  ok("StopTask", R"({"cluster":"c1","task":")" + run[0] + R"("})");
  runFor(31);  // through the first round of the next minute

  auto cpu = minuteOf("AWS/ECS", "CPUUtilization", "c1", "", minute);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->sample_count, 2);
  EXPECT_NEAR(cpu->maximum, 100, 1e-6);  // its average over the half minute it ran
  EXPECT_NEAR(cpu->minimum, 50, 1e-6);
  EXPECT_EQ(metrics_->trackedTasks(), 1u);  // the stopped task is forgotten

  runFor(60);
  auto next = minuteOf("AWS/ECS", "CPUUtilization", "c1", "", minute + 60);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->sample_count, 1);
  EXPECT_NEAR(next->maximum, 50, 1e-6);
}

TEST_F(UsageMetricsTest, RatesUseSteadyTimeAndMinutesUseControlTime) {
  createService("c1", "svc", 1);
  agent_->setCpuLoad("", 1.0);
  int64_t minute = minuteNow();
  // The control clock runs 10 times faster than the steady clock (berthd
  // --time-scale 10): the fake agent burns one core of control time, which
  // is 10 cores over the real time between samples.
  auto steady = UsageMetrics::SteadyTime{};
  for (int i = 0; i <= 60; ++i) {
    agent_->sampleUsage(buffer_);
    metrics_->sample(clock_.now(), steady, buffer_);
    clock_.advance(std::chrono::seconds(1));
    steady += std::chrono::milliseconds(100);
  }
  auto cpu = minuteOf("AWS/ECS", "CPUUtilization", "c1", "svc", minute);
  ASSERT_TRUE(cpu);
  EXPECT_NEAR(cpu->maximum, 1000, 1e-6);
}

TEST_F(UsageMetricsTest, NoTasksNoData) {
  int64_t minute = minuteNow();
  runFor(121);
  EXPECT_FALSE(minuteOf("AWS/ECS", "CPUUtilization", "c1", "", minute));
  EXPECT_EQ(metrics_->publishedCount(), 0u);
}

}  // namespace
}  // namespace berth::usage
