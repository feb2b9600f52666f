#include "api/ssm/ssm_api.h"

#include "common/json.h"

namespace berth::api {

namespace bj = boost::json;

namespace {

// The call's own action, when the front door left it here (the caller's
// policies ask for resource tags): each parameter with its tags as
// aws:ResourceTag/<key>.
Status checkOwnAction(ssm::Ssm& ssm, const AwsCall& call) {
  if (!call.iam_request) return {};
  const IamRequest& wants = *call.iam_request;
  constexpr std::string_view kParameter = ":parameter/";
  for (const std::string& resource : wants.resources) {
    iam::ConditionKeys keys = wants.keys;
    if (size_t at = resource.find(kParameter); at != std::string::npos) {
      // The ARN drops a hierarchical name's leading slash: try with it first.
      std::string name = resource.substr(at + kParameter.size());
      for (const std::string& id : {"/" + name, name}) {
        auto tags = ssm.invoke("ListTagsForResource", bj::object{{"ResourceType", "Parameter"}, {"ResourceId", id}},
                               iam::Caller{});
        if (!tags) continue;
        if (const bj::array* list = json::getArray(tags->as_object(), "TagList"))
          for (const bj::value& t : *list)
            if (t.is_object())
              keys.emplace_back("aws:ResourceTag/" + json::stringOr(t.as_object(), "Key"),
                                json::stringOr(t.as_object(), "Value"));
        break;
      }
    }
    BERTH_TRY(call.caller.check(wants.action, resource, keys));
  }
  return {};
}

}  // namespace

AwsReply invokeSsm(ssm::Ssm& ssm, const AwsCall& call) {
  if (auto ok = checkOwnAction(ssm, call); !ok) return std::unexpected(ok.error());
  return ssm.invoke(call.operation->name, call.input, call.caller);
}

}  // namespace berth::api
