// ECS task definitions: families and revisions. Validation of a definition's
// content lives in task_definition.{h,cc}; this file keeps the registry.
#include <fmt/format.h>

#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/ecs/errors.h"
#include "control/ecs/task_definition.h"

namespace berth::ecs {

Result<bj::value> Ecs::registerTaskDefinition(const bj::object& in, const CallContext& ctx) {
  std::string family = json::stringOr(in, "family");
  BERTH_TRY(validateFamily(family));
  auto& revisions = task_definitions_[family];
  // Revisions are never reused: deleted revisions stay in the registry (as
  // DELETE_IN_PROGRESS), so the next one is always past every earlier one,
  // and a rejected request uses none up.
  int64_t revision = revisions.empty() ? 1 : revisions.rbegin()->first + 1;

  TaskDefinitionContext tdc{config_.region, config_.account_id, revision, clock_.epochSeconds(), ctx.principal_arn};
  auto built = buildTaskDefinition(in, tdc);
  if (!built) {
    if (revisions.empty()) task_definitions_.erase(family);
    return std::unexpected(built.error());
  }
  // buildTaskDefinition answers {taskDefinition, tags}, as the API does.
  TaskDefinition td;
  if (const auto* doc = json::getObject(*built, "taskDefinition")) td.doc = *doc;
  if (const auto* tags = json::getArray(*built, "tags")) td.tags = *tags;

  store::Batch batch;
  persist(batch, td);
  if (auto status = commit(batch); !status) {
    if (revisions.empty()) task_definitions_.erase(family);
    return std::unexpected(status.error());
  }
  auto& stored = revisions[revision] = std::move(td);
  return bj::object{{"taskDefinition", stored.doc}, {"tags", stored.tags}};
}

Result<bj::value> Ecs::describeTaskDefinition(const bj::object& in, const CallContext&) {
  auto ref = json::getString(in, "taskDefinition");
  if (!ref || ref->empty()) return clientError("Task Definition can not be blank.");
  const TaskDefinition* td = BERTH_TRY(resolveTaskDefinition(*ref));
  bj::object out{{"taskDefinition", td->doc}};
  auto include = json::stringList(in, "include");
  if (std::find(include.begin(), include.end(), "TAGS") != include.end()) out["tags"] = td->tags;
  return out;
}

Result<bj::value> Ecs::listTaskDefinitions(const bj::object& in, const CallContext&) {
  std::string family_prefix = json::stringOr(in, "familyPrefix");
  std::string status = json::stringOr(in, "status", "ACTIVE");
  std::string sort = json::stringOr(in, "sort", "ASC");
  int64_t max = json::getInt(in, "maxResults").value_or(100);
  if (max < 1 || max > 100) return invalidParameter("maxResults must be between 1 and 100.");
  if (status != "ACTIVE" && status != "INACTIVE" && status != "DELETE_IN_PROGRESS")
    return invalidParameter("status must be one of ACTIVE, INACTIVE or DELETE_IN_PROGRESS.");
  if (sort != "ASC" && sort != "DESC") return invalidParameter("sort must be ASC or DESC.");
  std::string position = BERTH_TRY(decodeToken("ListTaskDefinitions", in));
  size_t skip = 0;
  if (!position.empty()) {
    auto parsed = std::strtoull(position.c_str(), nullptr, 10);
    skip = static_cast<size_t>(parsed);
  }

  // Despite its name, ECS matches familyPrefix against the whole family
  // name here (unlike ListTaskDefinitionFamilies, which matches a prefix).
  std::vector<std::string> arns;
  for (const auto& [family, revisions] : task_definitions_) {
    if (!family_prefix.empty() && family != family_prefix) continue;
    for (const auto& [_, td] : revisions)
      if (json::stringOr(td.doc, "status") == status) arns.push_back(json::stringOr(td.doc, "taskDefinitionArn"));
  }
  if (sort == "DESC") std::reverse(arns.begin(), arns.end());
  bj::array page;
  size_t end = std::min(arns.size(), skip + static_cast<size_t>(max));
  for (size_t i = skip; i < end; ++i) page.push_back(bj::string(arns[i]));
  bj::object out{{"taskDefinitionArns", std::move(page)}};
  if (end < arns.size()) out["nextToken"] = encodeToken("ListTaskDefinitions", std::to_string(end));
  return out;
}

Result<bj::value> Ecs::listTaskDefinitionFamilies(const bj::object& in, const CallContext&) {
  std::string prefix = json::stringOr(in, "familyPrefix");
  std::string status = json::stringOr(in, "status", "ACTIVE");
  int64_t max = json::getInt(in, "maxResults").value_or(100);
  if (max < 1 || max > 100) return invalidParameter("maxResults must be between 1 and 100.");
  std::string after = BERTH_TRY(decodeToken("ListTaskDefinitionFamilies", in));
  bj::array families;
  bool more = false;
  std::string last;
  for (auto it = after.empty() ? task_definitions_.begin() : task_definitions_.upper_bound(after);
       it != task_definitions_.end(); ++it) {
    if (!it->first.starts_with(prefix)) continue;
    bool any_active = false, any = false;
    for (const auto& [_, td] : it->second) {
      std::string s = json::stringOr(td.doc, "status");
      if (s == "DELETE_IN_PROGRESS") continue;
      any = true;
      any_active |= s == "ACTIVE";
    }
    // A family is ACTIVE while any revision is; INACTIVE when none is.
    bool match = status == "ALL" ? any : status == "ACTIVE" ? any_active : (any && !any_active);
    if (!match) continue;
    if (static_cast<int64_t>(families.size()) == max) {
      more = true;
      break;
    }
    families.push_back(bj::string(it->first));
    last = it->first;
  }
  bj::object out{{"families", std::move(families)}};
  if (more) out["nextToken"] = encodeToken("ListTaskDefinitionFamilies", last);
  return out;
}

Result<bj::value> Ecs::deregisterTaskDefinition(const bj::object& in, const CallContext&) {
  std::string ref = json::stringOr(in, "taskDefinition");
  std::string_view spec = ref;
  if (spec.starts_with("arn:")) spec = spec.substr(spec.find('/') == std::string_view::npos ? 0 : spec.find('/') + 1);
  if (spec.find(':') == std::string_view::npos)
    return clientError("Invalid revision number. Number: " + std::string(spec));
  const TaskDefinition* found = BERTH_TRY(resolveTaskDefinition(ref));
  TaskDefinition updated = *found;
  if (json::stringOr(updated.doc, "status") == "ACTIVE") {
    updated.doc["status"] = "INACTIVE";
    updated.doc["deregisteredAt"] = clock_.epochSeconds();
    store::Batch batch;
    persist(batch, updated);
    BERTH_TRY(commit(batch));
  }
  auto& stored =
      task_definitions_[json::stringOr(updated.doc, "family")][json::getInt(updated.doc, "revision").value_or(0)];
  stored = std::move(updated);
  return bj::object{{"taskDefinition", stored.doc}};
}

Result<bj::value> Ecs::deleteTaskDefinitions(const bj::object& in, const CallContext&) {
  auto refs = json::stringList(in, "taskDefinitions");
  if (refs.empty()) return invalidParameter("taskDefinitions can not be empty.");
  if (refs.size() > 10) return invalidParameter("taskDefinitions can have at most 10 items.");
  bj::array deleted, failures;
  store::Batch batch;
  std::vector<TaskDefinition> updates;
  for (const auto& ref : refs) {
    auto found = resolveTaskDefinition(ref);
    if (!found) {
      failures.push_back(bj::object{{"arn", ref}, {"reason", "The specified task definition does not exist."}});
      continue;
    }
    if (json::stringOr((*found)->doc, "status") != "INACTIVE") {
      failures.push_back(bj::object{
          {"arn", json::stringOr((*found)->doc, "taskDefinitionArn")},
          {"reason",
           "The specified task definition is still in ACTIVE status. Please deregister the target and try again."}});
      continue;
    }
    TaskDefinition updated = **found;
    updated.doc["status"] = "DELETE_IN_PROGRESS";
    updated.doc["deleteRequestedAt"] = clock_.epochSeconds();
    persist(batch, updated);
    updates.push_back(std::move(updated));
  }
  if (!batch.empty()) BERTH_TRY(commit(batch));
  for (auto& td : updates) {
    deleted.push_back(td.doc);
    task_definitions_[json::stringOr(td.doc, "family")][json::getInt(td.doc, "revision").value_or(0)] = std::move(td);
  }
  return bj::object{{"taskDefinitions", std::move(deleted)}, {"failures", std::move(failures)}};
}

}  // namespace berth::ecs
