// Request helpers shared by CloudWatch's operations: dimensions, periods,
// pagination tokens and number formatting as CloudWatch writes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/result.h"
#include "control/cloudwatch/metric_store.h"

namespace berth::cloudwatch {

// The Dimensions member `at` (a Query path, for messages) of `o`: at most
// `max`, names unique.
Result<std::vector<Dimension>> parseDimensions(const boost::json::object& o, const std::string& at, size_t max,
                                               std::string_view member = "Dimensions");

// 1, 5, 10, 30 or a multiple of 60.
Result<int64_t> checkPeriod(int64_t period, std::string_view name);

// The first period's start, rounded down as CloudWatch does by its age at
// `now`: to the period (periods under a minute), the minute (up to 15 days
// old), 5 minutes (up to 63 days) or the hour.
int64_t alignStart(double start, int64_t period, double now);

// 1,440 -> "1,440".
std::string withCommas(int64_t n);

// Pagination tokens: an offset, opaque to clients.
std::string makeToken(int64_t offset);
std::optional<int64_t> parseToken(std::string_view token);

// Java's Double.toString for ordinary magnitudes: 60.0, 72.5.
std::string javaDouble(double v);

}  // namespace berth::cloudwatch
