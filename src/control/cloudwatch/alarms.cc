// Metric alarms: PutMetricAlarm, DescribeAlarms(ForMetric), DeleteAlarms,
// SetAlarmState, DescribeAlarmHistory, Enable/DisableAlarmActions and tags.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/json.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/cloudwatch/errors.h"
#include "control/cloudwatch/request.h"

namespace berth::cloudwatch {
namespace {

constexpr size_t kMaxActions = 5;
constexpr size_t kMaxTags = 50;
constexpr int64_t kMaxEvaluationSeconds = 7 * 86400;

// The alarm's configuration as the HistoryData of ConfigurationUpdate items
// shows it: MetricAlarm members, lowerCamelCase, without the state.
bj::object configurationView(const bj::object& doc) {
  bj::object out;
  for (const auto& [k, v] : doc) {
    if (k.starts_with("State")) continue;
    std::string key(k);
    key[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(key[0])));
    out[key] = v;
  }
  return out;
}

Result<int64_t> pageOffset(const bj::object& in) {
  auto token = json::getString(in, "NextToken");
  if (!token) return 0;
  auto parsed = parseToken(*token);
  if (!parsed) return invalidNextToken("The service cannot process the NextToken: " + std::string(*token) + ".");
  return *parsed;
}

}  // namespace

Status CloudWatch::configure(Alarm& a) {
  const bj::object& d = a.doc;
  std::vector<Dimension> dims;
  if (const bj::array* arr = json::getArray(d, "Dimensions"))
    for (const auto& v : *arr)
      if (v.is_object())
        dims.push_back({json::stringOr(v.as_object(), "Name"), json::stringOr(v.as_object(), "Value")});
  a.key = makeKey(json::stringOr(d, "Namespace"), json::stringOr(d, "MetricName"), std::move(dims));
  auto stat = parseStat(json::stringOr(d, "Statistic"));
  if (!stat) return fail(ErrorCode::kInternal, "alarm without a statistic");
  a.stat = *stat;
  a.unit = json::stringOr(d, "Unit");
  a.period = json::getInt(d, "Period").value_or(60);
  a.evaluation_periods = json::getInt(d, "EvaluationPeriods").value_or(1);
  a.datapoints_to_alarm = json::getInt(d, "DatapointsToAlarm").value_or(a.evaluation_periods);
  const bj::value* t = json::find(d, "Threshold");
  a.threshold = t && t->is_number() ? t->to_number<double>() : 0;
  std::string op = json::stringOr(d, "ComparisonOperator");
  a.comparison = op == "GreaterThanOrEqualToThreshold" ? Comparison::kGe
                 : op == "LessThanThreshold"           ? Comparison::kLt
                 : op == "LessThanOrEqualToThreshold"  ? Comparison::kLe
                                                       : Comparison::kGt;
  std::string missing = json::stringOr(d, "TreatMissingData", "missing");
  a.missing = missing == "ignore"         ? Missing::kIgnore
              : missing == "breaching"    ? Missing::kBreaching
              : missing == "notBreaching" ? Missing::kNotBreaching
                                          : Missing::kMissing;
  return {};
}

Result<bj::value> CloudWatch::putMetricAlarm(const bj::object& in) {
  std::string name = json::stringOr(in, "AlarmName");
  if (json::find(in, "Metrics"))
    return invalidParameterValue(
        "berth evaluates alarms on one metric (MetricName, Namespace, Statistic); alarms on metric math (Metrics) "
        "are not supported.");
  if (json::find(in, "ThresholdMetricId"))
    return invalidParameterValue("berth does not support anomaly detection alarms (ThresholdMetricId).");
  if (json::find(in, "EvaluationCriteria")) return invalidParameterValue("berth does not support EvaluationCriteria.");
  std::string op = json::stringOr(in, "ComparisonOperator");
  if (op == "LessThanLowerOrGreaterThanUpperThreshold" || op == "LessThanLowerThreshold" ||
      op == "GreaterThanUpperThreshold")
    return invalidParameterValue(
        fmt::format("The comparison operator {} is for anomaly detection alarms, which berth does not support.", op));
  for (std::string_view required :
       {"MetricName", "Namespace", "Period", "EvaluationPeriods", "ComparisonOperator", "Threshold"})
    if (!json::find(in, required)) return missingParameter(fmt::format("The parameter {} is required.", required));
  bool has_stat = json::find(in, "Statistic") != nullptr;
  bool has_extended = json::find(in, "ExtendedStatistic") != nullptr;
  if (has_stat == has_extended)
    return invalidParameterCombination(
        "Exactly one of the parameters Statistic and ExtendedStatistic must be specified.");
  if (has_extended)
    return invalidParameterValue(
        "berth does not keep the value distributions that percentile statistics need; ExtendedStatistic is not "
        "supported.");
  int64_t period = json::getInt(in, "Period").value_or(0);
  if (!(period == 10 || period == 20 || period == 30 || (period > 0 && period % 60 == 0)))
    return invalidParameterValue("The parameter Period must be 10, 20, 30, or a multiple of 60.");
  int64_t evaluation_periods = json::getInt(in, "EvaluationPeriods").value_or(0);
  if (period * evaluation_periods > kMaxEvaluationSeconds)
    return invalidParameterValue(
        "The evaluation period (Period multiplied by EvaluationPeriods) must not exceed 604800 seconds (7 days).");
  if (auto m = json::getInt(in, "DatapointsToAlarm"); m && *m > evaluation_periods)
    return invalidParameterValue("DatapointsToAlarm must be less than or equal to EvaluationPeriods.");
  if (auto missing = json::getString(in, "TreatMissingData");
      missing && *missing != "missing" && *missing != "ignore" && *missing != "breaching" && *missing != "notBreaching")
    return invalidParameterValue(fmt::format(
        "The value {} for parameter TreatMissingData is invalid. Valid values are: missing, ignore, breaching, "
        "notBreaching.",
        *missing));
  if (auto low = json::getString(in, "EvaluateLowSampleCountPercentile"))
    return invalidParameterCombination("EvaluateLowSampleCountPercentile can only be used with percentile statistics.");
  BERTH_TRY(parseDimensions(in, "Dimensions", 30));
  for (std::string_view list : {"AlarmActions", "OKActions", "InsufficientDataActions"}) {
    auto arns = json::stringList(in, list);
    if (arns.size() > kMaxActions)
      return invalidParameterValue(
          fmt::format("The collection {} must not have a size greater than {}.", list, kMaxActions));
    for (const auto& arn : arns)
      if (!arn.starts_with("arn:") || std::count(arn.begin(), arn.end(), ':') < 5)
        return invalidParameterValue(fmt::format("Invalid arn syntax: {}", arn));
  }
  const bj::array* tags = json::getArray(in, "Tags");
  if (tags && tags->size() > kMaxTags)
    return invalidParameterValue(fmt::format("The collection Tags must not have a size greater than {}.", kMaxTags));

  double now = clock_.epochSeconds();
  auto existing = alarms_.find(name);
  Alarm a;
  if (existing != alarms_.end()) a = existing->second;  // state and tags kept
  bj::object doc{{"AlarmName", name}, {"AlarmArn", alarmArn(name)}};
  if (auto d = json::getString(in, "AlarmDescription")) doc["AlarmDescription"] = *d;
  doc["AlarmConfigurationUpdatedTimestamp"] = now;
  doc["ActionsEnabled"] = json::getBool(in, "ActionsEnabled").value_or(true);
  for (std::string_view list : {"OKActions", "AlarmActions", "InsufficientDataActions"}) {
    const bj::array* arr = json::getArray(in, list);
    doc[list] = arr ? *arr : bj::array{};
  }
  if (existing == alarms_.end()) {
    doc["StateValue"] = "INSUFFICIENT_DATA";
    doc["StateReason"] = "Unchecked: Initial alarm creation";
    doc["StateUpdatedTimestamp"] = now;
    doc["StateTransitionedTimestamp"] = now;
  } else {
    for (std::string_view k :
         {"StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp", "StateTransitionedTimestamp"})
      if (const bj::value* v = json::find(existing->second.doc, k)) doc[k] = *v;
  }
  for (std::string_view k : {"MetricName", "Namespace", "Statistic"}) doc[k] = json::stringOr(in, k);
  const bj::array* dims = json::getArray(in, "Dimensions");
  doc["Dimensions"] = dims ? *dims : bj::array{};
  doc["Period"] = period;
  if (auto u = json::getString(in, "Unit")) doc["Unit"] = *u;
  doc["EvaluationPeriods"] = evaluation_periods;
  if (auto m = json::getInt(in, "DatapointsToAlarm")) doc["DatapointsToAlarm"] = *m;
  doc["Threshold"] = json::find(in, "Threshold")->to_number<double>();
  doc["ComparisonOperator"] = op;
  if (auto t = json::getString(in, "TreatMissingData")) doc["TreatMissingData"] = *t;

  bj::object history_data{{"version", "1.0"}};
  std::string summary;
  if (existing == alarms_.end()) {
    if (tags) a.tags = *tags;
    history_data["type"] = "Create";
    history_data["createdAlarm"] = configurationView(doc);
    summary = fmt::format("Alarm \"{}\" created", name);
  } else {
    history_data["type"] = "Update";
    history_data["originalAlarm"] = configurationView(existing->second.doc);
    history_data["updatedAlarm"] = configurationView(doc);
    summary = fmt::format("Alarm \"{}\" updated", name);
  }
  a.doc = std::move(doc);
  BERTH_TRY(configure(a));
  store::Batch batch;
  persist(batch, a);
  addHistory(batch, historyItem(a, "ConfigurationUpdate", std::move(summary), history_data));
  BERTH_TRY(commit(batch));
  Alarm& stored = alarms_[name] = std::move(a);
  // A new or changed alarm is evaluated at once.
  if (auto v = evaluate(stored); v && v->state != json::stringOr(stored.doc, "StateValue"))
    (void)transition(stored, *v);
  return bj::object{};
}

Result<bj::value> CloudWatch::describeAlarms(const bj::object& in) {
  auto names = json::stringList(in, "AlarmNames");
  auto prefix = json::getString(in, "AlarmNamePrefix");
  if (!names.empty() && prefix)
    return invalidParameterCombination("The parameters AlarmNames and AlarmNamePrefix cannot be used together.");
  if (names.size() > 100)
    return invalidParameterValue("The collection AlarmNames must not have a size greater than 100.");
  auto types = json::stringList(in, "AlarmTypes");
  bool metric_alarms = types.empty() || std::find(types.begin(), types.end(), "MetricAlarm") != types.end();
  bool composite = std::find(types.begin(), types.end(), "CompositeAlarm") != types.end();
  auto state = json::getString(in, "StateValue");
  auto action_prefix = json::getString(in, "ActionPrefix");
  bool family = json::find(in, "ChildrenOfAlarmName") || json::find(in, "ParentsOfAlarmName");
  int64_t max = json::getInt(in, "MaxRecords").value_or(50);
  int64_t offset = BERTH_TRY(pageOffset(in));

  bj::array out;
  int64_t index = 0;
  bool more = false;
  if (metric_alarms && !family) {
    for (const auto& [name, a] : alarms_) {
      if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
      if (prefix && !name.starts_with(*prefix)) continue;
      if (state && json::stringOr(a.doc, "StateValue") != *state) continue;
      if (action_prefix) {
        bool any = false;
        for (std::string_view list : {"AlarmActions", "OKActions", "InsufficientDataActions"})
          for (const auto& arn : json::stringList(a.doc, list)) any = any || arn.starts_with(*action_prefix);
        if (!any) continue;
      }
      if (index++ < offset) continue;
      if (static_cast<int64_t>(out.size()) == max) {
        more = true;
        break;
      }
      out.push_back(a.doc);
    }
  }
  bj::object result{{"MetricAlarms", std::move(out)}};
  if (composite) result["CompositeAlarms"] = bj::array{};
  if (more) result["NextToken"] = makeToken(offset + max);
  return result;
}

Result<bj::value> CloudWatch::describeAlarmsForMetric(const bj::object& in) {
  auto dims = BERTH_TRY(parseDimensions(in, "Dimensions", 30));
  MetricKey key = makeKey(json::stringOr(in, "Namespace"), json::stringOr(in, "MetricName"), std::move(dims));
  bool match_dims = json::find(in, "Dimensions") != nullptr;
  bj::array out;
  for (const auto& [name, a] : alarms_) {
    if (a.key.ns != key.ns || a.key.name != key.name) continue;
    if (match_dims && a.key.dimensions != key.dimensions) continue;
    if (auto s = json::getString(in, "Statistic"); s && json::stringOr(a.doc, "Statistic") != *s) continue;
    if (json::find(in, "ExtendedStatistic")) continue;
    if (auto p = json::getInt(in, "Period"); p && a.period != *p) continue;
    if (auto u = json::getString(in, "Unit"); u && a.unit != *u) continue;
    out.push_back(a.doc);
  }
  return bj::object{{"MetricAlarms", std::move(out)}};
}

Result<bj::value> CloudWatch::deleteAlarms(const bj::object& in) {
  auto names = json::stringList(in, "AlarmNames");
  if (names.size() > 100)
    return invalidParameterValue("The collection AlarmNames must not have a size greater than 100.");
  std::vector<std::string> missing;
  for (const auto& n : names)
    if (!alarms_.contains(n)) missing.push_back(n);
  if (!missing.empty()) {
    std::string list;
    for (const auto& n : missing) list += (list.empty() ? "" : ", ") + n;
    return alarmNotFound(fmt::format("Alarm(s) not found: {}", list));
  }
  store::Batch batch;
  for (const auto& n : names) {
    const Alarm& a = alarms_.find(n)->second;
    batch.erase(std::string("cw.alarm"), n);
    bj::object data{{"type", "Delete"}, {"version", "1.0"}, {"deletedAlarm", configurationView(a.doc)}};
    addHistory(batch, historyItem(a, "ConfigurationUpdate", fmt::format("Alarm \"{}\" deleted", n), data));
  }
  BERTH_TRY(commit(batch));
  for (const auto& n : names) alarms_.erase(n);
  return bj::object{};
}

Result<bj::value> CloudWatch::setAlarmState(const bj::object& in) {
  std::string name = json::stringOr(in, "AlarmName");
  auto it = alarms_.find(name);
  if (it == alarms_.end()) return alarmNotFound(fmt::format("Alarm {} not found", name));
  Verdict v{json::stringOr(in, "StateValue"), json::stringOr(in, "StateReason"), json::stringOr(in, "StateReasonData")};
  if (!v.reason_data.empty()) {
    auto parsed = json::parse(v.reason_data);
    if (!parsed || !parsed->is_object())
      return invalidFormat("The StateReasonData is not valid JSON: " + v.reason_data);
  }
  BERTH_TRY(transition(it->second, v));
  return bj::object{};
}

Result<bj::value> CloudWatch::describeAlarmHistory(const bj::object& in) {
  auto name = json::getString(in, "AlarmName");
  auto type = json::getString(in, "HistoryItemType");
  auto types = json::stringList(in, "AlarmTypes");
  if (!types.empty() && std::find(types.begin(), types.end(), "MetricAlarm") == types.end())
    return bj::object{{"AlarmHistoryItems", bj::array{}}};
  const bj::value* start_v = json::find(in, "StartDate");
  const bj::value* end_v = json::find(in, "EndDate");
  double start = start_v && start_v->is_number() ? start_v->to_number<double>() : -1e300;
  double end = end_v && end_v->is_number() ? end_v->to_number<double>() : 1e300;
  int64_t max = json::getInt(in, "MaxRecords").value_or(100);
  int64_t offset = BERTH_TRY(pageOffset(in));
  bool ascending = json::stringOr(in, "ScanBy", "TimestampDescending") == "TimestampAscending";

  std::vector<const bj::object*> matches;
  for (const auto& [key, item] : history_) {
    if (name && json::stringOr(item, "AlarmName") != *name) continue;
    if (type && json::stringOr(item, "HistoryItemType") != *type) continue;
    const bj::value* t = json::find(item, "Timestamp");
    double at = t && t->is_number() ? t->to_number<double>() : 0;
    if (at < start || at > end) continue;
    matches.push_back(&item);
  }
  if (!ascending) std::reverse(matches.begin(), matches.end());
  bj::array out;
  for (int64_t i = offset; i < static_cast<int64_t>(matches.size()) && i < offset + max; ++i)
    out.push_back(*matches[static_cast<size_t>(i)]);
  bj::object result{{"AlarmHistoryItems", std::move(out)}};
  if (offset + max < static_cast<int64_t>(matches.size())) result["NextToken"] = makeToken(offset + max);
  return result;
}

Result<bj::value> CloudWatch::enableAlarmActions(const bj::object& in) { return setActionsEnabled(in, true); }
Result<bj::value> CloudWatch::disableAlarmActions(const bj::object& in) { return setActionsEnabled(in, false); }

Result<bj::value> CloudWatch::setActionsEnabled(const bj::object& in, bool enabled) {
  auto names = json::stringList(in, "AlarmNames");
  if (names.size() > 100)
    return invalidParameterValue("The collection AlarmNames must not have a size greater than 100.");
  store::Batch batch;
  std::vector<Alarm*> changed;
  for (const auto& n : names) {
    auto it = alarms_.find(n);
    if (it == alarms_.end()) continue;  // CloudWatch ignores unknown names here
    Alarm copy = it->second;
    copy.doc["ActionsEnabled"] = enabled;
    persist(batch, copy);
    changed.push_back(&it->second);
  }
  BERTH_TRY(commit(batch));
  for (Alarm* a : changed) a->doc["ActionsEnabled"] = enabled;
  return bj::object{};
}

Result<CloudWatch::Alarm*> CloudWatch::alarmByArn(std::string_view arn) {
  std::string prefix = alarmArn("");
  if (arn.starts_with(prefix)) {
    auto it = alarms_.find(arn.substr(prefix.size()));
    if (it != alarms_.end()) return &it->second;
  }
  return resourceNotFoundException(fmt::format("The resource {} could not be found.", arn));
}

Result<bj::value> CloudWatch::tagResource(const bj::object& in) {
  Alarm* a = BERTH_TRY(alarmByArn(json::stringOr(in, "ResourceARN")));
  bj::array tags = a->tags;
  for (const auto& t : *json::getArray(in, "Tags")) {
    std::string key = json::stringOr(t.as_object(), "Key");
    if (key.starts_with("aws:"))
      return invalidParameterValue(
          fmt::format("The tag key {} is invalid: keys beginning with aws: are reserved.", key));
    auto same = std::find_if(tags.begin(), tags.end(),
                             [&](const bj::value& v) { return json::stringOr(v.as_object(), "Key") == key; });
    if (same != tags.end())
      *same = t;
    else
      tags.push_back(t);
  }
  if (tags.size() > kMaxTags) return limitExceeded(fmt::format("A resource can have at most {} tags.", kMaxTags));
  return replaceTags(*a, std::move(tags));
}

Result<bj::value> CloudWatch::untagResource(const bj::object& in) {
  Alarm* a = BERTH_TRY(alarmByArn(json::stringOr(in, "ResourceARN")));
  auto keys = json::stringList(in, "TagKeys");
  bj::array tags;
  for (const auto& t : a->tags)
    if (std::find(keys.begin(), keys.end(), json::stringOr(t.as_object(), "Key")) == keys.end()) tags.push_back(t);
  return replaceTags(*a, std::move(tags));
}

Result<bj::value> CloudWatch::replaceTags(Alarm& a, bj::array tags) {
  Alarm copy = a;
  copy.tags = tags;
  store::Batch batch;
  persist(batch, copy);
  BERTH_TRY(commit(batch));
  a.tags = std::move(tags);
  return bj::object{};
}

Result<bj::value> CloudWatch::listTagsForResource(const bj::object& in) {
  Alarm* a = BERTH_TRY(alarmByArn(json::stringOr(in, "ResourceARN")));
  return bj::object{{"Tags", a->tags}};
}

}  // namespace berth::cloudwatch
