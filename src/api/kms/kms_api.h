// The KMS front end (TrentService): maps an AwsCall onto the KMS control
// plane, with the call's caller for the permission checks behind it.
#pragma once

#include "api/service.h"
#include "control/kms/kms.h"

namespace berth::api {

// Runs `call` on `kms`. Call on the control executor.
AwsReply invokeKms(kms::Kms& kms, const AwsCall& call);

}  // namespace berth::api
