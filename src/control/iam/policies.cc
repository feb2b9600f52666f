// Managed policies: customer managed ones with their versions, and the AWS
// managed ones, which can be read and attached but not changed.
#include <fmt/format.h>

#include "common/json.h"
#include "control/iam/errors.h"
#include "control/iam/iam.h"
#include "control/iam/util.h"

namespace berth::iam {
namespace {

constexpr size_t kManagedPolicyLimit = 6144;
constexpr size_t kMaxVersions = 5;
constexpr size_t kMaxTags = 50;

int64_t versionNumber(std::string_view id) {
  if (id.size() < 2 || id[0] != 'v') return 0;
  int64_t n = 0;
  for (char c : id.substr(1)) {
    if (c < '0' || c > '9' || n > 1000000) return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

double wholeSeconds(const Clock& clock) { return static_cast<double>(static_cast<int64_t>(clock.epochSeconds())); }

}  // namespace

Result<bj::value> Iam::createPolicy(const bj::object& in) {
  std::string name = json::stringOr(in, "PolicyName");
  std::string path = json::stringOr(in, "Path", "/");
  std::string text = json::stringOr(in, "PolicyDocument");
  if (!util::validPath(path))
    return validationError(
        "The specified value for path is invalid. It must begin and end with / and contain only "
        "alphanumeric characters and/or / characters.");
  std::string wanted = util::lower(name);
  for (const auto& [_, p] : policies_)
    if (!p.aws_managed && util::lower(json::stringOr(p.doc, "PolicyName")) == wanted)
      return entityAlreadyExists(
          fmt::format("A policy called {} already exists. Duplicate names are not allowed.", name));
  if (util::policySize(text) > kManagedPolicyLimit)
    return limitExceeded(fmt::format("Cannot exceed quota for PolicySize: {}", kManagedPolicyLimit));
  const bj::array* tags = json::getArray(in, "Tags");
  if (tags && tags->size() > kMaxTags)
    return limitExceeded(fmt::format("Cannot exceed quota for TagsPerPolicy: {}", kMaxTags));
  Document doc = BERTH_TRY(parseDocument(text, PolicyKind::kIdentity));
  double now = wholeSeconds(clock_);
  ManagedPolicy p;
  p.doc = bj::object{{"PolicyName", name},
                     {"PolicyId", "ANPA" + util::randomIdChars(17)},
                     {"Arn", fmt::format("arn:aws:iam::{}:policy{}{}", config_.account_id, path, name)},
                     {"Path", path},
                     {"DefaultVersionId", "v1"},
                     {"PermissionsBoundaryUsageCount", 0},
                     {"IsAttachable", true},
                     {"CreateDate", now},
                     {"UpdateDate", now}};
  if (auto d = json::getString(in, "Description")) p.doc["Description"] = *d;
  p.versions.push_back(PolicyVersion{"v1", std::move(doc), now});
  if (tags) p.tags = *tags;
  bj::object view = policyView(p, true);
  view["AttachmentCount"] = 0;
  BERTH_TRY(commitPolicy(std::move(p)));
  return bj::object{{"Policy", std::move(view)}};
}

Result<bj::value> Iam::getPolicy(const bj::object& in) {
  ManagedPolicy* p = BERTH_TRY(findPolicy(json::stringOr(in, "PolicyArn")));
  return bj::object{{"Policy", policyView(*p, true)}};
}

Result<bj::value> Iam::listPolicies(const bj::object& in) {
  std::string scope = json::stringOr(in, "Scope", "All");
  bool only_attached = json::getBool(in, "OnlyAttached").value_or(false);
  std::string prefix = json::stringOr(in, "PathPrefix", "/");
  std::vector<util::Keyed> items;
  for (const auto& [arn, p] : policies_) {
    if (scope == "AWS" && !p.aws_managed) continue;
    if (scope == "Local" && p.aws_managed) continue;
    if (!json::stringOr(p.doc, "Path").starts_with(prefix)) continue;
    bj::object view = policyView(p, false);
    if (only_attached && view["AttachmentCount"].to_number<int64_t>() == 0) continue;
    items.push_back({util::lower(json::stringOr(p.doc, "PolicyName")) + " " + arn, std::move(view)});
  }
  bj::object out;
  util::paginate(std::move(items), in, "Policies", out);
  return out;
}

namespace {
std::unexpected<Error> awsManagedRefused(const Caller& caller, std::string_view action, std::string_view arn) {
  return accessDenied(fmt::format("User: {} is not authorized to perform: iam:{} on resource: policy {}",
                                  caller.principal_arn, action, arn));
}
}  // namespace

Result<bj::value> Iam::deletePolicy(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  ManagedPolicy* p = BERTH_TRY(findPolicy(arn));
  if (p->aws_managed) return awsManagedRefused(caller(), "DeletePolicy", arn);
  if (attachmentCount(arn) > 0) return deleteConflict("Cannot delete a policy attached to entities.");
  if (p->versions.size() > 1)
    return deleteConflict(
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
        "The default version is deleted with the policy.");
  store::Batch batch;
  batch.erase("iam.policy", arn);
  BERTH_TRY(commit(batch));
  policies_.erase(arn);
  publish();
  return bj::object{};
}

Result<bj::value> Iam::createPolicyVersion(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  ManagedPolicy* p = BERTH_TRY(findPolicy(arn));
  if (p->aws_managed) return awsManagedRefused(caller(), "CreatePolicyVersion", arn);
  if (p->versions.size() >= kMaxVersions)
    return limitExceeded(
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing "
        "version.");
  std::string text = json::stringOr(in, "PolicyDocument");
  if (util::policySize(text) > kManagedPolicyLimit)
    return limitExceeded(fmt::format("Cannot exceed quota for PolicySize: {}", kManagedPolicyLimit));
  Document doc = BERTH_TRY(parseDocument(text, PolicyKind::kIdentity));
  ManagedPolicy next = *p;
  double now = wholeSeconds(clock_);
  std::string id = fmt::format("v{}", next.next_version++);
  next.versions.push_back(PolicyVersion{id, std::move(doc), now});
  bool make_default = json::getBool(in, "SetAsDefault").value_or(false);
  if (make_default) {
    next.doc["DefaultVersionId"] = id;
    next.doc["UpdateDate"] = now;
  }
  BERTH_TRY(commitPolicy(std::move(next)));
  return bj::object{
      {"PolicyVersion", bj::object{{"VersionId", id}, {"IsDefaultVersion", make_default}, {"CreateDate", now}}}};
}

Result<bj::value> Iam::getPolicyVersion(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  ManagedPolicy* p = BERTH_TRY(findPolicy(arn));
  std::string id = json::stringOr(in, "VersionId");
  for (const auto& v : p->versions)
    if (v.id == id)
      return bj::object{
          {"PolicyVersion", bj::object{{"Document", util::urlEncode(v.document.text)},
                                       {"VersionId", v.id},
                                       {"IsDefaultVersion", json::stringOr(p->doc, "DefaultVersionId") == id},
                                       {"CreateDate", v.created}}}};
  return noSuchEntity(fmt::format("Policy {} version {} does not exist or is not attachable.", arn, id));
}

Result<bj::value> Iam::listPolicyVersions(const bj::object& in) {
  ManagedPolicy* p = BERTH_TRY(findPolicy(json::stringOr(in, "PolicyArn")));
  std::string def = json::stringOr(p->doc, "DefaultVersionId");
  std::vector<util::Keyed> items;
  for (const auto& v : p->versions)
    // Newest first, as IAM lists them.
    items.push_back({fmt::format("{:010}", 999999999 - versionNumber(v.id)),
                     bj::object{{"VersionId", v.id}, {"IsDefaultVersion", v.id == def}, {"CreateDate", v.created}}});
  bj::object out;
  util::paginate(std::move(items), in, "Versions", out);
  return out;
}

Result<bj::value> Iam::deletePolicyVersion(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  ManagedPolicy* p = BERTH_TRY(findPolicy(arn));
  if (p->aws_managed) return awsManagedRefused(caller(), "DeletePolicyVersion", arn);
  std::string id = json::stringOr(in, "VersionId");
  ManagedPolicy next = *p;
  auto it =
      std::find_if(next.versions.begin(), next.versions.end(), [&](const PolicyVersion& v) { return v.id == id; });
  if (it == next.versions.end())
    return noSuchEntity(fmt::format("Policy {} version {} does not exist or is not attachable.", arn, id));
  if (json::stringOr(next.doc, "DefaultVersionId") == id)
    return deleteConflict("Cannot delete the default version of a policy.");
  next.versions.erase(it);
  BERTH_TRY(commitPolicy(std::move(next)));
  return bj::object{};
}

Result<bj::value> Iam::setDefaultPolicyVersion(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  ManagedPolicy* p = BERTH_TRY(findPolicy(arn));
  if (p->aws_managed) return awsManagedRefused(caller(), "SetDefaultPolicyVersion", arn);
  std::string id = json::stringOr(in, "VersionId");
  bool exists = std::any_of(p->versions.begin(), p->versions.end(), [&](const PolicyVersion& v) { return v.id == id; });
  if (!exists) return noSuchEntity(fmt::format("Policy {} version {} does not exist or is not attachable.", arn, id));
  ManagedPolicy next = *p;
  next.doc["DefaultVersionId"] = id;
  next.doc["UpdateDate"] = wholeSeconds(clock_);
  BERTH_TRY(commitPolicy(std::move(next)));
  return bj::object{};
}

Result<bj::value> Iam::listEntitiesForPolicy(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  BERTH_TRY(findPolicy(arn));
  std::string filter = json::stringOr(in, "EntityFilter");
  std::string prefix = json::stringOr(in, "PathPrefix", "/");
  bj::array roles, users;
  auto attached = [&](const Identity& e) {
    return std::find(e.attached.begin(), e.attached.end(), arn) != e.attached.end() &&
           json::stringOr(e.doc, "Path").starts_with(prefix);
  };
  if (filter.empty() || filter == "Role")
    for (const auto& [_, r] : roles_)
      if (attached(r))
        roles.push_back(
            bj::object{{"RoleName", json::stringOr(r.doc, "RoleName")}, {"RoleId", json::stringOr(r.doc, "RoleId")}});
  if (filter.empty() || filter == "User")
    for (const auto& [_, u] : users_)
      if (attached(u))
        users.push_back(
            bj::object{{"UserName", json::stringOr(u.doc, "UserName")}, {"UserId", json::stringOr(u.doc, "UserId")}});
  return bj::object{{"PolicyGroups", bj::array{}},
                    {"PolicyUsers", std::move(users)},
                    {"PolicyRoles", std::move(roles)},
                    {"IsTruncated", false}};
}

Result<bj::value> Iam::tagPolicy(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  ManagedPolicy* p = BERTH_TRY(findPolicy(arn));
  if (p->aws_managed) return awsManagedRefused(caller(), "TagPolicy", arn);
  ManagedPolicy next = *p;
  if (const auto* tags = json::getArray(in, "Tags")) util::mergeTags(next.tags, *tags);
  if (next.tags.size() > kMaxTags)
    return limitExceeded(fmt::format("Cannot exceed quota for TagsPerPolicy: {}", kMaxTags));
  BERTH_TRY(commitPolicy(std::move(next)));
  return bj::object{};
}

Result<bj::value> Iam::untagPolicy(const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  ManagedPolicy* p = BERTH_TRY(findPolicy(arn));
  if (p->aws_managed) return awsManagedRefused(caller(), "UntagPolicy", arn);
  ManagedPolicy next = *p;
  if (const auto* keys = json::getArray(in, "TagKeys")) util::removeTags(next.tags, *keys);
  BERTH_TRY(commitPolicy(std::move(next)));
  return bj::object{};
}

Result<bj::value> Iam::listPolicyTags(const bj::object& in) {
  ManagedPolicy* p = BERTH_TRY(findPolicy(json::stringOr(in, "PolicyArn")));
  std::vector<util::Keyed> items;
  for (const auto& t : p->tags) items.push_back({json::stringOr(t.as_object(), "Key"), t});
  bj::object out;
  util::paginate(std::move(items), in, "Tags", out);
  return out;
}

}  // namespace berth::iam
