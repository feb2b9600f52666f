#include "aws/query_codec.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "aws/shape_validator.h"
#include "common/clock.h"

namespace berth::aws {

namespace bj = boost::json;

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> formDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      int hi = i + 2 < s.size() ? hexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return fail(ErrorCode::kInvalidArgument, "The query string is malformed: bad percent escape",
                    "MalformedQueryString");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string upperFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

// ----------------------------------------------------------------------------
// Request decoding.

class QueryDecoder {
 public:
  QueryDecoder(const ServiceModel& service, const OperationModel& op, const QueryParams& params)
      : service_(service), op_(op), ec2_(service.protocol() == Protocol::kEc2) {
    for (const auto& [k, v] : params) params_[k] = v;  // the last value wins
  }

  Result<bj::object> decode() {
    if (!op_.input) return bj::object{};
    bj::object out = BERTH_TRY(structure(*op_.input, ""));
    return out;
  }

 private:
  using Params = std::map<std::string, std::string, std::less<>>;

  // serialize.py's _get_serialized_name for each protocol.
  std::string serializedName(const MemberModel& m, std::string_view fallback) const {
    if (ec2_) {
      if (!m.query_name.empty()) return m.query_name;
      if (!m.location_name.empty()) return upperFirst(m.location_name);
      return std::string(fallback);
    }
    if (!m.location_name.empty()) return m.location_name;
    return std::string(fallback);
  }

  static std::string join(std::string_view prefix, std::string_view name) {
    if (prefix.empty()) return std::string(name);
    std::string out(prefix);
    out += '.';
    out += name;
    return out;
  }

  bool hasChildren(std::string_view prefix) const {
    std::string p = std::string(prefix) + ".";
    auto it = params_.lower_bound(p);
    return it != params_.end() && it->first.starts_with(p);
  }

  // The sorted indices N of `prefix.N` and `prefix.N.*`.
  std::set<uint64_t> indices(std::string_view prefix) const {
    std::set<uint64_t> out;
    std::string p = std::string(prefix) + ".";
    for (auto it = params_.lower_bound(p); it != params_.end() && it->first.starts_with(p); ++it) {
      std::string_view rest = std::string_view(it->first).substr(p.size());
      size_t dot = rest.find('.');
      std::string_view digits = rest.substr(0, dot);
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty()) out.insert(n);
    }
    return out;
  }

  std::unexpected<Error> badValue(std::string_view key, std::string_view text, std::string_view expected) const {
    Error err{ErrorCode::kInvalidArgument, {}, std::string(validationErrorType(service_, &op_)), 0};
    if (ec2_) {
      err.message = fmt::format("Value ({}) for parameter {} is invalid. Expected {}.", text, key, expected);
    } else {
      err.message = fmt::format("Value '{}' for parameter {} is invalid. Expected {}.", text, key, expected);
    }
    return std::unexpected(std::move(err));
  }

  // The member's value, or nullopt when the request does not carry it.
  Result<std::optional<bj::value>> member(const MemberModel& m, const std::string& key) {
    const ShapeModel& shape = *m.shape;
    switch (shape.type) {
      case ShapeType::kStructure: {
        if (!hasChildren(key)) return std::optional<bj::value>();
        return std::optional<bj::value>(BERTH_TRY(structure(shape, key)));
      }
      case ShapeType::kList:
        return list(m, key);
      case ShapeType::kMap:
        return map(shape, key);
      default: {
        auto it = params_.find(key);
        if (it == params_.end()) return std::optional<bj::value>();
        return std::optional<bj::value>(BERTH_TRY(scalar(shape, key, it->second)));
      }
    }
  }

  Result<bj::object> structure(const ShapeModel& shape, std::string_view prefix) {
    bj::object out;
    for (const MemberModel& m : shape.members) {
      if (!m.location.empty()) continue;  // REST header/uri members: not in a form
      std::string key = join(prefix, serializedName(m, m.name));
      // A flattened list with a named member replaces the last segment
      // (serialize.py, QuerySerializer._serialize_type_list).
      if (!ec2_ && m.shape->type == ShapeType::kList && m.flattened && !m.shape->member.location_name.empty()) {
        key = join(prefix, m.shape->member.location_name);
      }
      auto v = BERTH_TRY(member(m, key));
      if (v) out.emplace(m.name, std::move(*v));
    }
    return out;
  }

  Result<std::optional<bj::value>> list(const MemberModel& m, const std::string& key) {
    const ShapeModel& shape = *m.shape;
    std::string base = key;
    if (!ec2_ && !m.flattened)
      base = join(key, shape.member.location_name.empty() ? "member" : shape.member.location_name);
    std::set<uint64_t> found = indices(base);
    if (found.empty()) {
      // Query sends an empty list as `Name=`.
      auto it = params_.find(key);
      if (it != params_.end() && it->second.empty()) return std::optional<bj::value>(bj::array{});
      return std::optional<bj::value>();
    }
    bj::array out;
    for (uint64_t n : found) {
      std::string element_key = fmt::format("{}.{}", base, n);
      auto v = BERTH_TRY(member(shape.member, element_key));
      if (v) out.push_back(std::move(*v));
    }
    return std::optional<bj::value>(std::move(out));
  }

  Result<std::optional<bj::value>> map(const ShapeModel& shape, const std::string& key) {
    std::string base = shape.flattened ? key : join(key, "entry");
    std::set<uint64_t> found = indices(base);
    if (found.empty()) return std::optional<bj::value>();
    std::string key_name = serializedName(shape.key, "key");
    std::string value_name = serializedName(shape.value, "value");
    bj::object out;
    for (uint64_t n : found) {
      std::string entry = fmt::format("{}.{}", base, n);
      auto k = params_.find(join(entry, key_name));
      if (k == params_.end()) continue;
      auto v = BERTH_TRY(member(shape.value, join(entry, value_name)));
      if (v) out[k->second] = std::move(*v);
    }
    return std::optional<bj::value>(std::move(out));
  }

  Result<bj::value> scalar(const ShapeModel& shape, std::string_view key, const std::string& text) const {
    switch (shape.type) {
      case ShapeType::kString:
      case ShapeType::kBlob:
        return bj::value(text);
      case ShapeType::kBoolean: {
        if (text.size() == 4 && (text == "true" || text == "True" || text == "TRUE")) return bj::value(true);
        if (text.size() == 5 && (text == "false" || text == "False" || text == "FALSE")) return bj::value(false);
        return badValue(key, text, "a boolean");
      }
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        int64_t n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        bool ok = ec == std::errc() && end == text.data() + text.size();
        if (ok && shape.type == ShapeType::kInteger) {
          ok = n >= std::numeric_limits<int32_t>::min() && n <= std::numeric_limits<int32_t>::max();
        }
        if (!ok) return badValue(key, text, shape.type == ShapeType::kInteger ? "an integer" : "a long");
        return bj::value(n);
      }
      case ShapeType::kDouble:
      case ShapeType::kFloat: {
        if (text == "NaN" || text == "Infinity" || text == "-Infinity") return bj::value(text);
        double d = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
        if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(d)) {
          return badValue(key, text, "a number");
        }
        return bj::value(d);
      }
      case ShapeType::kTimestamp: {
        auto t = parseTimestampText(text);
        if (!t) return badValue(key, text, "a timestamp");
        return bj::value(*t);
      }
      default:
        return badValue(key, text, "a scalar");
    }
  }

  const ServiceModel& service_;
  const OperationModel& op_;
  bool ec2_;
  Params params_;
};

// ----------------------------------------------------------------------------
// XML writing.

// Appends `s` as XML character data: markup escaped, invalid UTF-8 and
// characters XML 1.0 forbids replaced by U+FFFD, CR kept as a reference so
// that parsers do not normalise it away.
void appendEscaped(std::string& out, std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        case '\r':
          out += "&#13;";
          break;
        case '\t':
        case '\n':
          out += static_cast<char>(c);
          break;
        default:
          if (c < 0x20) {
            out += kReplacement;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Multi-byte UTF-8: check the sequence.
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool valid = len != 0 && i + len <= s.size();
    uint32_t cp = 0;
    if (valid) {
      cp = c & (0x7F >> len);
      for (size_t k = 1; k < len; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
          valid = false;
          break;
        }
        cp = (cp << 6) | (cc & 0x3F);
      }
    }
    if (valid) {
      static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
      valid =
          cp >= kMinForLength[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE && cp != 0xFFFF;
    }
    if (valid) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
}

std::string formatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", d);
}

std::string timestampText(const bj::value& v, TimestampFormat format) {
  if (v.is_string()) return std::string(v.get_string());
  if (!v.is_number()) return {};
  double secs = v.to_number<double>();
  if (format == TimestampFormat::kUnixTimestamp) return formatDouble(secs);
  if (!std::isfinite(secs) || std::fabs(secs) > 1e13) return formatDouble(secs);
  auto micros = std::chrono::microseconds(static_cast<int64_t>(std::llround(secs * 1e6)));
  return toIso8601(WallTime(micros));
}

class XmlWriter {
 public:
  explicit XmlWriter(std::string& out) : out_(out) {}

  void open(std::string_view name, std::string_view xmlns = {}) {
    out_ += '<';
    out_ += name;
    if (!xmlns.empty()) {
      out_ += " xmlns=\"";
      appendEscaped(out_, xmlns);
      out_ += '"';
    }
    out_ += '>';
  }
  void close(std::string_view name) {
    out_ += "</";
    out_ += name;
    out_ += '>';
  }
  void text(std::string_view s) { appendEscaped(out_, s); }
  void element(std::string_view name, std::string_view s) {
    open(name);
    text(s);
    close(name);
  }

  // The members of `shape` present in `v`, in model order.
  void members(const ShapeModel& shape, const bj::value& v) {
    if (!v.is_object()) return;
    const bj::object& obj = v.get_object();
    for (const MemberModel& m : shape.members) {
      if (m.xml_attribute || !m.location.empty()) continue;
      const bj::value* item = obj.if_contains(m.name);
      if (!item || item->is_null()) continue;
      member(m, *item);
    }
  }

 private:
  // botocore's _member_key_name: a flattened list with a named member uses
  // that name for its elements.
  static std::string elementName(const MemberModel& m) {
    if (m.shape->type == ShapeType::kList && m.flattened && !m.shape->member.location_name.empty()) {
      return m.shape->member.location_name;
    }
    return m.location_name.empty() ? m.name : m.location_name;
  }

  void member(const MemberModel& m, const bj::value& v) {
    std::string name = elementName(m);
    const ShapeModel& shape = *m.shape;
    if (shape.type == ShapeType::kList && m.flattened) {
      if (!v.is_array()) return;
      for (const bj::value& item : v.get_array()) {
        if (item.is_null()) continue;
        value(name, shape.member, item, m.xml_namespace);
      }
      return;
    }
    if (shape.type == ShapeType::kMap && m.flattened) {
      if (!v.is_object()) return;
      for (const auto& [k, item] : v.get_object()) {
        open(name, m.xml_namespace);
        element(shape.key.location_name.empty() ? "key" : shape.key.location_name, k);
        value(shape.value.location_name.empty() ? "value" : shape.value.location_name, shape.value, item, {});
        close(name);
      }
      return;
    }
    value(name, m, v, m.xml_namespace);
  }

  // `<name>` holding `v` as the shape of `ref`.
  void value(std::string_view name, const MemberModel& ref, const bj::value& v, std::string_view xmlns) {
    const ShapeModel& shape = *ref.shape;
    open(name, xmlns);
    switch (shape.type) {
      case ShapeType::kStructure:
        members(shape, v);
        break;
      case ShapeType::kList: {
        if (!v.is_array()) break;
        std::string item_name = shape.member.location_name.empty() ? "member" : shape.member.location_name;
        for (const bj::value& item : v.get_array()) {
          if (item.is_null()) continue;
          value(item_name, shape.member, item, {});
        }
        break;
      }
      case ShapeType::kMap: {
        if (!v.is_object()) break;
        std::string key_name = shape.key.location_name.empty() ? "key" : shape.key.location_name;
        std::string value_name = shape.value.location_name.empty() ? "value" : shape.value.location_name;
        for (const auto& [k, item] : v.get_object()) {
          open("entry");
          element(key_name, k);
          if (!item.is_null()) value(value_name, shape.value, item, {});
          close("entry");
        }
        break;
      }
      default:
        text(scalarText(ref, v));
        break;
    }
    close(name);
  }

  static std::string scalarText(const MemberModel& ref, const bj::value& v) {
    const ShapeModel& shape = *ref.shape;
    switch (shape.type) {
      case ShapeType::kTimestamp:
        return timestampText(v, ref.timestamp_format);
      case ShapeType::kInteger:
      case ShapeType::kLong:
        if (v.is_double()) return fmt::format("{}", static_cast<int64_t>(std::trunc(v.get_double())));
        break;
      case ShapeType::kDouble:
      case ShapeType::kFloat:
        if (v.is_number()) return formatDouble(v.to_number<double>());
        break;
      default:
        break;
    }
    switch (v.kind()) {
      case bj::kind::string:
        return std::string(v.get_string());
      case bj::kind::bool_:
        return v.get_bool() ? "true" : "false";
      case bj::kind::int64:
        return std::to_string(v.get_int64());
      case bj::kind::uint64:
        return std::to_string(v.get_uint64());
      case bj::kind::double_:
        return formatDouble(v.get_double());
      default:
        return bj::serialize(v);
    }
  }

  std::string& out_;
};

}  // namespace

Result<QueryParams> parseFormUrlEncoded(std::string_view text) {
  QueryParams out;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name = BERTH_TRY(formDecode(pair.substr(0, eq)));
    std::string value = eq == std::string_view::npos ? std::string() : BERTH_TRY(formDecode(pair.substr(eq + 1)));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

Result<bj::object> decodeQueryInput(const ServiceModel& service, const OperationModel& op, const QueryParams& params) {
  QueryDecoder decoder(service, op, params);
  bj::object input = BERTH_TRY(decoder.decode());
  BERTH_TRY(validateInput(service, op, input));
  return input;
}

std::string encodeQueryOutput(const ServiceModel& service, const OperationModel& op, const bj::value& output,
                              std::string_view request_id) {
  std::string out;
  out.reserve(512);
  XmlWriter xml(out);
  std::string response = op.name + "Response";
  if (service.protocol() == Protocol::kEc2) {
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    xml.open(response, service.xmlNamespace());
    xml.element("requestId", request_id);
    if (op.output) xml.members(*op.output, output);
    xml.close(response);
    return out;
  }
  xml.open(response, service.xmlNamespace());
  if (op.output) {
    if (op.result_wrapper.empty()) {
      xml.members(*op.output, output);
    } else {
      xml.open(op.result_wrapper);
      xml.members(*op.output, output);
      xml.close(op.result_wrapper);
    }
  }
  xml.open("ResponseMetadata");
  xml.element("RequestId", request_id);
  xml.close("ResponseMetadata");
  xml.close(response);
  return out;
}

std::string encodeQueryError(const ServiceModel& service, std::string_view code, std::string_view message,
                             bool server_fault, std::string_view request_id) {
  std::string out;
  XmlWriter xml(out);
  if (service.protocol() == Protocol::kEc2) {
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    xml.open("Response");
    xml.open("Errors");
    xml.open("Error");
    xml.element("Code", code);
    xml.element("Message", message);
    xml.close("Error");
    xml.close("Errors");
    xml.element("RequestID", request_id);
    xml.close("Response");
    return out;
  }
  xml.open("ErrorResponse", service.xmlNamespace());
  xml.open("Error");
  xml.element("Type", server_fault ? "Receiver" : "Sender");
  xml.element("Code", code);
  xml.element("Message", message);
  xml.close("Error");
  xml.element("RequestId", request_id);
  xml.close("ErrorResponse");
  return out;
}

std::string encodeQueryError(const ServiceModel& service, const Error& error, std::string_view request_id) {
  bool server_fault = error.code == ErrorCode::kInternal || error.code == ErrorCode::kIo;
  std::string code = error.aws_type;
  if (code.empty()) {
    code = error.code == ErrorCode::kInvalidArgument ? std::string(validationErrorType(service, nullptr))
                                                     : std::string("InternalFailure");
    if (error.code != ErrorCode::kInvalidArgument) server_fault = true;
  }
  return encodeQueryError(service, code, error.message, server_fault, request_id);
}

}  // namespace berth::aws
