// What roles and users share: inline policies, attached managed policies
// and tags.
#include <fmt/format.h>

#include "common/json.h"
#include "control/iam/errors.h"
#include "control/iam/iam.h"
#include "control/iam/util.h"

namespace berth::iam {
namespace {

constexpr size_t kRoleInlineLimit = 10240;
constexpr size_t kUserInlineLimit = 2048;
constexpr size_t kMaxAttached = 10;
constexpr size_t kMaxTags = 50;

}  // namespace

Result<bj::value> Iam::putInline(Identity& entity, bool is_role, const bj::object& in) {
  std::string name = json::stringOr(in, "PolicyName");
  std::string text = json::stringOr(in, "PolicyDocument");
  std::string owner = json::stringOr(entity.doc, is_role ? "RoleName" : "UserName");
  // IAM checks the size before the grammar.
  size_t total = util::policySize(text);
  for (const auto& [n, d] : entity.inline_policies)
    if (n != name) total += util::policySize(d.text);
  size_t limit = is_role ? kRoleInlineLimit : kUserInlineLimit;
  if (total > limit)
    return limitExceeded(
        fmt::format("Maximum policy size of {} bytes exceeded for {} {}", limit, is_role ? "role" : "user", owner));
  Document doc = BERTH_TRY(parseDocument(text, PolicyKind::kIdentity));
  entity.inline_policies[name] = std::move(doc);
  BERTH_TRY(commitIdentity(entity, is_role));
  return bj::object{};
}

Result<bj::value> Iam::deleteInline(Identity& entity, bool is_role, const bj::object& in) {
  std::string name = json::stringOr(in, "PolicyName");
  auto it = entity.inline_policies.find(name);
  if (it == entity.inline_policies.end())
    return noSuchEntity(fmt::format("The {} policy with name {} cannot be found.", is_role ? "role" : "user", name));
  entity.inline_policies.erase(it);
  BERTH_TRY(commitIdentity(entity, is_role));
  return bj::object{};
}

Result<bj::value> Iam::attach(Identity& entity, bool is_role, const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  const ManagedPolicy* p = policyByArn(arn);
  if (!p) return noSuchEntity(fmt::format("Policy {} does not exist or is not attachable.", arn));
  if (std::find(entity.attached.begin(), entity.attached.end(), arn) != entity.attached.end()) return bj::object{};
  if (entity.attached.size() >= kMaxAttached)
    return limitExceeded(
        fmt::format("Cannot exceed quota for PoliciesPer{}: {}", is_role ? "Role" : "User", kMaxAttached));
  entity.attached.push_back(arn);
  BERTH_TRY(commitIdentity(entity, is_role));
  return bj::object{};
}

Result<bj::value> Iam::detach(Identity& entity, bool is_role, const bj::object& in) {
  std::string arn = json::stringOr(in, "PolicyArn");
  auto it = std::find(entity.attached.begin(), entity.attached.end(), arn);
  if (it == entity.attached.end()) return noSuchEntity(fmt::format("Policy {} was not found.", arn));
  entity.attached.erase(it);
  BERTH_TRY(commitIdentity(entity, is_role));
  return bj::object{};
}

Result<bj::value> Iam::editTags(Identity& entity, bool is_role, const bj::array* add, const bj::array* remove_keys) {
  if (add) util::mergeTags(entity.tags, *add);
  if (remove_keys) util::removeTags(entity.tags, *remove_keys);
  if (entity.tags.size() > kMaxTags)
    return limitExceeded(fmt::format("Cannot exceed quota for TagsPer{}: {}", is_role ? "Role" : "User", kMaxTags));
  BERTH_TRY(commitIdentity(entity, is_role));
  return bj::object{};
}

}  // namespace berth::iam
