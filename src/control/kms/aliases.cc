// Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/json.h"
#include "control/kms/errors.h"
#include "control/kms/kms.h"

namespace berth::kms {
namespace {

constexpr std::string_view kAliasKind = "kms.alias";

Status checkAliasName(std::string_view name) {
  if (!name.starts_with("alias/") || name.size() == 6)
    return invalidAliasName(
        "Alias must start with the prefix \"alias/\". Please see "
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  if (name.starts_with("alias/aws/"))
    return invalidAliasName("Alias names starting with alias/aws/ are reserved for AWS managed keys.");
  for (char c : name.substr(6))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-')
      return invalidAliasName(fmt::format("Alias {} contains characters that are not allowed.", name));
  return {};
}

}  // namespace

Result<bj::value> Kms::createAlias(const bj::object& in, const iam::Caller& caller) {
  std::string name = json::stringOr(in, "AliasName");
  BERTH_TRY(checkAliasName(name));
  std::string target = json::stringOr(in, "TargetKeyId");
  if (target.starts_with("alias/") || target.find(":alias/") != std::string::npos)
    return validation("Aliases must refer to keys. Not aliases");
  Key* k = BERTH_TRY(authorized(target, "kms:CreateAlias", caller));
  BERTH_TRY(notPendingDeletion(*k));
  if (aliases_.contains(name))
    return alreadyExists(fmt::format("An alias with the name {} already exists", aliasArn(name)));
  double now = clock_.epochSeconds();
  bj::object alias{{"AliasName", name},
                   {"AliasArn", aliasArn(name)},
                   {"TargetKeyId", idOf(*k)},
                   {"CreationDate", now},
                   {"LastUpdatedDate", now}};
  store::Batch batch;
  persistAlias(batch, alias);
  BERTH_TRY(store_.commit(batch));
  aliases_[name] = std::move(alias);
  return bj::object{};
}

Result<bj::value> Kms::updateAlias(const bj::object& in, const iam::Caller& caller) {
  std::string name = json::stringOr(in, "AliasName");
  BERTH_TRY(checkAliasName(name));
  auto it = aliases_.find(name);
  if (it == aliases_.end()) return aliasNotFound(aliasArn(name));
  std::string target = json::stringOr(in, "TargetKeyId");
  if (target.starts_with("alias/") || target.find(":alias/") != std::string::npos)
    return validation("Aliases must refer to keys. Not aliases");
  Key* k = BERTH_TRY(authorized(target, "kms:UpdateAlias", caller));
  BERTH_TRY(notPendingDeletion(*k));
  auto current = keys_.find(json::stringOr(it->second, "TargetKeyId"));
  if (current != keys_.end() && json::stringOr(current->second.meta, "KeyUsage") != json::stringOr(k->meta, "KeyUsage"))
    return validation("The new key must have the same key usage as the current one.");
  bj::object updated = it->second;
  updated["TargetKeyId"] = idOf(*k);
  updated["LastUpdatedDate"] = clock_.epochSeconds();
  store::Batch batch;
  persistAlias(batch, updated);
  BERTH_TRY(store_.commit(batch));
  it->second = std::move(updated);
  return bj::object{};
}

Result<bj::value> Kms::deleteAlias(const bj::object& in, const iam::Caller& caller) {
  std::string name = json::stringOr(in, "AliasName");
  if (name.starts_with("alias/aws/"))
    return invalidAliasName("Alias names starting with alias/aws/ are reserved for AWS managed keys.");
  auto it = aliases_.find(name);
  if (it == aliases_.end()) return aliasNotFound(aliasArn(name));
  BERTH_TRY(caller.check("kms:DeleteAlias", json::stringOr(it->second, "AliasArn")));
  store::Batch batch;
  batch.erase(std::string(kAliasKind), name);
  BERTH_TRY(store_.commit(batch));
  aliases_.erase(it);
  return bj::object{};
}

Result<bj::value> Kms::listAliases(const bj::object& in, const iam::Caller& caller) {
  std::string key_filter;
  if (auto id = json::getString(in, "KeyId")) {
    if (id->starts_with("alias/") || id->find(":alias/") != std::string_view::npos)
      return invalidArn(fmt::format("{} is not a key ARN or key id.", *id));
    Key* k = BERTH_TRY(authorized(*id, "kms:ListAliases", caller));
    key_filter = idOf(*k);
  }
  int64_t limit = json::getInt(in, "Limit").value_or(50);
  std::string marker = json::stringOr(in, "Marker");
  if (!marker.empty() && !aliases_.contains(marker)) return invalidMarker();
  bj::array out;
  bool truncated = false;
  std::string last;
  for (auto it = marker.empty() ? aliases_.begin() : aliases_.upper_bound(marker); it != aliases_.end(); ++it) {
    if (!key_filter.empty() && json::stringOr(it->second, "TargetKeyId") != key_filter) continue;
    if (static_cast<int64_t>(out.size()) == limit) {
      truncated = true;
      break;
    }
    out.push_back(it->second);
    last = it->first;
  }
  bj::object result{{"Aliases", std::move(out)}, {"Truncated", truncated}};
  if (truncated) result["NextMarker"] = last;
  return result;
}

}  // namespace berth::kms
