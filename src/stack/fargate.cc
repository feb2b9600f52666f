#include "stack/fargate.h"

#include <fmt/format.h>

namespace berth::stack {
namespace {

// One row of the Fargate table: memory from `min` to `max` by `step` (MiB).
// 256 CPU is the exception, with 512, 1024 and 2048 (not a regular step).
struct SizeRow {
  int cpu, min, max, step;
};

constexpr SizeRow kRows[] = {
    {256, 512, 2048, 0},       {512, 1024, 4096, 1024},    {1024, 2048, 8192, 1024},     {2048, 4096, 16384, 1024},
    {4096, 8192, 30720, 1024}, {8192, 16384, 61440, 4096}, {16384, 32768, 122880, 8192},
};

const SizeRow* rowFor(int cpu) {
  for (const SizeRow& r : kRows) {
    if (r.cpu == cpu) return &r;
  }
  return nullptr;
}

bool memoryFits(const SizeRow& r, int memory) {
  if (r.step == 0) return memory == 512 || memory == 1024 || memory == 2048;
  return memory >= r.min && memory <= r.max && (memory - r.min) % r.step == 0;
}

std::string gb(int mib) {
  if (mib % 1024 == 0) return fmt::format("{} GB", mib / 1024);
  return fmt::format("{} GB", mib / 1024.0);
}

}  // namespace

std::optional<std::string> checkFargateSize(int cpu, int memory) {
  const SizeRow* row = rowFor(cpu);
  if (!row || !memoryFits(*row, memory)) {
    // ECS's own words (src/control/ecs/task_definition.cc, checkFargate).
    return fmt::format(
        "No Fargate configuration exists for given values: {} CPU, {} memory. See the Amazon ECS documentation for "
        "the valid values.",
        cpu, memory);
  }
  return std::nullopt;
}

std::string fargateMemoryChoices(int cpu) {
  const SizeRow* row = rowFor(cpu);
  if (!row) return {};
  if (row->step == 0) return "512 (0.5 GB), 1024 (1 GB), 2048 (2 GB)";
  return fmt::format("{} ({}) to {} ({}) in steps of {}", row->min, gb(row->min), row->max, gb(row->max), row->step);
}

}  // namespace berth::stack
