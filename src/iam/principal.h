// The Principal / NotPrincipal element of trust and resource policies,
// compiled at parse time.
//
// Matching against a request's caller (principal_arn, principal_account,
// principal_service):
// - "*" or {"AWS": "*"}: anyone;
// - {"AWS": "123456789012"} or "arn:aws:iam::123456789012:root": any
//   principal of that account;
// - a role ARN: the role, and any session of it
//   ("arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION"; role paths are not
//   part of session ARNs, so the role's last path segment is compared);
// - any other ARN (user, assumed-role session, ...): exactly;
// - {"Service": "ecs-tasks.amazonaws.com"}: principal_service;
// - Federated and CanonicalUser entries are kept but never match (berth has
//   no federation).
//
// Threads: immutable after compile.
#pragma once

#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "common/result.h"
#include "iam/policy.h"

namespace berth::iam {

struct PrincipalSet {
  struct Role {
    std::string account;
    std::string name;  // last path segment
    std::string arn;
  };
  bool anyone = false;
  std::vector<std::string> accounts;  // 12-digit ids
  std::vector<Role> roles;
  std::vector<std::string> arns;      // matched exactly
  std::vector<std::string> services;  // lower-cased
  std::vector<std::string> federated;
  std::vector<std::string> canonical_users;

  bool matches(const RequestContext& request) const;
};

// Compiles a Principal value. Wrong JSON types fail with "Syntax errors in
// policy."; values IAM would not accept with "Invalid principal in policy:
// ...".
Result<PrincipalSet> compilePrincipal(const boost::json::value& principal);

}  // namespace berth::iam
