// CloudWatch's metric data, in memory: series keyed by (namespace, metric
// name, sorted dimensions), each holding per-period statistic sets
// (SampleCount, Sum, Minimum, Maximum) in four tiers, as CloudWatch keeps
// them:
//
//   tier   resolution  kept      fed by
//   0      1 second    3 hours   high-resolution data (StorageResolution 1)
//   1      1 minute    15 days   all data
//   2      5 minutes   63 days   all data (rolled up on arrival)
//   3      1 hour      455 days  all data (rolled up on arrival)
//
// A datum is added to every tier it feeds at once, so there is no roll-up
// job; expire() drops whole buckets past their tier's retention. Buckets are
// 40 bytes; one series published once a minute for its whole retention holds
// 21,600 + 18,144 + 10,920 buckets (about 2 MB), plus 10,800 (430 kB) if it
// is high-resolution. The number of series is capped
// (MetricStoreLimits::max_series), which bounds the memory.
//
// Metric data is not persisted: a restart of berthd starts with no data
// (alarms, which are persisted, go to INSUFFICIENT_DATA or follow their
// TreatMissingData until new data comes).
//
// A query reads the coarsest tier whose resolution divides both the period
// and the start (alignStart() in request.h rounds old starts down to 5
// minutes or an hour, as CloudWatch does), and aggregates its buckets into
// periods: 15 days by 1-minute periods is 21,600 buckets, by hours 360
// (bench/cloudwatch_bench.cc). A period finer than what is kept for its
// start finds nothing, as on CloudWatch.
//
// Unit: a series remembers the unit of its last datum ("None" when none was
// given); a query with a Unit returns nothing when it differs. CloudWatch
// keeps one series per unit; berth keeps one per metric.
//
// Threads: not thread-safe; owned by CloudWatch on the control executor.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace berth::cloudwatch {

struct Dimension {
  std::string name;
  std::string value;
  auto operator<=>(const Dimension&) const = default;
};

// A series' identity. `dimensions` sorted by name (makeKey sorts them).
struct MetricKey {
  std::string ns;
  std::string name;
  std::vector<Dimension> dimensions;
  auto operator<=>(const MetricKey&) const = default;
};

MetricKey makeKey(std::string ns, std::string name, std::vector<Dimension> dimensions);

struct StatisticSet {
  double sample_count = 0;
  double sum = 0;
  double minimum = std::numeric_limits<double>::infinity();
  double maximum = -std::numeric_limits<double>::infinity();

  static StatisticSet of(double value, double count = 1) { return {count, value * count, value, value}; }
  void add(const StatisticSet& o);
  bool empty() const { return sample_count <= 0 && minimum > maximum; }
};

enum class Stat { kSampleCount, kAverage, kSum, kMinimum, kMaximum };
std::optional<Stat> parseStat(std::string_view name);
std::string_view statName(Stat stat);
double statValue(const StatisticSet& s, Stat stat);

// One datum as PutMetricData or berth's own publishers give it (validated).
struct MetricDatum {
  MetricKey key;
  WallTime timestamp;
  StatisticSet values;
  std::string unit;  // empty: None
  bool high_resolution = false;
};

// A period's statistics; `start` in epoch seconds.
struct Point {
  int64_t start = 0;
  StatisticSet stats;
};

struct MetricStoreLimits {
  size_t max_series = 10000;
};

class MetricStore {
 public:
  struct Tier {
    int64_t resolution;  // seconds
    int64_t retention;   // seconds
  };
  static constexpr std::array<Tier, 4> kTiers = {
      {{1, 3 * 3600}, {60, 15 * 86400}, {300, 63 * 86400}, {3600, 455 * 86400}}};

  struct Series {
    std::string unit = "None";
    WallTime last_put{};  // when a datum last arrived (RecentlyActive)
    std::array<std::deque<Point>, kTiers.size()> tiers;
  };

  explicit MetricStore(MetricStoreLimits limits = {}) : limits_(limits) {}

  // Adds one datum. Fails with kResourceExhausted when it would start a
  // series past max_series.
  Status put(const MetricDatum& datum, WallTime now);

  // The statistics of `key` over [start, end) by periods of `period`
  // seconds, starting at `start` (aligned by the caller); periods without
  // data are left out. Ascending by time. Empty when the series is unknown
  // or `unit` is given and differs from the series' unit.
  std::vector<Point> query(const MetricKey& key, int64_t start, int64_t end, int64_t period,
                           std::string_view unit = {}) const;

  const Series* find(const MetricKey& key) const;
  const std::map<MetricKey, Series>& series() const { return series_; }

  // Drops buckets past their tier's retention and series left empty.
  void expire(WallTime now);

 private:
  MetricStoreLimits limits_;
  std::map<MetricKey, Series> series_;
};

int64_t epochSeconds(WallTime t);
WallTime fromEpochSeconds(double seconds);

}  // namespace berth::cloudwatch
