#include "api/cloudwatch/cloudwatch_api.h"

namespace berth::api {

AwsReply invokeCloudWatch(cloudwatch::CloudWatch& cloudwatch, const AwsCall& call) {
  return cloudwatch.invoke(call.operation->name, call.input);
}

}  // namespace berth::api
