#include "api/iam/iam_api.h"

#include <fmt/format.h>

namespace berth::api {
namespace {

AwsReply invoke(iam::Iam& iam, const AwsCall& call, std::string_view service) {
  const std::string& op = call.operation->name;
  if (!iam.supports(op))
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement {} {} yet.", service, op),
                "InvalidAction");
  return iam.invoke(op, call.input, call.caller);
}

}  // namespace

AwsReply invokeIam(iam::Iam& iam, const AwsCall& call) { return invoke(iam, call, "IAM"); }
AwsReply invokeSts(iam::Iam& iam, const AwsCall& call) { return invoke(iam, call, "STS"); }

}  // namespace berth::api
