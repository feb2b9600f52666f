// Fuzzes CloudWatch's own parsing below HTTP:
//  - PutMetricData end to end: any bytes as a JSON 1.0 body are decoded
//    against the monitoring model (aws::decodeJsonInput) and, when accepted,
//    run through CloudWatch::invoke on a memory store and a fake clock.
//    Checks the all-or-nothing rule: a refused call adds no series and no
//    sample; an accepted one is readable back with GetMetricData.
//  - The metric math parser (control/cloudwatch/expression.h): the same
//    bytes as an expression, parsed and, when valid, evaluated over two
//    series and run through GetMetricData.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "aws/model.h"
#include "aws/shape_validator.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/cloudwatch/expression.h"
#include "store/store.h"

namespace {

namespace bj = boost::json;
using namespace berth;

struct World {
  std::unique_ptr<store::Store> store = store::makeMemoryStore();
  FakeClock clock{WallTime(std::chrono::seconds(1'790'000'000))};
  std::unique_ptr<cloudwatch::CloudWatch> cw;
  const aws::ServiceModel* model = nullptr;
  const aws::OperationModel* op = nullptr;

  World() {
    reset();
    model = aws::ServiceModel::byId("monitoring");
    if (!model) abort();
    op = model->operation("PutMetricData");
    if (!op) abort();
  }
  void reset() {
    cloudwatch::CloudWatchConfig config;
    config.limits.max_series = 5000;
    cw.reset();
    store = store::makeMemoryStore();
    cw = std::make_unique<cloudwatch::CloudWatch>(config, *store, clock);
    if (!cw->load()) abort();
  }
};

double samples(const cloudwatch::MetricStore& m) {
  double n = 0;
  for (const auto& [key, s] : m.series())
    for (const auto& p : s.tiers[1]) n += p.stats.sample_count;
  return n;
}

void expression(World& w, std::string_view text) {
  auto e = cloudwatch::Expression::parse(text);
  if (!e) return;
  cloudwatch::TimeSeries a{{60, 120, 180}, {1, 0, -2.5}}, b{{120, 180, 240}, {3, 0, 1e300}};
  (void)e->evaluate([&](std::string_view id) -> const cloudwatch::TimeSeries& { return id.size() % 2 ? a : b; });
  bj::array queries{bj::object{
      {"Id", "m1"},
      {"MetricStat",
       bj::object{{"Metric", bj::object{{"Namespace", "F"}, {"MetricName", "x"}}}, {"Period", 60}, {"Stat", "Sum"}}}}};
  queries.push_back(bj::object{{"Id", "e1"}, {"Expression", text}});
  double now = w.clock.epochSeconds();
  (void)w.cw->invoke("GetMetricData",
                     bj::object{{"MetricDataQueries", queries}, {"StartTime", now - 3600}, {"EndTime", now}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  expression(w, body);
  if (w.cw->metrics().series().size() > 4000) w.reset();  // keep it bounded

  auto input = aws::decodeJsonInput(*w.model, *w.op, body);
  if (!input) return 0;
  size_t series_before = w.cw->metrics().series().size();
  double samples_before = samples(w.cw->metrics());
  auto reply = w.cw->invoke("PutMetricData", *input);
  if (!reply) {
    if (w.cw->metrics().series().size() != series_before || samples(w.cw->metrics()) != samples_before) {
      fprintf(stderr, "cloudwatch_put_metric_data_fuzz: a refused call changed the metrics (%s)\n",
              reply.error().message.c_str());
      abort();
    }
    if (reply.error().aws_type.empty()) {
      fprintf(stderr, "cloudwatch_put_metric_data_fuzz: an error without an AWS type: %s\n",
              reply.error().message.c_str());
      abort();
    }
    return 0;
  }
  if (samples(w.cw->metrics()) < samples_before) {
    fprintf(stderr, "cloudwatch_put_metric_data_fuzz: an accepted call lost samples\n");
    abort();
  }
  w.cw->tick();
  return 0;
}
