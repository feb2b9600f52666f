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

namespace berth::api {

// A permission check with the service's own condition keys ("ecs:cluster").
using ServiceKeys = std::vector<std::pair<std::string, std::string>>;
using PermissionCheck =
    std::function<Status(std::string_view action, std::string_view resource, const ServiceKeys& keys)>;

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // The check for calls signed by `identity` in `region`; empty when the
  // caller may do anything (the account's root).
  virtual PermissionCheck forCaller(const aws::VerifiedIdentity& identity, std::string_view region) const = 0;
};

}  // namespace berth::api
