// CloudWatch's metric store (control/cloudwatch/metric_store.h), in process:
// the issue 9 goal is GetMetricData over 15 days of one 1-minute metric in
// under 5 ms.
//
//   BM_GetMetricData15Days/period:P   CloudWatch::invoke("GetMetricData")
//       over 15 days of one metric with a datapoint every minute (21,600
//       one-minute buckets), by periods of P seconds: request parsing,
//       tier choice, aggregation and the response document.
//   BM_Query15Days/period:P   MetricStore::query() alone, same data.
//   BM_Publish   CloudWatch::publish() of one datum for the current minute
//       into one of 1,000 series (the agent's per-minute publishing path).
//   BM_AlarmTick/alarms:N   CloudWatch::tick() with N alarms on N series,
//       none changing state (the steady cost of evaluation).
//
//   build/bin/cloudwatch_bench
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/clock.h"
#include "control/cloudwatch/cloudwatch.h"
#include "store/store.h"

namespace {

using namespace berth;
using namespace berth::cloudwatch;
namespace bj = boost::json;

constexpr int64_t kStart = 1'790'000'000 / 60 * 60;
constexpr int64_t kFifteenDays = 15 * 86400;

struct World {
  std::unique_ptr<store::Store> store = store::makeMemoryStore();
  FakeClock clock{WallTime(std::chrono::seconds(kStart + kFifteenDays))};
  CloudWatch cw{CloudWatchConfig{}, *store, clock};
  MetricKey key = makeKey("AWS/ECS", "CPUUtilization", {{"ClusterName", "prod"}, {"ServiceName", "web"}});

  World() {
    (void)cw.load();
    // Published as it happens, minute by minute (publish() refuses data
    // older than two weeks).
    for (int64_t t = kStart; t < kStart + kFifteenDays; t += 60) {
      clock.set(WallTime(std::chrono::seconds(t)));
      cw.publish(MetricDatum{key, clock.now(), StatisticSet::of(static_cast<double>(t % 97)), "Percent", false});
    }
    clock.set(WallTime(std::chrono::seconds(kStart + kFifteenDays)));
  }
};

World& world() {
  static World w;
  return w;
}

void BM_GetMetricData15Days(benchmark::State& state) {
  World& w = world();
  int64_t period = state.range(0);
  bj::object in{
      {"MetricDataQueries",
       bj::array{bj::object{
           {"Id", "cpu"},
           {"MetricStat",
            bj::object{{"Metric",
                        bj::object{{"Namespace", "AWS/ECS"},
                                   {"MetricName", "CPUUtilization"},
                                   {"Dimensions", bj::array{bj::object{{"Name", "ClusterName"}, {"Value", "prod"}},
                                                            bj::object{{"Name", "ServiceName"}, {"Value", "web"}}}}}},
                       {"Period", period},
                       {"Stat", "Average"}}}}}},
      {"StartTime", static_cast<double>(kStart)},
      {"EndTime", static_cast<double>(kStart + kFifteenDays)}};
  size_t points = 0;
  for (auto _ : state) {
    auto out = w.cw.invoke("GetMetricData", in);
    if (!out) state.SkipWithError(out.error().message.c_str());
    points = out->as_object().at("MetricDataResults").as_array()[0].as_object().at("Values").as_array().size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["datapoints"] = static_cast<double>(points);
}
BENCHMARK(BM_GetMetricData15Days)->ArgName("period")->Arg(60)->Arg(300)->Arg(3600)->Unit(benchmark::kMillisecond);

void BM_Query15Days(benchmark::State& state) {
  World& w = world();
  for (auto _ : state) {
    auto points = w.cw.metrics().query(w.key, kStart, kStart + kFifteenDays, state.range(0));
    benchmark::DoNotOptimize(points);
  }
}
BENCHMARK(BM_Query15Days)->ArgName("period")->Arg(60)->Arg(3600)->Unit(benchmark::kMicrosecond);

void BM_Publish(benchmark::State& state) {
  auto store = store::makeMemoryStore();
  FakeClock clock{WallTime(std::chrono::seconds(kStart))};
  CloudWatch cw{CloudWatchConfig{}, *store, clock};
  (void)cw.load();
  std::vector<MetricKey> keys;
  for (int i = 0; i < 1000; ++i)
    keys.push_back(
        makeKey("AWS/ECS", "CPUUtilization", {{"ClusterName", "prod"}, {"ServiceName", fmt::format("s{}", i)}}));
  size_t i = 0;
  for (auto _ : state) {
    cw.publish(MetricDatum{keys[i++ % keys.size()], clock.now(), StatisticSet::of(42), "Percent", false});
    if (i % keys.size() == 0) clock.advance(std::chrono::seconds(60));
  }
}
BENCHMARK(BM_Publish);

void BM_AlarmTick(benchmark::State& state) {
  auto store = store::makeMemoryStore();
  FakeClock clock{WallTime(std::chrono::seconds(kStart))};
  CloudWatch cw{CloudWatchConfig{}, *store, clock};
  (void)cw.load();
  int64_t n = state.range(0);
  for (int64_t i = 0; i < n; ++i) {
    auto ok = cw.invoke(
        "PutMetricAlarm",
        bj::object{{"AlarmName", fmt::format("a{}", i)},
                   {"Namespace", "AWS/ECS"},
                   {"MetricName", "CPUUtilization"},
                   {"Dimensions", bj::array{bj::object{{"Name", "ServiceName"}, {"Value", fmt::format("s{}", i)}}}},
                   {"Statistic", "Average"},
                   {"Period", 60},
                   {"EvaluationPeriods", 15},
                   {"Threshold", 90},
                   {"ComparisonOperator", "GreaterThanThreshold"}});
    if (!ok) state.SkipWithError(ok.error().message.c_str());
  }
  for (int m = 0; m < 20; ++m) {
    for (int64_t i = 0; i < n; ++i)
      cw.publish(MetricDatum{makeKey("AWS/ECS", "CPUUtilization", {{"ServiceName", fmt::format("s{}", i)}}),
                             clock.now(), StatisticSet::of(10), "Percent", false});
    clock.advance(std::chrono::seconds(60));
    cw.tick();
  }
  for (auto _ : state) cw.tick();
}
BENCHMARK(BM_AlarmTick)->ArgName("alarms")->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
