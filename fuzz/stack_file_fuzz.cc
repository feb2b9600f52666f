// Fuzzes berth.yaml stack files (stack/stack_file.h): parseStackFile, then
// resolve() for each environment of a file that parsed.
//
// Beyond "no crash, no sanitizer report", it checks:
//   - a rejected file is kInvalidArgument, and every line of the message is
//     "PATH:LINE:COLUMN: text";
//   - a parsed file resolves for every environment it names, and the result
//     is what validation promised: Fargate sizes from the table, capacity
//     FARGATE or FARGATE_SPOT, ports and counts in range, autoscaling
//     min <= max, and no placeholder left unsubstituted in the names.
//   - an environment the file does not name is kNotFound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stack/fargate.h"
#include "stack/stack_file.h"

namespace {

using namespace berth::stack;

bool wellFormedMessage(const std::string& message) {
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    std::string_view line(message.data() + start, (end == std::string::npos ? message.size() : end) - start);
    if (!line.starts_with("stack.yaml:")) return false;
    if (line.find(": ", 11) == std::string_view::npos) return false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

void checkEnvironment(const Environment& env) {
  if (env.cluster.empty() || env.namespace_name.empty() || env.region.empty()) __builtin_trap();
  if (env.cluster.find("${") != std::string::npos || env.namespace_name.find("${") != std::string::npos)
    __builtin_trap();
  if (env.tags.at("ManagedBy") != "berth" || env.tags.at("Environment") != env.name) __builtin_trap();
  for (const Service& s : env.services) {
    if (checkFargateSize(s.cpu, s.memory)) __builtin_trap();
    if (s.capacity_provider != "FARGATE" && s.capacity_provider != "FARGATE_SPOT") __builtin_trap();
    if (s.port < 0 || s.port > 65535 || s.count < 0) __builtin_trap();
    if (s.image.empty()) __builtin_trap();
    if (s.autoscaling && s.autoscaling->min > s.autoscaling->max) __builtin_trap();
    if (s.health_check && s.health_check->path.empty() == s.health_check->command.empty()) __builtin_trap();
    if (s.deployment.min_healthy_percent < 0 || s.deployment.min_healthy_percent > 100) __builtin_trap();
    if (s.deployment.max_percent < 100 || s.deployment.max_percent > 200) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto file = parseStackFile(input, "stack.yaml");
  if (!file) {
    if (file.error().code != berth::ErrorCode::kInvalidArgument) __builtin_trap();
    if (!wellFormedMessage(file.error().message)) __builtin_trap();
    return 0;
  }
  if (file->environments.empty() || file->environments.size() != file->environment_specs.size()) __builtin_trap();
  for (const std::string& name : file->environments) {
    auto env = resolve(*file, name);
    if (!env) __builtin_trap();
    if (env->services.size() != file->services.size()) __builtin_trap();
    checkEnvironment(*env);
  }
  auto missing = resolve(*file, "no-such-environment-name-at-all-x");
  if (missing || missing.error().code != berth::ErrorCode::kNotFound) __builtin_trap();
  return 0;
}
