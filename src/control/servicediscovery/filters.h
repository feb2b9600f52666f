// Helpers shared by the Cloud Map sources: the List* filters
// ({Name, Values, Condition}), ids and names.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "common/random.h"
#include "control/servicediscovery/errors.h"

namespace berth::servicediscovery {

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The id an Id parameter names: Cloud Map accepts the ARN too.
inline std::string_view idOf(std::string_view id_or_arn) {
  if (!id_or_arn.starts_with("arn:")) return id_or_arn;
  auto slash = id_or_arn.rfind('/');
  return slash == std::string_view::npos ? id_or_arn : id_or_arn.substr(slash + 1);
}

// `n` random characters from [a-z0-9] (namespace, service and operation ids).
inline std::string randomLower(size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(kAlphabet[randomBelow(36)]);
  return out;
}
inline std::string randomLower16() { return randomLower(16); }

struct Filter {
  std::string name;
  std::vector<std::string> values;
  std::string condition = "EQ";

  bool matches(std::string_view v) const {
    if (condition == "BEGINS_WITH") return !values.empty() && v.starts_with(values[0]);
    if (condition == "EQ") return !values.empty() && v == values[0];
    if (condition == "IN") return std::find(values.begin(), values.end(), v) != values.end();
    return false;
  }
  // UPDATE_DATE: BETWEEN two epoch-second values (EQ: the exact second).
  bool between(double at) const {
    auto num = [](const std::string& s) { return std::strtod(s.c_str(), nullptr); };
    if (condition == "BETWEEN") return values.size() == 2 && at >= num(values[0]) && at <= num(values[1]);
    return !values.empty() && static_cast<int64_t>(at) == static_cast<int64_t>(num(values[0]));
  }
};

// Reads `Filters`; each filter's name must be one of `names` (the model
// enforces the enum; this checks the conditions each name supports).
inline Result<std::vector<Filter>> parseFilters(const boost::json::object& in,
                                                std::initializer_list<std::string_view> names) {
  std::vector<Filter> out;
  const boost::json::array* filters = json::getArray(in, "Filters");
  if (!filters) return out;
  for (const auto& v : *filters) {
    if (!v.is_object()) continue;
    const auto& o = v.as_object();
    Filter f;
    f.name = json::stringOr(o, "Name");
    f.values = json::stringList(o, "Values");
    f.condition = json::stringOr(o, "Condition", f.name == "UPDATE_DATE" ? "BETWEEN" : "EQ");
    if (std::find(names.begin(), names.end(), f.name) == names.end())
      return invalidInput(fmt::format("Filter name {} is not supported here.", f.name));
    bool text = f.name == "NAME" || f.name == "HTTP_NAME";
    bool ok = f.condition == "EQ" || (f.condition == "IN" && !text && f.name != "UPDATE_DATE") ||
              (f.condition == "BEGINS_WITH" && text) || (f.condition == "BETWEEN" && f.name == "UPDATE_DATE");
    if (!ok) return invalidInput(fmt::format("Condition {} is not supported for filter {}.", f.condition, f.name));
    if ((f.condition == "EQ" || f.condition == "BEGINS_WITH") && f.values.size() != 1)
      return invalidInput(fmt::format("Condition {} takes exactly one value.", f.condition));
    if (f.condition == "BETWEEN" && f.values.size() != 2)
      return invalidInput("Condition BETWEEN takes exactly two values.");
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace berth::servicediscovery
