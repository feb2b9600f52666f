#include "api/autoscaling/autoscaling_api.h"

namespace berth::api {

AwsReply invokeAutoScaling(autoscaling::ApplicationAutoScaling& autoscaling, const AwsCall& call) {
  return autoscaling.invoke(call.operation->name, call.input);
}

}  // namespace berth::api
