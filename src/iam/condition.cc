#include "iam/condition.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <span>

#include <boost/json.hpp>

namespace berth::iam {
namespace {

struct OperatorName {
  std::string_view name;
  ConditionOp op;
  bool negated;
};

constexpr OperatorName kOperators[] = {
    {"StringEquals", ConditionOp::kStringEquals, false},
    {"StringNotEquals", ConditionOp::kStringEquals, true},
    {"StringEqualsIgnoreCase", ConditionOp::kStringEqualsIgnoreCase, false},
    {"StringNotEqualsIgnoreCase", ConditionOp::kStringEqualsIgnoreCase, true},
    {"StringLike", ConditionOp::kStringLike, false},
    {"StringNotLike", ConditionOp::kStringLike, true},
    {"NumericEquals", ConditionOp::kNumericEquals, false},
    {"NumericNotEquals", ConditionOp::kNumericEquals, true},
    {"NumericLessThan", ConditionOp::kNumericLessThan, false},
    {"NumericLessThanEquals", ConditionOp::kNumericLessThanEquals, false},
    {"NumericGreaterThan", ConditionOp::kNumericGreaterThan, false},
    {"NumericGreaterThanEquals", ConditionOp::kNumericGreaterThanEquals, false},
    {"DateEquals", ConditionOp::kDateEquals, false},
    {"DateNotEquals", ConditionOp::kDateEquals, true},
    {"DateLessThan", ConditionOp::kDateLessThan, false},
    {"DateLessThanEquals", ConditionOp::kDateLessThanEquals, false},
    {"DateGreaterThan", ConditionOp::kDateGreaterThan, false},
    {"DateGreaterThanEquals", ConditionOp::kDateGreaterThanEquals, false},
    {"Bool", ConditionOp::kBool, false},
    {"BinaryEquals", ConditionOp::kBinaryEquals, false},
    {"IpAddress", ConditionOp::kIpAddress, false},
    {"NotIpAddress", ConditionOp::kIpAddress, true},
    {"ArnEquals", ConditionOp::kArnEquals, false},
    {"ArnNotEquals", ConditionOp::kArnEquals, true},
    {"ArnLike", ConditionOp::kArnLike, false},
    {"ArnNotLike", ConditionOp::kArnLike, true},
    {"Null", ConditionOp::kNull, false},
};

constexpr std::string_view kForAllValues = "ForAllValues:";
constexpr std::string_view kForAnyValue = "ForAnyValue:";
constexpr std::string_view kIfExists = "IfExists";

std::unexpected<Error> malformed(std::string reason) {
  return fail(ErrorCode::kInvalidArgument, std::move(reason), "MalformedPolicyDocument");
}
std::unexpected<Error> syntaxError() { return malformed("Syntax errors in policy."); }

// Splits "ForAnyValue:StringLikeIfExists" into its parts; false for an
// operator IAM does not know.
bool parseOperator(std::string_view name, ConditionTest* test) {
  if (name.starts_with(kForAllValues)) {
    test->set = SetQualifier::kForAllValues;
    name.remove_prefix(kForAllValues.size());
  } else if (name.starts_with(kForAnyValue)) {
    test->set = SetQualifier::kForAnyValue;
    name.remove_prefix(kForAnyValue.size());
  }
  if (name.ends_with(kIfExists)) {
    test->if_exists = true;
    name.remove_suffix(kIfExists.size());
  }
  for (const auto& o : kOperators) {
    if (o.name == name) {
      test->op = o.op;
      test->negated = o.negated;
      return true;
    }
  }
  return false;
}

// A JSON scalar as IAM reads it: strings as they are, numbers and booleans
// in their JSON spelling.
std::optional<std::string> scalarText(const boost::json::value& v) {
  if (const auto* s = v.if_string()) return std::string(s->data(), s->size());
  if (const auto* b = v.if_bool()) return std::string(*b ? "true" : "false");
  if (const auto* i = v.if_int64()) return std::to_string(*i);
  if (const auto* u = v.if_uint64()) return std::to_string(*u);
  if (const auto* d = v.if_double()) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, *d);
    return std::string(buf, r.ptr);
  }
  return std::nullopt;
}

bool parseNumber(std::string_view text, double* out) {
  if (text.empty()) return false;
  std::string_view digits = text;
  if (digits.front() == '+' || digits.front() == '-') digits.remove_prefix(1);
  // Plain decimal notation only: from_chars would also take "inf" and "nan".
  bool any_digit = false;
  bool dot = false;
  for (char c : digits) {
    if (c >= '0' && c <= '9') {
      any_digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  if (!any_digit) return false;
  if (text.front() == '+') text.remove_prefix(1);
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

bool parseInt(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc();
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool takeDigits(std::string_view& s, size_t n, int64_t* out) {
  if (s.size() < n) return false;
  if (!parseInt(s.substr(0, n), out)) return false;
  s.remove_prefix(n);
  return true;
}

bool take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

bool parseIso8601(std::string_view s, int64_t* millis) {
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, frac_ms = 0, offset_min = 0;
  if (!takeDigits(s, 4, &year) || !take(s, '-') || !takeDigits(s, 2, &month) || !take(s, '-') ||
      !takeDigits(s, 2, &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (!s.empty()) {
    if (s.front() != 'T' && s.front() != 't') return false;
    s.remove_prefix(1);
    if (!takeDigits(s, 2, &hour) || !take(s, ':') || !takeDigits(s, 2, &minute)) return false;
    if (take(s, ':')) {
      if (!takeDigits(s, 2, &second)) return false;
      if (take(s, '.')) {
        size_t n = 0;
        int64_t scale = 100;
        while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
          frac_ms += (s[n] - '0') * scale;
          scale /= 10;
          ++n;
        }
        if (n == 0 || n > 9) return false;
        s.remove_prefix(n);
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return false;
    if (take(s, 'Z') || take(s, 'z')) {
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
      int sign = s.front() == '-' ? -1 : 1;
      s.remove_prefix(1);
      int64_t oh = 0, om = 0;
      if (!takeDigits(s, 2, &oh)) return false;
      take(s, ':');
      if (!s.empty() && !takeDigits(s, 2, &om)) return false;
      if (oh > 23 || om > 59) return false;
      offset_min = sign * (oh * 60 + om);
    }
  }
  if (!s.empty()) return false;
  int64_t days = daysFromCivil(year, month, day);
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  *millis = seconds * 1000 + frac_ms;
  return true;
}

bool parseAddress(std::string_view text, bool* v6, std::array<uint8_t, 16>* bytes) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  bytes->fill(0);
  if (inet_pton(AF_INET, buf, bytes->data()) == 1) {
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, buf, bytes->data()) == 1) {
    *v6 = true;
    return true;
  }
  return false;
}

bool inRange(const IpRange& range, std::string_view address) {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  // A request value may itself carry a prefix ("10.0.0.1/32"): the address counts.
  address = address.substr(0, address.find('/'));
  if (!parseAddress(address, &v6, &bytes) || v6 != range.v6) return false;
  size_t full = range.prefix / 8;
  if (std::memcmp(bytes.data(), range.bytes.data(), full) != 0) return false;
  int rest = range.prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (bytes[full] & mask) == (range.bytes[full] & mask);
}

// Splits `arn` at its first colons into at most `max` parts, the last one
// keeping the rest (colons included). Returns how many parts it found.
size_t splitArn(std::string_view arn, std::span<std::string_view> parts, size_t max) {
  size_t n = 0;
  while (n + 1 < max) {
    size_t colon = arn.find(':');
    if (colon == std::string_view::npos) break;
    parts[n++] = arn.substr(0, colon);
    arn.remove_prefix(colon + 1);
  }
  parts[n++] = arn;
  return n;
}

// ArnEquals and ArnLike compare each colon-separated part on its own, so a
// `*` never runs into the next part. A policy value with fewer than six
// parts has its last part matched against the rest of the ARN.
bool arnMatches(const ConditionValue& value, std::string_view subject, const RequestContext& request) {
  std::array<std::string_view, 6> parts;
  size_t want = value.arn_parts.size();
  if (splitArn(subject, parts, want) != want) return false;
  for (size_t i = 0; i < want; ++i) {
    if (!value.arn_parts[i].matches(parts[i], false, request)) return false;
  }
  return true;
}

template <typename T>
bool compare(ConditionOp op, T request, T policy) {
  switch (op) {
    case ConditionOp::kNumericEquals:
    case ConditionOp::kDateEquals:
      return request == policy;
    case ConditionOp::kNumericLessThan:
    case ConditionOp::kDateLessThan:
      return request < policy;
    case ConditionOp::kNumericLessThanEquals:
    case ConditionOp::kDateLessThanEquals:
      return request <= policy;
    case ConditionOp::kNumericGreaterThan:
    case ConditionOp::kDateGreaterThan:
      return request > policy;
    case ConditionOp::kNumericGreaterThanEquals:
    case ConditionOp::kDateGreaterThanEquals:
      return request >= policy;
    default:
      return false;
  }
}

bool isNumeric(ConditionOp op) { return op >= ConditionOp::kNumericEquals && op <= ConditionOp::kNumericGreaterThanEquals; }
bool isDate(ConditionOp op) { return op >= ConditionOp::kDateEquals && op <= ConditionOp::kDateGreaterThanEquals; }

// Whether one request value matches any of the test's policy values, in the
// operator's positive sense.
bool anyValueMatches(const ConditionTest& test, std::string_view subject, const RequestContext& request) {
  if (isNumeric(test.op)) {
    double n = 0;
    if (!parseNumber(subject, &n)) return false;
    for (const auto& v : test.values) {
      if (v.parsed && compare(test.op, n, v.number)) return true;
    }
    return false;
  }
  if (isDate(test.op)) {
    int64_t t = 0;
    if (!parseTime(subject, &t)) return false;
    for (const auto& v : test.values) {
      if (v.parsed && compare(test.op, t, v.millis)) return true;
    }
    return false;
  }
  for (const auto& v : test.values) {
    switch (test.op) {
      case ConditionOp::kStringEquals:
      case ConditionOp::kStringLike:
        if (v.pattern.matches(subject, false, request)) return true;
        break;
      case ConditionOp::kStringEqualsIgnoreCase:
        if (v.pattern.matches(subject, true, request)) return true;
        break;
      case ConditionOp::kBool:
        if (equalsIgnoreCase(subject, v.text)) return true;
        break;
      case ConditionOp::kBinaryEquals:
        if (subject == v.text) return true;
        break;
      case ConditionOp::kIpAddress:
        if (v.parsed && inRange(v.range, subject)) return true;
        break;
      case ConditionOp::kArnEquals:
      case ConditionOp::kArnLike:
        if (arnMatches(v, subject, request)) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

bool evaluateTest(const ConditionTest& test, const RequestContext& request) {
  auto values = contextValues(request, test.key);
  if (test.op == ConditionOp::kNull) {
    // "true": the key must be absent; "false": present.
    bool absent = values.empty();
    for (const auto& v : test.values) {
      if (equalsIgnoreCase(v.text, "true") ? absent : (equalsIgnoreCase(v.text, "false") && !absent)) return true;
    }
    return false;
  }
  if (values.empty()) {
    if (test.if_exists) return true;
    if (test.set == SetQualifier::kForAllValues) return true;
    if (test.set == SetQualifier::kForAnyValue) return false;
    return test.negated;
  }
  auto holds = [&](const std::string& v) { return anyValueMatches(test, v, request) != test.negated; };
  switch (test.set) {
    case SetQualifier::kForAllValues:
      for (const auto& v : values) {
        if (!holds(v)) return false;
      }
      return true;
    case SetQualifier::kForAnyValue:
      for (const auto& v : values) {
        if (holds(v)) return true;
      }
      return false;
    case SetQualifier::kNone:
      break;
  }
  // A single-valued key (the usual case); for several values without a
  // qualifier, a positive operator needs one match and a negated one none.
  bool any = false;
  for (const auto& v : values) {
    if (anyValueMatches(test, v, request)) {
      any = true;
      break;
    }
  }
  return any != test.negated;
}

Result<ConditionValue> compileValue(const ConditionTest& test, std::string text, bool variables) {
  ConditionValue v;
  v.text = std::move(text);
  switch (test.op) {
    case ConditionOp::kStringEquals:
      v.pattern = Pattern::compile(v.text, {.wildcards = false, .variables = variables});
      break;
    case ConditionOp::kStringEqualsIgnoreCase:
      v.pattern = Pattern::compile(v.text, {.wildcards = false, .variables = variables, .lower = true});
      break;
    case ConditionOp::kStringLike:
      v.pattern = Pattern::compile(v.text, {.wildcards = true, .variables = variables});
      break;
    case ConditionOp::kArnEquals:
    case ConditionOp::kArnLike: {
      // Both match each of the ARN's six parts separately, with wildcards.
      Pattern::Options o{.wildcards = true, .variables = variables};
      std::array<std::string_view, 6> parts;
      size_t n = splitArn(v.text, parts, parts.size());
      for (size_t i = 0; i < n; ++i) v.arn_parts.push_back(Pattern::compile(parts[i], o));
      break;
    }
    case ConditionOp::kIpAddress:
      v.parsed = parseIpRange(v.text, &v.range);
      break;
    case ConditionOp::kBool:
    case ConditionOp::kBinaryEquals:
    case ConditionOp::kNull:
      break;
    default:
      if (isNumeric(test.op)) {
        v.parsed = parseNumber(v.text, &v.number);
      } else if (isDate(test.op)) {
        v.parsed = parseTime(v.text, &v.millis);
        // IAM's parser refuses a date it cannot read.
        if (!v.parsed) return malformed("The policy failed legacy parsing");
      }
      break;
  }
  return v;
}

}  // namespace

bool parseTime(std::string_view text, int64_t* millis) {
  if (text.empty()) return false;
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && c >= '0' && c <= '9';
  if (all_digits) {
    int64_t seconds = 0;
    if (!parseInt(text, &seconds) || seconds > INT64_MAX / 1000) return false;
    *millis = seconds * 1000;
    return true;
  }
  return parseIso8601(text, millis);
}

bool parseIpRange(std::string_view text, IpRange* range) {
  size_t slash = text.find('/');
  std::string_view address = text.substr(0, slash);
  if (!parseAddress(address, &range->v6, &range->bytes)) return false;
  int max = range->v6 ? 128 : 32;
  int64_t prefix = max;
  if (slash != std::string_view::npos) {
    if (!parseInt(text.substr(slash + 1), &prefix) || prefix > max) return false;
  }
  range->prefix = static_cast<uint8_t>(prefix);
  return true;
}

Result<ConditionBlock> compileConditions(const boost::json::value& condition, bool variables) {
  const auto* operators = condition.if_object();
  if (!operators) return syntaxError();
  ConditionBlock block;
  for (const auto& [op_name, keys_value] : *operators) {
    const auto* keys = keys_value.if_object();
    if (!keys) return syntaxError();
    ConditionTest proto;
    if (!parseOperator(op_name, &proto)) {
      // IAM accepts an unknown operator with nothing under it.
      if (keys->empty()) continue;
      return syntaxError();
    }
    for (const auto& [key, values] : *keys) {
      if (key.find(':') == std::string_view::npos) {
        return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
      }
      ConditionTest test = proto;
      test.key = lowerAscii(key);
      auto add = [&](const boost::json::value& v) -> Status {
        auto text = scalarText(v);
        if (!text) return syntaxError();
        test.values.push_back(BERTH_TRY(compileValue(test, std::move(*text), variables)));
        return {};
      };
      if (const auto* array = values.if_array()) {
        for (const auto& v : *array) BERTH_TRY(add(v));
      } else {
        BERTH_TRY(add(values));
      }
      block.push_back(std::move(test));
    }
  }
  return block;
}

bool evaluateConditions(const ConditionBlock& block, const RequestContext& request) {
  for (const auto& test : block) {
    if (!evaluateTest(test, request)) return false;
  }
  return true;
}

}  // namespace berth::iam
