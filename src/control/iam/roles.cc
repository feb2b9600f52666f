// Roles, their trust policies, inline and attached policies, and tags.
#include <fmt/format.h>

#include "common/json.h"
#include "control/iam/errors.h"
#include "control/iam/iam.h"
#include "control/iam/util.h"

namespace berth::iam {
namespace {

constexpr size_t kTrustPolicyLimit = 2048;
constexpr int64_t kMinSessionDuration = 3600;
constexpr int64_t kMaxSessionDuration = 43200;
constexpr size_t kMaxTags = 50;

Status checkMaxSessionDuration(int64_t seconds) {
  if (seconds < kMinSessionDuration)
    return validationError(fmt::format(
        "1 validation error detected: Value '{}' at 'maxSessionDuration' failed to satisfy constraint: Member must "
        "have value greater than or equal to {}",
        seconds, kMinSessionDuration));
  if (seconds > kMaxSessionDuration)
    return validationError(fmt::format(
        "1 validation error detected: Value '{}' at 'maxSessionDuration' failed to satisfy constraint: Member must "
        "have value less than or equal to {}",
        seconds, kMaxSessionDuration));
  return {};
}

}  // namespace

Status Iam::checkTrustPrincipals(std::string_view text) const {
  auto doc = json::parse(text);
  if (!doc || !doc->is_object()) return {};
  std::string user_prefix = fmt::format("arn:aws:iam::{}:user/", config_.account_id);
  std::string role_prefix = fmt::format("arn:aws:iam::{}:role/", config_.account_id);
  auto check = [&](std::string_view arn) -> Status {
    bool user = arn.starts_with(user_prefix);
    if (!user && !arn.starts_with(role_prefix)) return {};
    std::string key = util::lower(arn.substr(arn.rfind('/') + 1));
    bool exists = false;
    if (user) {
      auto it = users_.find(key);
      exists = it != users_.end() && json::stringOr(it->second.doc, "Arn") == arn;
    } else {
      auto it = roles_.find(key);
      exists = it != roles_.end() && json::stringOr(it->second.doc, "Arn") == arn;
    }
    if (exists) return {};
    return malformedPolicy(fmt::format("Invalid principal in policy: \"AWS\":\"{}\"", arn));
  };
  auto principals = [&](const bj::object& statement) -> Status {
    for (std::string_view member : {"Principal", "NotPrincipal"}) {
      const bj::object* p = json::getObject(statement, member);
      const bj::value* aws = p ? json::find(*p, "AWS") : nullptr;
      if (!aws) continue;
      if (aws->is_string()) BERTH_TRY(check(aws->as_string()));
      if (aws->is_array())
        for (const auto& v : aws->as_array())
          if (v.is_string()) BERTH_TRY(check(v.as_string()));
    }
    return {};
  };
  const bj::value* statements = json::find(doc->as_object(), "Statement");
  if (statements && statements->is_object()) return principals(statements->as_object());
  if (statements && statements->is_array())
    for (const auto& st : statements->as_array())
      if (st.is_object()) BERTH_TRY(principals(st.as_object()));
  return {};
}

Result<bj::value> Iam::createRole(const bj::object& in) {
  std::string name = json::stringOr(in, "RoleName");
  std::string path = json::stringOr(in, "Path", "/");
  std::string trust_text = json::stringOr(in, "AssumeRolePolicyDocument");
  if (!util::validPath(path))
    return validationError(
        "The specified value for path is invalid. It must begin and end with / and contain only "
        "alphanumeric characters and/or / characters.");
  if (roles_.contains(util::lower(name)))
    return entityAlreadyExists(fmt::format("Role with name {} already exists.", name));
  if (util::policySize(trust_text) > kTrustPolicyLimit)
    return limitExceeded(fmt::format("Cannot exceed quota for ACLSizePerRole: {}", kTrustPolicyLimit));
  int64_t max_session = json::getInt(in, "MaxSessionDuration").value_or(kMinSessionDuration);
  BERTH_TRY(checkMaxSessionDuration(max_session));
  const bj::array* tags = json::getArray(in, "Tags");
  if (tags && tags->size() > kMaxTags)
    return limitExceeded(fmt::format("Cannot exceed quota for TagsPerRole: {}", kMaxTags));
  std::string boundary = json::stringOr(in, "PermissionsBoundary");
  if (!boundary.empty() && !policyByArn(boundary))
    return noSuchEntity(fmt::format("Scope ARN: {} does not exist or is not attachable.", boundary));
  Document trust = BERTH_TRY(parseDocument(trust_text, PolicyKind::kTrust));
  BERTH_TRY(checkTrustPrincipals(trust_text));

  Role r;
  r.trust = std::move(trust);
  r.doc = bj::object{{"Path", path},
                     {"RoleName", name},
                     {"RoleId", "AROA" + util::randomIdChars(17)},
                     {"Arn", fmt::format("arn:aws:iam::{}:role{}{}", config_.account_id, path, name)},
                     {"CreateDate", static_cast<double>(static_cast<int64_t>(clock_.epochSeconds()))},
                     {"MaxSessionDuration", max_session}};
  if (auto d = json::getString(in, "Description")) r.doc["Description"] = *d;
  if (!boundary.empty())
    r.doc["PermissionsBoundary"] =
        bj::object{{"PermissionsBoundaryType", "PermissionsBoundaryPolicy"}, {"PermissionsBoundaryArn", boundary}};
  if (tags) r.tags = *tags;
  BERTH_TRY(commitIdentity(r, true));
  bj::object view = roleView(r, false);
  if (!r.tags.empty()) view["Tags"] = r.tags;
  if (!boundary.empty()) view["PermissionsBoundary"] = r.doc["PermissionsBoundary"];
  return bj::object{{"Role", std::move(view)}};
}

Result<bj::value> Iam::getRole(const bj::object& in) {
  Role* r = BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return bj::object{{"Role", roleView(*r, true)}};
}

Result<bj::value> Iam::listRoles(const bj::object& in) {
  std::string prefix = json::stringOr(in, "PathPrefix", "/");
  std::vector<util::Keyed> items;
  for (const auto& [key, r] : roles_)
    if (json::stringOr(r.doc, "Path").starts_with(prefix)) items.push_back({key, roleView(r, false)});
  bj::object out;
  util::paginate(std::move(items), in, "Roles", out);
  return out;
}

Result<bj::value> Iam::updateRole(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  if (auto d = json::getString(in, "Description")) next.doc["Description"] = *d;
  if (auto m = json::getInt(in, "MaxSessionDuration")) {
    BERTH_TRY(checkMaxSessionDuration(*m));
    next.doc["MaxSessionDuration"] = *m;
  }
  BERTH_TRY(commitIdentity(next, true));
  return bj::object{};
}

Result<bj::value> Iam::updateRoleDescription(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  next.doc["Description"] = json::stringOr(in, "Description");
  BERTH_TRY(commitIdentity(next, true));
  return bj::object{{"Role", roleView(next, true)}};
}

Result<bj::value> Iam::updateAssumeRolePolicy(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  std::string text = json::stringOr(in, "PolicyDocument");
  if (util::policySize(text) > kTrustPolicyLimit)
    return limitExceeded(fmt::format("Cannot exceed quota for ACLSizePerRole: {}", kTrustPolicyLimit));
  next.trust = BERTH_TRY(parseDocument(text, PolicyKind::kTrust));
  BERTH_TRY(checkTrustPrincipals(text));
  BERTH_TRY(commitIdentity(next, true));
  return bj::object{};
}

Result<bj::value> Iam::deleteRole(const bj::object& in) {
  Role* r = BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  if (!r->attached.empty()) return deleteConflict("Cannot delete entity, must detach all policies first.");
  if (!r->inline_policies.empty()) return deleteConflict("Cannot delete entity, must delete policies first.");
  std::string key = util::lower(json::stringOr(r->doc, "RoleName"));
  store::Batch batch;
  batch.erase("iam.role", key);
  BERTH_TRY(commit(batch));
  roles_.erase(key);
  publish();
  return bj::object{};
}

Result<bj::value> Iam::tagRole(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return editTags(next, true, json::getArray(in, "Tags"), nullptr);
}

Result<bj::value> Iam::untagRole(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return editTags(next, true, nullptr, json::getArray(in, "TagKeys"));
}

bj::object Iam::listTagsOf(const Identity& e, const bj::object& in) {
  std::vector<util::Keyed> items;
  for (const auto& t : e.tags) items.push_back({json::stringOr(t.as_object(), "Key"), t});
  bj::object out;
  util::paginate(std::move(items), in, "Tags", out);
  return out;
}

Result<bj::value> Iam::getInlineOf(const Identity& e, std::string_view kind, const bj::object& in) {
  std::string name = json::stringOr(in, "PolicyName");
  auto it = e.inline_policies.find(name);
  if (it == e.inline_policies.end())
    return noSuchEntity(
        fmt::format("The {} policy with name {} cannot be found.", kind == "Role" ? "role" : "user", name));
  std::string name_member = std::string(kind) + "Name";
  return bj::object{{name_member, json::stringOr(e.doc, name_member)},
                    {"PolicyName", it->first},
                    {"PolicyDocument", util::urlEncode(it->second.text)}};
}

bj::object Iam::listInlineNamesOf(const Identity& e, const bj::object& in) {
  std::vector<util::Keyed> items;
  for (const auto& [name, _] : e.inline_policies) items.push_back({name, bj::string(name)});
  bj::object out;
  util::paginate(std::move(items), in, "PolicyNames", out);
  return out;
}

Result<bj::value> Iam::listRoleTags(const bj::object& in) {
  return listTagsOf(*BERTH_TRY(findRole(json::stringOr(in, "RoleName"))), in);
}

Result<bj::value> Iam::putRolePolicy(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return putInline(next, true, in);
}

Result<bj::value> Iam::getRolePolicy(const bj::object& in) {
  return getInlineOf(*BERTH_TRY(findRole(json::stringOr(in, "RoleName"))), "Role", in);
}

Result<bj::value> Iam::deleteRolePolicy(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return deleteInline(next, true, in);
}

Result<bj::value> Iam::listRolePolicies(const bj::object& in) {
  return listInlineNamesOf(*BERTH_TRY(findRole(json::stringOr(in, "RoleName"))), in);
}

Result<bj::value> Iam::attachRolePolicy(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return attach(next, true, in);
}

Result<bj::value> Iam::detachRolePolicy(const bj::object& in) {
  Role next = *BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return detach(next, true, in);
}

Result<bj::value> Iam::listAttachedRolePolicies(const bj::object& in) {
  Role* r = BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  std::string prefix = json::stringOr(in, "PathPrefix", "/");
  std::vector<util::Keyed> items;
  for (const auto& arn : r->attached) {
    const ManagedPolicy* p = policyByArn(arn);
    if (!p || !json::stringOr(p->doc, "Path").starts_with(prefix)) continue;
    items.push_back({arn, bj::object{{"PolicyName", json::stringOr(p->doc, "PolicyName")}, {"PolicyArn", arn}}});
  }
  bj::object out;
  util::paginate(std::move(items), in, "AttachedPolicies", out);
  return out;
}

}  // namespace berth::iam
