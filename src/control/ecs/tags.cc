// ECS tags (TagResource, UntagResource, ListTagsForResource) and account
// settings (ListAccountSettings, PutAccountSetting, PutAccountSettingDefault,
// DeleteAccountSetting).
#include <fmt/format.h>

#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/ecs/errors.h"

namespace berth::ecs {
namespace {

constexpr std::string_view kAccountKind = "ecs.account";

Status validateTags(const bj::array& tags) {
  if (tags.size() > 50) return invalidParameter("Tags can have at most 50 items.");
  for (const auto& t : tags) {
    const auto& o = t.as_object();
    std::string key = json::stringOr(o, "key");
    std::string value = json::stringOr(o, "value");
    if (key.empty() || key.size() > 128) return invalidParameter("Tag keys must be between 1 and 128 characters.");
    if (value.size() > 256) return invalidParameter("Tag values must be at most 256 characters.");
    if (key.starts_with("aws:")) return invalidParameter("Tag keys may not begin with the reserved prefix 'aws:'.");
  }
  return {};
}

void mergeTags(bj::array& tags, const bj::array& updates) {
  for (const auto& u : updates) {
    std::string key = json::stringOr(u.as_object(), "key");
    bool replaced = false;
    for (auto& t : tags)
      if (json::stringOr(t.as_object(), "key") == key) {
        t = u;
        replaced = true;
      }
    if (!replaced) tags.push_back(u);
  }
}

// ECS's account settings (the SettingName enum), their defaults for a new
// account and the values each accepts.
struct SettingRule {
  std::string_view name;
  std::string_view fallback;
  std::vector<std::string_view> values;
};

const std::vector<SettingRule>& settingRules() {
  static const std::vector<SettingRule> kRules = {
      {"awsvpcTrunking", "disabled", {"enabled", "disabled"}},
      {"containerInsights", "disabled", {"enabled", "disabled", "enhanced"}},
      {"containerInstanceLongArnFormat", "enabled", {"enabled", "disabled"}},
      {"defaultLogDriverMode", "non-blocking", {"blocking", "non-blocking"}},
      {"fargateEventWindows", "disabled", {"enabled", "disabled"}},
      {"fargateFIPSMode", "disabled", {"enabled", "disabled"}},
      {"fargateTaskRetirementWaitPeriod", "7", {"0", "7", "14"}},
      {"guardDutyActivate", "off", {"on", "off"}},
      {"serviceLongArnFormat", "enabled", {"enabled", "disabled"}},
      {"tagResourceAuthorization", "on", {"on", "off"}},
      {"taskLongArnFormat", "enabled", {"enabled", "disabled"}},
  };
  return kRules;
}

const SettingRule* findSetting(std::string_view name) {
  for (const auto& rule : settingRules())
    if (rule.name == name) return &rule;
  return nullptr;
}

}  // namespace

// The tag list of a resource document, created empty when missing.
static bj::array* tagsIn(bj::object& doc) {
  if (!doc["tags"].is_array()) doc["tags"].emplace_array();
  return &doc["tags"].as_array();
}

Status Ecs::editTags(const std::string& resource, const std::function<void(bj::array&)>& edit) {
  // Each branch edits a copy, commits it, and only then swaps it in.
  auto apply = [&](auto& current, auto&& tags_of) -> Status {
    auto updated = current;
    edit(tags_of(updated));
    store::Batch batch;
    persist(batch, updated);
    BERTH_TRY(commit(batch));
    current = std::move(updated);
    return {};
  };
  auto doc_tags = [](auto& r) -> bj::array& { return *tagsIn(r.doc); };
  for (auto& [_, c] : clusters_)
    if (json::stringOr(c.doc, "clusterArn") == resource) return apply(c, doc_tags);
  for (auto& [_, s] : services_)
    if (json::stringOr(s.doc, "serviceArn") == resource) return apply(s, doc_tags);
  if (auto it = tasks_.find(resource); it != tasks_.end()) return apply(it->second, doc_tags);
  if (resource.starts_with(arn("task-definition/")))
    if (auto td = resolveTaskDefinition(resource); td) {
      auto& stored = task_definitions_[json::stringOr((*td)->doc, "family")]
                                      [json::getInt((*td)->doc, "revision").value_or(0)];
      return apply(stored, [](TaskDefinition& t) -> bj::array& { return t.tags; });
    }
  return fail(ErrorCode::kNotFound, "The specified resource could not be found.", "ResourceNotFoundException");
}

Result<bj::value> Ecs::tagResource(const bj::object& in, const CallContext&) {
  const bj::array* tags = json::getArray(in, "tags");
  if (!tags) return invalidParameter("Tags can not be null.");
  BERTH_TRY(validateTags(*tags));
  BERTH_TRY(editTags(json::stringOr(in, "resourceArn"), [&](bj::array& current) { mergeTags(current, *tags); }));
  return bj::object{};
}

Result<bj::value> Ecs::untagResource(const bj::object& in, const CallContext&) {
  auto keys = json::stringList(in, "tagKeys");
  BERTH_TRY(editTags(json::stringOr(in, "resourceArn"), [&](bj::array& current) {
    bj::array kept;
    for (const auto& t : current)
      if (std::find(keys.begin(), keys.end(), json::stringOr(t.as_object(), "key")) == keys.end()) kept.push_back(t);
    current = std::move(kept);
  }));
  return bj::object{};
}

Result<bj::value> Ecs::listTagsForResource(const bj::object& in, const CallContext&) {
  std::string resource = json::stringOr(in, "resourceArn");
  for (const auto& [_, c] : clusters_)
    if (json::stringOr(c.doc, "clusterArn") == resource)
      return bj::object{{"tags", json::getArray(c.doc, "tags") ? *json::getArray(c.doc, "tags") : bj::array{}}};
  for (const auto& [_, s] : services_)
    if (json::stringOr(s.doc, "serviceArn") == resource)
      return bj::object{{"tags", json::getArray(s.doc, "tags") ? *json::getArray(s.doc, "tags") : bj::array{}}};
  if (auto it = tasks_.find(resource); it != tasks_.end())
    return bj::object{
        {"tags", json::getArray(it->second.doc, "tags") ? *json::getArray(it->second.doc, "tags") : bj::array{}}};
  if (resource.starts_with(arn("task-definition/")))
    if (auto td = resolveTaskDefinition(resource); td) return bj::object{{"tags", (*td)->tags}};
  return fail(ErrorCode::kNotFound, "The specified resource could not be found.", "ResourceNotFoundException");
}

Result<bj::value> Ecs::listAccountSettings(const bj::object& in, const CallContext& ctx) {
  std::string name = json::stringOr(in, "name");
  std::string value = json::stringOr(in, "value");
  std::string principal = json::stringOr(in, "principalArn", ctx.principal_arn);
  bool effective = json::getBool(in, "effectiveSettings").value_or(false);
  std::string root = fmt::format("arn:aws:iam::{}:root", config_.account_id);
  bj::array settings;
  for (const auto& rule : settingRules()) {
    std::string setting(rule.name), fallback(rule.fallback);
    if (!name.empty() && setting != name) continue;
    const bj::object* chosen = nullptr;
    if (auto it = account_settings_.find(principal + "|" + setting); it != account_settings_.end())
      chosen = &it->second;
    else if (effective || principal == root)
      if (auto it2 = account_settings_.find(root + "|" + setting); it2 != account_settings_.end())
        chosen = &it2->second;
    bj::object s;
    if (chosen)
      s = *chosen;
    else if (effective || json::find(in, "principalArn") == nullptr)
      s = bj::object{{"name", setting}, {"value", fallback}, {"principalArn", root}, {"type", "aws_managed"}};
    else
      continue;
    if (!value.empty() && json::stringOr(s, "value") != value) continue;
    settings.push_back(std::move(s));
  }
  return bj::object{{"settings", std::move(settings)}};
}

Result<bj::value> Ecs::putAccountSetting(const bj::object& in, const CallContext& ctx) {
  std::string name = json::stringOr(in, "name");
  std::string value = json::stringOr(in, "value");
  const SettingRule* rule = findSetting(name);
  if (!rule) return invalidParameter(fmt::format("The setting name '{}' is not valid.", name));
  if (std::find(rule->values.begin(), rule->values.end(), value) == rule->values.end())
    return invalidParameter(fmt::format("The value '{}' is not valid for the setting '{}'.", value, name));
  std::string principal = json::stringOr(in, "principalArn", ctx.principal_arn);
  bj::object setting{{"name", name}, {"value", value}, {"principalArn", principal}, {"type", "user"}};
  store::Batch batch;
  std::string key = principal + "|" + name;
  batch.put(std::string(kAccountKind), key, json::serialize(setting));
  BERTH_TRY(commit(batch));
  account_settings_[key] = setting;
  return bj::object{{"setting", std::move(setting)}};
}

Result<bj::value> Ecs::putAccountSettingDefault(const bj::object& in, const CallContext& ctx) {
  bj::object with_root = in;
  with_root["principalArn"] = fmt::format("arn:aws:iam::{}:root", config_.account_id);
  return putAccountSetting(with_root, ctx);
}

Result<bj::value> Ecs::deleteAccountSetting(const bj::object& in, const CallContext& ctx) {
  std::string name = json::stringOr(in, "name");
  if (!findSetting(name)) return invalidParameter(fmt::format("The setting name '{}' is not valid.", name));
  std::string principal = json::stringOr(in, "principalArn", ctx.principal_arn);
  std::string key = principal + "|" + name;
  auto it = account_settings_.find(key);
  bj::object setting = it != account_settings_.end()
                           ? it->second
                           : bj::object{{"name", name}, {"value", ""}, {"principalArn", principal}};
  if (it != account_settings_.end()) {
    store::Batch batch;
    batch.erase(std::string(kAccountKind), key);
    BERTH_TRY(commit(batch));
    account_settings_.erase(it);
  }
  return bj::object{{"setting", std::move(setting)}};
}

}  // namespace berth::ecs
