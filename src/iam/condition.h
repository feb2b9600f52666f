// The Condition element of a policy statement, compiled at parse time: each
// operator resolved to an enum with its negation, IfExists suffix and set
// qualifier, keys lower-cased, values pre-parsed (patterns, numbers, times,
// CIDR ranges) so that evaluation parses only the request's values.
//
// Semantics (AWS's "Condition" and "condition operators" pages): every
// operator of a block must hold, every key of an operator must hold, and a
// key holds when any of its policy values matches. Negated operators
// (StringNotEquals, NotIpAddress, ...) hold when no policy value matches.
// A key the request lacks makes a positive operator false and a negated one
// true; ...IfExists makes it true; ForAllValues: holds on a missing key and
// ForAnyValue: does not; Null tests presence alone.
//
// Threads: immutable after compile; evaluate from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "common/result.h"
#include "iam/pattern.h"
#include "iam/policy.h"

namespace berth::iam {

enum class ConditionOp : uint8_t {
  kStringEquals,
  kStringEqualsIgnoreCase,
  kStringLike,
  kNumericEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kBinaryEquals,
  kIpAddress,
  kArnEquals,
  kArnLike,
  kNull,
};

enum class SetQualifier : uint8_t { kNone, kForAllValues, kForAnyValue };

// An address range from a policy's IpAddress value ("10.0.0.0/8",
// "2001:db8::/32", or one address).
struct IpRange {
  bool v6 = false;
  uint8_t prefix = 0;
  std::array<uint8_t, 16> bytes{};
};

struct ConditionValue {
  std::string text;
  Pattern pattern;                  // String* operators
  std::vector<Pattern> arn_parts;   // Arn* operators: up to six colon-separated parts
  double number = 0;                // Numeric*
  int64_t millis = 0;               // Date*: milliseconds since the epoch
  IpRange range;                    // IpAddress
  bool parsed = false;              // number/millis/range hold a value
};

struct ConditionTest {
  ConditionOp op = ConditionOp::kStringEquals;
  bool negated = false;
  bool if_exists = false;
  SetQualifier set = SetQualifier::kNone;
  std::string key;  // lower-cased
  std::vector<ConditionValue> values;
};

using ConditionBlock = std::vector<ConditionTest>;

// Compiles a statement's "Condition" value. `variables`: policy variables
// are substituted in String* and Arn* values (Version 2012-10-17).
Result<ConditionBlock> compileConditions(const boost::json::value& condition, bool variables);

bool evaluateConditions(const ConditionBlock& block, const RequestContext& request);

// Exposed for tests: ISO 8601 ("2026-12-31T23:59:59Z", "2026-12-31",
// fractions, "+02:00" offsets) or epoch seconds, to milliseconds.
bool parseTime(std::string_view text, int64_t* millis);
bool parseIpRange(std::string_view text, IpRange* range);

}  // namespace berth::iam
