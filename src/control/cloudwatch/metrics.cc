// PutMetricData, GetMetricStatistics, GetMetricData and ListMetrics.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/json.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/cloudwatch/errors.h"
#include "control/cloudwatch/expression.h"
#include "control/cloudwatch/request.h"

namespace berth::cloudwatch {
namespace {

constexpr size_t kMaxMetricData = 1000;
constexpr size_t kMaxDimensions = 30;
constexpr size_t kMaxValues = 150;
constexpr size_t kMaxQueries = 500;
constexpr int64_t kMaxDatapoints = 1440;
constexpr int64_t kDefaultMaxDatapoints = 100800;
constexpr size_t kListMetricsPage = 500;
// CloudWatch's value range: -2^360 to 2^360.
const double kMaxValue = std::ldexp(1.0, 360);

bool validValue(double v) { return std::isfinite(v) && std::fabs(v) <= kMaxValue; }

std::string numberText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);
}

bool validNamespaceChars(std::string_view ns) {
  for (char c : ns) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
              c == '_' || c == '/' || c == '#' || c == ':' || c == ' ';
    if (!ok) return false;
  }
  return !ns.empty() && ns[0] != ':';
}

Status checkTimeRange(double start, double end) {
  if (end <= start) return invalidParameterValue("The parameter StartTime must be less than the parameter EndTime.");
  return {};
}

}  // namespace

Result<bj::value> CloudWatch::putMetricData(const bj::object& in) {
  std::string ns = json::stringOr(in, "Namespace");
  if (!validNamespaceChars(ns))
    return invalidParameterValue(fmt::format("The value {} for parameter Namespace is invalid.", ns));
  if (ns.starts_with("AWS/"))
    return invalidParameterValue(
        fmt::format("The value {} for parameter Namespace is invalid. Namespaces starting with AWS/ are reserved "
                    "for use by Amazon Web Services products.",
                    ns));
  const bj::array* data = json::getArray(in, "MetricData");
  if (json::getArray(in, "EntityMetricData") && !data)
    return invalidParameterValue("berth does not support EntityMetricData; send MetricData.");
  if (!data || data->empty()) return missingParameter("The parameter MetricData is required.");
  if (data->size() > kMaxMetricData)
    return invalidParameterValue(
        fmt::format("The collection MetricData must not have a size greater than {}.", kMaxMetricData));

  WallTime now = clock_.now();
  std::vector<MetricDatum> out;
  out.reserve(data->size());
  for (size_t i = 0; i < data->size(); ++i) {
    const bj::object& d = (*data)[i].as_object();
    std::string at = fmt::format("MetricData.member.{}", i + 1);
    MetricDatum datum;
    auto dims = BERTH_TRY(parseDimensions(d, at + ".Dimensions", kMaxDimensions));
    datum.key = makeKey(ns, json::stringOr(d, "MetricName"), std::move(dims));
    datum.unit = json::stringOr(d, "Unit", "None");
    if (const bj::value* t = json::find(d, "Timestamp"); t && t->is_number()) {
      datum.timestamp = fromEpochSeconds(t->to_number<double>());
      if (datum.timestamp < now - std::chrono::hours(24 * 14))
        return invalidParameterValue(
            fmt::format("The parameter {}.Timestamp must specify a time within the past two weeks.", at));
      if (datum.timestamp > now + std::chrono::hours(2))
        return invalidParameterValue(
            fmt::format("The parameter {}.Timestamp must specify a time no more than two hours in the future.", at));
    } else {
      datum.timestamp = now;
    }
    int64_t resolution = json::getInt(d, "StorageResolution").value_or(60);
    if (resolution != 1 && resolution != 60)
      return invalidParameterValue(
          fmt::format("The value {} for parameter {}.StorageResolution is invalid.", resolution, at));
    datum.high_resolution = resolution == 1;

    const bj::value* value = json::find(d, "Value");
    const bj::object* set = json::getObject(d, "StatisticValues");
    const bj::array* values = json::getArray(d, "Values");
    const bj::array* counts = json::getArray(d, "Counts");
    if (value && set)
      return invalidParameterCombination(fmt::format(
          "The parameters {0}.Value and {0}.StatisticValues are mutually exclusive and you have specified both.", at));
    if (value && values)
      return invalidParameterCombination(fmt::format(
          "The parameters {0}.Value and {0}.Values are mutually exclusive and you have specified both.", at));
    if (set && values)
      return invalidParameterCombination(fmt::format(
          "The parameters {0}.StatisticValues and {0}.Values are mutually exclusive and you have specified both.", at));
    if (counts && !values)
      return invalidParameterCombination(
          fmt::format("The parameter {0}.Counts can only be specified with {0}.Values.", at));
    if (value) {
      double v = value->to_number<double>();
      if (!validValue(v))
        return invalidParameterValue(fmt::format("The value {} for parameter {}.Value is invalid.", numberText(v), at));
      datum.values = StatisticSet::of(v);
    } else if (set) {
      StatisticSet s;
      auto member = [&](std::string_view name) -> Result<double> {
        const bj::value* m = json::find(*set, name);
        if (!m || !m->is_number())
          return missingParameter(fmt::format("The parameter {}.StatisticValues.{} is required.", at, name));
        double v = m->to_number<double>();
        if (!validValue(v))
          return invalidParameterValue(
              fmt::format("The value {} for parameter {}.StatisticValues.{} is invalid.", numberText(v), at, name));
        return v;
      };
      s.sample_count = BERTH_TRY(member("SampleCount"));
      s.sum = BERTH_TRY(member("Sum"));
      s.minimum = BERTH_TRY(member("Minimum"));
      s.maximum = BERTH_TRY(member("Maximum"));
      if (s.sample_count <= 0)
        return invalidParameterValue(fmt::format(
            "The value {} for parameter {}.StatisticValues.SampleCount is invalid.", numberText(s.sample_count), at));
      if (s.minimum > s.maximum)
        return invalidParameterValue(fmt::format(
            "The parameter {0}.StatisticValues.Maximum must be greater than {0}.StatisticValues.Minimum.", at));
      datum.values = s;
    } else if (values) {
      if (values->size() > kMaxValues)
        return invalidParameterValue(
            fmt::format("The collection {}.Values must not have a size greater than {}.", at, kMaxValues));
      if (counts && counts->size() != values->size())
        return invalidParameterValue(
            fmt::format("The parameters {0}.Values and {0}.Counts must be of the same size.", at));
      StatisticSet s;
      for (size_t k = 0; k < values->size(); ++k) {
        double v = (*values)[k].to_number<double>();
        double c = counts ? (*counts)[k].to_number<double>() : 1.0;
        if (!validValue(v))
          return invalidParameterValue(
              fmt::format("The value {} for parameter {}.Values.member.{} is invalid.", numberText(v), at, k + 1));
        if (!std::isfinite(c) || c < 0)
          return invalidParameterValue(
              fmt::format("The value {} for parameter {}.Counts.member.{} is invalid.", numberText(c), at, k + 1));
        if (c > 0) s.add(StatisticSet::of(v, c));
      }
      if (s.sample_count <= 0) continue;  // nothing to add
      datum.values = s;
    } else {
      return missingParameter(fmt::format("The parameter {}.Value is required.", at));
    }
    out.push_back(std::move(datum));
  }
  // All or nothing: the series cap is checked before anything is added.
  std::vector<const MetricKey*> fresh;
  for (const auto& d : out)
    if (!metrics_.find(d.key)) fresh.push_back(&d.key);
  std::sort(fresh.begin(), fresh.end(), [](const MetricKey* a, const MetricKey* b) { return *a < *b; });
  fresh.erase(std::unique(fresh.begin(), fresh.end(), [](const MetricKey* a, const MetricKey* b) { return *a == *b; }),
              fresh.end());
  if (metrics_.series().size() + fresh.size() > config_.limits.max_series)
    return limitExceeded(fmt::format("berth keeps at most {} metrics.", config_.limits.max_series));
  for (const auto& d : out) (void)metrics_.put(d, now);
  return bj::object{};
}

Result<bj::value> CloudWatch::getMetricStatistics(const bj::object& in) {
  double start = json::find(in, "StartTime")->to_number<double>();
  double end = json::find(in, "EndTime")->to_number<double>();
  BERTH_TRY(checkTimeRange(start, end));
  int64_t period = BERTH_TRY(checkPeriod(json::getInt(in, "Period").value_or(0), "Period"));
  std::vector<std::string> stat_names = json::stringList(in, "Statistics");
  std::vector<std::string> extended = json::stringList(in, "ExtendedStatistics");
  if (stat_names.empty() && extended.empty())
    return invalidParameterCombination("Must specify either Statistics or ExtendedStatistics.");
  if (!extended.empty())
    return invalidParameterValue(
        fmt::format("berth does not keep the value distributions that percentile statistics need; "
                    "ExtendedStatistics ({}) are not supported.",
                    extended.front()));
  if (stat_names.size() > 5)
    return invalidParameterValue("The collection Statistics must not have a size greater than 5.");
  std::vector<Stat> stats;
  for (const auto& n : stat_names) stats.push_back(*parseStat(n));  // the model's enum
  int64_t first = alignStart(start, period, clock_.epochSeconds());
  int64_t last = static_cast<int64_t>(std::ceil(end));
  int64_t requested = (last - first + period - 1) / period;
  if (requested > kMaxDatapoints)
    return invalidParameterCombination(
        fmt::format("You have requested up to {} datapoints, which exceeds the limit of {}. You may reduce the "
                    "datapoints requested by increasing Period, or decreasing the time range.",
                    withCommas(requested), withCommas(kMaxDatapoints)));
  auto dims = BERTH_TRY(parseDimensions(in, "Dimensions", kMaxDimensions));
  MetricKey key = makeKey(json::stringOr(in, "Namespace"), json::stringOr(in, "MetricName"), std::move(dims));
  std::string unit = json::stringOr(in, "Unit");
  bj::array points;
  const MetricStore::Series* series = metrics_.find(key);
  for (const Point& p : metrics_.query(key, first, last, period, unit)) {
    bj::object dp{{"Timestamp", static_cast<double>(p.start)}};
    for (Stat s : stats) dp[statName(s)] = statValue(p.stats, s);
    dp["Unit"] = series ? series->unit : "None";
    points.push_back(std::move(dp));
  }
  return bj::object{{"Label", key.name}, {"Datapoints", std::move(points)}};
}

Result<bj::value> CloudWatch::getMetricData(const bj::object& in) {
  double start = json::find(in, "StartTime")->to_number<double>();
  double end = json::find(in, "EndTime")->to_number<double>();
  BERTH_TRY(checkTimeRange(start, end));
  const bj::array& queries = *json::getArray(in, "MetricDataQueries");
  if (queries.empty()) return missingParameter("The parameter MetricDataQueries is required.");
  if (queries.size() > kMaxQueries)
    return invalidParameterValue(
        fmt::format("The collection MetricDataQueries must not have a size greater than {}.", kMaxQueries));
  int64_t max_points = json::getInt(in, "MaxDatapoints").value_or(kDefaultMaxDatapoints);
  if (max_points <= 0) return invalidParameterValue("The parameter MaxDatapoints must be greater than 0.");
  bool ascending = json::stringOr(in, "ScanBy", "TimestampDescending") == "TimestampAscending";

  struct Query {
    std::string id;
    std::string label;
    bool return_data = true;
    std::optional<Expression> expression;
    int64_t period = 0;
    TimeSeries series;
    bool done = false;
  };
  std::vector<Query> qs;
  std::map<std::string, size_t, std::less<>> by_id;
  for (size_t i = 0; i < queries.size(); ++i) {
    const bj::object& q = queries[i].as_object();
    std::string at = fmt::format("MetricDataQueries.member.{}", i + 1);
    Query out;
    out.id = json::stringOr(q, "Id");
    if (out.id.empty() || !std::islower(static_cast<unsigned char>(out.id[0])) ||
        !std::all_of(out.id.begin(), out.id.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }))
      return validationError(fmt::format(
          "The value {} for parameter {}.Id is invalid: it must start with a lowercase letter and contain only "
          "letters, numbers and underscores.",
          out.id, at));
    if (by_id.contains(out.id))
      return validationError(
          fmt::format("The values for parameter Id in MetricDataQueries are not unique: {}.", out.id));
    by_id[out.id] = i;
    out.return_data = json::getBool(q, "ReturnData").value_or(true);
    const bj::object* stat = json::getObject(q, "MetricStat");
    std::optional<std::string_view> expr = json::getString(q, "Expression");
    if ((stat != nullptr) == expr.has_value())
      return validationError(fmt::format("Exactly one of {0}.MetricStat and {0}.Expression must be specified.", at));
    if (stat) {
      const bj::object& metric = *json::getObject(*stat, "Metric");
      std::string stat_name = json::stringOr(*stat, "Stat");
      auto s = parseStat(stat_name);
      if (!s)
        return invalidParameterValue(fmt::format(
            "berth supports the statistics SampleCount, Average, Sum, Minimum and Maximum; the Stat {} of {} is not "
            "supported.",
            stat_name, at));
      out.period = BERTH_TRY(checkPeriod(json::getInt(*stat, "Period").value_or(0), at + ".MetricStat.Period"));
      auto dims = BERTH_TRY(parseDimensions(metric, at + ".MetricStat.Metric.Dimensions", kMaxDimensions));
      if (json::stringOr(metric, "Namespace").empty() || json::stringOr(metric, "MetricName").empty())
        return missingParameter(fmt::format("The parameter {}.MetricStat.Metric.MetricName is required.", at));
      MetricKey key =
          makeKey(json::stringOr(metric, "Namespace"), json::stringOr(metric, "MetricName"), std::move(dims));
      out.label = json::stringOr(q, "Label", key.name);
      int64_t first = alignStart(start, out.period, clock_.epochSeconds());
      auto points =
          metrics_.query(key, first, static_cast<int64_t>(std::ceil(end)), out.period, json::stringOr(*stat, "Unit"));
      out.series.timestamps.reserve(points.size());
      out.series.values.reserve(points.size());
      for (const Point& p : points) {
        out.series.timestamps.push_back(p.start);
        out.series.values.push_back(statValue(p.stats, *s));
      }
      out.done = true;
    } else {
      auto parsed = Expression::parse(*expr);
      if (!parsed)
        return validationError(
            fmt::format("The expression of {} ({}) is not valid: {}.", at, *expr, parsed.error().message));
      out.expression = std::move(*parsed);
      out.label = json::stringOr(q, "Label", out.id);
    }
    qs.push_back(std::move(out));
  }
  // Expressions, in dependency order (a cycle or an unknown id is refused).
  std::function<Status(Query&, int)> resolve = [&](Query& q, int depth) -> Status {
    if (q.done) return {};
    if (depth > static_cast<int>(qs.size()))
      return validationError(fmt::format("The expression of {} refers to itself through other queries.", q.id));
    for (const std::string& ref : q.expression->ids()) {
      auto it = by_id.find(ref);
      if (it == by_id.end())
        return validationError(
            fmt::format("The expression of {} refers to {}, which is not the Id of a query.", q.id, ref));
      if (&qs[it->second] == &q) return validationError(fmt::format("The expression of {} refers to itself.", q.id));
      BERTH_TRY(resolve(qs[it->second], depth + 1));
    }
    auto result = q.expression->evaluate(
        [&](std::string_view ref) -> const TimeSeries& { return qs[by_id.find(ref)->second].series; });
    if (result) q.series = std::move(*result);
    q.done = true;
    return {};
  };
  for (auto& q : qs) BERTH_TRY(resolve(q, 0));

  // Pages: the datapoints of the returned queries in order, MaxDatapoints a page.
  int64_t offset = 0;
  if (auto token = json::getString(in, "NextToken")) {
    auto parsed = parseToken(*token);
    if (!parsed) return invalidNextToken("The service cannot process the NextToken: " + std::string(*token) + ".");
    offset = *parsed;
  }
  int64_t position = 0, emitted = 0;
  bool more = false;
  bj::array results;
  for (auto& q : qs) {
    if (!q.return_data) continue;
    auto n = static_cast<int64_t>(q.series.values.size());
    int64_t from = std::clamp<int64_t>(offset - position, 0, n);
    int64_t take = std::min<int64_t>(n - from, max_points - emitted);
    bool earlier = n > 0 ? from >= n : offset > position;  // returned on an earlier page
    position += n;
    if (earlier) continue;
    bj::array ts, vs;
    ts.reserve(static_cast<size_t>(take));
    vs.reserve(static_cast<size_t>(take));
    for (int64_t k = 0; k < take; ++k) {
      size_t idx = ascending ? static_cast<size_t>(from + k) : static_cast<size_t>(n - 1 - (from + k));
      ts.push_back(static_cast<double>(q.series.timestamps[idx]));
      vs.push_back(q.series.values[idx]);
    }
    emitted += take;
    bool partial = from + take < n;
    more = more || partial;
    results.push_back(bj::object{{"Id", q.id},
                                 {"Label", q.label},
                                 {"Timestamps", std::move(ts)},
                                 {"Values", std::move(vs)},
                                 {"StatusCode", partial ? "PartialData" : "Complete"},
                                 {"Messages", bj::array{}}});
    if (emitted >= max_points && partial) break;
  }
  bj::object out{{"MetricDataResults", std::move(results)}, {"Messages", bj::array{}}};
  if (more) out["NextToken"] = makeToken(offset + emitted);
  return out;
}

Result<bj::value> CloudWatch::listMetrics(const bj::object& in) {
  std::optional<std::string_view> ns = json::getString(in, "Namespace");
  std::optional<std::string_view> name = json::getString(in, "MetricName");
  std::vector<std::pair<std::string, std::optional<std::string>>> filters;
  if (const bj::array* f = json::getArray(in, "Dimensions")) {
    if (f->size() > 10) return invalidParameterValue("The collection Dimensions must not have a size greater than 10.");
    for (const auto& v : *f) {
      const bj::object& o = v.as_object();
      auto value = json::getString(o, "Value");
      filters.emplace_back(json::stringOr(o, "Name"), value ? std::optional<std::string>(*value) : std::nullopt);
    }
  }
  bool recent = json::getString(in, "RecentlyActive").has_value();
  WallTime now = clock_.now();
  int64_t offset = 0;
  if (auto token = json::getString(in, "NextToken")) {
    auto parsed = parseToken(*token);
    if (!parsed) return invalidNextToken("The service cannot process the NextToken: " + std::string(*token) + ".");
    offset = *parsed;
  }
  bj::array metrics;
  int64_t index = 0;
  bool more = false;
  for (const auto& [key, series] : metrics_.series()) {
    if (ns && key.ns != *ns) continue;
    if (name && key.name != *name) continue;
    if (series.last_put < now - (recent ? std::chrono::hours(3) : std::chrono::hours(24 * 14))) continue;
    bool match = std::all_of(filters.begin(), filters.end(), [&](const auto& f) {
      return std::any_of(key.dimensions.begin(), key.dimensions.end(),
                         [&](const Dimension& d) { return d.name == f.first && (!f.second || d.value == *f.second); });
    });
    if (!match) continue;
    if (index++ < offset) continue;
    if (metrics.size() == kListMetricsPage) {
      more = true;
      break;
    }
    bj::array dims;
    for (const auto& d : key.dimensions) dims.push_back(bj::object{{"Name", d.name}, {"Value", d.value}});
    metrics.push_back(bj::object{{"Namespace", key.ns}, {"MetricName", key.name}, {"Dimensions", std::move(dims)}});
  }
  bj::object out{{"Metrics", std::move(metrics)}};
  if (more) out["NextToken"] = makeToken(offset + static_cast<int64_t>(kListMetricsPage));
  return out;
}

}  // namespace berth::cloudwatch
