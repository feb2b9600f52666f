// Fuzzes the JSON-protocol request decoder (aws/shape_validator.h) with ECS
// operations: the first byte picks the operation (ECS's operations sorted by
// name, modulo their count), the rest is the request body.
//
// Beyond "no crash, no sanitizer report", it checks that decoding is
// idempotent: an accepted input, serialized and decoded again, is accepted
// and unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "aws/model.h"
#include "aws/shape_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::aws;
  static const ServiceModel* ecs = ServiceModel::byId("ecs");
  if (!ecs || size == 0) return 0;
  auto ops = ecs->operations();
  if (ops.empty()) return 0;
  const OperationModel& op = ops[data[0] % ops.size()];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  auto input = decodeJsonInput(*ecs, op, body);
  if (!input) return 0;
  std::string again_body = boost::json::serialize(*input);
  auto again = decodeJsonInput(*ecs, op, again_body);
  if (!again || *again != *input) __builtin_trap();
  if (op.input) (void)validateOutputShape(*op.input, *input, "fuzz");
  return 0;
}
