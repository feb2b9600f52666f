// Alarm evaluation ("M out of N", TreatMissingData), state transitions with
// their history, and alarm actions.
#include <ctime>

#include <fmt/format.h>

#include "common/json.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/cloudwatch/request.h"

namespace berth::cloudwatch {
namespace {

std::tm utc(int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

// "07/12/26 10:01:00": how StateReason writes datapoint times.
std::string reasonTime(int64_t epoch) {
  std::tm tm = utc(epoch);
  return fmt::format("{:02}/{:02}/{:02} {:02}:{:02}:{:02}", tm.tm_mday, tm.tm_mon + 1, tm.tm_year % 100, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

// "2026-12-07T10:01:00.000+0000": how StateReasonData writes times.
std::string reasonDataTime(WallTime t) {
  int64_t us = t.time_since_epoch().count();
  std::tm tm = utc(us / 1000000);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (us / 1000) % 1000);
}

std::string plural(int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::optional<CloudWatch::Verdict> CloudWatch::evaluate(const Alarm& a) const {
  WallTime now = clock_.now();
  int64_t n = a.evaluation_periods;
  int64_t p = a.period;
  int64_t end = epochSeconds(now) / p * p;  // the last complete period ends here
  int64_t start = end - n * p;
  // "missing" and "ignore" look further back (as CloudWatch retrieves more
  // datapoints than EvaluationPeriods) to fill the window with known ones.
  bool skip_missing = a.missing == Missing::kMissing || a.missing == Missing::kIgnore;
  int64_t span = skip_missing ? 2 * n : n;
  auto points = metrics_.query(a.key, end - span * p, end, p, a.unit);

  struct Datum {
    int64_t start;
    std::optional<double> value;
    double samples = 0;
    bool breaching = false;
  };
  std::vector<Datum> data;  // newest first
  for (int64_t i = 0; i < span; ++i) data.push_back(Datum{end - (i + 1) * p, std::nullopt});
  for (const Point& pt : points) {
    int64_t i = (end - pt.start) / p - 1;
    if (i < 0 || i >= span) continue;
    double v = statValue(pt.stats, a.stat);
    data[static_cast<size_t>(i)].value = v;
    data[static_cast<size_t>(i)].samples = pt.stats.sample_count;
    bool breach = false;
    switch (a.comparison) {
      case Comparison::kGe:
        breach = v >= a.threshold;
        break;
      case Comparison::kGt:
        breach = v > a.threshold;
        break;
      case Comparison::kLt:
        breach = v < a.threshold;
        break;
      case Comparison::kLe:
        breach = v <= a.threshold;
        break;
    }
    data[static_cast<size_t>(i)].breaching = breach;
  }
  int64_t present = 0;
  for (int64_t i = 0; i < n; ++i) present += data[static_cast<size_t>(i)].value ? 1 : 0;
  if (skip_missing && present > 0) {
    // The N most recent known datapoints within the look-back.
    std::erase_if(data, [](const Datum& d) { return !d.value; });
    if (static_cast<int64_t>(data.size()) > n) data.resize(static_cast<size_t>(n));
    present = static_cast<int64_t>(data.size());
  } else {
    data.resize(static_cast<size_t>(n));
  }
  int64_t breaching = 0;
  for (const auto& d : data) breaching += d.value && d.breaching ? 1 : 0;
  int64_t missing = n - present;

  // The state alone first: the wording is only built for a change.
  std::string_view state;
  if (present == 0) {
    if (a.missing == Missing::kIgnore) return std::nullopt;
    state = a.missing == Missing::kMissing                                   ? "INSUFFICIENT_DATA"
            : a.missing == Missing::kBreaching && n >= a.datapoints_to_alarm ? "ALARM"
                                                                             : "OK";
  } else {
    int64_t counted = breaching + (a.missing == Missing::kBreaching ? missing : 0);
    state = counted >= a.datapoints_to_alarm ? "ALARM" : "OK";
  }
  if (const bj::value* current = json::find(a.doc, "StateValue");
      current && current->is_string() && current->get_string() == state)
    return Verdict{std::string(state), {}, {}};

  // StateReasonData (the same layout for every verdict).
  bj::array recent, evaluated;
  for (auto it = data.rbegin(); it != data.rend(); ++it)
    if (it->value) recent.push_back(*it->value);
  for (const auto& d : data) {
    bj::object e{{"timestamp", reasonDataTime(WallTime(std::chrono::seconds(d.start)))}};
    if (d.value) {
      e["sampleCount"] = d.samples;
      e["value"] = *d.value;
    }
    evaluated.push_back(std::move(e));
  }
  bj::object data_doc{{"version", "1.0"},
                      {"queryDate", reasonDataTime(now)},
                      {"startDate", reasonDataTime(WallTime(std::chrono::seconds(start)))},
                      {"statistic", statName(a.stat)},
                      {"period", p},
                      {"recentDatapoints", std::move(recent)},
                      {"threshold", a.threshold},
                      {"evaluatedDatapoints", std::move(evaluated)}};
  if (!a.unit.empty()) data_doc["unit"] = a.unit;
  std::string reason_data = json::serialize(data_doc);

  if (present == 0) {
    if (a.missing == Missing::kIgnore) return std::nullopt;
    if (a.missing == Missing::kMissing)
      return Verdict{"INSUFFICIENT_DATA",
                     n == 1 ? std::string("Insufficient Data: 1 datapoint was unknown.")
                            : fmt::format("Insufficient Data: {} datapoints were unknown.", n),
                     reason_data};
    bool breach = a.missing == Missing::kBreaching;
    std::string state = breach && n >= a.datapoints_to_alarm ? "ALARM" : "OK";
    return Verdict{state,
                   fmt::format("Threshold Crossed: no datapoints were received for {} and {} {} treated as [{}].",
                               plural(n, "period", "periods"), plural(n, "missing datapoint", "missing datapoints"),
                               n == 1 ? "was" : "were", breach ? "Breaching" : "NonBreaching"),
                   reason_data};
  }

  int64_t counted = breaching + (a.missing == Missing::kBreaching ? missing : 0);
  // "out of the last N": left-out missing periods do not count.
  int64_t window = (a.missing == Missing::kMissing || a.missing == Missing::kIgnore) ? present : n;
  bool alarm = counted >= a.datapoints_to_alarm;
  std::string words;
  switch (a.comparison) {
    case Comparison::kGe:
      words = "greater than or equal to";
      break;
    case Comparison::kGt:
      words = "greater than";
      break;
    case Comparison::kLt:
      words = "less than";
      break;
    case Comparison::kLe:
      words = "less than or equal to";
      break;
  }
  // OK with breaching datapoints only (fewer than DatapointsToAlarm): the
  // reason tells of those, as an ALARM reason would.
  bool describe_breaching = alarm || counted == window;
  std::string list;
  int64_t listed = 0;
  for (const auto& d : data) {
    if (!d.value || d.breaching != describe_breaching) continue;
    list += fmt::format("{}{} ({})", listed ? ", " : "", javaDouble(*d.value), reasonTime(d.start));
    ++listed;
  }
  int64_t k = describe_breaching ? counted : window - counted;
  std::string reason;
  if (window == 1) {
    reason = fmt::format("Threshold Crossed: 1 datapoint [{}] was {}{} the threshold ({}).", list,
                         describe_breaching ? "" : "not ", words, javaDouble(a.threshold));
  } else {
    reason = fmt::format(
        "Threshold Crossed: {} out of the last {} datapoints [{}] {} {}{} the threshold ({}) (minimum {} for {} "
        "transition).",
        k, window, list, k == 1 ? "was" : "were", describe_breaching ? "" : "not ", words, javaDouble(a.threshold),
        describe_breaching ? plural(a.datapoints_to_alarm, "datapoint", "datapoints") : "1 datapoint",
        describe_breaching ? "OK -> ALARM" : "ALARM -> OK");
  }
  return Verdict{alarm ? "ALARM" : "OK", std::move(reason), std::move(reason_data)};
}

void CloudWatch::evaluateAll() {
  WallTime now = clock_.now();
  for (auto& [name, a] : alarms_) {
    std::string state = json::stringOr(a.doc, "StateValue");
    auto v = evaluate(a);
    if (v && v->state != state) {
      (void)transition(a, *v);
      continue;
    }
    // Scaling policies run again every period while the alarm stays in ALARM.
    if (state == "ALARM" && json::getBool(a.doc, "ActionsEnabled").value_or(true) &&
        now - a.last_repeat >= std::chrono::seconds(a.period))
      runActions(a, "ALARM", true);
  }
}

Status CloudWatch::transition(Alarm& a, const Verdict& v) {
  std::string old_state = json::stringOr(a.doc, "StateValue");
  std::string old_reason = json::stringOr(a.doc, "StateReason");
  std::string old_data = json::stringOr(a.doc, "StateReasonData");
  bool changed = old_state != v.state;
  double now = clock_.epochSeconds();
  Alarm next = a;
  next.doc["StateValue"] = v.state;
  next.doc["StateReason"] = v.reason;
  if (v.reason_data.empty())
    next.doc.erase("StateReasonData");
  else
    next.doc["StateReasonData"] = v.reason_data;
  next.doc["StateUpdatedTimestamp"] = now;
  if (changed) next.doc["StateTransitionedTimestamp"] = now;

  auto state_doc = [](const std::string& value, const std::string& reason, const std::string& data) {
    bj::object o{{"stateValue", value}, {"stateReason", reason}};
    if (auto parsed = data.empty() ? std::nullopt : json::parse(data); parsed && parsed->is_object())
      o["stateReasonData"] = std::move(*parsed);
    return o;
  };
  store::Batch batch;
  persist(batch, next);
  if (changed) {
    bj::object data{{"version", "1.0"},
                    {"oldState", state_doc(old_state, old_reason, old_data)},
                    {"newState", state_doc(v.state, v.reason, v.reason_data)}};
    addHistory(batch,
               historyItem(next, "StateUpdate", fmt::format("Alarm updated from {} to {}", old_state, v.state), data));
  }
  BERTH_TRY(commit(batch));
  a.doc = std::move(next.doc);
  if (changed && json::getBool(a.doc, "ActionsEnabled").value_or(true)) runActions(a, old_state, false);
  return {};
}

void CloudWatch::runActions(Alarm& a, std::string_view old_state, bool repeat) {
  std::string state = json::stringOr(a.doc, "StateValue");
  std::string_view list = state == "ALARM" ? "AlarmActions" : state == "OK" ? "OKActions" : "InsufficientDataActions";
  std::vector<std::string> arns = json::stringList(a.doc, list);
  if (repeat) std::erase_if(arns, [](const std::string& arn) { return !arn.starts_with("arn:aws:autoscaling:"); });
  if (state == "ALARM") a.last_repeat = clock_.now();
  if (arns.empty()) return;
  AlarmEvent event{json::stringOr(a.doc, "AlarmName"),
                   json::stringOr(a.doc, "AlarmArn"),
                   std::string(old_state),
                   state,
                   json::stringOr(a.doc, "StateReason"),
                   a.doc,
                   repeat};
  store::Batch batch;
  auto millis = clock_.epochMillis();
  for (const auto& arn : arns) {
    Status ok = sink_ ? sink_->invoke(arn, event)
                      : Status(fail(ErrorCode::kUnimplemented, "berth has no handler for this action"));
    if (ok) {
      bj::object data{{"actionState", "Succeeded"}, {"stateUpdateTimestamp", millis}, {"notificationResource", arn}};
      addHistory(batch, historyItem(a, "Action", fmt::format("Successfully executed action {}", arn), data));
    } else {
      bj::object data{{"actionState", "Failed"},
                      {"stateUpdateTimestamp", millis},
                      {"notificationResource", arn},
                      {"error", ok.error().message}};
      addHistory(batch, historyItem(
                            a, "Action",
                            fmt::format("Failed to execute action {}. Received error: \"{}\"", arn, ok.error().message),
                            data));
    }
  }
  (void)commit(batch);  // history of actions already run: best effort
}

}  // namespace berth::cloudwatch
