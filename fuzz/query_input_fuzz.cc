// Fuzzes the Query/EC2 codec (aws/query_codec.h): the first byte picks the
// service (IAM, STS, EC2, CloudWatch), the second the operation (sorted by
// name, modulo their count), the rest is a form-encoded request body.
//
// An accepted input is also pushed through the XML encoder as if it were the
// operation's output (members the output shape lacks are dropped, mismatched
// types written as text), and the body's text is used as an error message:
// the encoder must cope with anything a handler might hand it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aws/model.h"
#include "aws/query_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::aws;
  static const ServiceModel* services[] = {ServiceModel::byId("iam"), ServiceModel::byId("sts"),
                                           ServiceModel::byId("ec2"), ServiceModel::byId("monitoring")};
  if (size < 2) return 0;
  const ServiceModel* service = services[data[0] % 4];
  if (!service) return 0;
  auto ops = service->operations();
  if (ops.empty()) return 0;
  const OperationModel& op = ops[data[1] % ops.size()];
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  auto params = parseFormUrlEncoded(body);
  if (!params) return 0;
  auto input = decodeQueryInput(*service, op, *params);
  if (input) {
    std::string xml = encodeQueryOutput(*service, op, *input, "fuzz");
    if (xml.empty()) __builtin_trap();
  }
  std::string error = encodeQueryError(*service, "Fuzz", body, false, body);
  if (error.empty()) __builtin_trap();
  return 0;
}
