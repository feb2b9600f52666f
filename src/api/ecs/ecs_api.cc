#include "api/ecs/ecs_api.h"

#include <string>
#include <vector>

#include "common/json.h"

namespace berth::api {

namespace bj = boost::json;

namespace {

void addRoles(const bj::object& o, std::vector<std::string>& roles) {
  for (std::string_view member : {"taskRoleArn", "executionRoleArn"})
    if (std::string role = json::stringOr(o, member); !role.empty()) roles.push_back(std::move(role));
}

// iam:PassRole: whoever names a role for ECS to use (registering a task
// definition with it, or running tasks that use it) must be allowed to pass
// that role. Root and berth's own calls pass anything.
Status checkPassRole(ecs::Ecs& ecs, const AwsCall& call, const ecs::CallContext& ctx) {
  if (!call.caller.authorize) return {};
  std::string_view op = call.operation->name;
  std::vector<std::string> roles;
  if (op == "RegisterTaskDefinition") {
    addRoles(call.input, roles);
  } else if (op == "RunTask" || op == "StartTask" || op == "CreateService" ||
             (op == "UpdateService" && call.input.contains("taskDefinition"))) {
    std::string td = json::stringOr(call.input, "taskDefinition");
    if (!td.empty()) {
      // An unknown task definition is the operation's own error to give.
      if (auto described = ecs.invoke("DescribeTaskDefinition", bj::object{{"taskDefinition", td}}, ctx)) {
        if (const bj::object* doc = json::getObject(described->as_object(), "taskDefinition")) addRoles(*doc, roles);
      }
    }
    if (const bj::object* overrides = json::getObject(call.input, "overrides")) addRoles(*overrides, roles);
  }
  for (const std::string& role : roles) BERTH_TRY(call.caller.check("iam:PassRole", role));
  return {};
}

// The call's own action, when the front door left it here: each resource
// with its tags as aws:ResourceTag/<key> (a resource without tags, or one
// that does not exist, has none).
Status checkOwnAction(ecs::Ecs& ecs, const AwsCall& call, const ecs::CallContext& ctx) {
  if (!call.iam_request) return {};
  const IamRequest& wants = *call.iam_request;
  for (const std::string& resource : wants.resources) {
    iam::ConditionKeys keys = wants.keys;
    if (resource.starts_with("arn:") && resource.find('*') == std::string::npos) {
      if (auto tags = ecs.invoke("ListTagsForResource", bj::object{{"resourceArn", resource}}, ctx)) {
        if (const bj::array* list = json::getArray(tags->as_object(), "tags"))
          for (const bj::value& t : *list)
            if (t.is_object())
              keys.emplace_back("aws:ResourceTag/" + json::stringOr(t.as_object(), "key"),
                                json::stringOr(t.as_object(), "value"));
      }
    }
    BERTH_TRY(call.caller.check(wants.action, resource, keys));
  }
  return {};
}

}  // namespace

AwsReply invokeEcs(ecs::Ecs& ecs, const AwsCall& call) {
  ecs::CallContext ctx{call.principal.arn, call.request_id};
  if (auto ok = checkOwnAction(ecs, call, ctx); !ok) return std::unexpected(ok.error());
  if (auto ok = checkPassRole(ecs, call, ctx); !ok) return std::unexpected(ok.error());
  return ecs.invoke(call.operation->name, call.input, ctx);
}

}  // namespace berth::api
