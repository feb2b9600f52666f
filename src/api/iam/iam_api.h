// The IAM (2010-05-08) and STS (2011-06-15) front ends: map an AwsCall onto
// the IAM control plane (control/iam/iam.h). Both speak the Query protocol;
// IAM is global (clients sign for us-east-1, service "iam"), STS signs as
// "sts".
#pragma once

#include "api/service.h"
#include "control/iam/iam.h"

namespace berth::api {

// Run `call` on `iam`. Call on the control executor.
AwsReply invokeIam(iam::Iam& iam, const AwsCall& call);
AwsReply invokeSts(iam::Iam& iam, const AwsCall& call);

}  // namespace berth::api
