#include "aws/shape_validator.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

namespace berth::aws {

namespace bj = boost::json;

namespace {

constexpr std::string_view kSerializationException = "SerializationException";

// How a service words its validation errors (docs/protocols.md).
enum class MessageStyle {
  kCoral,  // "1 validation error detected: Value null at 'x' failed to satisfy constraint: ..."
  kEcs,    // "Family can not be blank." for missing members, else Coral's
  kEcr,    // "Invalid parameter at 'x' failed to satisfy constraint: 'must ...'"
  kEc2,    // MissingParameter / InvalidParameterValue
};

struct InputRules {
  std::string_view validation_type;
  MessageStyle style = MessageStyle::kCoral;
  bool ecs_conversion_wording = false;  // "STRING_VALUE cannot be converted to Integer"
};

InputRules rulesFor(const ServiceModel& service, const OperationModel* op) {
  std::string_view id = service.id();
  if (id == "ecs") {
    InputRules rules{"InvalidParameterException", MessageStyle::kEcs, true};
    // Task definition checks answer ClientException ("Family can not be
    // blank.", "Container list cannot be empty.").
    if (op && op->name == "RegisterTaskDefinition") rules.validation_type = "ClientException";
    return rules;
  }
  if (id == "logs") return {"InvalidParameterException", MessageStyle::kCoral};
  if (id == "ecr") return {"InvalidParameterException", MessageStyle::kEcr};
  if (id == "servicediscovery") return {"InvalidInput", MessageStyle::kCoral};
  if (id == "iam" || id == "sts" || id == "monitoring") return {"ValidationError", MessageStyle::kCoral};
  if (id == "ec2") return {"InvalidParameterValue", MessageStyle::kEc2};
  return {"ValidationException", MessageStyle::kCoral};  // ssm, kms, application-autoscaling
}

std::string lowerFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

std::string upperFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::string formatBound(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) {
    return fmt::format("{}", static_cast<long long>(v));
  }
  return fmt::format("{}", v);
}

std::string enumList(const ShapeModel& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.enum_values.size(); ++i) {
    if (i) out += ", ";
    out += shape.enum_values[i];
  }
  out += "]";
  return out;
}

// Unicode code points in UTF-8 text: what Smithy's length trait counts.
size_t codePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool isAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

bool isBase64(std::string_view s) {
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=') {
      ++pad;
      continue;
    }
    if (!alpha || pad) return false;
  }
  if (pad > 2) return false;
  size_t rem = s.size() % 4;
  return pad ? rem == 0 : rem != 1;
}

size_t base64DecodedSize(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  return s.size() * 3 / 4;
}

// ----------------------------------------------------------------------------
// Patterns. botocore's patterns are Java regular expressions; the ones that
// mean the same in ECMAScript on ASCII text are checked, the rest skipped.

std::shared_ptr<const std::regex> compiledPattern(const std::string& pattern) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const std::regex>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(pattern); it != cache.end()) return it->second;
  std::shared_ptr<const std::regex> re;
  // \p{...} classes compile in ECMAScript but mean a literal 'p'; (?i) and
  // possessive quantifiers do not exist there.
  bool translatable = pattern.find("\\p") == std::string::npos && pattern.find("\\P") == std::string::npos &&
                      pattern.find("(?i") == std::string::npos && pattern.find("++") == std::string::npos &&
                      pattern.find("*+") == std::string::npos;
  if (translatable) {
    try {
      re = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error&) {
      re = nullptr;
    }
  }
  cache.emplace(pattern, re);
  return re;
}

// libstdc++'s matcher recurses per character; long values are not matched
// (they usually break a length bound first).
constexpr size_t kMaxPatternInput = 1024;

// Whether `value` violates the shape's pattern; false when it cannot tell.
bool violatesPattern(const ShapeModel& shape, std::string_view value) {
  if (shape.pattern.empty() || value.size() > kMaxPatternInput || !isAscii(value)) return false;
  auto re = compiledPattern(shape.pattern);
  if (!re) return false;
  // Coral matches the whole value (Java's Matcher.matches()).
  return !std::regex_match(value.begin(), value.end(), *re);
}

// ----------------------------------------------------------------------------
// Deserialization: JSON types against shape types, as Coral's JSON reader
// does it. Produces the normalised input.

const char* tokenName(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::string:
      return "STRING_VALUE";
    case bj::kind::bool_:
      return v.get_bool() ? "TRUE_VALUE" : "FALSE_VALUE";
    case bj::kind::null:
      return "NULL_VALUE";
    default:
      return "NUMBER_VALUE";
  }
}

struct JavaType {
  const char* article;
  const char* name;
};

JavaType javaType(ShapeType type) {
  switch (type) {
    case ShapeType::kString:
      return {"a", "String"};
    case ShapeType::kInteger:
      return {"an", "Integer"};
    case ShapeType::kLong:
      return {"a", "Long"};
    case ShapeType::kBoolean:
      return {"a", "Boolean"};
    case ShapeType::kDouble:
      return {"a", "Double"};
    case ShapeType::kFloat:
      return {"a", "Float"};
    case ShapeType::kTimestamp:
      return {"a", "Date"};
    case ShapeType::kBlob:
      return {"a", "ByteBuffer"};
    default:
      return {"a", "Object"};
  }
}

class Deserializer {
 public:
  explicit Deserializer(bool ecs_wording) : ecs_wording_(ecs_wording) {}

  Result<bj::value> value(const ShapeModel& shape, const bj::value& v) {
    if (shape.document) return v;
    switch (shape.type) {
      case ShapeType::kStructure: {
        if (!v.is_object()) return mismatch(shape, v);
        return structure(shape, v.get_object());
      }
      case ShapeType::kList: {
        if (!v.is_array()) return mismatch(shape, v);
        bj::array out;
        out.reserve(v.get_array().size());
        for (const bj::value& item : v.get_array()) {
          if (item.is_null()) {
            out.emplace_back(nullptr);  // the constraint pass reports it
          } else {
            out.push_back(BERTH_TRY(value(*shape.member.shape, item)));
          }
        }
        return out;
      }
      case ShapeType::kMap: {
        if (!v.is_object()) return mismatch(shape, v);
        bj::object out;
        out.reserve(v.get_object().size());
        for (const auto& [k, item] : v.get_object()) {
          if (item.is_null()) {
            out.emplace(k, nullptr);
          } else {
            out.emplace(k, BERTH_TRY(value(*shape.value.shape, item)));
          }
        }
        return out;
      }
      case ShapeType::kString:
        if (!v.is_string()) return mismatch(shape, v);
        return v;
      case ShapeType::kBoolean:
        if (!v.is_bool()) return mismatch(shape, v);
        return v;
      case ShapeType::kInteger:
      case ShapeType::kLong:
        return integer(shape, v);
      case ShapeType::kDouble:
      case ShapeType::kFloat:
        // An overflowing literal (1e999) parses as infinity, which JSON
        // cannot carry back out: refuse it like any unconvertible number.
        if (v.is_number()) {
          double d = v.to_number<double>();
          if (!std::isfinite(d)) return conversion(v, shape.type);
          return bj::value(d);
        }
        // Clients send non-finite floats as these strings.
        if (v.is_string() &&
            (v.get_string() == "NaN" || v.get_string() == "Infinity" || v.get_string() == "-Infinity")) {
          return v;
        }
        return mismatch(shape, v);
      case ShapeType::kTimestamp:
        if (v.is_number()) {
          if (!std::isfinite(v.to_number<double>())) return conversion(v, shape.type);
          return v;
        }
        if (v.is_string()) {
          if (auto t = parseTimestampText(v.get_string())) return bj::value(*t);
        }
        return mismatch(shape, v);
      case ShapeType::kBlob:
        if (!v.is_string()) return mismatch(shape, v);
        if (!isBase64(v.get_string())) return serializationError("Base64 encoded binary data is malformed");
        return v;
    }
    return mismatch(shape, v);
  }

  Result<bj::value> structure(const ShapeModel& shape, const bj::object& in) {
    bj::object out;
    out.reserve(in.size());
    for (const auto& [key, item] : in) {
      const MemberModel* member = shape.findMember(key);
      if (!member || item.is_null()) continue;  // unknown members are ignored; null is absent
      out.emplace(key, BERTH_TRY(value(*member->shape, item)));
    }
    return out;
  }

 private:
  static std::unexpected<Error> serializationError(std::string message) {
    return fail(ErrorCode::kInvalidArgument, std::move(message), std::string(kSerializationException));
  }

  std::unexpected<Error> conversion(const bj::value& v, ShapeType type) const {
    JavaType t = javaType(type);
    if (ecs_wording_) return serializationError(fmt::format("{} cannot be converted to {}", tokenName(v), t.name));
    return serializationError(fmt::format("{} can not be converted to {} {}", tokenName(v), t.article, t.name));
  }

  std::unexpected<Error> mismatch(const ShapeModel& shape, const bj::value& v) const {
    if (v.is_object()) return serializationError("Start of structure or map found where not expected.");
    if (v.is_array()) return serializationError("Start of list found where not expected");
    switch (shape.type) {
      case ShapeType::kStructure:
        return serializationError("Expected null");
      case ShapeType::kList:
        return serializationError("Expected list or null");
      case ShapeType::kMap:
        return serializationError("Expected map or null");
      default:
        return conversion(v, shape.type);
    }
  }

  Result<bj::value> integer(const ShapeModel& shape, const bj::value& v) const {
    const int64_t lo =
        shape.type == ShapeType::kInteger ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
    const int64_t hi =
        shape.type == ShapeType::kInteger ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
    if (v.is_int64()) {
      int64_t n = v.get_int64();
      if (n >= lo && n <= hi) return v;
    } else if (v.is_uint64()) {
      uint64_t n = v.get_uint64();
      if (n <= static_cast<uint64_t>(hi)) return bj::value(static_cast<int64_t>(n));
    } else if (v.is_double()) {
      double d = std::trunc(v.get_double());
      if (std::isfinite(d) && d >= static_cast<double>(lo) && d <= static_cast<double>(hi) && d < 9.2e18 &&
          d > -9.2e18) {
        return bj::value(static_cast<int64_t>(d));
      }
    } else {
      return mismatch(shape, v);
    }
    return conversion(v, shape.type);
  }

  bool ecs_wording_;
};

// ----------------------------------------------------------------------------
// Constraints on the deserialized input.

enum class ViolationKind { kNull, kEmptyList, kMinLength, kMaxLength, kMinValue, kMaxValue, kEnum, kPattern };

struct Violation {
  ViolationKind kind;
  std::string path;         // Coral's: "logEvents.1.member.timestamp"
  std::string member_name;  // the model's member name, when the value is a member
  std::string wire_name;    // EC2: the query parameter name
  std::string value;        // rendered as Coral renders it: "'abc'" or "null"
  std::string constraint;   // "must have length greater than or equal to 1"
};

constexpr size_t kMaxRenderedValue = 1024;

void renderRaw(const bj::value& v, std::string& out) {
  switch (v.kind()) {
    case bj::kind::string:
      out += v.get_string();
      break;
    case bj::kind::null:
      out += "null";
      break;
    case bj::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case bj::kind::int64:
      out += std::to_string(v.get_int64());
      break;
    case bj::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    case bj::kind::double_:
      out += fmt::format("{}", v.get_double());
      break;
    case bj::kind::array: {
      out += '[';
      bool first = true;
      for (const bj::value& item : v.get_array()) {
        if (!first) out += ", ";
        first = false;
        renderRaw(item, out);
        if (out.size() > kMaxRenderedValue) break;
      }
      out += ']';
      break;
    }
    case bj::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.get_object()) {
        if (!first) out += ", ";
        first = false;
        out += k;
        out += '=';
        renderRaw(item, out);
        if (out.size() > kMaxRenderedValue) break;
      }
      out += '}';
      break;
    }
  }
}

std::string renderValue(const bj::value& v) {
  if (v.is_null()) return "null";
  std::string raw;
  renderRaw(v, raw);
  if (raw.size() > kMaxRenderedValue) raw.resize(kMaxRenderedValue);
  return "'" + raw + "'";
}

// EC2's name for a member on the wire (serialize.py, EC2Serializer).
std::string ec2WireName(const MemberModel& m) {
  if (!m.query_name.empty()) return m.query_name;
  if (!m.location_name.empty()) return upperFirst(m.location_name);
  return m.name;
}

class ConstraintChecker {
 public:
  ConstraintChecker(MessageStyle style) : style_(style) {}

  void structure(const ShapeModel& shape, const bj::object& obj, const std::string& path) {
    for (const MemberModel& m : shape.members) {
      if (full()) return;
      std::string child = path.empty() ? lowerFirst(m.name) : path + "." + lowerFirst(m.name);
      const bj::value* v = obj.if_contains(m.name);
      if (!v || v->is_null()) {
        if (m.required) add(ViolationKind::kNull, child, &m, bj::value(nullptr), "must not be null");
        continue;
      }
      if (style_ == MessageStyle::kEcs && m.required && m.shape->type == ShapeType::kList && v->is_array() &&
          v->get_array().empty()) {
        add(ViolationKind::kEmptyList, child, &m, *v, "must not be empty");
        continue;
      }
      value(*m.shape, *v, child, &m);
    }
  }

  void value(const ShapeModel& shape, const bj::value& v, const std::string& path, const MemberModel* member) {
    if (shape.document || full()) return;
    switch (shape.type) {
      case ShapeType::kStructure:
        if (v.is_object()) structure(shape, v.get_object(), path);
        break;
      case ShapeType::kList: {
        if (!v.is_array()) break;
        const bj::array& items = v.get_array();
        length(shape, v, items.size(), path, member);
        for (size_t i = 0; i < items.size() && !full(); ++i) {
          std::string child = fmt::format("{}.{}.member", path, i + 1);
          if (items[i].is_null()) {
            add(ViolationKind::kNull, child, nullptr, items[i], "must not be null");
          } else {
            value(*shape.member.shape, items[i], child, nullptr);
          }
        }
        break;
      }
      case ShapeType::kMap: {
        if (!v.is_object()) break;
        const bj::object& entries = v.get_object();
        length(shape, v, entries.size(), path, member);
        for (const auto& [k, item] : entries) {
          if (full()) break;
          std::string child = path + "." + std::string(k);
          value(*shape.key.shape, bj::value(k), child, nullptr);
          if (item.is_null()) {
            add(ViolationKind::kNull, child, nullptr, item, "must not be null");
          } else {
            value(*shape.value.shape, item, child, nullptr);
          }
        }
        break;
      }
      case ShapeType::kString: {
        if (!v.is_string()) break;
        std::string_view s = v.get_string();
        length(shape, v, codePoints(s), path, member);
        if (violatesPattern(shape, s)) {
          add(ViolationKind::kPattern, path, member, v, "must satisfy regular expression pattern: " + shape.pattern);
        }
        if (!shape.enum_values.empty()) {
          bool known = false;
          for (const std::string& e : shape.enum_values) known = known || e == s;
          if (!known) add(ViolationKind::kEnum, path, member, v, "must satisfy enum value set: " + enumList(shape));
        }
        break;
      }
      case ShapeType::kBlob:
        if (v.is_string()) length(shape, v, base64DecodedSize(v.get_string()), path, member);
        break;
      case ShapeType::kInteger:
      case ShapeType::kLong:
      case ShapeType::kDouble:
      case ShapeType::kFloat: {
        if (!v.is_number()) break;
        double d = v.to_number<double>();
        if (shape.min && d < *shape.min) {
          add(ViolationKind::kMinValue, path, member, v,
              "must have value greater than or equal to " + formatBound(*shape.min));
        }
        if (shape.max && d > *shape.max) {
          add(ViolationKind::kMaxValue, path, member, v,
              "must have value less than or equal to " + formatBound(*shape.max));
        }
        break;
      }
      case ShapeType::kBoolean:
      case ShapeType::kTimestamp:
        break;
    }
  }

  const std::vector<Violation>& violations() const { return violations_; }

 private:
  // Enough to report; a hostile request cannot make the list grow further.
  static constexpr size_t kMaxViolations = 100;

  bool full() const { return violations_.size() >= kMaxViolations; }

  void length(const ShapeModel& shape, const bj::value& v, size_t n, const std::string& path,
              const MemberModel* member) {
    if (shape.min && static_cast<double>(n) < *shape.min) {
      add(ViolationKind::kMinLength, path, member, v,
          "must have length greater than or equal to " + formatBound(*shape.min));
    }
    if (shape.max && static_cast<double>(n) > *shape.max) {
      add(ViolationKind::kMaxLength, path, member, v,
          "must have length less than or equal to " + formatBound(*shape.max));
    }
  }

  void add(ViolationKind kind, const std::string& path, const MemberModel* member, const bj::value& v,
           std::string constraint) {
    Violation out{kind, path, {}, {}, renderValue(v), std::move(constraint)};
    if (member) {
      out.member_name = member->name;
      out.wire_name = ec2WireName(*member);
    }
    violations_.push_back(std::move(out));
  }

  MessageStyle style_;
  std::vector<Violation> violations_;
};

std::string coralLine(const Violation& v) {
  return fmt::format("Value {} at '{}' failed to satisfy constraint: Member {}", v.value, v.path, v.constraint);
}

std::string coralMessage(const std::vector<Violation>& all) {
  std::string out = fmt::format("{} validation error{} detected: ", all.size(), all.size() == 1 ? "" : "s");
  for (size_t i = 0; i < all.size(); ++i) {
    if (i) out += "; ";
    out += coralLine(all[i]);
  }
  return out;
}

Error violationError(const InputRules& rules, const OperationModel* op, const std::vector<Violation>& all) {
  const Violation& first = all.front();
  Error err{ErrorCode::kInvalidArgument, {}, std::string(rules.validation_type), 0};
  switch (rules.style) {
    case MessageStyle::kCoral:
      err.message = coralMessage(all);
      break;
    case MessageStyle::kEcs:
      if (first.kind == ViolationKind::kNull || first.kind == ViolationKind::kEmptyList) {
        bool is_list = first.kind == ViolationKind::kEmptyList;
        if (op && op->name == "RegisterTaskDefinition" && first.path == "containerDefinitions") {
          err.message = "Container list cannot be empty.";
        } else if (is_list) {
          err.message = upperFirst(first.member_name.empty() ? first.path : first.member_name) + " cannot be empty.";
        } else {
          err.message = upperFirst(first.member_name.empty() ? first.path : first.member_name) + " can not be blank.";
        }
      } else {
        err.message = coralMessage(all);
      }
      break;
    case MessageStyle::kEcr:
      err.message =
          fmt::format("Invalid parameter at '{}' failed to satisfy constraint: '{}'", first.path, first.constraint);
      break;
    case MessageStyle::kEc2:
      if (first.kind == ViolationKind::kNull) {
        err.aws_type = "MissingParameter";
        err.message =
            "The request must contain the parameter " + (first.wire_name.empty() ? first.path : first.wire_name);
      } else {
        std::string raw = first.value.size() >= 2 ? first.value.substr(1, first.value.size() - 2) : first.value;
        err.message = fmt::format("Value ({}) for parameter {} is invalid. Parameter {}", raw,
                                  first.wire_name.empty() ? first.path : lowerFirst(first.wire_name), first.constraint);
      }
      break;
  }
  return err;
}

std::string_view trimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// ----------------------------------------------------------------------------
// Output checking: strict, first problem wins.

class OutputChecker {
 public:
  Status value(const ShapeModel& shape, const bj::value& v, std::string& path) {
    if (shape.document) return {};
    if (v.is_null()) return problem(path, "null (omit the member instead)");
    switch (shape.type) {
      case ShapeType::kStructure: {
        if (!v.is_object()) return problem(path, fmt::format("expected structure {}, got {}", shape.name, kindName(v)));
        const bj::object& obj = v.get_object();
        for (const auto& [k, item] : obj) {
          const MemberModel* m = shape.findMember(k);
          if (!m) return problem(join(path, k), fmt::format("not a member of {}", shape.name));
          size_t mark = path.size();
          path = join(path, k);
          BERTH_TRY(value(*m->shape, item, path));
          path.resize(mark);
        }
        size_t set = 0;
        for (const MemberModel& m : shape.members) {
          const bj::value* item = obj.if_contains(m.name);
          if (item) ++set;
          if (m.required && !item) return problem(join(path, m.name), "required member missing");
        }
        if (shape.is_union && set != 1)
          return problem(path, fmt::format("union {} must have exactly one member set", shape.name));
        return {};
      }
      case ShapeType::kList: {
        if (!v.is_array()) return problem(path, fmt::format("expected list, got {}", kindName(v)));
        const bj::array& items = v.get_array();
        BERTH_TRY(length(shape, items.size(), path));
        for (size_t i = 0; i < items.size(); ++i) {
          size_t mark = path.size();
          path += fmt::format("[{}]", i);
          BERTH_TRY(value(*shape.member.shape, items[i], path));
          path.resize(mark);
        }
        return {};
      }
      case ShapeType::kMap: {
        if (!v.is_object()) return problem(path, fmt::format("expected map, got {}", kindName(v)));
        const bj::object& entries = v.get_object();
        BERTH_TRY(length(shape, entries.size(), path));
        for (const auto& [k, item] : entries) {
          size_t mark = path.size();
          path += fmt::format("[\"{}\"]", std::string_view(k));
          BERTH_TRY(value(*shape.key.shape, bj::value(k), path));
          BERTH_TRY(value(*shape.value.shape, item, path));
          path.resize(mark);
        }
        return {};
      }
      case ShapeType::kString: {
        if (!v.is_string()) return problem(path, fmt::format("expected string, got {}", kindName(v)));
        std::string_view s = v.get_string();
        if (!shape.enum_values.empty()) {
          bool known = false;
          for (const std::string& e : shape.enum_values) known = known || e == s;
          if (!known) return problem(path, fmt::format("'{}' is not one of {}", s, enumList(shape)));
        }
        return length(shape, codePoints(s), path);
      }
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        if (!v.is_int64() && !v.is_uint64()) {
          return problem(path,
                         fmt::format("expected {} (a JSON integer), got {}", shapeTypeName(shape.type), kindName(v)));
        }
        if (shape.type == ShapeType::kInteger) {
          bool fits = v.is_int64() ? v.get_int64() >= std::numeric_limits<int32_t>::min() &&
                                         v.get_int64() <= std::numeric_limits<int32_t>::max()
                                   : v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
          if (!fits) return problem(path, "does not fit a 32-bit integer");
        } else if (v.is_uint64() && v.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return problem(path, "does not fit a 64-bit integer");
        }
        return range(shape, v.to_number<double>(), path);
      }
      case ShapeType::kDouble:
      case ShapeType::kFloat:
        if (!v.is_number()) return problem(path, fmt::format("expected number, got {}", kindName(v)));
        // Boost.JSON would write "Infinity"/"NaN", which is not JSON.
        if (!std::isfinite(v.to_number<double>())) return problem(path, "not a finite number");
        return range(shape, v.to_number<double>(), path);
      case ShapeType::kBoolean:
        if (!v.is_bool()) return problem(path, fmt::format("expected boolean, got {}", kindName(v)));
        return {};
      case ShapeType::kTimestamp:
        if (v.is_number()) {
          if (!std::isfinite(v.to_number<double>())) return problem(path, "not a finite number");
          return {};
        }
        if (v.is_string() && parseTimestampText(v.get_string())) return {};
        return problem(path, fmt::format("expected timestamp (epoch seconds), got {}", kindName(v)));
      case ShapeType::kBlob:
        if (!v.is_string()) return problem(path, fmt::format("expected blob (base64 string), got {}", kindName(v)));
        if (!isBase64(v.get_string())) return problem(path, "blob is not base64");
        return length(shape, base64DecodedSize(v.get_string()), path);
    }
    return {};
  }

  std::string what;

 private:
  static std::string join(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
  }

  static const char* kindName(const bj::value& v) {
    switch (v.kind()) {
      case bj::kind::null:
        return "null";
      case bj::kind::bool_:
        return "boolean";
      case bj::kind::int64:
      case bj::kind::uint64:
        return "integer";
      case bj::kind::double_:
        return "double";
      case bj::kind::string:
        return "string";
      case bj::kind::array:
        return "array";
      case bj::kind::object:
        return "object";
    }
    return "unknown";
  }

  Status length(const ShapeModel& shape, size_t n, const std::string& path) {
    if (shape.min && static_cast<double>(n) < *shape.min) {
      return problem(path, fmt::format("length {} is below the minimum {}", n, formatBound(*shape.min)));
    }
    if (shape.max && static_cast<double>(n) > *shape.max) {
      return problem(path, fmt::format("length {} is above the maximum {}", n, formatBound(*shape.max)));
    }
    return {};
  }

  Status range(const ShapeModel& shape, double d, const std::string& path) {
    if (shape.min && d < *shape.min)
      return problem(path, fmt::format("{} is below the minimum {}", d, formatBound(*shape.min)));
    if (shape.max && d > *shape.max)
      return problem(path, fmt::format("{} is above the maximum {}", d, formatBound(*shape.max)));
    return {};
  }

  std::unexpected<Error> problem(const std::string& path, std::string message) const {
    return fail(ErrorCode::kInternal, fmt::format("{}: {}: {}", what, path.empty() ? "(top level)" : path, message));
  }
};

}  // namespace

std::string_view validationErrorType(const ServiceModel& service, const OperationModel* op) {
  return rulesFor(service, op).validation_type;
}

Status validateInput(const ServiceModel& service, const OperationModel& op, const bj::object& input) {
  if (!op.input) return {};
  InputRules rules = rulesFor(service, &op);
  ConstraintChecker checker(rules.style);
  checker.structure(*op.input, input, "");
  if (checker.violations().empty()) return {};
  return std::unexpected(violationError(rules, &op, checker.violations()));
}

Result<bj::object> decodeJsonInput(const ServiceModel& service, const OperationModel& op, std::string_view body) {
  body = trimSpace(body);
  bj::object input;
  if (!body.empty() && body != "null") {
    boost::system::error_code ec;
    bj::value parsed = bj::parse(body, ec);
    if (ec) {
      // Coral answers a body it cannot read with a bare
      // {"__type":"SerializationException"}: no message.
      return fail(ErrorCode::kInvalidArgument, "", std::string(kSerializationException));
    }
    if (!op.input) return input;
    InputRules rules = rulesFor(service, &op);
    Deserializer deserializer(rules.ecs_conversion_wording);
    bj::value decoded = BERTH_TRY(deserializer.value(*op.input, parsed));
    input = std::move(decoded.as_object());
  }
  BERTH_TRY(validateInput(service, op, input));
  return input;
}

Status validateOutputShape(const ShapeModel& shape, const bj::value& value, std::string_view what) {
  OutputChecker checker;
  checker.what = std::string(what);
  std::string path;
  return checker.value(shape, value, path);
}

Status validateOutput(const ServiceModel& service, const OperationModel& op, const bj::value& output) {
  std::string what = fmt::format("{} {} output", service.id(), op.name);
  if (!op.output) {
    if (output.is_null() || (output.is_object() && output.get_object().empty())) return {};
    return fail(ErrorCode::kInternal, what + ": the operation returns nothing, got a value");
  }
  return validateOutputShape(*op.output, output, what);
}

// ----------------------------------------------------------------------------

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::optional<double> parseIso8601(std::string_view s) {
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  size_t pos = 10;
  double fraction = 0;
  int offset_seconds = 0;
  if (pos < s.size()) {
    if ((s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') || !digits(s, pos + 1, 2, hour) || pos + 3 >= s.size() ||
        s[pos + 3] != ':' || !digits(s, pos + 4, 2, minute)) {
      return std::nullopt;
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!digits(s, pos + 1, 2, second)) return std::nullopt;
      pos += 3;
    }
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      size_t start = ++pos;
      double scale = 0.1;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        fraction += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        int oh, om = 0;
        int sign = s[pos] == '-' ? -1 : 1;
        if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
        pos += 3;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (pos < s.size()) {
          if (!digits(s, pos, 2, om)) return std::nullopt;
          pos += 2;
        }
        offset_seconds = sign * (oh * 3600 + om * 60);
      }
    }
    if (pos != s.size()) return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  auto days = std::chrono::sys_days(ymd).time_since_epoch().count();
  double secs = static_cast<double>(days) * 86400.0 + hour * 3600 + minute * 60 + second - offset_seconds;
  return secs + fraction;
}

}  // namespace

std::optional<double> parseTimestampText(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (auto t = parseIso8601(text)) return t;
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace berth::aws
