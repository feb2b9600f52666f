// Fargate's task size table: which CPU units go with which memory (MiB).
#pragma once

#include <optional>
#include <string>

namespace berth::stack {

// The Fargate CPU values (units of 1/1024 vCPU) in increasing order.
inline constexpr int kFargateCpuValues[] = {256, 512, 1024, 2048, 4096, 8192, 16384};

// std::nullopt when (cpu, memory) is a valid Fargate task size; else the
// reason, in the words ECS uses where known.
std::optional<std::string> checkFargateSize(int cpu, int memory);

// "512 (0.5 GB), 1024 (1 GB), 2048 (2 GB)": the memory values valid with a
// valid cpu, for messages. Empty for an invalid cpu.
std::string fargateMemoryChoices(int cpu);

}  // namespace berth::stack
