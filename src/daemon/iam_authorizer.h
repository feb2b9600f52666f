// api::Authorizer on IAM's identity view: every call by a principal other
// than the account's root is evaluated against the identity policies (and
// session policies) of the key that signed it, with the global condition
// keys berth knows: aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalType, aws:userid, aws:username, aws:PrincipalTag/*,
// aws:RequestedRegion, aws:CurrentTime, aws:EpochTime, aws:SecureTransport,
// plus the service's own (ecs:cluster).
//
// A refusal is AccessDeniedException (AccessDenied on IAM and STS) worded
// as AWS words it:
//   User: <arn> is not authorized to perform: <action> on resource: <arn>
//   because no identity-based policy allows the <action> action
// or "... with an explicit deny in an identity-based policy".
//
// Threads: any; reads one snapshot per call.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "api/authorizer.h"
#include "common/clock.h"
#include "control/iam/identity_view.h"

namespace berth::daemon {

class IamAuthorizer final : public api::Authorizer {
 public:
  IamAuthorizer(const iam::IdentityView& view, std::string root_access_key_id, const Clock& clock)
      : view_(view), root_key_(std::move(root_access_key_id)), clock_(clock) {}

  api::CallerCheck forCaller(const aws::VerifiedIdentity& identity, std::string_view region) const override;

 private:
  // The keys that depend only on the principal and the region, built once
  // per snapshot revision (a principal's entry is replaced on every change).
  std::shared_ptr<const iam::RequestContext> principalKeys(uint64_t revision,
                                                           const std::shared_ptr<const iam::PrincipalInfo>& who,
                                                           std::string_view region) const;

  const iam::IdentityView& view_;
  std::string root_key_;
  const Clock& clock_;
  struct Cached {
    std::shared_ptr<const iam::PrincipalInfo> who;  // keeps the key's pointer valid
    std::shared_ptr<const iam::RequestContext> keys;
  };
  mutable std::mutex mu_;
  mutable uint64_t cached_revision_ = 0;
  mutable std::map<std::pair<const iam::PrincipalInfo*, std::string>, Cached, std::less<>> cache_;
};

// The refusal for `principal_arn` asking `action` on `resource`.
Error accessDenied(std::string_view principal_arn, std::string_view action, std::string_view resource,
                   iam::Decision decision);

}  // namespace berth::daemon
