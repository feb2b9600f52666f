// CloudWatch metrics on a memory store and a fake clock: PutMetricData's
// limits and wording, statistics over periods, retention tiers,
// high-resolution data, GetMetricData pages and math, ListMetrics, and
// berth's in-process publishing.
#include <cmath>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/json.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/cloudwatch/expression.h"
#include "store/store.h"

namespace berth::cloudwatch {
namespace {

namespace bj = boost::json;

class CloudWatchMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cw_ = std::make_unique<CloudWatch>(CloudWatchConfig{}, *store_, clock_);
    ASSERT_TRUE(cw_->load());
  }

  double now() const { return clock_.epochSeconds(); }
  // The start of the current minute.
  double minute() const { return std::floor(now() / 60) * 60; }

  bj::object ok(std::string_view op, const bj::object& in) {
    auto r = cw_->invoke(op, in);
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r && r->is_object() ? r->as_object() : bj::object{};
  }
  bj::object ok(std::string_view op, const std::string& in) { return ok(op, bj::parse(in).as_object()); }

  Error err(std::string_view op, const bj::object& in) {
    auto r = cw_->invoke(op, in);
    EXPECT_FALSE(r) << op << " succeeded";
    return r ? Error{} : r.error();
  }
  Error err(std::string_view op, const std::string& in) { return err(op, bj::parse(in).as_object()); }

  void put(double value, double at, std::string_view name = "Latency", std::string_view dims = "[]",
           std::string_view extra = "") {
    ok("PutMetricData", fmt::format(R"({{"Namespace":"App","MetricData":[{{"MetricName":"{}","Dimensions":{},)"
                                    R"("Value":{},"Timestamp":{}{}}}]}})",
                                    name, dims, value, at, extra));
  }

  bj::array stats(double start, double end, int period, std::string_view name = "Latency",
                  std::string_view statistics = R"(["Average","Sum","SampleCount","Minimum","Maximum"])") {
    auto out = ok("GetMetricStatistics",
                  fmt::format(R"({{"Namespace":"App","MetricName":"{}","StartTime":{},"EndTime":{},"Period":{},)"
                              R"("Statistics":{}}})",
                              name, start, end, period, statistics));
    return out["Datapoints"].as_array();
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  FakeClock clock_;
  std::unique_ptr<CloudWatch> cw_;
};

TEST_F(CloudWatchMetricsTest, StatisticsOverPeriods) {
  double m = minute();
  clock_.advance(std::chrono::minutes(10));
  put(10, m + 1);
  put(20, m + 30);
  put(30, m + 61);
  put(5, m + 300);
  auto points = stats(m, m + 600, 60);
  ASSERT_EQ(points.size(), 3u);
  auto& p0 = points[0].as_object();
  EXPECT_EQ(p0["Timestamp"].to_number<double>(), m);
  EXPECT_EQ(p0["SampleCount"].to_number<double>(), 2);
  EXPECT_EQ(p0["Sum"].to_number<double>(), 30);
  EXPECT_EQ(p0["Average"].to_number<double>(), 15);
  EXPECT_EQ(p0["Minimum"].to_number<double>(), 10);
  EXPECT_EQ(p0["Maximum"].to_number<double>(), 20);
  EXPECT_EQ(p0["Unit"].as_string(), "None");
  // One 5-minute period holds the first three.
  points = stats(m, m + 600, 300);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].as_object()["SampleCount"].to_number<double>(), 3);
  EXPECT_EQ(points[0].as_object()["Maximum"].to_number<double>(), 30);
  EXPECT_EQ(points[1].as_object()["Sum"].to_number<double>(), 5);
  // Only what was asked for.
  points = stats(m, m + 600, 300, "Latency", R"(["Maximum"])");
  EXPECT_FALSE(points[0].as_object().contains("Average"));
  EXPECT_TRUE(points[0].as_object().contains("Maximum"));
}

TEST_F(CloudWatchMetricsTest, StatisticValuesAndValuesWithCounts) {
  double m = minute();
  ok("PutMetricData", fmt::format(R"({{"Namespace":"App","MetricData":[)"
                                  R"({{"MetricName":"Latency","Timestamp":{0},"Unit":"Milliseconds",)"
                                  R"("StatisticValues":{{"SampleCount":4,"Sum":40,"Minimum":1,"Maximum":20}}}},)"
                                  R"({{"MetricName":"Latency","Timestamp":{0},"Unit":"Milliseconds",)"
                                  R"("Values":[2,100],"Counts":[3,1]}}]}})",
                                  m));
  auto points = stats(m, m + 60, 60);
  ASSERT_EQ(points.size(), 1u);
  auto& p = points[0].as_object();
  EXPECT_EQ(p["SampleCount"].to_number<double>(), 8);
  EXPECT_EQ(p["Sum"].to_number<double>(), 146);
  EXPECT_EQ(p["Minimum"].to_number<double>(), 1);
  EXPECT_EQ(p["Maximum"].to_number<double>(), 100);
  EXPECT_EQ(p["Unit"].as_string(), "Milliseconds");
  // A Unit filter that differs finds nothing.
  auto out = ok("GetMetricStatistics",
                fmt::format(R"({{"Namespace":"App","MetricName":"Latency","StartTime":{},"EndTime":{},"Period":60,)"
                            R"("Statistics":["Sum"],"Unit":"Seconds"}})",
                            m, m + 60));
  EXPECT_TRUE(out["Datapoints"].as_array().empty());
}

TEST_F(CloudWatchMetricsTest, PutMetricDataLimitsAndWording) {
  double t = now();
  auto e = err("PutMetricData", R"({"Namespace":"AWS/ECS","MetricData":[{"MetricName":"x","Value":1}]})");
  EXPECT_EQ(e.aws_type, "InvalidParameterValueException");
  EXPECT_NE(e.message.find("AWS/ECS"), std::string::npos);

  bj::array many;
  for (int i = 0; i < 1001; ++i) many.push_back(bj::object{{"MetricName", "m"}, {"Value", i}});
  e = err("PutMetricData", bj::object{{"Namespace", "App"}, {"MetricData", many}});
  EXPECT_EQ(e.aws_type, "InvalidParameterValueException");
  EXPECT_EQ(e.message, "The collection MetricData must not have a size greater than 1000.");
  many.pop_back();
  ok("PutMetricData", bj::object{{"Namespace", "App"}, {"MetricData", many}});

  e = err("PutMetricData",
          R"({"Namespace":"App","MetricData":[{"MetricName":"x","Value":1},{"MetricName":"x","Value":1,)"
          R"("StatisticValues":{"SampleCount":1,"Sum":1,"Minimum":1,"Maximum":1}}]})");
  EXPECT_EQ(e.aws_type, "InvalidParameterCombinationException");
  EXPECT_EQ(e.message,
            "The parameters MetricData.member.2.Value and MetricData.member.2.StatisticValues are mutually exclusive "
            "and you have specified both.");

  e = err("PutMetricData", fmt::format(R"({{"Namespace":"App","MetricData":[{{"MetricName":"x","Value":1,)"
                                       R"("Timestamp":{}}}]}})",
                                       t - 15 * 86400));
  EXPECT_EQ(e.message, "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.");
  e = err("PutMetricData", fmt::format(R"({{"Namespace":"App","MetricData":[{{"MetricName":"x","Value":1,)"
                                       R"("Timestamp":{}}}]}})",
                                       t + 3 * 3600));
  EXPECT_EQ(e.aws_type, "InvalidParameterValueException");

  e = err("PutMetricData", R"({"Namespace":"App","MetricData":[{"MetricName":"x"}]})");
  EXPECT_EQ(e.aws_type, "MissingRequiredParameterException");
  e = err("PutMetricData", R"({"Namespace":"App","MetricData":[{"MetricName":"x","Values":[1,2],"Counts":[1]}]})");
  EXPECT_EQ(e.message,
            "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size.");
  e = err("PutMetricData", R"({"Namespace":"App","MetricData":[{"MetricName":"x","Value":1,"StorageResolution":5}]})");
  EXPECT_EQ(e.message, "The value 5 for parameter MetricData.member.1.StorageResolution is invalid.");
  e = err("PutMetricData", R"({"Namespace":"App","MetricData":[{"MetricName":"x","Value":1e200}]})");
  EXPECT_EQ(e.aws_type, "InvalidParameterValueException");

  bj::array dims;
  for (int i = 0; i < 31; ++i) dims.push_back(bj::object{{"Name", fmt::format("d{}", i)}, {"Value", "v"}});
  e = err("PutMetricData",
          bj::object{{"Namespace", "App"},
                     {"MetricData", bj::array{bj::object{{"MetricName", "x"}, {"Value", 1}, {"Dimensions", dims}}}}});
  EXPECT_EQ(e.message, "The collection MetricData.member.1.Dimensions must not have a size greater than 30.");
  e = err("PutMetricData", R"({"Namespace":"App","MetricData":[{"MetricName":"x","Value":1,)"
                           R"("Dimensions":[{"Name":"a","Value":"1"},{"Name":"a","Value":"2"}]}]})");
  EXPECT_EQ(e.aws_type, "InvalidParameterValueException");
  // Nothing of a refused call was kept.
  EXPECT_EQ(cw_->metrics().series().size(), 1u);
}

TEST_F(CloudWatchMetricsTest, GetMetricStatisticsRefusals) {
  double t = minute();
  auto e = err("GetMetricStatistics",
               fmt::format(R"({{"Namespace":"App","MetricName":"x","StartTime":{},"EndTime":{},"Period":60,)"
                           R"("Statistics":["Average"]}})",
                           t - 2 * 86400, t));
  EXPECT_EQ(e.aws_type, "InvalidParameterCombinationException");
  EXPECT_EQ(e.message,
            "You have requested up to 2,880 datapoints, which exceeds the limit of 1,440. You may reduce the "
            "datapoints requested by increasing Period, or decreasing the time range.");
  e = err("GetMetricStatistics", fmt::format(R"({{"Namespace":"App","MetricName":"x","StartTime":{},"EndTime":{},)"
                                             R"("Period":90,"Statistics":["Average"]}})",
                                             t - 3600, t));
  EXPECT_EQ(e.aws_type, "InvalidParameterValueException");
  e = err("GetMetricStatistics", fmt::format(R"({{"Namespace":"App","MetricName":"x","StartTime":{},"EndTime":{},)"
                                             R"("Period":60,"ExtendedStatistics":["p99"]}})",
                                             t - 3600, t));
  EXPECT_NE(e.message.find("p99"), std::string::npos);
  e = err(
      "GetMetricStatistics",
      fmt::format(R"({{"Namespace":"App","MetricName":"x","StartTime":{},"EndTime":{},"Period":60}})", t - 3600, t));
  EXPECT_EQ(e.aws_type, "InvalidParameterCombinationException");
  e = err("GetMetricStatistics", fmt::format(R"({{"Namespace":"App","MetricName":"x","StartTime":{},"EndTime":{},)"
                                             R"("Period":60,"Statistics":["Sum"]}})",
                                             t, t - 60));
  EXPECT_EQ(e.message, "The parameter StartTime must be less than the parameter EndTime.");
}

TEST_F(CloudWatchMetricsTest, RetentionByResolution) {
  double m = minute();
  put(7, m - 13 * 86400);  // 13 days ago
  clock_.advance(std::chrono::hours(24 * 3));
  cw_->tick();
  double start = m - 13 * 86400;
  // 16 days old now: no 1-minute data; the 5-minute roll-up still has it.
  EXPECT_TRUE(stats(start, start + 3600, 60).empty());
  auto five = stats(start - 300, start + 3600, 300);
  ASSERT_EQ(five.size(), 1u);
  EXPECT_EQ(five[0].as_object()["Sum"].to_number<double>(), 7);
  // After 63 days only the hourly roll-up remains, until 455 days.
  clock_.advance(std::chrono::hours(24 * 50));
  cw_->tick();
  EXPECT_TRUE(stats(start - 300, start + 3600, 300).empty());
  EXPECT_EQ(stats(start - 3600, start + 3600, 3600).size(), 1u);
  clock_.advance(std::chrono::hours(24 * 400));
  cw_->tick();
  EXPECT_TRUE(cw_->metrics().series().empty());
}

TEST_F(CloudWatchMetricsTest, HighResolutionData) {
  double m = minute();
  clock_.advance(std::chrono::seconds(60));
  for (int s = 0; s < 30; ++s) put(s, m + s, "Fast", "[]", R"(,"StorageResolution":1)");
  auto tens = stats(m, m + 30, 10, "Fast");
  ASSERT_EQ(tens.size(), 3u);
  EXPECT_EQ(tens[1].as_object()["Minimum"].to_number<double>(), 10);
  EXPECT_EQ(tens[1].as_object()["SampleCount"].to_number<double>(), 10);
  // Standard-resolution data has no 1-second buckets.
  put(1, m + 5);
  EXPECT_TRUE(stats(m, m + 30, 10).empty());
  // After 3 hours, only the minute remains.
  clock_.advance(std::chrono::hours(4));
  cw_->tick();
  EXPECT_TRUE(stats(m, m + 30, 10, "Fast").empty());
  EXPECT_EQ(stats(m, m + 60, 60, "Fast")[0].as_object()["SampleCount"].to_number<double>(), 30);
}

TEST_F(CloudWatchMetricsTest, GetMetricDataPagesAndOrder) {
  double m = minute();
  clock_.advance(std::chrono::minutes(30));
  for (int i = 0; i < 10; ++i) {
    put(i, m + 60 * i, "A");
    put(10 * i, m + 60 * i, "B");
  }
  std::string queries =
      R"([{"Id":"a","MetricStat":{"Metric":{"Namespace":"App","MetricName":"A"},"Period":60,"Stat":"Sum"}},)"
      R"({"Id":"b","MetricStat":{"Metric":{"Namespace":"App","MetricName":"B"},"Period":60,"Stat":"Sum"},)"
      R"("Label":"bee"}])";
  auto out = ok("GetMetricData",
                fmt::format(R"({{"MetricDataQueries":{},"StartTime":{},"EndTime":{}}})", queries, m, m + 600));
  auto& results = out["MetricDataResults"].as_array();
  ASSERT_EQ(results.size(), 2u);
  auto& a = results[0].as_object();
  EXPECT_EQ(a["Label"].as_string(), "A");
  EXPECT_EQ(a["StatusCode"].as_string(), "Complete");
  ASSERT_EQ(a["Values"].as_array().size(), 10u);
  EXPECT_EQ(a["Values"].as_array()[0].to_number<double>(), 9);  // newest first
  EXPECT_EQ(results[1].as_object()["Label"].as_string(), "bee");
  EXPECT_FALSE(out.contains("NextToken"));

  // Pages of 7: a[0..7), then a[7..10) + b[0..4), then b[4..10).
  std::vector<double> seen;
  std::string token;
  int pages = 0;
  do {
    std::string in = fmt::format(R"({{"MetricDataQueries":{},"StartTime":{},"EndTime":{},"MaxDatapoints":7,)"
                                 R"("ScanBy":"TimestampAscending"{}}})",
                                 queries, m, m + 600, token.empty() ? "" : R"(,"NextToken":")" + token + "\"");
    auto page = ok("GetMetricData", in);
    for (const auto& r : page["MetricDataResults"].as_array())
      for (const auto& v : r.as_object().at("Values").as_array()) seen.push_back(v.to_number<double>());
    token = page.contains("NextToken") ? std::string(page["NextToken"].as_string()) : "";
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 20u);
  EXPECT_EQ(seen[0], 0);
  EXPECT_EQ(seen[9], 9);
  EXPECT_EQ(seen[19], 90);
  EXPECT_EQ(err("GetMetricData", fmt::format(R"({{"MetricDataQueries":{},"StartTime":{},"EndTime":{},)"
                                             R"("NextToken":"garbage"}})",
                                             queries, m, m + 600))
                .aws_type,
            "InvalidNextToken");
}

TEST_F(CloudWatchMetricsTest, GetMetricDataMath) {
  double m = minute();
  clock_.advance(std::chrono::minutes(10));
  for (int i = 1; i <= 3; ++i) {
    put(i, m + 60 * i, "Used");
    put(4, m + 60 * i, "Reserved");
  }
  put(1, m + 240, "Used");  // no Reserved at m+240: left out of the ratio
  std::string q = fmt::format(
      R"({{"MetricDataQueries":[)"
      R"({{"Id":"u","MetricStat":{{"Metric":{{"Namespace":"App","MetricName":"Used"}},"Period":60,"Stat":"Sum"}},"ReturnData":false}},)"
      R"({{"Id":"r","MetricStat":{{"Metric":{{"Namespace":"App","MetricName":"Reserved"}},"Period":60,"Stat":"Sum"}},"ReturnData":false}},)"
      R"({{"Id":"pct","Expression":"u*100/r","Label":"Utilization"}},)"
      R"({{"Id":"both","Expression":"(u + r) - -1"}}],)"
      R"("StartTime":{},"EndTime":{},"ScanBy":"TimestampAscending"}})",
      m, m + 600);
  auto out = ok("GetMetricData", q);
  auto& results = out["MetricDataResults"].as_array();
  ASSERT_EQ(results.size(), 2u);
  auto& pct = results[0].as_object();
  EXPECT_EQ(pct["Label"].as_string(), "Utilization");
  ASSERT_EQ(pct["Values"].as_array().size(), 3u);
  EXPECT_EQ(pct["Values"].as_array()[0].to_number<double>(), 25);
  EXPECT_EQ(pct["Values"].as_array()[2].to_number<double>(), 75);
  EXPECT_EQ(results[1].as_object().at("Values").as_array()[0].to_number<double>(), 6);

  auto bad = [&](std::string_view expr) {
    return err(
        "GetMetricData",
        fmt::format(
            R"({{"MetricDataQueries":[)"
            R"({{"Id":"u","MetricStat":{{"Metric":{{"Namespace":"App","MetricName":"Used"}},"Period":60,"Stat":"Sum"}}}},)"
            R"({{"Id":"e","Expression":"{}"}}],"StartTime":{},"EndTime":{}}})",
            expr, m, m + 600));
  };
  auto e = bad("SUM(METRICS())");
  EXPECT_EQ(e.aws_type, "ValidationError");
  EXPECT_NE(e.message.find("SUM"), std::string::npos);
  EXPECT_EQ(bad("u +").aws_type, "ValidationError");
  EXPECT_NE(bad("u + zz").message.find("zz"), std::string::npos);
  EXPECT_NE(bad("e * 2").message.find("itself"), std::string::npos);
  e = err("GetMetricData",
          fmt::format(R"({{"MetricDataQueries":[{{"Id":"u","MetricStat":{{"Metric":{{"Namespace":"App",)"
                      R"("MetricName":"Used"}},"Period":60,"Stat":"p90"}}}}],"StartTime":{},"EndTime":{}}})",
                      m, m + 600));
  EXPECT_EQ(e.aws_type, "InvalidParameterValueException");
  e = err("GetMetricData", fmt::format(R"({{"MetricDataQueries":[{{"Id":"Upper","Expression":"1"}}],)"
                                       R"("StartTime":{},"EndTime":{}}})",
                                       m, m + 600));
  EXPECT_EQ(e.aws_type, "ValidationError");
}

TEST_F(CloudWatchMetricsTest, ExpressionParser) {
  EXPECT_TRUE(Expression::parse("m1 + m2 * (3 - m3) / 2e1"));
  EXPECT_FALSE(Expression::parse("m1 +* m2"));
  EXPECT_FALSE(Expression::parse("(m1"));
  EXPECT_FALSE(Expression::parse(std::string(200, '(') + "m1" + std::string(200, ')')));
  EXPECT_FALSE(Expression::parse(std::string(3000, '1')));
  auto e = Expression::parse("a / b");
  ASSERT_TRUE(e);
  TimeSeries a{{1, 2, 3}, {1, 2, 3}}, b{{1, 2, 4}, {0, 4, 1}};
  auto r = e->evaluate([&](std::string_view id) -> const TimeSeries& { return id == "a" ? a : b; });
  ASSERT_TRUE(r);
  ASSERT_EQ(r->values.size(), 1u);  // t=1 divides by zero, t=3/t=4 unpaired
  EXPECT_EQ(r->values[0], 0.5);
}

TEST_F(CloudWatchMetricsTest, ListMetricsFiltersAndPages) {
  put(1, now(), "Cpu", R"([{"Name":"ServiceName","Value":"web"},{"Name":"ClusterName","Value":"prod"}])");
  put(1, now(), "Cpu", R"([{"Name":"ClusterName","Value":"prod"}])");
  put(1, now(), "Mem", R"([{"Name":"ServiceName","Value":"api"},{"Name":"ClusterName","Value":"prod"}])");
  auto out = ok("ListMetrics", R"({"Namespace":"App","Dimensions":[{"Name":"ServiceName"}]})");
  EXPECT_EQ(out["Metrics"].as_array().size(), 2u);
  out = ok("ListMetrics", R"({"MetricName":"Cpu","Dimensions":[{"Name":"ServiceName","Value":"web"}]})");
  ASSERT_EQ(out["Metrics"].as_array().size(), 1u);
  auto& metric = out["Metrics"].as_array()[0].as_object();
  // Dimensions come back sorted by name.
  EXPECT_EQ(metric["Dimensions"].as_array()[0].as_object()["Name"].as_string(), "ClusterName");
  EXPECT_TRUE(ok("ListMetrics", R"({"Namespace":"Other"})")["Metrics"].as_array().empty());

  clock_.advance(std::chrono::hours(4));
  EXPECT_TRUE(ok("ListMetrics", R"({"RecentlyActive":"PT3H"})")["Metrics"].as_array().empty());
  EXPECT_EQ(ok("ListMetrics", "{}")["Metrics"].as_array().size(), 3u);

  bj::array data;
  for (int i = 0; i < 700; ++i) data.push_back(bj::object{{"MetricName", fmt::format("m{:04}", i)}, {"Value", 1}});
  ok("PutMetricData", bj::object{{"Namespace", "Many"}, {"MetricData", data}});
  auto page = ok("ListMetrics", R"({"Namespace":"Many"})");
  EXPECT_EQ(page["Metrics"].as_array().size(), 500u);
  ASSERT_TRUE(page.contains("NextToken"));
  auto rest = ok("ListMetrics", bj::object{{"Namespace", "Many"}, {"NextToken", page["NextToken"]}});
  EXPECT_EQ(rest["Metrics"].as_array().size(), 200u);
  EXPECT_FALSE(rest.contains("NextToken"));
}

TEST_F(CloudWatchMetricsTest, PublishInProcess) {
  MetricDatum d;
  d.key = makeKey("AWS/ECS", "CPUUtilization", {{"ServiceName", "web"}, {"ClusterName", "prod"}});
  d.timestamp = clock_.now();
  d.values = StatisticSet::of(42);
  d.unit = "Percent";
  cw_->publish(d);
  d.timestamp = clock_.now() - std::chrono::hours(24 * 15);  // too old: dropped
  cw_->publish(d);
  auto out = ok(
      "GetMetricStatistics",
      fmt::format(R"({{"Namespace":"AWS/ECS","MetricName":"CPUUtilization","StartTime":{},"EndTime":{},)"
                  R"("Period":60,"Statistics":["Average"],)"
                  R"("Dimensions":[{{"Name":"ClusterName","Value":"prod"}},{{"Name":"ServiceName","Value":"web"}}]}})",
                  minute(), minute() + 60));
  ASSERT_EQ(out["Datapoints"].as_array().size(), 1u);
  EXPECT_EQ(out["Datapoints"].as_array()[0].as_object()["Average"].to_number<double>(), 42);
  EXPECT_EQ(out["Datapoints"].as_array()[0].as_object()["Unit"].as_string(), "Percent");
}

TEST_F(CloudWatchMetricsTest, SeriesCapIsAllOrNothing) {
  CloudWatchConfig config;
  config.limits.max_series = 2;
  cw_ = std::make_unique<CloudWatch>(config, *store_, clock_);
  ASSERT_TRUE(cw_->load());
  put(1, now(), "a");
  auto e = err("PutMetricData", R"({"Namespace":"App","MetricData":[{"MetricName":"b","Value":1},)"
                                R"({"MetricName":"c","Value":1}]})");
  EXPECT_EQ(e.aws_type, "LimitExceededFault");
  EXPECT_EQ(cw_->metrics().series().size(), 1u);
}

}  // namespace
}  // namespace berth::cloudwatch
