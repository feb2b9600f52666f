#include "control/cloudwatch/request.h"

#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "common/json.h"
#include "control/cloudwatch/errors.h"

namespace berth::cloudwatch {

Result<std::vector<Dimension>> parseDimensions(const boost::json::object& o, const std::string& at, size_t max,
                                               std::string_view member) {
  std::vector<Dimension> out;
  const boost::json::array* dims = json::getArray(o, member);
  if (!dims) return out;
  if (dims->size() > max)
    return invalidParameterValue(fmt::format("The collection {} must not have a size greater than {}.", at, max));
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < dims->size(); ++i) {
    if (!(*dims)[i].is_object()) continue;
    const boost::json::object& d = (*dims)[i].as_object();
    Dimension dim{json::stringOr(d, "Name"), json::stringOr(d, "Value")};
    if (dim.name.empty())
      return missingParameter(fmt::format("The parameter {}.member.{}.Name is required.", at, i + 1));
    if (dim.value.empty())
      return missingParameter(fmt::format("The parameter {}.member.{}.Value is required.", at, i + 1));
    if (!names.insert(dim.name).second)
      return invalidParameterValue(
          fmt::format("No Metric Dimension Name may be specified more than once: the name {} "
                      "of {}.member.{} is a duplicate.",
                      dim.name, at, i + 1));
    out.push_back(std::move(dim));
  }
  return out;
}

Result<int64_t> checkPeriod(int64_t period, std::string_view name) {
  if (period <= 0 || (period < 60 && period != 1 && period != 5 && period != 10 && period != 30) ||
      (period >= 60 && period % 60 != 0))
    return invalidParameterValue(
        fmt::format("The parameter {} must be 1, 5, 10, 30 (high-resolution metrics) or a multiple of 60.", name));
  return period;
}

int64_t alignStart(double start, int64_t period, double now) {
  auto s = static_cast<int64_t>(std::floor(start));
  double age = now - start;
  int64_t g = period < 60 ? period : age > 63 * 86400.0 ? 3600 : age > 15 * 86400.0 ? 300 : 60;
  return s - ((s % g) + g) % g;
}

std::string withCommas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string makeToken(int64_t offset) { return fmt::format("berth-{}", offset); }

std::optional<int64_t> parseToken(std::string_view token) {
  if (!token.starts_with("berth-")) return std::nullopt;
  token.remove_prefix(6);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc() || end != token.data() + token.size() || v < 0) return std::nullopt;
  return v;
}

std::string javaDouble(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e7) return fmt::format("{:.1f}", v);
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

}  // namespace berth::cloudwatch
