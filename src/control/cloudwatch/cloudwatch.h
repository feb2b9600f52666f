// CloudWatch metrics and alarms (GraniteServiceVersion20100801, model
// "monitoring"): PutMetricData, GetMetricStatistics, GetMetricData,
// ListMetrics, metric alarms and their history, as botocore's model defines
// them.
//
// Metric data lives in a MetricStore (metric_store.h), in memory only.
// Alarms and their history are AWS-shaped JSON kept in memory and written
// through to the Store (kinds "cw.alarm", "cw.history"): a mutating call
// commits before it returns, and nothing changes in memory when the commit
// fails.
//
// Alarm evaluation runs in tick() on the injected clock (berthd calls it
// every 10 s of control time). Each metric alarm looks at its last
// EvaluationPeriods complete periods (periods are aligned to the epoch and
// end at or before now) and goes
//   ALARM             when at least DatapointsToAlarm of them breach,
//   OK                otherwise, when enough are known,
//   INSUFFICIENT_DATA when none is known and TreatMissingData is "missing";
// missing periods count as breaching ("breaching"), as not breaching
// ("notBreaching"), are left out ("missing"), or leave the state as it is
// when all are missing ("ignore"). A new alarm starts in INSUFFICIENT_DATA
// ("Unchecked: Initial alarm creation") and is evaluated at once.
//
// Actions: on every state change of an alarm with ActionsEnabled, each ARN
// in the new state's action list is handed to the AlarmActionSink
// (Application Auto Scaling implements it). While the alarm stays in ALARM,
// its Auto Scaling actions (arn:aws:autoscaling:...) are invoked again once
// per Period, as CloudWatch does for scaling policies; other kinds run only
// on the transition. Each invocation is recorded in the alarm history as an
// Action item ("Successfully executed action <arn>" or "Failed to execute
// action <arn>. Received error: \"...\""); without a sink, or when the sink
// refuses (an ARN kind nobody handles, e.g. SNS), the action is recorded as
// failed.
//
// The ALARM repeat is timed from the last invocation in memory: after a
// restart, an alarm in ALARM runs its scaling actions at the first tick.
//
// berth's own metrics (the agent's AWS/ECS CPUUtilization per service) come
// in through publish(), without an API round trip and without the user
// rules (AWS/ namespaces are allowed there). Application Auto Scaling
// creates and deletes its target-tracking alarms in process through
// invoke("PutMetricAlarm" / "DeleteAlarms", ...), and receives their actions
// as the AlarmActionSink.
//
// Threads: single writer. Every method must be called on the control
// executor.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "control/cloudwatch/metric_store.h"
#include "store/store.h"

namespace berth::cloudwatch {

namespace bj = boost::json;

// What an action sees of the alarm that invokes it.
struct AlarmEvent {
  std::string alarm_name;
  std::string alarm_arn;
  std::string old_state;
  std::string new_state;
  std::string state_reason;
  bj::object metric_alarm;  // the MetricAlarm shape, as DescribeAlarms shows it
  bool repeat = false;      // re-invoked while the alarm stays in ALARM
};

// Receives alarm actions. Application Auto Scaling implements it for
// arn:aws:autoscaling:...:scalingPolicy:... ARNs. Called on the control
// executor from CloudWatch::tick() and SetAlarmState; must not block.
class AlarmActionSink {
 public:
  virtual ~AlarmActionSink() = default;
  // Runs `action_arn` for `event`. An error (for an ARN kind the sink does
  // not handle: kUnimplemented) is recorded as a failed action.
  virtual Status invoke(std::string_view action_arn, const AlarmEvent& event) = 0;
};

struct CloudWatchConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  MetricStoreLimits limits;
  std::chrono::seconds history_retention{std::chrono::hours(24 * 30)};
};

class CloudWatch {
 public:
  CloudWatch(CloudWatchConfig config, store::Store& store, const Clock& clock);

  // Loads alarms and history from the store. Call once, before anything else.
  Status load();

  // Runs one CloudWatch operation; `input` is type-checked against the model
  // by the protocol layer. Unknown operations: kUnimplemented.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input);
  bool supports(std::string_view operation) const;

  // berth's own metrics: no API limits, AWS/ namespaces allowed. Datapoints
  // outside the accepted window (2 weeks back, 2 hours ahead) are dropped.
  void publish(const MetricDatum& datum);
  void publish(std::span<const MetricDatum> data);

  // Periodic work: evaluates alarms, runs their actions, expires metric data
  // and old history. Call every ~10 s of control time.
  void tick();

  // Where alarm actions go; null (the default) fails every action.
  void setActionSink(AlarmActionSink* sink) { sink_ = sink; }

  const MetricStore& metrics() const { return metrics_; }
  size_t alarmCount() const { return alarms_.size(); }

 private:
  enum class Comparison { kGe, kGt, kLt, kLe };
  enum class Missing { kMissing, kIgnore, kBreaching, kNotBreaching };
  struct Alarm {
    bj::object doc;  // MetricAlarm shape
    bj::array tags;
    // Parsed from doc for evaluation (configure()).
    MetricKey key;
    Stat stat = Stat::kAverage;
    std::string unit;
    int64_t period = 60;
    int64_t evaluation_periods = 1;
    int64_t datapoints_to_alarm = 1;
    double threshold = 0;
    Comparison comparison = Comparison::kGt;
    Missing missing = Missing::kMissing;
    WallTime last_repeat{};  // when ALARM actions last ran
  };

  using Handler = Result<bj::value> (CloudWatch::*)(const bj::object&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  // Metrics (metrics.cc).
  Result<bj::value> putMetricData(const bj::object& in);
  Result<bj::value> getMetricStatistics(const bj::object& in);
  Result<bj::value> getMetricData(const bj::object& in);
  Result<bj::value> listMetrics(const bj::object& in);

  // Alarms (alarms.cc).
  Result<bj::value> putMetricAlarm(const bj::object& in);
  Result<bj::value> describeAlarms(const bj::object& in);
  Result<bj::value> describeAlarmsForMetric(const bj::object& in);
  Result<bj::value> deleteAlarms(const bj::object& in);
  Result<bj::value> setAlarmState(const bj::object& in);
  Result<bj::value> describeAlarmHistory(const bj::object& in);
  Result<bj::value> enableAlarmActions(const bj::object& in);
  Result<bj::value> disableAlarmActions(const bj::object& in);
  Result<bj::value> setActionsEnabled(const bj::object& in, bool enabled);
  Result<bj::value> tagResource(const bj::object& in);
  Result<bj::value> untagResource(const bj::object& in);
  // Commits `tags` as the alarm's, then sets them in memory.
  Result<bj::value> replaceTags(Alarm& a, bj::array tags);
  Result<bj::value> listTagsForResource(const bj::object& in);
  Result<Alarm*> alarmByArn(std::string_view arn);

  // Evaluation (evaluation.cc).
  struct Verdict {
    std::string state;
    std::string reason;
    std::string reason_data;
  };
  // The state the alarm's data calls for now; nullopt: keep the state.
  std::optional<Verdict> evaluate(const Alarm& a) const;
  void evaluateAll();
  // Moves `a` to `state`, with its history item, committed; then runs the
  // actions of the new state. Fails (changing nothing) when the commit fails.
  Status transition(Alarm& a, const Verdict& v);
  void runActions(Alarm& a, std::string_view old_state, bool repeat);
  static Status configure(Alarm& a);

  // Shared helpers (cloudwatch.cc).
  std::string alarmArn(std::string_view name) const;
  bj::object historyItem(const Alarm& a, std::string_view type, std::string summary, const bj::value& data) const;
  // Adds `item` to `batch`; returns its store key.
  std::string addHistory(store::Batch& batch, const bj::object& item);
  void persist(store::Batch& batch, const Alarm& a) const;
  Status commit(store::Batch& batch);
  void pruneHistory();

  CloudWatchConfig config_;
  store::Store& store_;
  const Clock& clock_;
  MetricStore metrics_;
  std::map<std::string, Alarm, std::less<>> alarms_;  // by name
  // Alarm history, oldest first, by store key ("<micros>-<seq>").
  std::map<std::string, bj::object, std::less<>> history_;
  uint64_t history_seq_ = 0;
  AlarmActionSink* sink_ = nullptr;
};

}  // namespace berth::cloudwatch
