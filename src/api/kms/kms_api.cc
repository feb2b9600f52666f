#include "api/kms/kms_api.h"

namespace berth::api {

AwsReply invokeKms(kms::Kms& kms, const AwsCall& call) { return kms.invoke(call.operation->name, call.input, call.caller); }

}  // namespace berth::api
