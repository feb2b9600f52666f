// The CloudWatch front end (GraniteServiceVersion20100801, JSON 1.0 and
// Query): maps an AwsCall onto the CloudWatch control plane.
#pragma once

#include "api/service.h"
#include "control/cloudwatch/cloudwatch.h"

namespace berth::api {

// Runs `call` on `cloudwatch`. Call on the control executor.
AwsReply invokeCloudWatch(cloudwatch::CloudWatch& cloudwatch, const AwsCall& call);

}  // namespace berth::api
