// Application Auto Scaling on simulated time: scalable targets, target
// tracking driven through CloudWatch's own alarms by a CPU series (scale-out
// after 3 datapoints by the proportional step, cooldowns, the max, scale-in
// after 15, none during a deployment), step scaling, scheduled actions in a
// time zone, persistence and ECS services as the scaled resource.
#include <cmath>
#include <map>
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
#include "store/store.h"

namespace berth::autoscaling {
namespace {

namespace bj = boost::json;

constexpr std::string_view kResource = "service/prod/web";

struct FakeServices : ScalableResources {
  Result<State> state(std::string_view resource_id) override {
    auto it = services.find(std::string(resource_id));
    if (it == services.end()) return fail(ErrorCode::kNotFound, "no such service");
    return it->second;
  }
  Status setCapacity(std::string_view resource_id, int64_t capacity) override {
    auto it = services.find(std::string(resource_id));
    if (it == services.end()) return fail(ErrorCode::kNotFound, "no such service");
    it->second.capacity = capacity;
    changes.push_back(capacity);
    return {};
  }
  std::map<std::string, State> services{{std::string(kResource), State{1, false}}};
  std::vector<int64_t> changes;
};

class AutoScalingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 2026-01-01T00:00:05Z: a minute boundary + 5 s.
    clock_.set(WallTime(std::chrono::seconds(1767225600 + 5)));
    start();
  }
  void start() {
    cw_ = std::make_unique<cloudwatch::CloudWatch>(cloudwatch::CloudWatchConfig{}, store_, clock_);
    ASSERT_TRUE(cw_->load());
    aas_ = std::make_unique<ApplicationAutoScaling>(AutoScalingConfig{}, store_, clock_, *cw_, services_);
    ASSERT_TRUE(aas_->load());
    cw_->setActionSink(aas_.get());
  }

  bj::object ok(std::string_view op, const std::string& in) {
    auto r = aas_->invoke(op, bj::parse(in).as_object());
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r && r->is_object() ? r->as_object() : bj::object{};
  }
  Error err(std::string_view op, const std::string& in) {
    auto r = aas_->invoke(op, bj::parse(in).as_object());
    EXPECT_FALSE(r) << op << " succeeded";
    return r ? Error{} : r.error();
  }

  void registerTarget(int min, int max) {
    ok("RegisterScalableTarget",
       fmt::format(R"({{"ServiceNamespace":"ecs","ResourceId":"{}","ScalableDimension":"ecs:service:DesiredCount",)"
                   R"("MinCapacity":{},"MaxCapacity":{}}})",
                   kResource, min, max));
  }
  // The seed's production policy: CPU at 60 %, scale-out after 2 minutes
  // of cooldown, scale-in after 5.
  bj::object cpuPolicy(std::string_view extra = "") {
    return ok(
        "PutScalingPolicy",
        fmt::format(R"({{"PolicyName":"cpu","ServiceNamespace":"ecs","ResourceId":"{}",)"
                    R"("ScalableDimension":"ecs:service:DesiredCount","PolicyType":"TargetTrackingScaling",)"
                    R"("TargetTrackingScalingPolicyConfiguration":{{"TargetValue":60,)"
                    R"("PredefinedMetricSpecification":{{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}},)"
                    R"("ScaleOutCooldown":120,"ScaleInCooldown":300{}}}}})",
                    kResource, extra));
  }

  double minuteStart() const { return std::floor(clock_.epochSeconds() / 60) * 60; }

  // One minute of the service's CPU at `cpu` %, then the minute's ticks
  // (CloudWatch every 10 s, as berthd runs it).
  void minuteOf(std::optional<double> cpu) {
    if (cpu) {
      cloudwatch::MetricDatum d;
      d.key = cloudwatch::makeKey("AWS/ECS", "CPUUtilization", {{"ClusterName", "prod"}, {"ServiceName", "web"}});
      d.timestamp = WallTime(std::chrono::seconds(static_cast<int64_t>(minuteStart())));
      d.values = cloudwatch::StatisticSet::of(*cpu);
      d.unit = "Percent";
      cw_->publish(d);
    }
    for (int i = 0; i < 6; ++i) {
      clock_.advance(std::chrono::seconds(10));
      cw_->tick();
      aas_->tick();
    }
  }
  int64_t capacity() { return services_.services[std::string(kResource)].capacity; }

  bj::array activities(bool not_scaled = false) {
    auto out = ok("DescribeScalingActivities",
                  fmt::format(R"({{"ServiceNamespace":"ecs","ResourceId":"{}","IncludeNotScaledActivities":{}}})",
                              kResource, not_scaled));
    return out["ScalingActivities"].as_array();
  }

  std::unique_ptr<store::Store> inner_ = store::makeMemoryStore();
  store::FaultInjectingStore store_{*inner_};
  FakeClock clock_;
  FakeServices services_;
  std::unique_ptr<cloudwatch::CloudWatch> cw_;
  std::unique_ptr<ApplicationAutoScaling> aas_;
};

TEST(AutoScalingFormulaTest, TargetTrackingIsProportional) {
  EXPECT_EQ(targetTrackingCapacity(1, 90, 60), 2);   // 1.5 -> 2
  EXPECT_EQ(targetTrackingCapacity(1, 61, 60), 2);   // any breach of one task adds one
  EXPECT_EQ(targetTrackingCapacity(2, 100, 60), 4);  // 3.33 -> 4
  EXPECT_EQ(targetTrackingCapacity(4, 10, 60), 1);   // 0.67 -> 1
  EXPECT_EQ(targetTrackingCapacity(4, 50, 60), 4);   // 3.33 -> 4: no scale-in yet
  EXPECT_EQ(targetTrackingCapacity(3, 40, 60), 2);
  EXPECT_EQ(targetTrackingCapacity(3, 60, 60), 3);  // exactly on target
  EXPECT_EQ(targetTrackingCapacity(0, 90, 60), 1);
  EXPECT_EQ(targetTrackingCapacity(0, 10, 60), 0);
}

TEST(AutoScalingFormulaTest, PercentChangeRoundsTowardZeroAndAtLeastOne) {
  EXPECT_EQ(percentChange(10, 25, 1), 2);    // 2.5 -> 2
  EXPECT_EQ(percentChange(10, -25, 1), -2);  // -2.5 -> -2
  EXPECT_EQ(percentChange(2, 10, 1), 1);     // 0.2 -> 1
  EXPECT_EQ(percentChange(2, -10, 1), -1);
  EXPECT_EQ(percentChange(10, 10, 3), 3);  // MinAdjustmentMagnitude
  EXPECT_EQ(percentChange(10, 0, 1), 0);
}

TEST_F(AutoScalingTest, RegisterDescribeAndErrors) {
  Error e = err("PutScalingPolicy",
                fmt::format(R"({{"PolicyName":"p","ServiceNamespace":"ecs","ResourceId":"{}",)"
                            R"("ScalableDimension":"ecs:service:DesiredCount","PolicyType":"StepScaling",)"
                            R"("StepScalingPolicyConfiguration":{{"AdjustmentType":"ChangeInCapacity",)"
                            R"("StepAdjustments":[{{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}}]}}}})",
                            kResource));
  EXPECT_EQ(e.aws_type, "ObjectNotFoundException");
  EXPECT_EQ(e.message,
            "No scalable target registered for service namespace: ecs, resource ID: service/prod/web, scalable "
            "dimension: ecs:service:DesiredCount");
  e = err(
      "RegisterScalableTarget",
      R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/nope","ScalableDimension":"ecs:service:DesiredCount",)"
      R"("MinCapacity":1,"MaxCapacity":2})");
  EXPECT_EQ(e.aws_type, "ValidationException");
  EXPECT_EQ(e.message, "ECS service doesn't exist: service/prod/nope");
  e = err("RegisterScalableTarget",
          R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
          R"("MinCapacity":3,"MaxCapacity":2})");
  EXPECT_EQ(e.message, "Minimum capacity cannot be greater than maximum capacity");
  e = err(
      "RegisterScalableTarget",
      R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount"})");
  EXPECT_EQ(e.aws_type, "ValidationException");
  e = err("RegisterScalableTarget",
          R"({"ServiceNamespace":"ecs","ResourceId":"prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
          R"("MinCapacity":1,"MaxCapacity":2})");
  EXPECT_EQ(e.aws_type, "ValidationException");
  e = err(
      "RegisterScalableTarget",
      R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"dynamodb:table:ReadCapacityUnits",)"
      R"("MinCapacity":1,"MaxCapacity":2})");
  EXPECT_EQ(e.message, "Unsupported service namespace, resource type or scalable dimension");

  // Registering moves the capacity into the range, as an activity says.
  registerTarget(2, 4);
  EXPECT_EQ(capacity(), 2);
  auto list = activities();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].as_object()["Description"].as_string(), "Setting desired count to 2.");
  EXPECT_EQ(list[0].as_object()["Cause"].as_string(), "minimum capacity was set to 2");
  EXPECT_EQ(list[0].as_object()["StatusCode"].as_string(), "Successful");
  EXPECT_EQ(list[0].as_object()["StatusMessage"].as_string(),
            "Successfully set desired count to 2. Change successfully fulfilled by ecs.");

  // An update keeps what it does not name; SuspendedState merges.
  ok("RegisterScalableTarget",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"("MaxCapacity":6,"SuspendedState":{"DynamicScalingInSuspended":true}})");
  auto targets = ok("DescribeScalableTargets", R"({"ServiceNamespace":"ecs"})")["ScalableTargets"].as_array();
  ASSERT_EQ(targets.size(), 1u);
  auto& t = targets[0].as_object();
  EXPECT_EQ(t["MinCapacity"].as_int64(), 2);
  EXPECT_EQ(t["MaxCapacity"].as_int64(), 6);
  EXPECT_TRUE(t["SuspendedState"].as_object()["DynamicScalingInSuspended"].as_bool());
  EXPECT_FALSE(t["SuspendedState"].as_object()["ScheduledScalingSuspended"].as_bool());
  EXPECT_TRUE(std::string(t["ScalableTargetARN"].as_string())
                  .starts_with("arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/"));
  EXPECT_EQ(t["RoleARN"].as_string(),
            "arn:aws:iam::000000000000:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_ECSService");
}

TEST_F(AutoScalingTest, TargetTrackingCreatesAwsAlarms) {
  registerTarget(1, 4);
  auto out = cpuPolicy();
  std::string arn(out["PolicyARN"].as_string());
  EXPECT_TRUE(arn.starts_with("arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:")) << arn;
  EXPECT_TRUE(arn.ends_with(":resource/ecs/service/prod/web:policyName/cpu")) << arn;
  auto& alarms = out["Alarms"].as_array();
  ASSERT_EQ(alarms.size(), 2u);
  std::string high(alarms[0].as_object()["AlarmName"].as_string());
  std::string low(alarms[1].as_object()["AlarmName"].as_string());
  EXPECT_TRUE(high.starts_with("TargetTracking-service/prod/web-AlarmHigh-")) << high;
  EXPECT_TRUE(low.starts_with("TargetTracking-service/prod/web-AlarmLow-")) << low;

  auto described =
      cw_->invoke("DescribeAlarms", bj::object{{"AlarmNames", bj::array{bj::value(high), bj::value(low)}}});
  ASSERT_TRUE(described);
  std::map<std::string, bj::object> by_name;
  for (auto& a : described->as_object()["MetricAlarms"].as_array())
    by_name[std::string(a.as_object().at("AlarmName").as_string())] = a.as_object();
  auto& h = by_name[high];
  EXPECT_EQ(h["MetricName"].as_string(), "CPUUtilization");
  EXPECT_EQ(h["Namespace"].as_string(), "AWS/ECS");
  EXPECT_EQ(h["Statistic"].as_string(), "Average");
  EXPECT_EQ(h["EvaluationPeriods"].as_int64(), 3);
  EXPECT_EQ(h["DatapointsToAlarm"].as_int64(), 3);
  EXPECT_EQ(h["Period"].as_int64(), 60);
  EXPECT_EQ(h["Threshold"].to_number<double>(), 60);
  EXPECT_EQ(h["ComparisonOperator"].as_string(), "GreaterThanThreshold");
  EXPECT_EQ(h["AlarmActions"].as_array()[0].as_string(), arn);
  EXPECT_EQ(h["AlarmDescription"].as_string(), "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + arn + ".");
  auto& l = by_name[low];
  EXPECT_EQ(l["EvaluationPeriods"].as_int64(), 15);
  EXPECT_EQ(l["DatapointsToAlarm"].as_int64(), 15);
  EXPECT_DOUBLE_EQ(l["Threshold"].to_number<double>(), 54);
  EXPECT_EQ(l["ComparisonOperator"].as_string(), "LessThanThreshold");

  // DescribeScalingPolicies shows them; updating keeps the ARN and names.
  auto policies = ok("DescribeScalingPolicies", R"({"ServiceNamespace":"ecs"})")["ScalingPolicies"].as_array();
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].as_object()["Alarms"].as_array(), alarms);
  auto updated = cpuPolicy(R"(,"DisableScaleIn":true)");
  EXPECT_EQ(updated["PolicyARN"].as_string(), arn);
  ASSERT_EQ(updated["Alarms"].as_array().size(), 1u);  // no AlarmLow without scale-in
  EXPECT_EQ(updated["Alarms"].as_array()[0].as_object()["AlarmName"].as_string(), high);
  EXPECT_EQ(cw_->alarmCount(), 1u);

  // Deleting the policy deletes its alarms.
  ok("DeleteScalingPolicy",
     R"({"PolicyName":"cpu","ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount"})");
  EXPECT_EQ(cw_->alarmCount(), 0u);
  Error e = err(
      "DeleteScalingPolicy",
      R"({"PolicyName":"cpu","ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount"})");
  EXPECT_EQ(e.aws_type, "ObjectNotFoundException");
}

TEST_F(AutoScalingTest, CpuAboveTargetScalesOutAfterThreeDatapointsWithCooldownUpToMax) {
  registerTarget(1, 4);
  cpuPolicy();
  minuteOf(90);
  minuteOf(90);
  EXPECT_EQ(capacity(), 1);  // two datapoints: not yet
  minuteOf(90);
  EXPECT_EQ(capacity(), 2);  // the third: ceil(1 x 90 / 60) = 2
  auto list = activities();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].as_object()["Description"].as_string(), "Setting desired count to 2.");
  std::string cause(list[0].as_object()["Cause"].as_string());
  EXPECT_TRUE(cause.starts_with("monitor alarm TargetTracking-service/prod/web-AlarmHigh-")) << cause;
  EXPECT_TRUE(cause.ends_with(" in state ALARM triggered policy cpu")) << cause;

  // The alarm stays in ALARM and asks again every minute; within the
  // 120 s scale-out cooldown the new capacity counts from the one before
  // the scale-out (1), so the tasks still starting are not counted twice.
  minuteOf(90);
  EXPECT_EQ(capacity(), 2);
  // After the cooldown, from 2 at 100 %: ceil(3.33) = 4, the max.
  minuteOf(100);
  minuteOf(100);
  EXPECT_EQ(capacity(), 4);
  for (int i = 0; i < 5; ++i) minuteOf(100);
  EXPECT_EQ(capacity(), 4);  // never past MaxCapacity
  EXPECT_EQ(services_.changes, (std::vector<int64_t>{2, 4}));
  // At the max, the not-scaled reason is recorded once.
  auto all = activities(true);
  ASSERT_EQ(all.size(), 3u);
  auto& reason = all[0].as_object()["NotScaledReasons"].as_array()[0].as_object();
  EXPECT_EQ(reason["Code"].as_string(), "AlreadyAtMaxCapacity");
  EXPECT_EQ(reason["MaxCapacity"].as_int64(), 4);
  EXPECT_EQ(reason["CurrentCapacity"].as_int64(), 4);
  EXPECT_EQ(activities(false).size(), 2u);
}

TEST_F(AutoScalingTest, APolicyOnABusyServiceActsWhenItsAlarmIsFirstEvaluated) {
  registerTarget(1, 4);
  for (int i = 0; i < 3; ++i) minuteOf(90);  // the load was there before the policy
  auto out = cpuPolicy();
  EXPECT_EQ(capacity(), 2);  // the new AlarmHigh went to ALARM at once, and its action found the policy
  std::string high(out["Alarms"].as_array()[0].as_object()["AlarmName"].as_string());
  auto history = cw_->invoke("DescribeAlarmHistory", bj::object{{"AlarmName", high}, {"HistoryItemType", "Action"}});
  ASSERT_TRUE(history);
  auto& items = history->as_object()["AlarmHistoryItems"].as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_TRUE(std::string(items[0].as_object()["HistorySummary"].as_string()).starts_with("Successfully executed"));
}

TEST_F(AutoScalingTest, QuietSeriesScalesInAfterFifteenDatapoints) {
  services_.services[std::string(kResource)].capacity = 4;
  registerTarget(1, 4);
  cpuPolicy();
  for (int i = 0; i < 14; ++i) minuteOf(10);
  EXPECT_EQ(capacity(), 4);
  minuteOf(10);
  EXPECT_EQ(capacity(), 1);  // ceil(4 x 10 / 60) = 1
  EXPECT_EQ(services_.changes, (std::vector<int64_t>{1}));
}

TEST_F(AutoScalingTest, NoScaleInDuringDeploymentOrWhenSuspended) {
  services_.services[std::string(kResource)] = ScalableResources::State{4, true};
  registerTarget(1, 4);
  cpuPolicy();
  for (int i = 0; i < 20; ++i) minuteOf(10);
  EXPECT_EQ(capacity(), 4);  // deploying: no scale-in
  // Scale-out still happens during a deployment.
  services_.services[std::string(kResource)].capacity = 2;
  for (int i = 0; i < 3; ++i) minuteOf(90);
  EXPECT_EQ(capacity(), 3);  // ceil(2 x 90 / 60)
  // Deployment done, but scale-in suspended on the target.
  services_.services[std::string(kResource)].deploying = false;
  ok("RegisterScalableTarget",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"("SuspendedState":{"DynamicScalingInSuspended":true}})");
  for (int i = 0; i < 20; ++i) minuteOf(10);
  EXPECT_EQ(capacity(), 3);
  ok("RegisterScalableTarget",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"("SuspendedState":{"DynamicScalingInSuspended":false}})");
  minuteOf(10);  // the low alarm has been in ALARM all along: it asks again
  EXPECT_EQ(capacity(), 1);
}

TEST_F(AutoScalingTest, StepScalingRunsTheStepOfTheBreach) {
  registerTarget(1, 10);
  auto out = ok(
      "PutScalingPolicy",
      fmt::format(
          R"({{"PolicyName":"steps","ServiceNamespace":"ecs","ResourceId":"{}",)"
          R"("ScalableDimension":"ecs:service:DesiredCount","PolicyType":"StepScaling",)"
          R"("StepScalingPolicyConfiguration":{{"AdjustmentType":"ChangeInCapacity","Cooldown":120,)"
          R"("StepAdjustments":[{{"MetricIntervalLowerBound":0,"MetricIntervalUpperBound":20,"ScalingAdjustment":1}},)"
          R"({{"MetricIntervalLowerBound":20,"ScalingAdjustment":3}}]}}}})",
          kResource));
  std::string arn(out["PolicyARN"].as_string());
  EXPECT_FALSE(out.contains("Alarms"));
  auto put = cw_->invoke(
      "PutMetricAlarm",
      bj::parse(fmt::format(
                    R"({{"AlarmName":"web-cpu-high","Namespace":"AWS/ECS","MetricName":"CPUUtilization",)"
                    R"("Dimensions":[{{"Name":"ClusterName","Value":"prod"}},{{"Name":"ServiceName","Value":"web"}}],)"
                    R"("Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":60,)"
                    R"("ComparisonOperator":"GreaterThanThreshold","AlarmActions":["{}"]}})",
                    arn))
          .as_object());
  ASSERT_TRUE(put);
  minuteOf(70);  // 10 above: +1
  EXPECT_EQ(capacity(), 2);
  minuteOf(95);  // 35 above, but within the 120 s cooldown: counted from 1 -> 4
  EXPECT_EQ(capacity(), 4);
  minuteOf(95);  // cooldown over: 4 + 3
  EXPECT_EQ(capacity(), 7);
  auto policies = ok("DescribeScalingPolicies", R"({"ServiceNamespace":"ecs","PolicyNames":["steps"]})");
  EXPECT_EQ(policies["ScalingPolicies"]
                .as_array()[0]
                .as_object()["StepScalingPolicyConfiguration"]
                .as_object()["MetricAggregationType"]
                .as_string(),
            "Average");

  Error e = err(
      "PutScalingPolicy",
      fmt::format(
          R"({{"PolicyName":"gaps","ServiceNamespace":"ecs","ResourceId":"{}",)"
          R"("ScalableDimension":"ecs:service:DesiredCount","PolicyType":"StepScaling",)"
          R"("StepScalingPolicyConfiguration":{{"AdjustmentType":"ChangeInCapacity",)"
          R"("StepAdjustments":[{{"MetricIntervalLowerBound":0,"MetricIntervalUpperBound":10,"ScalingAdjustment":1}},)"
          R"({{"MetricIntervalLowerBound":20,"ScalingAdjustment":3}}]}}}})",
          kResource));
  EXPECT_EQ(e.aws_type, "ValidationException");
  EXPECT_EQ(e.message, "Step adjustment intervals must not have gaps");
}

TEST_F(AutoScalingTest, ScheduledActionsFireOnTimeInTheirTimeZone) {
  registerTarget(1, 1);
  // The dev auto-shutdown: 0 at 20:00 New York time, 1 at 08:00 on weekdays.
  ok("PutScheduledAction",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"j("ScheduledActionName":"night","Schedule":"cron(0 20 * * ? *)","Timezone":"America/New_York",)j"
     R"("ScalableTargetAction":{"MinCapacity":0,"MaxCapacity":0}})");
  ok("PutScheduledAction",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"j("ScheduledActionName":"morning","Schedule":"cron(0 8 ? * MON-FRI *)","Timezone":"America/New_York",)j"
     R"("ScalableTargetAction":{"MinCapacity":1,"MaxCapacity":1}})");
  auto listed = ok("DescribeScheduledActions", R"({"ServiceNamespace":"ecs"})")["ScheduledActions"].as_array();
  ASSERT_EQ(listed.size(), 2u);
  std::map<std::string, bj::object> by_name;
  for (auto& a : listed) by_name[std::string(a.as_object().at("ScheduledActionName").as_string())] = a.as_object();
  EXPECT_TRUE(std::string(by_name["night"]["ScheduledActionARN"].as_string())
                  .ends_with(":resource/ecs/service/prod/web:scheduledActionName/night"));
  EXPECT_EQ(by_name["night"]["Timezone"].as_string(), "America/New_York");

  // The actions were made on 2026-01-01T00:00:05Z, a Thursday, which is
  // still Wednesday 19:00 in New York (UTC-5 in January): the first 20:00
  // there is 01:00 UTC on the 1st.
  auto at = [](int64_t s) { return WallTime(std::chrono::seconds(s)); };
  constexpr int64_t kJan1 = 1767225600;  // 2026-01-01T00:00:00Z
  constexpr int64_t kDay = 86400;
  clock_.set(at(kJan1 + 3600 - 10));
  aas_->tick();
  EXPECT_EQ(capacity(), 1);
  clock_.set(at(kJan1 + 3600 + 1));
  aas_->tick();
  EXPECT_EQ(capacity(), 0);
  auto list = activities();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].as_object()["Description"].as_string(), "Setting desired count to 0.");
  EXPECT_EQ(list[0].as_object()["Cause"].as_string(), "maximum capacity was set to 0");
  EXPECT_EQ(list[1].as_object()["Description"].as_string(), "Setting min capacity to 0 and max capacity to 0");
  EXPECT_EQ(list[1].as_object()["Cause"].as_string(), "scheduled action name night was triggered");
  // Thursday 08:00 New York = 13:00 UTC: back to 1.
  clock_.set(at(kJan1 + 13 * 3600 + 1));
  aas_->tick();
  EXPECT_EQ(capacity(), 1);
  // Friday night and morning, Saturday 01:00 UTC (Friday night in New
  // York) down again, and nothing on Saturday morning.
  for (int64_t t : {kJan1 + kDay + 3600 + 1, kJan1 + kDay + 13 * 3600 + 1, kJan1 + 2 * kDay + 3600 + 1,
                    kJan1 + 2 * kDay + 13 * 3600 + 1}) {
    clock_.set(at(t));
    aas_->tick();
  }
  EXPECT_EQ(services_.changes, (std::vector<int64_t>{0, 1, 0, 1, 0}));

  // Suspended scheduled scaling does not run them: not on Monday morning
  // (the 5th, 13:00 UTC) either.
  ok("RegisterScalableTarget",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"("SuspendedState":{"ScheduledScalingSuspended":true}})");
  clock_.set(at(kJan1 + 4 * kDay + 13 * 3600 + 1));
  aas_->tick();
  EXPECT_EQ(capacity(), 0);

  Error e =
      err("PutScheduledAction",
          R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
          R"j("ScheduledActionName":"bad","Schedule":"cron(0 20 * * * *)"})j");
  EXPECT_EQ(e.aws_type, "ValidationException");
  e = err("PutScheduledAction",
          R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
          R"j("ScheduledActionName":"bad","Schedule":"rate(5 minutes)","Timezone":"Mars/Olympus"})j");
  EXPECT_EQ(e.message, "Timezone Mars/Olympus is not a valid time zone");
  ok("DeleteScheduledAction",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"("ScheduledActionName":"night"})");
  EXPECT_EQ(ok("DescribeScheduledActions", R"({"ServiceNamespace":"ecs"})")["ScheduledActions"].as_array().size(), 1u);
}

TEST_F(AutoScalingTest, StateSurvivesAReloadAndDeregisterCleansUp) {
  registerTarget(1, 4);
  cpuPolicy();
  ok("PutScheduledAction",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount",)"
     R"j("ScheduledActionName":"later","Schedule":"rate(1 hour)","ScalableTargetAction":{"MinCapacity":2}})j");
  for (int i = 0; i < 3; ++i) minuteOf(90);
  ASSERT_EQ(capacity(), 2);
  start();  // berthd restarted
  EXPECT_EQ(aas_->targetCount(), 1u);
  EXPECT_EQ(ok("DescribeScalingPolicies", R"({"ServiceNamespace":"ecs"})")["ScalingPolicies"].as_array().size(), 1u);
  EXPECT_EQ(activities().size(), 1u);
  // The cooldown came back too: within it, the scale-out counts from 1.
  minuteOf(90);
  EXPECT_EQ(capacity(), 2);
  // The hourly action still fires an hour after it was created.
  clock_.set(WallTime(std::chrono::seconds(1767225600 + 5 + 3600 + 1)));
  aas_->tick();
  auto targets = ok("DescribeScalableTargets", R"({"ServiceNamespace":"ecs"})")["ScalableTargets"].as_array();
  EXPECT_EQ(targets[0].as_object()["MinCapacity"].as_int64(), 2);

  // A failed commit changes nothing.
  store_.failCommitsFrom(store_.commitCalls() + 1);
  err("DeregisterScalableTarget",
      R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount"})");
  store_.clearFaults();
  EXPECT_EQ(aas_->targetCount(), 1u);
  EXPECT_EQ(cw_->alarmCount(), 2u);
  ok("DeregisterScalableTarget",
     R"({"ServiceNamespace":"ecs","ResourceId":"service/prod/web","ScalableDimension":"ecs:service:DesiredCount"})");
  EXPECT_EQ(aas_->targetCount(), 0u);
  EXPECT_EQ(cw_->alarmCount(), 0u);
  EXPECT_EQ(ok("DescribeScheduledActions", R"({"ServiceNamespace":"ecs"})")["ScheduledActions"].as_array().size(), 0u);
}

TEST_F(AutoScalingTest, AnActionOnADeletedPolicyFailsInTheAlarmHistory) {
  registerTarget(1, 4);
  std::string name(200, 'p');  // a long ARN: the history summary must still fit in 255 characters
  std::string arn(ok("PutScalingPolicy",
                     fmt::format(R"({{"PolicyName":"{}","ServiceNamespace":"ecs","ResourceId":"{}",)"
                                 R"("ScalableDimension":"ecs:service:DesiredCount","PolicyType":"StepScaling",)"
                                 R"("StepScalingPolicyConfiguration":{{"AdjustmentType":"ChangeInCapacity",)"
                                 R"("StepAdjustments":[{{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}}]}}}})",
                                 name, kResource))["PolicyARN"]
                      .as_string());
  ASSERT_TRUE(cw_->invoke(
      "PutMetricAlarm",
      bj::parse(fmt::format(
                    R"({{"AlarmName":"high","Namespace":"AWS/ECS","MetricName":"CPUUtilization",)"
                    R"("Dimensions":[{{"Name":"ClusterName","Value":"prod"}},{{"Name":"ServiceName","Value":"web"}}],)"
                    R"("Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":60,)"
                    R"("ComparisonOperator":"GreaterThanThreshold","AlarmActions":["{}"]}})",
                    arn))
          .as_object()));
  ok("DeleteScalingPolicy", fmt::format(R"({{"PolicyName":"{}","ServiceNamespace":"ecs","ResourceId":"{}",)"
                                        R"("ScalableDimension":"ecs:service:DesiredCount"}})",
                                        name, kResource));
  minuteOf(90);
  EXPECT_EQ(capacity(), 1);
  auto history = cw_->invoke("DescribeAlarmHistory", bj::object{{"AlarmName", "high"}, {"HistoryItemType", "Action"}});
  ASSERT_TRUE(history);
  auto& items = history->as_object()["AlarmHistoryItems"].as_array();
  ASSERT_EQ(items.size(), 1u);
  std::string summary(items[0].as_object()["HistorySummary"].as_string());
  EXPECT_EQ(summary.size(), 255u);
  EXPECT_TRUE(summary.starts_with("Failed to execute action " + arn.substr(0, 100))) << summary;
  EXPECT_TRUE(summary.ends_with("...")) << summary;
  auto data = json::parse(items[0].as_object()["HistoryData"].as_string());
  ASSERT_TRUE(data);
  EXPECT_EQ(data->as_object()["error"].as_string(), "No scaling policy with this ARN exists.");
}

TEST_F(AutoScalingTest, DescribeCallsPage) {
  registerTarget(1, 4);
  for (std::string_view name : {"a", "b", "c"})
    ok("PutScheduledAction",
       fmt::format(R"j({{"ServiceNamespace":"ecs","ResourceId":"{}","ScalableDimension":"ecs:service:DesiredCount",)j"
                   R"j("ScheduledActionName":"{}","Schedule":"rate(1 day)"}})j",
                   kResource, name));
  std::vector<std::string> names;
  std::string token;
  do {
    std::string in = R"({"ServiceNamespace":"ecs","MaxResults":2)" +
                     (token.empty() ? std::string() : R"(,"NextToken":")" + token + "\"") + "}";
    auto out = ok("DescribeScheduledActions", in);
    for (auto& a : out["ScheduledActions"].as_array())
      names.emplace_back(a.as_object()["ScheduledActionName"].as_string());
    token = out.contains("NextToken") ? std::string(out["NextToken"].as_string()) : "";
  } while (!token.empty());
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(err("DescribeScheduledActions", R"({"ServiceNamespace":"ecs","NextToken":"nope"})").aws_type,
            "InvalidNextTokenException");
  EXPECT_EQ(err("DescribeScalableTargets", R"({"ServiceNamespace":"ecs","MaxResults":51})").aws_type,
            "ValidationException");
  EXPECT_EQ(
      ok("DescribeScheduledActions", R"({"ServiceNamespace":"ecs","ScheduledActionNames":["b"]})")["ScheduledActions"]
          .as_array()
          .size(),
      1u);
}

// The real control plane: ECS services scaled through UpdateService.
TEST(EcsScalableResourcesTest, ReadsAndSetsDesiredCount) {
  auto store = store::makeMemoryStore();
  FakeClock clock;
  auto network = control::loadOrCreateNetwork(*store, "us-east-1", "172.31.0.0/16");
  ASSERT_TRUE(network);
  ecs::Ecs ecs(ecs::EcsConfig{}, *store, clock, *network);
  ASSERT_TRUE(ecs.load());
  std::vector<agent::TaskEvent> events;  // not delivered: the service stays PENDING, which is enough here
  agent::FakeAgent agent(clock, [&events](agent::TaskEvent e) { events.push_back(std::move(e)); });
  ecs.attachAgent(&agent);
  ecs::CallContext ctx{"arn:aws:iam::000000000000:root", "r"};
  ASSERT_TRUE(ecs.invoke("CreateCluster", bj::object{{"clusterName", "prod"}}, ctx));
  ASSERT_TRUE(
      ecs.invoke("RegisterTaskDefinition",
                 bj::parse(R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],)"
                           R"("cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox"}]})")
                     .as_object(),
                 ctx));
  ASSERT_TRUE(ecs.invoke(
      "CreateService",
      bj::parse(
          R"({"cluster":"prod","serviceName":"web","taskDefinition":"web","desiredCount":1,"launchType":"FARGATE",)"
          R"("networkConfiguration":{"awsvpcConfiguration":{"subnets":[")" +
          network->subnets[0].id + R"("]}}})")
          .as_object(),
      ctx));
  EcsScalableResources resources(ecs, "000000000000");
  auto state = resources.state("service/prod/web");
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->capacity, 1);
  ASSERT_TRUE(resources.setCapacity("service/prod/web", 3));
  state = resources.state("service/prod/web");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->capacity, 3);
  auto missing = resources.state("service/prod/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(resources.state("service/nocluster/web"));
}

}  // namespace
}  // namespace berth::autoscaling
