// Who is calling a service, and how that service checks the permissions an
// operation needs beyond its own action: kms:Decrypt behind
// ssm:GetParameter WithDecryption, iam:PassRole behind
// ecs:RegisterTaskDefinition, sts:AssumeRole's trust policy.
//
// The front door authorizes each call's own action before the service sees
// it; a service asks check() for the rest.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::iam {

// A request's own condition keys: ("ecs:cluster", ARN),
// ("aws:ResourceTag/env", "prod"), ...
using ConditionKeys = std::vector<std::pair<std::string, std::string>>;

struct Caller {
  std::string principal_arn;  // who signed; "arn:aws:iam::<account>:root" for root
  std::string account_id;
  std::string access_key_id;
  // Fails with AccessDeniedException worded as AWS words it when the caller
  // may not do `action` on `resource`. Empty: the caller may do anything
  // (root, and berth's own internal calls).
  std::function<Status(std::string_view action, std::string_view resource)> authorize;
  // The same check with the request's own condition keys; set with
  // `authorize` by the front door (a service that knows a resource's tags
  // passes them as aws:ResourceTag/<key>).
  std::function<Status(std::string_view action, std::string_view resource, const ConditionKeys& keys)>
      authorize_keyed;

  Status check(std::string_view action, std::string_view resource) const {
    return authorize ? authorize(action, resource) : Status{};
  }
  Status check(std::string_view action, std::string_view resource, const ConditionKeys& keys) const {
    if (authorize_keyed) return authorize_keyed(action, resource, keys);
    return check(action, resource);
  }
};

}  // namespace berth::iam
