#include "control/cloudwatch/cloudwatch.h"

#include <fmt/format.h>

#include "common/json.h"

namespace berth::cloudwatch {
namespace {

constexpr std::string_view kAlarmKind = "cw.alarm";
constexpr std::string_view kHistoryKind = "cw.history";

}  // namespace

CloudWatch::CloudWatch(CloudWatchConfig config, store::Store& store, const Clock& clock)
    : config_(std::move(config)), store_(store), clock_(clock), metrics_(config_.limits) {}

const std::map<std::string, CloudWatch::Handler, std::less<>>& CloudWatch::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"PutMetricData", &CloudWatch::putMetricData},
      {"GetMetricStatistics", &CloudWatch::getMetricStatistics},
      {"GetMetricData", &CloudWatch::getMetricData},
      {"ListMetrics", &CloudWatch::listMetrics},
      {"PutMetricAlarm", &CloudWatch::putMetricAlarm},
      {"DescribeAlarms", &CloudWatch::describeAlarms},
      {"DescribeAlarmsForMetric", &CloudWatch::describeAlarmsForMetric},
      {"DeleteAlarms", &CloudWatch::deleteAlarms},
      {"SetAlarmState", &CloudWatch::setAlarmState},
      {"DescribeAlarmHistory", &CloudWatch::describeAlarmHistory},
      {"EnableAlarmActions", &CloudWatch::enableAlarmActions},
      {"DisableAlarmActions", &CloudWatch::disableAlarmActions},
      {"TagResource", &CloudWatch::tagResource},
      {"UntagResource", &CloudWatch::untagResource},
      {"ListTagsForResource", &CloudWatch::listTagsForResource},
  };
  return kHandlers;
}

bool CloudWatch::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> CloudWatch::invoke(std::string_view operation, const bj::object& input) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement CloudWatch {} yet.", operation));
  return (this->*(it->second))(input);
}

Status CloudWatch::load() {
  for (const auto& r : BERTH_TRY(store_.loadAll(kAlarmKind))) {
    auto v = json::parse(r.value);
    if (!v || !v->is_object()) return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{}", r.kind, r.key));
    Alarm a;
    if (const auto* d = json::getObject(v->get_object(), "alarm")) a.doc = *d;
    if (const auto* t = json::getArray(v->get_object(), "tags")) a.tags = *t;
    if (auto ok = configure(a); !ok) return std::unexpected(ok.error());
    alarms_[r.key] = std::move(a);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kHistoryKind))) {
    auto v = json::parse(r.value);
    if (!v || !v->is_object()) return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{}", r.kind, r.key));
    history_[r.key] = std::move(v->get_object());
  }
  return {};
}

void CloudWatch::publish(const MetricDatum& datum) {
  WallTime now = clock_.now();
  if (datum.timestamp < now - std::chrono::hours(24 * 14) || datum.timestamp > now + std::chrono::hours(2)) return;
  (void)metrics_.put(datum, now);
}

void CloudWatch::publish(std::span<const MetricDatum> data) {
  for (const auto& d : data) publish(d);
}

void CloudWatch::tick() {
  evaluateAll();
  metrics_.expire(clock_.now());
  pruneHistory();
}

std::string CloudWatch::alarmArn(std::string_view name) const {
  return fmt::format("arn:aws:cloudwatch:{}:{}:alarm:{}", config_.region, config_.account_id, name);
}

bj::object CloudWatch::historyItem(const Alarm& a, std::string_view type, std::string summary,
                                   const bj::value& data) const {
  // HistorySummary holds at most 255 characters (the model's limit); a long
  // action ARN and error can make more. Cut on a UTF-8 boundary.
  constexpr size_t kMaxSummary = 255;
  if (summary.size() > kMaxSummary) {
    size_t cut = kMaxSummary - 3;
    while (cut > 0 && (static_cast<unsigned char>(summary[cut]) & 0xC0) == 0x80) --cut;
    summary.resize(cut);
    summary += "...";
  }
  return bj::object{{"AlarmName", json::stringOr(a.doc, "AlarmName")},
                    {"AlarmType", "MetricAlarm"},
                    {"Timestamp", clock_.epochSeconds()},
                    {"HistoryItemType", type},
                    {"HistorySummary", std::move(summary)},
                    {"HistoryData", json::serialize(data)}};
}

std::string CloudWatch::addHistory(store::Batch& batch, const bj::object& item) {
  std::string key = fmt::format("{:017d}-{:08d}", clock_.now().time_since_epoch().count(), ++history_seq_);
  batch.put(std::string(kHistoryKind), key, json::serialize(item));
  return key;
}

void CloudWatch::persist(store::Batch& batch, const Alarm& a) const {
  bj::object o{{"alarm", a.doc}, {"tags", a.tags}};
  batch.put(std::string(kAlarmKind), json::stringOr(a.doc, "AlarmName"), json::serialize(o));
}

Status CloudWatch::commit(store::Batch& batch) {
  auto ok = store_.commit(batch);
  if (!ok) return ok;
  // History records join memory only once they are durable.
  for (const auto& change : batch.changes()) {
    if (change.kind != kHistoryKind) continue;
    if (change.op == store::Batch::Op::kErase) {
      history_.erase(change.key);
    } else if (auto v = json::parse(change.value); v && v->is_object()) {
      history_[change.key] = std::move(v->get_object());
    }
  }
  return ok;
}

void CloudWatch::pruneHistory() {
  double cutoff = clock_.epochSeconds() - static_cast<double>(config_.history_retention.count());
  store::Batch batch;
  for (const auto& [key, item] : history_) {
    const bj::value* t = json::find(item, "Timestamp");
    if (!t || !t->is_number() || t->to_number<double>() >= cutoff) break;
    batch.erase(std::string(kHistoryKind), key);
  }
  if (!batch.empty()) (void)commit(batch);
}

}  // namespace berth::cloudwatch
