#include "control/cloudwatch/metric_store.h"

#include <algorithm>
#include <cmath>

namespace berth::cloudwatch {

int64_t epochSeconds(WallTime t) {
  int64_t us = t.time_since_epoch().count();
  return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

WallTime fromEpochSeconds(double seconds) {
  return WallTime(std::chrono::microseconds(static_cast<int64_t>(std::llround(seconds * 1e6))));
}

MetricKey makeKey(std::string ns, std::string name, std::vector<Dimension> dimensions) {
  std::sort(dimensions.begin(), dimensions.end());
  return MetricKey{std::move(ns), std::move(name), std::move(dimensions)};
}

void StatisticSet::add(const StatisticSet& o) {
  sample_count += o.sample_count;
  sum += o.sum;
  minimum = std::min(minimum, o.minimum);
  maximum = std::max(maximum, o.maximum);
}

std::optional<Stat> parseStat(std::string_view name) {
  if (name == "SampleCount") return Stat::kSampleCount;
  if (name == "Average") return Stat::kAverage;
  if (name == "Sum") return Stat::kSum;
  if (name == "Minimum") return Stat::kMinimum;
  if (name == "Maximum") return Stat::kMaximum;
  return std::nullopt;
}

std::string_view statName(Stat stat) {
  switch (stat) {
    case Stat::kSampleCount:
      return "SampleCount";
    case Stat::kAverage:
      return "Average";
    case Stat::kSum:
      return "Sum";
    case Stat::kMinimum:
      return "Minimum";
    case Stat::kMaximum:
      return "Maximum";
  }
  return "Average";
}

double statValue(const StatisticSet& s, Stat stat) {
  switch (stat) {
    case Stat::kSampleCount:
      return s.sample_count;
    case Stat::kAverage:
      return s.sample_count > 0 ? s.sum / s.sample_count : 0;
    case Stat::kSum:
      return s.sum;
    case Stat::kMinimum:
      return s.minimum;
    case Stat::kMaximum:
      return s.maximum;
  }
  return 0;
}

namespace {

int64_t floorTo(int64_t t, int64_t step) {
  int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

void addTo(std::deque<Point>& tier, int64_t start, const StatisticSet& s) {
  if (tier.empty() || tier.back().start < start) {
    tier.push_back(Point{start, s});
    return;
  }
  if (tier.back().start == start) {
    tier.back().stats.add(s);
    return;
  }
  auto it = std::lower_bound(tier.begin(), tier.end(), start, [](const Point& p, int64_t t) { return p.start < t; });
  if (it != tier.end() && it->start == start)
    it->stats.add(s);
  else
    tier.insert(it, Point{start, s});
}

}  // namespace

Status MetricStore::put(const MetricDatum& datum, WallTime now) {
  auto it = series_.find(datum.key);
  if (it == series_.end()) {
    if (series_.size() >= limits_.max_series)
      return fail(ErrorCode::kResourceExhausted,
                  "berth keeps at most " + std::to_string(limits_.max_series) + " metrics.", "LimitExceededFault");
    it = series_.emplace(datum.key, Series{}).first;
  }
  Series& s = it->second;
  s.unit = datum.unit.empty() ? "None" : datum.unit;
  s.last_put = std::max(s.last_put, now);
  int64_t t = epochSeconds(datum.timestamp);
  for (size_t i = datum.high_resolution ? 0 : 1; i < kTiers.size(); ++i)
    addTo(s.tiers[i], floorTo(t, kTiers[i].resolution), datum.values);
  return {};
}

const MetricStore::Series* MetricStore::find(const MetricKey& key) const {
  auto it = series_.find(key);
  return it == series_.end() ? nullptr : &it->second;
}

std::vector<Point> MetricStore::query(const MetricKey& key, int64_t start, int64_t end, int64_t period,
                                      std::string_view unit) const {
  std::vector<Point> out;
  const Series* s = find(key);
  if (!s || period <= 0 || end <= start) return out;
  if (!unit.empty() && unit != s->unit) return out;
  // Every datum is in every tier from its own resolution up, so the
  // coarsest tier whose buckets fit the periods exactly gives the same
  // answer as the finest, from fewer buckets; it also keeps the longest.
  const std::deque<Point>* tier = nullptr;
  int64_t resolution = 0;
  for (size_t i = kTiers.size(); i-- > 0;) {
    int64_t r = kTiers[i].resolution;
    if (period % r != 0 || ((start % r) + r) % r != 0) continue;
    tier = &s->tiers[i];
    resolution = r;
    break;
  }
  if (!tier) return out;
  // Buckets are assigned to the period their start falls in.
  size_t periods = static_cast<size_t>((end - start + period - 1) / period);
  out.reserve(std::min(periods, tier->size()));
  auto it = std::lower_bound(tier->begin(), tier->end(), floorTo(start, resolution),
                             [](const Point& p, int64_t t) { return p.start < t; });
  for (; it != tier->end() && it->start < end; ++it) {
    if (it->start < start) continue;
    int64_t p = start + (it->start - start) / period * period;
    if (out.empty() || out.back().start != p)
      out.push_back(Point{p, it->stats});
    else
      out.back().stats.add(it->stats);
  }
  return out;
}

void MetricStore::expire(WallTime now) {
  int64_t t = epochSeconds(now);
  for (auto it = series_.begin(); it != series_.end();) {
    bool empty = true;
    for (size_t i = 0; i < kTiers.size(); ++i) {
      auto& tier = it->second.tiers[i];
      while (!tier.empty() && tier.front().start + kTiers[i].resolution <= t - kTiers[i].retention) tier.pop_front();
      empty = empty && tier.empty();
    }
    it = empty ? series_.erase(it) : std::next(it);
  }
}

}  // namespace berth::cloudwatch
