// The whole autoscaling loop on simulated time with the fake agent: its
// tasks burn synthetic CPU, the usage sampler publishes AWS/ECS
// CPUUtilization, CloudWatch evaluates the target tracking alarms, and
// Application Auto Scaling sets the ECS service's desired count through
// UpdateService; the scheduler starts and stops the tasks. Every component
// is the real one; only the clock and the agent are fakes.
#include <deque>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "agent/fake_agent.h"
#include "common/json.h"
#include "control/autoscaling/autoscaling.h"
#include "control/autoscaling/ecs_resources.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "control/usage/usage_metrics.h"
#include "store/store.h"

namespace berth::autoscaling {
namespace {

namespace bj = boost::json;

class AutoScalingLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = *control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    ecs_ = std::make_unique<ecs::Ecs>(ecs::EcsConfig{}, *store_, clock_, network_);
    ASSERT_TRUE(ecs_->load());
    agent::FakeAgent::Options options;
    options.unpullable_images.insert("example.com/missing:latest");
    agent_ = std::make_unique<agent::FakeAgent>(
        clock_, [this](agent::TaskEvent e) { events_.push_back(std::move(e)); }, options);
    ecs_->attachAgent(agent_.get());
    cloudwatch_ = std::make_unique<cloudwatch::CloudWatch>(cloudwatch::CloudWatchConfig{}, *store_, clock_);
    ASSERT_TRUE(cloudwatch_->load());
    resources_ = std::make_unique<EcsScalableResources>(*ecs_, "000000000000");
    aas_ = std::make_unique<ApplicationAutoScaling>(AutoScalingConfig{}, *store_, clock_, *cloudwatch_, *resources_);
    ASSERT_TRUE(aas_->load());
    cloudwatch_->setActionSink(aas_.get());
    usage_ = std::make_unique<usage::UsageMetrics>(*ecs_, *cloudwatch_);

    ecs("CreateCluster", R"({"clusterName":"prod"})");
    ecs("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
        "cpu":"512","memory":"1024","containerDefinitions":[{"name":"app","image":"nginx","essential":true}]})");
    ecs("CreateService", R"({"cluster":"prod","serviceName":"web","taskDefinition":"web","desiredCount":1,
        "launchType":"FARGATE","networkConfiguration":{"awsvpcConfiguration":{"subnets":[")" +
                             network_.subnets[0].id + R"("]}}})");
    aas("RegisterScalableTarget", R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web",
        "ScalableDimension":"ecs:service:DesiredCount","MinCapacity":1,"MaxCapacity":4})");
    // The seed's production policy.
    aas("PutScalingPolicy", R"({"PolicyName":"cpu60","ServiceNamespace":"ecs","ResourceId":"service/prod/web",
        "ScalableDimension":"ecs:service:DesiredCount","PolicyType":"TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration":{"TargetValue":60,"ScaleOutCooldown":120,"ScaleInCooldown":300,
        "PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}})");
  }

  void drain() {
    while (!events_.empty()) {
      auto e = std::move(events_.front());
      events_.pop_front();
      ecs_->onTaskEvent(e);
    }
  }
  bj::object ecs(std::string_view op, const std::string& input) {
    auto r = ecs_->invoke(op, bj::parse(input).as_object(), ecs::CallContext{"arn:aws:iam::000000000000:root", "r"});
    drain();
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().message);
    return r ? r->as_object() : bj::object{};
  }
  bj::object aas(std::string_view op, const std::string& input) {
    auto r = aas_->invoke(op, bj::parse(input).as_object());
    drain();
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().message);
    return r ? r->as_object() : bj::object{};
  }

  // berthd's periodic work for `seconds` seconds: the sampler every second,
  // the scheduler every second, CloudWatch and scheduled actions every 10.
  void run(int seconds) {
    for (int i = 0; i < seconds; ++i) {
      clock_.advance(std::chrono::seconds(1));
      agent_->sampleUsage(buffer_);
      usage_->sample(clock_.now(), usage::UsageMetrics::SteadyTime(clock_.now().time_since_epoch()), buffer_);
      ecs_->tick();
      drain();
      if (++seconds_ % 10 == 0) {
        cloudwatch_->tick();
        aas_->tick();
        drain();
      }
    }
  }
  bj::object service() {
    return ecs("DescribeServices", R"({"cluster":"prod","services":["web"]})")["services"].as_array()[0].as_object();
  }
  int64_t desired() { return service()["desiredCount"].as_int64(); }
  int64_t running() { return service()["runningCount"].as_int64(); }
  // Runs until the desired count is `count`; returns the seconds it took.
  int until(int64_t count, int limit) {
    for (int t = 0; t < limit; t += 10) {
      if (desired() == count) return t;
      run(10);
    }
    ADD_FAILURE() << "desired count " << desired() << ", not " << count << ", after " << limit << " s";
    return limit;
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  control::NetworkInventory network_;
  FakeClock clock_;
  std::deque<agent::TaskEvent> events_;
  std::unique_ptr<ecs::Ecs> ecs_;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<cloudwatch::CloudWatch> cloudwatch_;
  std::unique_ptr<EcsScalableResources> resources_;
  std::unique_ptr<ApplicationAutoScaling> aas_;
  std::unique_ptr<usage::UsageMetrics> usage_;
  std::vector<agent::TaskUsage> buffer_;
  int64_t seconds_ = 0;
};

TEST_F(AutoScalingLoopTest, BusyTasksGrowTheServiceToMaxAndQuietOnesShrinkItBack) {
  run(30);
  ASSERT_EQ(running(), 1);
  // Each task burns its whole reservation (512 units = half a core): 100 %.
  agent_->setCpuLoad("", 0.5);
  // Three full minutes above 60 %: ceil(1 x 100 / 60) = 2. The first minute
  // that holds data is the one the load started in, so it takes 3-4.
  int took = until(2, 600);
  EXPECT_GE(took, 180);
  EXPECT_LE(took, 250);
  // The scale-out cooldown (120 s) holds the next step back; then
  // ceil(2 x 100 / 60) = 4, the max.
  EXPECT_GE(until(4, 600), 60);
  run(600);
  EXPECT_EQ(desired(), 4);  // never past MaxCapacity
  EXPECT_EQ(running(), 4);

  // Quiet: 15 datapoints under 54 % before AlarmLow, then ceil(4 x 5 / 60) = 1.
  agent_->setCpuLoad("", 0.025);  // 5 % of the reservation
  took = until(1, 1800);
  EXPECT_GE(took, 15 * 60);
  EXPECT_LE(took, 17 * 60 + 30);
  run(60);
  EXPECT_EQ(running(), 1);

  auto activities =
      aas(R"(DescribeScalingActivities)", R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web"})");
  std::vector<std::string> story;
  for (const auto& a : activities["ScalingActivities"].as_array())
    story.insert(story.begin(), std::string(a.as_object().at("Description").as_string()));
  EXPECT_EQ(story, (std::vector<std::string>{"Setting desired count to 2.", "Setting desired count to 4.",
                                             "Setting desired count to 1."}));
}

TEST_F(AutoScalingLoopTest, NoScaleInWhileTheServiceDeploys) {
  ecs("UpdateService", R"({"cluster":"prod","service":"web","desiredCount":3})");
  run(60);
  ASSERT_EQ(running(), 3);
  agent_->setCpuLoad("", 0.0);
  // A deployment that cannot finish: its image cannot be pulled (and no
  // circuit breaker ends it).
  ecs("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
      "cpu":"512","memory":"1024","containerDefinitions":[{"name":"app","image":"example.com/missing:latest",
      "essential":true}]})");
  ecs("UpdateService", R"({"cluster":"prod","service":"web","taskDefinition":"web:2"})");
  run(20 * 60);
  EXPECT_EQ(desired(), 3);  // AlarmLow has been in ALARM for minutes: no scale-in
  EXPECT_EQ(service()["deployments"].as_array().size(), 2u);
  // Back to the first revision: that deployment completes, and the alarm's
  // next ask (once a minute) scales in.
  ecs("UpdateService", R"({"cluster":"prod","service":"web","taskDefinition":"web:1"})");
  until(1, 10 * 60);  // a failure unless it gets there
}

}  // namespace
}  // namespace berth::autoscaling
