#include "daemon/iam_authorizer.h"

#include <memory>

#include <fmt/format.h>

namespace berth::daemon {

namespace {

std::string_view principalType(iam::PrincipalInfo::Kind kind) {
  switch (kind) {
    case iam::PrincipalInfo::Kind::kUser:
    case iam::PrincipalInfo::Kind::kUserSession:
      return "User";
    case iam::PrincipalInfo::Kind::kRole:
    case iam::PrincipalInfo::Kind::kAssumedRole:
      return "AssumedRole";
    case iam::PrincipalInfo::Kind::kRoot:
      return "Account";
  }
  return "User";
}

}  // namespace

Error accessDenied(std::string_view principal_arn, std::string_view action, std::string_view resource,
                   iam::Decision decision) {
  std::string why = decision == iam::Decision::kExplicitDeny
                        ? std::string("with an explicit deny in an identity-based policy")
                        : fmt::format("because no identity-based policy allows the {} action", action);
  return Error{
      ErrorCode::kPermissionDenied,
      fmt::format("User: {} is not authorized to perform: {} on resource: {} {}", principal_arn, action, resource, why),
      {},
      0};
}

api::CallerCheck IamAuthorizer::forCaller(const aws::VerifiedIdentity& identity, std::string_view region) const {
  if (identity.access_key_id == root_key_) return {};
  std::shared_ptr<const iam::PrincipalInfo> who = view_.snapshot()->principalForKey(identity.access_key_id);
  if (!who) {
    // Only root's key authenticates without being in the view (and, with
    // --auth off, any key acting as root); a key deleted since it was
    // verified is refused.
    if (identity.principal_arn == fmt::format("arn:aws:iam::{}:root", identity.account_id)) return {};
    std::string arn = identity.principal_arn;
    return {[arn](std::string_view action, std::string_view resource, const api::ServiceKeys&) -> Status {
              return std::unexpected(accessDenied(arn, action, resource, iam::Decision::kImplicitDeny));
            },
            false};
  }
  if (who->kind == iam::PrincipalInfo::Kind::kRoot) return {};

  // The request's global keys, once per call.
  auto base = std::make_shared<iam::RequestContext>();
  base->principal_arn = who->arn;
  base->principal_account = who->account_id;
  base->setKey("aws:PrincipalArn", {who->role_arn.empty() ? who->arn : who->role_arn});
  base->setKey("aws:PrincipalAccount", {who->account_id});
  base->setKey("aws:PrincipalType", {std::string(principalType(who->kind))});
  base->setKey("aws:userid", {who->user_id});
  if (who->kind == iam::PrincipalInfo::Kind::kUser || who->kind == iam::PrincipalInfo::Kind::kUserSession)
    base->setKey("aws:username", {who->name});
  for (const auto& [k, v] : who->tags) base->setKey("aws:PrincipalTag/" + k, {v});
  base->setKey("aws:RequestedRegion", {std::string(region)});
  WallTime now = clock_.now();
  base->setKey("aws:CurrentTime", {toIso8601(now)});
  base->setKey("aws:EpochTime", {std::to_string(static_cast<int64_t>(toEpochSeconds(now)))});
  base->setKey("aws:SecureTransport", {"false"});

  api::CallerCheck out;
  out.check = [who, base](std::string_view action, std::string_view resource, const api::ServiceKeys& keys) -> Status {
    iam::RequestContext request;
    request.parent = base.get();  // identity policies need no principal fields
    request.action = action;
    request.resource = resource;
    for (const auto& [k, v] : keys) request.setKey(k, {v});
    iam::Decision d = who->decide(request);
    if (d == iam::Decision::kAllow) return {};
    return std::unexpected(accessDenied(who->arn, action, resource, d));
  };
  for (const auto* policies : {&who->policies, &who->session_policies})
    for (const auto& p : *policies)
      if (p && p->usesResourceTags()) out.needs_resource_tags = true;
  return out;
}

}  // namespace berth::daemon
