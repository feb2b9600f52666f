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

std::shared_ptr<const iam::RequestContext> IamAuthorizer::principalKeys(
    uint64_t revision, const std::shared_ptr<const iam::PrincipalInfo>& who, std::string_view region) const {
  std::lock_guard lock(mu_);
  if (revision != cached_revision_ || cache_.size() >= 4096) {
    cache_.clear();
    cached_revision_ = revision;
  }
  auto key = std::make_pair(who.get(), std::string(region));
  if (auto it = cache_.find(key); it != cache_.end()) return it->second.keys;
  auto keys = std::make_shared<iam::RequestContext>();
  keys->principal_arn = who->arn;
  keys->principal_account = who->account_id;
  keys->setKey("aws:PrincipalArn", {who->role_arn.empty() ? who->arn : who->role_arn});
  keys->setKey("aws:PrincipalAccount", {who->account_id});
  keys->setKey("aws:PrincipalType", {std::string(principalType(who->kind))});
  keys->setKey("aws:userid", {who->user_id});
  if (who->kind == iam::PrincipalInfo::Kind::kUser || who->kind == iam::PrincipalInfo::Kind::kUserSession)
    keys->setKey("aws:username", {who->name});
  for (const auto& [k, v] : who->tags) keys->setKey("aws:PrincipalTag/" + k, {v});
  keys->setKey("aws:RequestedRegion", {std::string(region)});
  keys->setKey("aws:SecureTransport", {"false"});
  cache_.emplace(std::move(key), Cached{who, keys});
  return keys;
}

api::CallerCheck IamAuthorizer::forCaller(const aws::VerifiedIdentity& identity, std::string_view region) const {
  if (identity.access_key_id == root_key_) return {};
  std::shared_ptr<const iam::IdentitySnapshot> snapshot = view_.snapshot();
  std::shared_ptr<const iam::PrincipalInfo> who = snapshot->principalForKey(identity.access_key_id);
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

  api::CallerCheck out;
  bool uses_time = false;
  for (const auto* policies : {&who->policies, &who->session_policies})
    for (const auto& p : *policies)
      if (p) {
        out.needs_resource_tags = out.needs_resource_tags || p->usesResourceTags();
        uses_time = uses_time || p->usesTime();
      }

  // The principal's keys are shared by every call it makes; the time is
  // this call's own, computed only for policies that look at it.
  std::shared_ptr<const iam::RequestContext> base = principalKeys(snapshot->revision, who, region);
  if (uses_time) {
    // A layer of this call's own over the principal's, which it keeps alive.
    struct Timed {
      std::shared_ptr<const iam::RequestContext> principal;
      iam::RequestContext time;
    };
    auto timed = std::make_shared<Timed>();
    timed->principal = base;
    timed->time.parent = base.get();
    WallTime now = clock_.now();
    timed->time.setKey("aws:CurrentTime", {toIso8601(now)});
    timed->time.setKey("aws:EpochTime", {std::to_string(static_cast<int64_t>(toEpochSeconds(now)))});
    base = std::shared_ptr<const iam::RequestContext>(timed, &timed->time);
  }

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
  return out;
}

}  // namespace berth::daemon
