// Fuzzes buildTaskDefinition (src/control/ecs/task_definition.h): any bytes
// that parse as a JSON object go in as a RegisterTaskDefinition request. The
// function must never crash, hang or throw, whatever the request holds, and a
// success must serialise. Seeds: fuzz/corpus/task_definition_fuzz/.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/ecs/task_definition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::json::error_code ec;
  boost::json::value request = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !request.is_object()) return 0;
  const berth::ecs::TaskDefinitionContext context{"us-east-1", "123456789012", 1, 1767225600.0,
                                                  "arn:aws:iam::123456789012:root"};
  auto result = berth::ecs::buildTaskDefinition(request.get_object(), context);
  if (result) (void)boost::json::serialize(*result);
  return 0;
}
