// The front door's hook into IAM: who may do what. The front door asks
// forCaller() once per call for the caller's permission check, uses it for
// the call's own action (api/authorization.h says which resources that
// names) and hands it to the service as iam::Caller::authorize for the
// actions behind the operation.
//
// Threads: forCaller() and the checks it returns run on any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/sigv4.h"
#include "common/result.h"
#include "iam/caller.h"

namespace berth::api {

// A permission check with the request's own condition keys ("ecs:cluster",
// "aws:ResourceTag/env").
using ServiceKeys = iam::ConditionKeys;
using PermissionCheck =
    std::function<Status(std::string_view action, std::string_view resource, const ServiceKeys& keys)>;

struct CallerCheck {
  PermissionCheck check;  // empty when the caller may do anything (the account's root)
  // The caller's policies mention aws:ResourceTag/ keys: a call is judged
  // right only where the service adds the resource's tags.
  bool needs_resource_tags = false;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // The check for calls signed by `identity` in `region`.
  virtual CallerCheck forCaller(const aws::VerifiedIdentity& identity, std::string_view region) const = 0;
};

}  // namespace berth::api
