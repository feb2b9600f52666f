#include "iam/principal.h"

#include <boost/json.hpp>

#include "iam/pattern.h"

namespace berth::iam {
namespace {

std::unexpected<Error> malformed(std::string reason) {
  return fail(ErrorCode::kInvalidArgument, std::move(reason), "MalformedPolicyDocument");
}

std::unexpected<Error> invalidPrincipal(std::string_view type, std::string_view value) {
  std::string reason = "Invalid principal in policy: \"";
  reason.append(type).append("\":\"").append(value).append("\"");
  return malformed(std::move(reason));
}

bool isAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Unique ids ("AIDA...", "AROA...") are what IAM stores for principals it
// has resolved; accepted, matched exactly like ARNs.
bool isUniqueId(std::string_view s) {
  if (s.size() < 16 || s.size() > 128) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Adds one "AWS" entry.
Status addAws(PrincipalSet& set, std::string_view value) {
  if (value == "*") {
    set.anyone = true;
    return {};
  }
  if (isAccountId(value)) {
    set.accounts.emplace_back(value);
    return {};
  }
  if (isUniqueId(value)) {
    set.arns.emplace_back(value);
    return {};
  }
  // arn:PARTITION:SERVICE::ACCOUNT:RESOURCE, without wildcards: IAM
  // resolves principals to the entities they name.
  if (value.find_first_of("*?") != std::string_view::npos) return invalidPrincipal("AWS", value);
  std::string_view rest = value;
  auto next = [&rest](std::string_view* part) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    *part = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
    return true;
  };
  std::string_view arn, partition, service, region, account;
  if (!next(&arn) || !next(&partition) || !next(&service) || !next(&region) || !next(&account) || arn != "arn" ||
      partition.empty() || (service != "iam" && service != "sts") || !region.empty() || !isAccountId(account) ||
      rest.empty()) {
    return invalidPrincipal("AWS", value);
  }
  std::string_view resource = rest;
  if (service == "iam" && resource == "root") {
    set.accounts.emplace_back(account);
  } else if (service == "iam" && resource.starts_with("role/") && resource.size() > 5) {
    std::string_view name = resource.substr(resource.rfind('/') + 1);
    if (name.empty()) return invalidPrincipal("AWS", value);
    set.roles.push_back({std::string(account), std::string(name), std::string(value)});
  } else {
    set.arns.emplace_back(value);
  }
  return {};
}

// Calls `add` on a string or on each string of an array.
template <typename F>
Status eachString(const boost::json::value& v, F add) {
  if (const auto* s = v.if_string()) return add(std::string_view(*s));
  const auto* array = v.if_array();
  if (!array || array->empty()) return malformed("Syntax errors in policy.");
  for (const auto& item : *array) {
    const auto* s = item.if_string();
    if (!s) return malformed("Syntax errors in policy.");
    BERTH_TRY(add(std::string_view(*s)));
  }
  return {};
}

// "arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION" -> ACCOUNT and NAME.
bool sessionOf(std::string_view arn, std::string_view* account, std::string_view* role) {
  constexpr std::string_view kPrefix = "arn:";
  if (!arn.starts_with(kPrefix)) return false;
  size_t p = arn.find(':', kPrefix.size());  // after partition
  if (p == std::string_view::npos || arn.substr(p + 1, 5) != "sts::") return false;
  std::string_view rest = arn.substr(p + 6);
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return false;
  *account = rest.substr(0, colon);
  rest.remove_prefix(colon + 1);
  constexpr std::string_view kAssumed = "assumed-role/";
  if (!rest.starts_with(kAssumed)) return false;
  rest.remove_prefix(kAssumed.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  *role = rest.substr(0, slash);
  return true;
}

}  // namespace

bool PrincipalSet::matches(const RequestContext& request) const {
  if (anyone) return true;
  if (!request.principal_account.empty()) {
    for (const auto& a : accounts) {
      if (a == request.principal_account) return true;
    }
  }
  if (!request.principal_arn.empty()) {
    for (const auto& a : arns) {
      if (a == request.principal_arn) return true;
    }
    if (!roles.empty()) {
      std::string_view account, name;
      bool session = sessionOf(request.principal_arn, &account, &name);
      for (const auto& r : roles) {
        if (r.arn == request.principal_arn) return true;
        if (session && r.account == account && r.name == name) return true;
      }
    }
  }
  if (!request.principal_service.empty()) {
    for (const auto& s : services) {
      if (equalsIgnoreCase(s, request.principal_service)) return true;
    }
  }
  return false;
}

Result<PrincipalSet> compilePrincipal(const boost::json::value& principal) {
  PrincipalSet set;
  if (const auto* s = principal.if_string()) {
    if (*s != "*") return malformed("Invalid principal in policy: \"" + std::string(*s) + "\"");
    set.anyone = true;
    return set;
  }
  const auto* object = principal.if_object();
  if (!object) return malformed("Syntax errors in policy.");
  if (object->empty()) return malformed("Invalid principal in policy: {}");
  for (const auto& [type, values] : *object) {
    if (type == "AWS") {
      BERTH_TRY(eachString(values, [&](std::string_view v) { return addAws(set, v); }));
    } else if (type == "Service") {
      BERTH_TRY(eachString(values, [&](std::string_view v) -> Status {
        if (v.empty() || v == "*" || v.find_first_of(" :/") != std::string_view::npos) {
          return invalidPrincipal("Service", v);
        }
        set.services.push_back(lowerAscii(v));
        return {};
      }));
    } else if (type == "Federated") {
      BERTH_TRY(eachString(values, [&](std::string_view v) -> Status {
        if (v.empty()) return invalidPrincipal("Federated", v);
        set.federated.emplace_back(v);
        return {};
      }));
    } else if (type == "CanonicalUser") {
      BERTH_TRY(eachString(values, [&](std::string_view v) -> Status {
        if (v.empty()) return invalidPrincipal("CanonicalUser", v);
        set.canonical_users.emplace_back(v);
        return {};
      }));
    } else {
      return malformed("Invalid principal in policy: \"" + std::string(type) + "\"");
    }
  }
  return set;
}

}  // namespace berth::iam
