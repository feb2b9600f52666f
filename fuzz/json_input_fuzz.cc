// Fuzzes the JSON-protocol request decoder (aws/shape_validator.h) with ECS
// operations: the first byte picks the operation (ECS's operations sorted by
// name, modulo their count), the rest is the request body.
//
// Beyond "no crash, no sanitizer report", it checks that decoding is
// idempotent: an accepted input, serialized and decoded again, is accepted
// and unchanged (doubles to 1e-12 relative: Boost.JSON 1.81 does not parse
// every double exactly).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "aws/model.h"
#include "aws/shape_validator.h"

namespace {

bool sameValue(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() || b.is_double()) {
    if (!a.is_number() || !b.is_number()) return false;
    double x = a.to_number<double>();
    double y = b.to_number<double>();
    return x == y || std::fabs(x - y) <= 1e-12 * std::fmax(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!sameValue(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      const boost::json::value* other = y.if_contains(k);
      if (!other || !sameValue(v, *other)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

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
  if (!again || !sameValue(*again, *input)) __builtin_trap();
  if (op.input) (void)validateOutputShape(*op.input, *input, "fuzz");
  return 0;
}
