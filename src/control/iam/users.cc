// Users, their access keys, inline and attached policies, and tags.
#include <fmt/format.h>

#include "common/json.h"
#include "control/iam/errors.h"
#include "control/iam/iam.h"
#include "control/iam/util.h"

namespace berth::iam {
namespace {

constexpr size_t kMaxAccessKeys = 2;
constexpr size_t kMaxTags = 50;

}  // namespace

Result<bj::value> Iam::createUser(const bj::object& in) {
  std::string name = json::stringOr(in, "UserName");
  std::string path = json::stringOr(in, "Path", "/");
  if (!util::validPath(path))
    return validationError(
        "The specified value for path is invalid. It must begin and end with / and contain only "
        "alphanumeric characters and/or / characters.");
  if (users_.contains(util::lower(name)))
    return entityAlreadyExists(fmt::format("User with name {} already exists.", name));
  const bj::array* tags = json::getArray(in, "Tags");
  if (tags && tags->size() > kMaxTags)
    return limitExceeded(fmt::format("Cannot exceed quota for TagsPerUser: {}", kMaxTags));
  std::string boundary = json::stringOr(in, "PermissionsBoundary");
  if (!boundary.empty() && !policyByArn(boundary))
    return noSuchEntity(fmt::format("Scope ARN: {} does not exist or is not attachable.", boundary));
  User u;
  u.doc = bj::object{{"Path", path},
                     {"UserName", name},
                     {"UserId", "AIDA" + util::randomIdChars(17)},
                     {"Arn", fmt::format("arn:aws:iam::{}:user{}{}", config_.account_id, path, name)},
                     {"CreateDate", static_cast<double>(static_cast<int64_t>(clock_.epochSeconds()))}};
  if (!boundary.empty())
    u.doc["PermissionsBoundary"] =
        bj::object{{"PermissionsBoundaryType", "PermissionsBoundaryPolicy"}, {"PermissionsBoundaryArn", boundary}};
  if (tags) u.tags = *tags;
  BERTH_TRY(commitIdentity(u, false));
  return bj::object{{"User", userView(u, true)}};
}

Result<bj::value> Iam::getUser(const bj::object& in) {
  std::string name = json::stringOr(in, "UserName");
  if (name.empty()) {
    // The caller itself, when it is a user.
    auto info = identity_view_.snapshot()->principalForKey(caller().access_key_id);
    if (!info || (info->kind != PrincipalInfo::Kind::kUser && info->kind != PrincipalInfo::Kind::kUserSession))
      return validationError("Must specify userName when calling with non-User credentials");
    name = info->name;
  }
  User* u = BERTH_TRY(findUser(name));
  return bj::object{{"User", userView(*u, true)}};
}

Result<bj::value> Iam::listUsers(const bj::object& in) {
  std::string prefix = json::stringOr(in, "PathPrefix", "/");
  std::vector<util::Keyed> items;
  for (const auto& [key, u] : users_)
    if (json::stringOr(u.doc, "Path").starts_with(prefix)) items.push_back({key, userView(u, false)});
  bj::object out;
  util::paginate(std::move(items), in, "Users", out);
  return out;
}

Result<bj::value> Iam::deleteUser(const bj::object& in) {
  User* u = BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  if (!u->keys.empty()) return deleteConflict("Cannot delete entity, must delete access keys first.");
  if (!u->attached.empty()) return deleteConflict("Cannot delete entity, must detach all policies first.");
  if (!u->inline_policies.empty()) return deleteConflict("Cannot delete entity, must delete policies first.");
  std::string key = util::lower(json::stringOr(u->doc, "UserName"));
  store::Batch batch;
  batch.erase("iam.user", key);
  BERTH_TRY(commit(batch));
  users_.erase(key);
  publish();
  return bj::object{};
}

Result<bj::value> Iam::updateUser(const bj::object& in) {
  User* u = BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  std::string old_name = json::stringOr(u->doc, "UserName");
  std::string name = json::stringOr(in, "NewUserName", old_name);
  std::string path = json::stringOr(in, "NewPath", json::stringOr(u->doc, "Path"));
  if (!util::validPath(path))
    return validationError(
        "The specified value for path is invalid. It must begin and end with / and contain only "
        "alphanumeric characters and/or / characters.");
  std::string old_key = util::lower(old_name);
  std::string key = util::lower(name);
  if (key != old_key && users_.contains(key))
    return entityAlreadyExists(fmt::format("User with name {} already exists.", name));
  User next = *u;
  next.doc["UserName"] = name;
  next.doc["Path"] = path;
  next.doc["Arn"] = fmt::format("arn:aws:iam::{}:user{}{}", config_.account_id, path, name);
  store::Batch batch;
  if (key != old_key) batch.erase("iam.user", old_key);
  persist(batch, next);
  // GetSessionToken sessions follow the user.
  std::vector<Session> sessions;
  for (const auto& [_, s] : sessions_)
    if (s.kind == "user" && util::lower(s.user_name) == old_key) {
      sessions.push_back(s);
      sessions.back().user_name = name;
      persist(batch, sessions.back());
    }
  BERTH_TRY(commit(batch));
  users_.erase(old_key);
  users_[key] = std::move(next);
  for (auto& s : sessions) sessions_[s.access_key_id] = std::move(s);
  publish();
  return bj::object{};
}

Result<bj::value> Iam::tagUser(const bj::object& in) {
  User next = *BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  return editTags(next, false, json::getArray(in, "Tags"), nullptr);
}

Result<bj::value> Iam::untagUser(const bj::object& in) {
  User next = *BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  return editTags(next, false, nullptr, json::getArray(in, "TagKeys"));
}

Result<bj::value> Iam::listUserTags(const bj::object& in) {
  return listTagsOf(*BERTH_TRY(findUser(json::stringOr(in, "UserName"))), in);
}

Result<bj::value> Iam::putUserPolicy(const bj::object& in) {
  User next = *BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  return putInline(next, false, in);
}

Result<bj::value> Iam::getUserPolicy(const bj::object& in) {
  return getInlineOf(*BERTH_TRY(findUser(json::stringOr(in, "UserName"))), "User", in);
}

Result<bj::value> Iam::deleteUserPolicy(const bj::object& in) {
  User next = *BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  return deleteInline(next, false, in);
}

Result<bj::value> Iam::listUserPolicies(const bj::object& in) {
  return listInlineNamesOf(*BERTH_TRY(findUser(json::stringOr(in, "UserName"))), in);
}

Result<bj::value> Iam::attachUserPolicy(const bj::object& in) {
  User next = *BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  return attach(next, false, in);
}

Result<bj::value> Iam::detachUserPolicy(const bj::object& in) {
  User next = *BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  return detach(next, false, in);
}

Result<bj::value> Iam::listAttachedUserPolicies(const bj::object& in) {
  User* u = BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  std::string prefix = json::stringOr(in, "PathPrefix", "/");
  std::vector<util::Keyed> items;
  for (const auto& arn : u->attached) {
    const ManagedPolicy* p = policyByArn(arn);
    if (!p || !json::stringOr(p->doc, "Path").starts_with(prefix)) continue;
    items.push_back({arn, bj::object{{"PolicyName", json::stringOr(p->doc, "PolicyName")}, {"PolicyArn", arn}}});
  }
  bj::object out;
  util::paginate(std::move(items), in, "AttachedPolicies", out);
  return out;
}

// Access keys -----------------------------------------------------------------

namespace {

// The user an access-key call is about: UserName, or the calling user.
std::string keyOwner(const bj::object& in, const IdentitySnapshot& snap, const Caller& caller) {
  std::string name = json::stringOr(in, "UserName");
  if (!name.empty()) return name;
  auto info = snap.principalForKey(caller.access_key_id);
  if (info && (info->kind == PrincipalInfo::Kind::kUser || info->kind == PrincipalInfo::Kind::kUserSession))
    return info->name;
  return {};
}

}  // namespace

Result<bj::value> Iam::createAccessKey(const bj::object& in) {
  std::string owner = keyOwner(in, *identity_view_.snapshot(), caller());
  if (owner.empty()) return validationError("Must specify userName when calling with non-User credentials");
  User next = *BERTH_TRY(findUser(owner));
  if (next.keys.size() >= kMaxAccessKeys)
    return limitExceeded(fmt::format("Cannot exceed quota for AccessKeysPerUser: {}", kMaxAccessKeys));
  AccessKey key{"AKIA" + util::randomIdChars(16), util::randomSecret(40), "Active",
                static_cast<double>(static_cast<int64_t>(clock_.epochSeconds()))};
  next.keys.push_back(key);
  BERTH_TRY(commitIdentity(next, false));
  return bj::object{{"AccessKey", bj::object{{"UserName", json::stringOr(next.doc, "UserName")},
                                             {"AccessKeyId", key.id},
                                             {"Status", key.status},
                                             {"SecretAccessKey", key.secret},
                                             {"CreateDate", key.created}}}};
}

Result<bj::value> Iam::listAccessKeys(const bj::object& in) {
  std::string owner = keyOwner(in, *identity_view_.snapshot(), caller());
  if (owner.empty()) return validationError("Must specify userName when calling with non-User credentials");
  User* u = BERTH_TRY(findUser(owner));
  std::vector<util::Keyed> items;
  for (const auto& k : u->keys)
    items.push_back({k.id, bj::object{{"UserName", json::stringOr(u->doc, "UserName")},
                                      {"AccessKeyId", k.id},
                                      {"Status", k.status},
                                      {"CreateDate", k.created}}});
  bj::object out;
  util::paginate(std::move(items), in, "AccessKeyMetadata", out);
  return out;
}

Result<bj::value> Iam::updateAccessKey(const bj::object& in) {
  std::string owner = keyOwner(in, *identity_view_.snapshot(), caller());
  if (owner.empty()) return validationError("Must specify userName when calling with non-User credentials");
  User next = *BERTH_TRY(findUser(owner));
  std::string id = json::stringOr(in, "AccessKeyId");
  auto it = std::find_if(next.keys.begin(), next.keys.end(), [&](const AccessKey& k) { return k.id == id; });
  if (it == next.keys.end()) return noSuchEntity(fmt::format("The Access Key with id {} cannot be found.", id));
  it->status = json::stringOr(in, "Status", "Active");
  BERTH_TRY(commitIdentity(next, false));
  return bj::object{};
}

Result<bj::value> Iam::deleteAccessKey(const bj::object& in) {
  std::string owner = keyOwner(in, *identity_view_.snapshot(), caller());
  if (owner.empty()) return validationError("Must specify userName when calling with non-User credentials");
  User next = *BERTH_TRY(findUser(owner));
  std::string id = json::stringOr(in, "AccessKeyId");
  auto it = std::find_if(next.keys.begin(), next.keys.end(), [&](const AccessKey& k) { return k.id == id; });
  if (it == next.keys.end()) return noSuchEntity(fmt::format("The Access Key with id {} cannot be found.", id));
  next.keys.erase(it);
  BERTH_TRY(commitIdentity(next, false));
  return bj::object{};
}

Result<bj::value> Iam::getAccessKeyLastUsed(const bj::object& in) {
  std::string id = json::stringOr(in, "AccessKeyId");
  for (const auto& [_, u] : users_)
    for (const auto& k : u.keys)
      if (k.id == id)
        // berth does not record key use.
        return bj::object{{"UserName", json::stringOr(u.doc, "UserName")},
                          {"AccessKeyLastUsed", bj::object{{"ServiceName", "N/A"}, {"Region", "N/A"}}}};
  return accessDenied(
      fmt::format("User: {} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: "
                  "access key {}",
                  caller().principal_arn, id));
}

}  // namespace berth::iam
