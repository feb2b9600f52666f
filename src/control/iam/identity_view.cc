#include "control/iam/identity_view.h"

namespace berth::iam {

Decision PrincipalInfo::decide(const RequestContext& request) const {
  if (kind == Kind::kRoot) return Decision::kAllow;
  std::vector<const Policy*> all;
  all.reserve(policies.size());
  for (const auto& p : policies)
    if (p) all.push_back(p.get());
  Decision identity = evaluate(all, request);
  if (session_policies.empty() || identity == Decision::kExplicitDeny) return identity;
  std::vector<const Policy*> session;
  for (const auto& p : session_policies)
    if (p) session.push_back(p.get());
  Decision bounded = evaluate(session, request);
  if (bounded == Decision::kExplicitDeny) return bounded;
  if (identity == Decision::kAllow && bounded == Decision::kAllow) return Decision::kAllow;
  return Decision::kImplicitDeny;
}

std::optional<aws::Credential> IdentitySnapshot::credential(std::string_view access_key_id) const {
  auto it = keys.find(access_key_id);
  if (it == keys.end() || !it->second.principal) return std::nullopt;
  const KeyEntry& k = it->second;
  return aws::Credential{k.secret_access_key, k.principal->account_id, k.principal->arn, k.session_token, k.expiration};
}

std::shared_ptr<const PrincipalInfo> IdentitySnapshot::principalForKey(std::string_view access_key_id) const {
  auto it = keys.find(access_key_id);
  return it == keys.end() ? nullptr : it->second.principal;
}

std::shared_ptr<const PrincipalInfo> IdentitySnapshot::principal(std::string_view arn) const {
  auto it = principals.find(arn);
  return it == principals.end() ? nullptr : it->second;
}

}  // namespace berth::iam
