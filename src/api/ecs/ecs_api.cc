#include "api/ecs/ecs_api.h"

namespace berth::api {

AwsReply invokeEcs(ecs::Ecs& ecs, const AwsCall& call) {
  ecs::CallContext ctx{call.principal.arn, call.request_id};
  return ecs.invoke(call.operation->name, call.input, ctx);
}

}  // namespace berth::api
