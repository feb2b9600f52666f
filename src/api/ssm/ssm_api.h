// The SSM Parameter Store front end (AmazonSSM): maps an AwsCall onto the
// Parameter Store control plane, with the call's caller for the KMS
// permission checks behind SecureString parameters.
#pragma once

#include "api/service.h"
#include "control/ssm/ssm.h"

namespace berth::api {

// Runs `call` on `ssm`. Call on the control executor.
AwsReply invokeSsm(ssm::Ssm& ssm, const AwsCall& call);

}  // namespace berth::api
