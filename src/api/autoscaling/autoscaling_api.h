// The Application Auto Scaling front end (AnyScaleFrontendService, JSON
// 1.1): maps an AwsCall onto the control plane.
#pragma once

#include "api/service.h"
#include "control/autoscaling/autoscaling.h"

namespace berth::api {

// Runs `call` on `autoscaling`. Call on the control executor.
AwsReply invokeAutoScaling(autoscaling::ApplicationAutoScaling& autoscaling, const AwsCall& call);

}  // namespace berth::api
