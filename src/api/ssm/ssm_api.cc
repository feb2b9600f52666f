#include "api/ssm/ssm_api.h"

namespace berth::api {

AwsReply invokeSsm(ssm::Ssm& ssm, const AwsCall& call) { return ssm.invoke(call.operation->name, call.input, call.caller); }

}  // namespace berth::api
