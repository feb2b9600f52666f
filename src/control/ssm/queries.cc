// Reading parameters: GetParameter(s), GetParametersByPath,
// DescribeParameters, GetParameterHistory.
#include <algorithm>

#include <fmt/format.h>

#include "common/json.h"
#include "control/ssm/errors.h"
#include "control/ssm/ssm.h"

namespace berth::ssm {
namespace {

struct StringFilter {
  std::string key;     // Name, Type, KeyId, Path, Label, Tier, DataType, tag:<key>
  std::string option;  // Equals, BeginsWith, Contains, Recursive, OneLevel
  std::vector<std::string> values;
};

std::unexpected<Error> invalidFilterKey(std::string message) {
  return typed(ErrorCode::kInvalidArgument, "InvalidFilterKey", std::move(message));
}
std::unexpected<Error> invalidFilterOption(std::string message) {
  return typed(ErrorCode::kInvalidArgument, "InvalidFilterOption", std::move(message));
}

Result<std::vector<StringFilter>> parseFilters(const bj::object& in, std::initializer_list<std::string_view> allowed) {
  std::vector<StringFilter> out;
  const bj::array* filters = json::getArray(in, "ParameterFilters");
  if (!filters) return out;
  for (const auto& f : *filters) {
    if (!f.is_object()) continue;
    StringFilter s;
    s.key = json::stringOr(f.as_object(), "Key");
    s.values = json::stringList(f.as_object(), "Values");
    bool tag = s.key.starts_with("tag:");
    if (!tag && std::find(allowed.begin(), allowed.end(), s.key) == allowed.end()) {
      std::string valid;
      for (auto a : allowed) valid += (valid.empty() ? "" : ", ") + std::string(a);
      return invalidFilterKey(
          fmt::format("The following filter key is not valid: {}. Valid filter keys include: [{}].", s.key, valid));
    }
    std::string def = s.key == "Path" ? "OneLevel" : "Equals";
    s.option = json::stringOr(f.as_object(), "Option", def);
    bool ok = s.key == "Path"   ? (s.option == "OneLevel" || s.option == "Recursive")
              : s.key == "Name" ? (s.option == "Equals" || s.option == "BeginsWith" || s.option == "Contains")
              : tag             ? (s.option == "Equals")
                                : (s.option == "Equals" || (s.key != "Label" && s.option == "BeginsWith"));
    if (!ok)
      return invalidFilterOption(fmt::format("The following filter option is not valid: {}. Valid options include: "
                                             "[Recursive, OneLevel] for Path and [Equals, BeginsWith] otherwise.",
                                             s.option));
    if (s.values.empty() && !tag)
      return typed(ErrorCode::kInvalidArgument, "InvalidFilterValue",
                   fmt::format("The filter {} needs at least one value.", s.key));
    out.push_back(std::move(s));
  }
  return out;
}

bool matchText(const StringFilter& f, std::string_view v) {
  return std::any_of(f.values.begin(), f.values.end(), [&](const std::string& want) {
    if (f.option == "BeginsWith") return v.starts_with(want);
    if (f.option == "Contains") return v.find(want) != std::string_view::npos;
    return v == want;
  });
}

// Whether `name` lies under `path` ("/a" or "/a/"; "/" is the root):
// directly, or at any depth when recursive.
bool underPath(std::string_view name, std::string path, bool recursive) {
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  std::string prefix = path == "/" ? "/" : path + "/";
  if (!name.starts_with(prefix) || name.size() == prefix.size()) return false;
  return recursive || name.substr(prefix.size()).find('/') == std::string_view::npos;
}

bool hasLabel(const bj::object& v, std::string_view label) {
  if (const auto* labels = json::getArray(v, "Labels"))
    for (const auto& l : *labels)
      if (l.is_string() && l.get_string() == label) return true;
  return false;
}

}  // namespace

Result<bj::value> Ssm::getParameter(const bj::object& in, const iam::Caller& caller) {
  Selected s = BERTH_TRY(select(json::stringOr(in, "Name")));
  auto it = params_.find(s.name);
  if (it == params_.end()) return parameterNotFound();
  const bj::object* v = BERTH_TRY(pick(it->second, s));
  bool decrypt = json::getBool(in, "WithDecryption").value_or(false);
  return bj::object{{"Parameter", BERTH_TRY(parameterView(*v, s.selector, decrypt, caller))}};
}

Result<bj::value> Ssm::getParameters(const bj::object& in, const iam::Caller& caller) {
  bool decrypt = json::getBool(in, "WithDecryption").value_or(false);
  bj::array found, invalid;
  std::vector<std::string> names = json::stringList(in, "Names");
  if (names.size() > 10)
    return validation(fmt::format("1 validation error detected: Value at 'names' failed to satisfy constraint: Member "
                                  "must have length less than or equal to 10"));
  for (const auto& requested : names) {
    auto s = select(requested);
    auto it = s ? params_.find(s->name) : params_.end();
    if (it == params_.end()) {
      invalid.push_back(bj::string(requested));
      continue;
    }
    auto v = pick(it->second, *s);
    if (!v) {
      invalid.push_back(bj::string(requested));
      continue;
    }
    found.push_back(BERTH_TRY(parameterView(**v, s->selector, decrypt, caller)));
  }
  bj::object out{{"Parameters", std::move(found)}};
  if (!invalid.empty()) out["InvalidParameters"] = std::move(invalid);  // the model's list holds at least one
  return out;
}

Result<bj::value> Ssm::getParametersByPath(const bj::object& in, const iam::Caller& caller) {
  std::string path = json::stringOr(in, "Path");
  if (!path.starts_with('/'))
    return validation(fmt::format("The parameter doesn't meet the parameter name requirements. The parameter name must "
                                  "begin with a forward slash \"/\". ({})",
                                  path));
  bool recursive = json::getBool(in, "Recursive").value_or(false);
  bool decrypt = json::getBool(in, "WithDecryption").value_or(false);
  std::vector<StringFilter> filters = BERTH_TRY(parseFilters(in, {"Type", "KeyId", "Label"}));
  int64_t max = json::getInt(in, "MaxResults").value_or(10);
  std::string after;
  if (auto token = json::getString(in, "NextToken")) {
    auto decoded = kms::base64Decode(*token);
    if (!decoded || !decoded->starts_with("ssm-path:")) return invalidNextToken();
    after = decoded->substr(9);
  }
  bj::array out;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? params_.begin() : params_.upper_bound(after); it != params_.end(); ++it) {
    if (!underPath(it->first, path, recursive)) continue;
    const bj::object* v = &it->second.versions.back();
    bool keep = true;
    for (const auto& f : filters) {
      if (f.key == "Type") keep = keep && matchText(f, json::stringOr(*v, "Type"));
      else if (f.key == "KeyId") keep = keep && matchText(f, json::stringOr(*v, "KeyId"));
      else if (f.key == "Label") {
        const bj::object* labeled = nullptr;
        for (const auto& x : it->second.versions)
          for (const auto& want : f.values)
            if (hasLabel(x, want)) labeled = &x;
        keep = keep && labeled;
        if (labeled) v = labeled;
      } else if (f.key.starts_with("tag:")) {
        std::string tag = f.key.substr(4);
        bool tagged = std::any_of(it->second.tags.begin(), it->second.tags.end(), [&](const bj::value& t) {
          return json::stringOr(t.as_object(), "Key") == tag &&
                 (f.values.empty() || matchText(f, json::stringOr(t.as_object(), "Value")));
        });
        keep = keep && tagged;
      }
    }
    if (!keep) continue;
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    out.push_back(BERTH_TRY(parameterView(*v, "", decrypt, caller)));
    last = it->first;
  }
  bj::object result{{"Parameters", std::move(out)}};
  if (more) result["NextToken"] = kms::base64Encode("ssm-path:" + last);
  return result;
}

Result<bj::value> Ssm::describeParameters(const bj::object& in, const iam::Caller&) {
  std::vector<StringFilter> filters =
      BERTH_TRY(parseFilters(in, {"Name", "Type", "KeyId", "Path", "Label", "Tier", "DataType"}));
  // The older Filters: {Key: Name|Type|KeyId, Values}; Name matches prefixes.
  if (const auto* old = json::getArray(in, "Filters")) {
    if (json::getArray(in, "ParameterFilters"))
      return validation("You can use either Filters or ParameterFilters in a single request, but not both.");
    for (const auto& f : *old) {
      if (!f.is_object()) continue;
      StringFilter s{json::stringOr(f.as_object(), "Key"), "Equals", json::stringList(f.as_object(), "Values")};
      if (s.key == "Name") s.option = "BeginsWith";
      filters.push_back(std::move(s));
    }
  }
  int64_t max = json::getInt(in, "MaxResults").value_or(50);
  std::string after;
  if (auto token = json::getString(in, "NextToken")) {
    auto decoded = kms::base64Decode(*token);
    if (!decoded || !decoded->starts_with("ssm-describe:")) return invalidNextToken();
    after = decoded->substr(13);
  }
  bj::array out;
  std::string last;
  bool more = false;
  for (auto it = after.empty() ? params_.begin() : params_.upper_bound(after); it != params_.end(); ++it) {
    const bj::object& v = it->second.versions.back();
    bool keep = std::all_of(filters.begin(), filters.end(), [&](const StringFilter& f) {
      if (f.key == "Name") {
        // Names match with or without their leading slash.
        std::string_view n = it->first;
        return matchText(f, n) || (n.starts_with('/') && matchText(f, n.substr(1)));
      }
      if (f.key == "Path")
        return std::any_of(f.values.begin(), f.values.end(), [&](const std::string& p) {
          return underPath(it->first, p, f.option == "Recursive");
        });
      if (f.key == "Label")
        return std::any_of(it->second.versions.begin(), it->second.versions.end(), [&](const bj::object& x) {
          return std::any_of(f.values.begin(), f.values.end(), [&](const std::string& l) { return hasLabel(x, l); });
        });
      if (f.key.starts_with("tag:")) {
        std::string tag = f.key.substr(4);
        return std::any_of(it->second.tags.begin(), it->second.tags.end(), [&](const bj::value& t) {
          return json::stringOr(t.as_object(), "Key") == tag &&
                 (f.values.empty() || matchText(f, json::stringOr(t.as_object(), "Value")));
        });
      }
      std::string fallback = f.key == "DataType" ? "text" : f.key == "Tier" ? "Standard" : "";
      return matchText(f, json::stringOr(v, f.key, fallback));
    });
    if (!keep) continue;
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    bj::object meta{{"Name", it->first},
                    {"ARN", arn(it->first)},
                    {"Type", json::stringOr(v, "Type")},
                    {"LastModifiedDate", v.contains("LastModifiedDate") ? v.at("LastModifiedDate") : bj::value(0)},
                    {"LastModifiedUser", json::stringOr(v, "LastModifiedUser")},
                    {"Version", json::getInt(v, "Version").value_or(1)},
                    {"Tier", json::stringOr(v, "Tier", "Standard")},
                    {"Policies", json::getArray(v, "Policies") ? *json::getArray(v, "Policies") : bj::array{}},
                    {"DataType", json::stringOr(v, "DataType", "text")}};
    for (std::string_view member : {"KeyId", "Description", "AllowedPattern"})
      if (auto s = json::getString(v, member)) meta[member] = *s;
    out.push_back(std::move(meta));
    last = it->first;
  }
  bj::object result{{"Parameters", std::move(out)}};
  if (more) result["NextToken"] = kms::base64Encode("ssm-describe:" + last);
  return result;
}

Result<bj::value> Ssm::getParameterHistory(const bj::object& in, const iam::Caller& caller) {
  Selected s = BERTH_TRY(select(json::stringOr(in, "Name")));
  auto it = params_.find(s.name);
  if (it == params_.end() || !s.selector.empty()) return parameterNotFound();
  bool decrypt = json::getBool(in, "WithDecryption").value_or(false);
  int64_t max = json::getInt(in, "MaxResults").value_or(50);
  int64_t after = 0;
  if (auto token = json::getString(in, "NextToken")) {
    auto decoded = kms::base64Decode(*token);
    if (!decoded || !decoded->starts_with("ssm-history:")) return invalidNextToken();
    try {
      after = std::stoll(decoded->substr(12));
    } catch (...) {
      return invalidNextToken();
    }
  }
  bj::array out;
  int64_t last = 0;
  bool more = false;
  for (const auto& v : it->second.versions) {
    int64_t version = json::getInt(v, "Version").value_or(0);
    if (version <= after) continue;
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    bj::object h = v;
    if (const auto* labels = json::getArray(h, "Labels"); labels && labels->empty()) h.erase("Labels");
    if (decrypt && json::stringOr(v, "Type") == "SecureString") h["Value"] = BERTH_TRY(decryptValue(v, caller));
    out.push_back(std::move(h));
    last = version;
  }
  bj::object result{{"Parameters", std::move(out)}};
  if (more) result["NextToken"] = kms::base64Encode("ssm-history:" + std::to_string(last));
  return result;
}

}  // namespace berth::ssm
