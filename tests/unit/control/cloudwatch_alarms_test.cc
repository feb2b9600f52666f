// CloudWatch alarms on a memory store and a fake clock: configuration
// checks, evaluation ("M out of N", every TreatMissingData mode), the
// wording of StateReason, history, actions through a fake sink (with the
// per-period repeat of scaling policies), persistence across a reload and
// failed commits.
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/json.h"
#include "control/cloudwatch/cloudwatch.h"
#include "store/store.h"

namespace berth::cloudwatch {
namespace {

namespace bj = boost::json;

constexpr std::string_view kPolicy =
    "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:11111111-2222-3333-4444-555555555555:"
    "resource/ecs/service/prod/web:policyName/cpu";

struct FakeSink : AlarmActionSink {
  struct Call {
    std::string arn, state;
    bool repeat;
  };
  Status invoke(std::string_view arn, const AlarmEvent& e) override {
    calls.push_back({std::string(arn), e.new_state, e.repeat});
    if (!arn.starts_with("arn:aws:autoscaling:")) return fail(ErrorCode::kUnimplemented, "no handler for this ARN");
    return {};
  }
  std::vector<Call> calls;
};

class CloudWatchAlarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Start on a minute boundary + 5 s.
    clock_.set(WallTime(std::chrono::seconds(1798880400 + 5)));
    start();
  }
  void start() {
    cw_ = std::make_unique<CloudWatch>(CloudWatchConfig{}, store_, clock_);
    ASSERT_TRUE(cw_->load());
    cw_->setActionSink(&sink_);
  }

  double minute() const { return std::floor(clock_.epochSeconds() / 60) * 60; }

  bj::object ok(std::string_view op, const std::string& in) {
    auto r = cw_->invoke(op, bj::parse(in).as_object());
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r && r->is_object() ? r->as_object() : bj::object{};
  }
  Error err(std::string_view op, const std::string& in) {
    auto r = cw_->invoke(op, bj::parse(in).as_object());
    EXPECT_FALSE(r) << op << " succeeded";
    return r ? Error{} : r.error();
  }

  void alarm(std::string_view name, int n, int m, std::string_view missing = "", std::string_view extra = "") {
    ok("PutMetricAlarm",
       fmt::format(R"({{"AlarmName":"{}","Namespace":"AWS/ECS","MetricName":"CPUUtilization",)"
                   R"("Dimensions":[{{"Name":"ClusterName","Value":"prod"}},{{"Name":"ServiceName","Value":"web"}}],)"
                   R"("Statistic":"Average","Period":60,"EvaluationPeriods":{},"DatapointsToAlarm":{},)"
                   R"("Threshold":60,"ComparisonOperator":"GreaterThanThreshold","AlarmActions":["{}"],)"
                   R"("OKActions":["arn:aws:sns:us-east-1:000000000000:ops"]{}{}}})",
                   name, n, m, kPolicy, missing.empty() ? "" : R"(,"TreatMissingData":")" + std::string(missing) + "\"",
                   extra));
  }

  // Publishes `value` for the minute that has just ended, then moves to the
  // next minute and ticks.
  void minuteOf(std::optional<double> value) {
    if (value) {
      MetricDatum d;
      d.key = makeKey("AWS/ECS", "CPUUtilization", {{"ClusterName", "prod"}, {"ServiceName", "web"}});
      d.timestamp = WallTime(std::chrono::seconds(static_cast<int64_t>(minute())));
      d.values = StatisticSet::of(*value);
      d.unit = "Percent";
      cw_->publish(d);
    }
    clock_.advance(std::chrono::seconds(60));
    cw_->tick();
  }

  bj::object describe(std::string_view name) {
    auto out = ok("DescribeAlarms", fmt::format(R"({{"AlarmNames":["{}"]}})", name));
    auto& list = out["MetricAlarms"].as_array();
    return list.empty() ? bj::object{} : list[0].as_object();
  }
  std::string state(std::string_view name) { return std::string(describe(name)["StateValue"].as_string()); }

  std::unique_ptr<store::Store> inner_ = store::makeMemoryStore();
  store::FaultInjectingStore store_{*inner_};
  FakeClock clock_;
  FakeSink sink_;
  std::unique_ptr<CloudWatch> cw_;
};

TEST_F(CloudWatchAlarmTest, StartsInsufficientThenThreeOfThree) {
  alarm("high", 3, 3);
  auto a = describe("high");
  EXPECT_EQ(a["StateValue"].as_string(), "INSUFFICIENT_DATA");
  EXPECT_EQ(a["StateReason"].as_string(), "Unchecked: Initial alarm creation");
  EXPECT_EQ(a["AlarmArn"].as_string(), "arn:aws:cloudwatch:us-east-1:000000000000:alarm:high");
  minuteOf(72.5);
  EXPECT_EQ(state("high"), "OK");  // 1 known, not enough to alarm: OK
  EXPECT_EQ(describe("high")["StateReason"].as_string().subview().find("Threshold Crossed: 1 datapoint [72.5 ("), 0u);
  minuteOf(70);
  EXPECT_EQ(state("high"), "OK");
  sink_.calls.clear();  // the OK action ran on INSUFFICIENT_DATA -> OK
  minuteOf(65);
  a = describe("high");
  EXPECT_EQ(a["StateValue"].as_string(), "ALARM");
  // The reason lists the datapoints newest first, with CloudWatch's dates.
  std::string reason(a["StateReason"].as_string());
  EXPECT_TRUE(reason.starts_with("Threshold Crossed: 3 out of the last 3 datapoints [65.0 (")) << reason;
  EXPECT_NE(reason.find(", 70.0 ("), std::string::npos) << reason;
  EXPECT_TRUE(
      reason.ends_with("] were greater than the threshold (60.0) (minimum 3 datapoints for OK -> ALARM "
                       "transition)."))
      << reason;
  auto data = json::parse(a["StateReasonData"].as_string());
  ASSERT_TRUE(data);
  EXPECT_EQ(data->as_object()["statistic"].as_string(), "Average");
  EXPECT_EQ(data->as_object()["recentDatapoints"].as_array().size(), 3u);
  EXPECT_EQ(data->as_object()["threshold"].to_number<double>(), 60);
  // The scaling policy ran once, on the transition.
  ASSERT_EQ(sink_.calls.size(), 1u);
  EXPECT_EQ(sink_.calls[0].arn, kPolicy);
  EXPECT_EQ(sink_.calls[0].state, "ALARM");
  EXPECT_FALSE(sink_.calls[0].repeat);
}

TEST_F(CloudWatchAlarmTest, MOutOfN) {
  alarm("m", 5, 3);
  minuteOf(90);
  minuteOf(10);
  minuteOf(90);
  EXPECT_EQ(state("m"), "OK");
  minuteOf(10);
  minuteOf(90);
  EXPECT_EQ(state("m"), "ALARM");
  std::string reason(describe("m")["StateReason"].as_string());
  EXPECT_TRUE(reason.starts_with("Threshold Crossed: 3 out of the last 5 datapoints [90.0")) << reason;
  minuteOf(10);
  EXPECT_EQ(state("m"), "OK");  // 2 of the last 5 breach
  reason = describe("m")["StateReason"].as_string();
  EXPECT_TRUE(reason.starts_with("Threshold Crossed: 3 out of the last 5 datapoints [10.0")) << reason;
  EXPECT_TRUE(
      reason.ends_with("were not greater than the threshold (60.0) (minimum 1 datapoint for ALARM -> OK "
                       "transition)."))
      << reason;
}

TEST_F(CloudWatchAlarmTest, TreatMissingDataModes) {
  alarm("missing", 3, 3);
  alarm("ignore", 3, 3, "ignore");
  alarm("breaching", 3, 3, "breaching");
  alarm("notBreaching", 3, 3, "notBreaching");
  // No data at all.
  minuteOf(std::nullopt);
  EXPECT_EQ(state("missing"), "INSUFFICIENT_DATA");
  EXPECT_EQ(state("ignore"), "INSUFFICIENT_DATA");  // kept
  EXPECT_EQ(state("breaching"), "ALARM");
  EXPECT_EQ(describe("breaching")["StateReason"].as_string(),
            "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as "
            "[Breaching].");
  EXPECT_EQ(state("notBreaching"), "OK");
  EXPECT_EQ(describe("notBreaching")["StateReason"].as_string(),
            "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as "
            "[NonBreaching].");
  // One breaching datapoint and two missing.
  minuteOf(std::nullopt);
  minuteOf(std::nullopt);
  minuteOf(99);
  // 1 breaching of 1 known: fewer than 3, so OK, unless missing breaches.
  EXPECT_EQ(state("missing"), "OK");
  EXPECT_EQ(describe("missing")["StateReason"].as_string().subview().find("Threshold Crossed: 1 datapoint [99.0 ("), 0u)
      << describe("missing")["StateReason"];
  EXPECT_EQ(state("ignore"), "OK");
  EXPECT_EQ(state("breaching"), "ALARM");
  EXPECT_EQ(state("notBreaching"), "OK");
  minuteOf(99);
  minuteOf(99);
  for (auto name : {"missing", "ignore", "breaching", "notBreaching"}) EXPECT_EQ(state(name), "ALARM") << name;
  // Data stops: "ignore" keeps ALARM, "missing" goes INSUFFICIENT_DATA.
  for (int i = 0; i < 3; ++i) minuteOf(std::nullopt);
  EXPECT_EQ(state("ignore"), "ALARM");
  EXPECT_EQ(state("missing"), "INSUFFICIENT_DATA");
  EXPECT_EQ(describe("missing")["StateReason"].as_string(), "Insufficient Data: 3 datapoints were unknown.");
  EXPECT_EQ(state("breaching"), "ALARM");
  EXPECT_EQ(state("notBreaching"), "OK");
}

TEST_F(CloudWatchAlarmTest, ScalingPoliciesRepeatEveryPeriodOtherActionsDoNot) {
  alarm("high", 1, 1);
  minuteOf(90);
  EXPECT_EQ(state("high"), "ALARM");
  ASSERT_EQ(sink_.calls.size(), 1u);
  // Ticks within the period do not repeat it; the next period does.
  clock_.advance(std::chrono::seconds(20));
  cw_->tick();
  EXPECT_EQ(sink_.calls.size(), 1u);
  minuteOf(95);
  ASSERT_EQ(sink_.calls.size(), 2u);
  EXPECT_TRUE(sink_.calls[1].repeat);
  // Back to OK: the SNS action is handed over, fails, and is recorded.
  minuteOf(10);
  EXPECT_EQ(state("high"), "OK");
  ASSERT_EQ(sink_.calls.size(), 3u);
  EXPECT_EQ(sink_.calls[2].arn, "arn:aws:sns:us-east-1:000000000000:ops");
  auto h = ok("DescribeAlarmHistory", R"({"AlarmName":"high","HistoryItemType":"Action"})");
  auto& items = h["AlarmHistoryItems"].as_array();
  ASSERT_EQ(items.size(), 3u);
  // Newest first.
  EXPECT_EQ(items[0].as_object().at("HistorySummary").as_string(),
            "Failed to execute action arn:aws:sns:us-east-1:000000000000:ops. Received error: \"no handler for this "
            "ARN\"");
  EXPECT_EQ(items[1].as_object().at("HistorySummary").as_string(),
            "Successfully executed action " + std::string(kPolicy));
  // Disabled actions: state changes, nothing runs.
  ok("DisableAlarmActions", R"({"AlarmNames":["high"]})");
  EXPECT_FALSE(describe("high")["ActionsEnabled"].as_bool());
  minuteOf(90);
  EXPECT_EQ(state("high"), "ALARM");
  minuteOf(90);
  EXPECT_EQ(sink_.calls.size(), 3u);
  ok("EnableAlarmActions", R"({"AlarmNames":["high"]})");
  minuteOf(90);
  EXPECT_EQ(sink_.calls.size(), 4u);
}

TEST_F(CloudWatchAlarmTest, HistoryAndSetAlarmState) {
  alarm("h", 1, 1);
  ok("SetAlarmState",
     R"({"AlarmName":"h","StateValue":"ALARM","StateReason":"testing","StateReasonData":"{\"a\":1}"})");
  auto a = describe("h");
  EXPECT_EQ(a["StateValue"].as_string(), "ALARM");
  EXPECT_EQ(a["StateReason"].as_string(), "testing");
  EXPECT_EQ(sink_.calls.size(), 1u);
  EXPECT_EQ(
      err("SetAlarmState", R"({"AlarmName":"h","StateValue":"OK","StateReason":"x","StateReasonData":"{"})").aws_type,
      "InvalidFormatFault");
  EXPECT_EQ(err("SetAlarmState", R"({"AlarmName":"nope","StateValue":"OK","StateReason":"x"})").aws_type,
            "ResourceNotFound");
  alarm("h", 2, 1);  // an update
  auto h = ok("DescribeAlarmHistory", R"({"AlarmName":"h","ScanBy":"TimestampAscending"})");
  auto& items = h["AlarmHistoryItems"].as_array();
  ASSERT_GE(items.size(), 4u);
  auto& created = items[0].as_object();
  EXPECT_EQ(created.at("HistoryItemType").as_string(), "ConfigurationUpdate");
  EXPECT_EQ(created.at("HistorySummary").as_string(), "Alarm \"h\" created");
  auto data = json::parse(created.at("HistoryData").as_string());
  EXPECT_EQ(data->as_object()["type"].as_string(), "Create");
  EXPECT_EQ(data->as_object()["createdAlarm"].as_object()["alarmName"].as_string(), "h");
  auto& update = items[1].as_object();
  EXPECT_EQ(update.at("HistorySummary").as_string(), "Alarm updated from INSUFFICIENT_DATA to ALARM");
  data = json::parse(update.at("HistoryData").as_string());
  EXPECT_EQ(data->as_object()["newState"].as_object()["stateReason"].as_string(), "testing");
  EXPECT_EQ(data->as_object()["oldState"].as_object()["stateValue"].as_string(), "INSUFFICIENT_DATA");
  bool updated = false;
  for (const auto& i : items)
    updated = updated || i.as_object().at("HistorySummary").as_string() == "Alarm \"h\" updated";
  EXPECT_TRUE(updated);
  // The update kept the state.
  EXPECT_EQ(describe("h")["EvaluationPeriods"].to_number<int64_t>(), 2);
  // Pages.
  auto page = ok("DescribeAlarmHistory", R"({"AlarmName":"h","MaxRecords":1})");
  EXPECT_EQ(page["AlarmHistoryItems"].as_array().size(), 1u);
  EXPECT_TRUE(page.contains("NextToken"));
}

TEST_F(CloudWatchAlarmTest, PutMetricAlarmChecks) {
  auto base = [](std::string_view extra) {
    return fmt::format(R"({{"AlarmName":"x","Namespace":"App","MetricName":"m","Threshold":1,)"
                       R"("ComparisonOperator":"GreaterThanThreshold","EvaluationPeriods":1{}}})",
                       extra);
  };
  EXPECT_EQ(err("PutMetricAlarm", base(R"(,"Statistic":"Average")")).aws_type, "MissingRequiredParameterException");
  EXPECT_EQ(err("PutMetricAlarm", base(R"(,"Period":60)")).aws_type, "InvalidParameterCombinationException");
  EXPECT_EQ(err("PutMetricAlarm", base(R"(,"Period":60,"Statistic":"Average","ExtendedStatistic":"p90")")).aws_type,
            "InvalidParameterCombinationException");
  EXPECT_EQ(err("PutMetricAlarm", base(R"(,"Period":45,"Statistic":"Average")")).aws_type,
            "InvalidParameterValueException");
  EXPECT_EQ(err("PutMetricAlarm", base(R"(,"Period":60,"Statistic":"Average","DatapointsToAlarm":2)")).aws_type,
            "InvalidParameterValueException");
  EXPECT_EQ(err("PutMetricAlarm", base(R"(,"Period":60,"Statistic":"Average","TreatMissingData":"zero")")).aws_type,
            "InvalidParameterValueException");
  EXPECT_EQ(err("PutMetricAlarm", base(R"(,"Period":60,"Statistic":"Average","AlarmActions":["sns-topic"])")).aws_type,
            "InvalidParameterValueException");
  auto e = err("PutMetricAlarm",
               R"({"AlarmName":"x","Namespace":"App","MetricName":"m","Threshold":1,"Period":60,"Statistic":"Average",)"
               R"("ComparisonOperator":"LessThanLowerOrGreaterThanUpperThreshold","EvaluationPeriods":1})");
  EXPECT_NE(e.message.find("anomaly detection"), std::string::npos);
  EXPECT_EQ(cw_->alarmCount(), 0u);
}

TEST_F(CloudWatchAlarmTest, DescribeFiltersDeleteAndTags) {
  alarm("web-high", 3, 3);
  alarm("web-low", 3, 3);
  alarm("api-high", 3, 3);
  EXPECT_EQ(ok("DescribeAlarms", R"({"AlarmNamePrefix":"web-"})")["MetricAlarms"].as_array().size(), 2u);
  EXPECT_EQ(ok("DescribeAlarms", R"({"StateValue":"ALARM"})")["MetricAlarms"].as_array().size(), 0u);
  EXPECT_EQ(ok("DescribeAlarms", R"({"ActionPrefix":"arn:aws:autoscaling:"})")["MetricAlarms"].as_array().size(), 3u);
  auto page = ok("DescribeAlarms", R"({"MaxRecords":2})");
  EXPECT_EQ(page["MetricAlarms"].as_array().size(), 2u);
  auto rest = ok("DescribeAlarms",
                 fmt::format(R"({{"MaxRecords":2,"NextToken":"{}"}})", std::string(page["NextToken"].as_string())));
  EXPECT_EQ(rest["MetricAlarms"].as_array().size(), 1u);
  auto both = ok("DescribeAlarms", R"({"AlarmTypes":["CompositeAlarm","MetricAlarm"]})");
  EXPECT_TRUE(both["CompositeAlarms"].as_array().empty());
  EXPECT_EQ(err("DescribeAlarms", R"({"AlarmNames":["a"],"AlarmNamePrefix":"a"})").aws_type,
            "InvalidParameterCombinationException");
  auto for_metric =
      ok("DescribeAlarmsForMetric", R"({"Namespace":"AWS/ECS","MetricName":"CPUUtilization","Dimensions":[)"
                                    R"({"Name":"ServiceName","Value":"web"},{"Name":"ClusterName","Value":"prod"}]})");
  EXPECT_EQ(for_metric["MetricAlarms"].as_array().size(), 3u);
  EXPECT_EQ(ok("DescribeAlarmsForMetric",
               R"({"Namespace":"AWS/ECS","MetricName":"CPUUtilization","Period":300})")["MetricAlarms"]
                .as_array()
                .size(),
            0u);

  std::string arn = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:web-high";
  ok("TagResource",
     R"({"ResourceARN":")" + arn + R"(","Tags":[{"Key":"env","Value":"prod"},{"Key":"t","Value":"1"}]})");
  ok("UntagResource", R"({"ResourceARN":")" + arn + R"(","TagKeys":["t"]})");
  auto tags = ok("ListTagsForResource", R"({"ResourceARN":")" + arn + R"("})");
  ASSERT_EQ(tags["Tags"].as_array().size(), 1u);
  EXPECT_EQ(
      err("ListTagsForResource", R"({"ResourceARN":"arn:aws:cloudwatch:us-east-1:000000000000:alarm:zz"})").aws_type,
      "ResourceNotFoundException");

  EXPECT_EQ(err("DeleteAlarms", R"({"AlarmNames":["web-high","nope"]})").aws_type, "ResourceNotFound");
  EXPECT_EQ(cw_->alarmCount(), 3u);
  ok("DeleteAlarms", R"({"AlarmNames":["web-high","web-low"]})");
  EXPECT_EQ(cw_->alarmCount(), 1u);
  auto h = ok("DescribeAlarmHistory", R"({"AlarmName":"web-low"})");
  EXPECT_EQ(h["AlarmHistoryItems"].as_array()[0].as_object().at("HistorySummary").as_string(),
            "Alarm \"web-low\" deleted");
}

TEST_F(CloudWatchAlarmTest, AlarmsSurviveAReload) {
  alarm("high", 1, 1, "", R"(,"Tags":[{"Key":"team","Value":"a"}])");
  minuteOf(90);
  EXPECT_EQ(state("high"), "ALARM");
  start();
  auto a = describe("high");
  EXPECT_EQ(a["StateValue"].as_string(), "ALARM");
  EXPECT_EQ(a["Threshold"].to_number<double>(), 60);
  EXPECT_EQ(
      ok("ListTagsForResource", R"({"ResourceARN":"arn:aws:cloudwatch:us-east-1:000000000000:alarm:high"})")["Tags"]
          .as_array()
          .size(),
      1u);
  EXPECT_GE(ok("DescribeAlarmHistory", R"({"AlarmName":"high"})")["AlarmHistoryItems"].as_array().size(), 3u);
  // Metric data is not persisted: with "missing", the alarm goes back to
  // INSUFFICIENT_DATA at the next evaluation.
  minuteOf(std::nullopt);
  EXPECT_EQ(state("high"), "INSUFFICIENT_DATA");
}

TEST_F(CloudWatchAlarmTest, FailedCommitsChangeNothing) {
  alarm("high", 1, 1);
  store_.failCommitsFrom(store_.commitCalls() + 1);
  EXPECT_EQ(err("PutMetricAlarm",
                R"({"AlarmName":"other","Namespace":"App","MetricName":"m","Threshold":1,"Period":60,)"
                R"("Statistic":"Average","ComparisonOperator":"GreaterThanThreshold","EvaluationPeriods":1})")
                .code,
            ErrorCode::kIo);
  EXPECT_EQ(cw_->alarmCount(), 1u);
  size_t history = ok("DescribeAlarmHistory", "{}")["AlarmHistoryItems"].as_array().size();
  // A transition that cannot be committed does not happen (and runs nothing).
  minuteOf(90);
  EXPECT_EQ(state("high"), "INSUFFICIENT_DATA");
  EXPECT_TRUE(sink_.calls.empty());
  EXPECT_EQ(err("DeleteAlarms", R"({"AlarmNames":["high"]})").code, ErrorCode::kIo);
  EXPECT_EQ(ok("DescribeAlarmHistory", "{}")["AlarmHistoryItems"].as_array().size(), history);
  store_.clearFaults();
  minuteOf(90);
  EXPECT_EQ(state("high"), "ALARM");
}

}  // namespace
}  // namespace berth::cloudwatch
