// Metric math for GetMetricData: the arithmetic subset of CloudWatch's
// expressions. Grammar:
//
//   expr   := term (('+' | '-') term)*
//   term   := unary (('*' | '/') unary)*
//   unary  := '-' unary | primary
//   primary:= number | id | '(' expr ')'
//
// where id names another query (^[a-z][a-zA-Z0-9_]*$). Operations between
// two series pair their datapoints by timestamp (a timestamp missing from
// either is left out); between a series and a number they apply to every
// datapoint; a division by zero leaves the datapoint out. Functions
// (SUM, METRICS, SEARCH, IF, ...) are refused with a message that says so.
//
// Parsing is bounded: at most kMaxExpressionLength characters and
// kMaxDepth nested levels. Thread rules: a parsed Expression is immutable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::cloudwatch {

struct TimeSeries {
  std::vector<int64_t> timestamps;  // ascending, epoch seconds
  std::vector<double> values;
};

inline constexpr size_t kMaxExpressionLength = 2048;
inline constexpr int kMaxDepth = 64;

class Expression {
 public:
  // Fails with kInvalidArgument and a message naming the problem.
  static Result<Expression> parse(std::string_view text);

  // The ids the expression refers to, in order of first use.
  const std::vector<std::string>& ids() const { return ids_; }

  // Evaluates with the series of each id from `lookup` (never null for an
  // id in ids()). A constant expression yields nullopt.
  std::optional<TimeSeries> evaluate(const std::function<const TimeSeries&(std::string_view id)>& lookup) const;

  // The parsed tree, children before parents (an implementation detail).
  struct Node {
    enum class Kind { kNumber, kId, kNeg, kAdd, kSub, kMul, kDiv } kind;
    double number = 0;
    std::string id;
    int left = -1, right = -1;
  };

 private:
  friend class ExpressionParser;

  std::vector<Node> nodes_;
  int root_ = -1;
  std::vector<std::string> ids_;
};

}  // namespace berth::cloudwatch
