// RegisterTaskDefinition: validation and normalisation (ARCHITECTURE.md,
// "control"; STYLE.md rule 4, "validate at the edge").
//
// buildTaskDefinition() turns a RegisterTaskDefinition request into the
// TaskDefinition object exactly as DescribeTaskDefinition returns it, or the
// error real ECS gives for that request. It is a pure function: no I/O, no
// globals, no clock (the caller passes revision and time in the context), so
// it is safe on any thread and deterministic for a given input.
//
// Input contract. The request is the JSON body of the call
// (RegisterTaskDefinitionRequest in botocore's ECS model). The protocol layer
// normally type-checks it first, but this function does not rely on that: a
// member of the wrong JSON type is reported as a ClientException, never a
// crash (the fuzzer in fuzz/task_definition_fuzz.cc holds it to that). Ranges,
// enums, required members and cross-field rules are checked here, in ECS's
// order where it is known, and the first violation is returned.
//
// Errors are Error{kInvalidArgument, message, aws_type} with aws_type
// "ClientException" (everything about the definition itself, as ECS does) or
// "InvalidParameterException" (tags). Messages are ECS's own where they could
// be found; task_definition.cc marks each message as verified or written in
// ECS's style.
//
// Output. On success the result is the RegisterTaskDefinitionResponse shape:
//   {"taskDefinition": {...}, "tags": [...]}
// "taskDefinition" is what DescribeTaskDefinition returns for this revision:
// members in botocore's order, unknown members dropped, and ECS's defaults
// filled in -- container cpu 0, essential true, portMappings/environment/
// mountPoints/volumesFrom [], port protocol "tcp", hostPort (= containerPort
// in awsvpc and host mode, 0 in bridge mode), healthCheck interval 30 /
// timeout 5 / retries 3, task cpu and memory as unit strings ("0.25 vCPU" ->
// "256", "1 GB" -> "1024"), role names expanded to role ARNs, volumes without
// a configuration given "host": {}, status "ACTIVE", requiresAttributes and
// compatibilities computed as ECS does (see task_definition.cc), registeredAt
// (epoch seconds) and registeredBy. "tags" is the request's tags, validated,
// kept apart because ECS stores them on the resource, not in the definition
// ([] when none).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::ecs {

// What the caller knows that the request does not carry.
struct TaskDefinitionContext {
  std::string region;         // e.g. "us-east-1"
  std::string account_id;     // 12 digits
  int64_t revision = 1;       // assigned by the caller (next revision of the family)
  double registered_at = 0;   // epoch seconds
  std::string registered_by;  // principal ARN of the caller
};

// Validates and normalises a RegisterTaskDefinition request; see the file
// comment for the output shape. The taskDefinitionArn is
// arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>.
Result<boost::json::object> buildTaskDefinition(const boost::json::object& request, const TaskDefinitionContext& ctx);

// Validates a task definition family name alone: 1 to 255 letters, numbers,
// hyphens and underscores. The errors are RegisterTaskDefinition's
// ClientExceptions ("Family can not be blank.", "Family contains invalid
// characters."); other calls that take a family may map them as they need.
Status validateFamily(std::string_view family);

// Task-level cpu as ECS accepts it: CPU units ("256") or vCPUs ("0.25 vCPU",
// "1 vcpu", "2vCPU"), normalised to CPU units. The result is a whole number of
// units between 128 and 196608 (192 vCPU, EC2's limit); anything else is the
// ClientException "Invalid 'cpu' setting for task.".
Result<int> parseCpu(std::string_view text);

// Task-level memory as ECS accepts it: MiB ("512", "512 MiB", "512MB") or GB
// ("0.5 GB", "1 GB", "2GiB"; 1 GB = 1024 MiB), normalised to MiB. The result
// is a whole number of MiB, at least 6 (Docker's minimum for a container) and
// at most 2^31-1; anything else is the ClientException
// "Invalid 'memory' setting for task.".
Result<int> parseMemoryMiB(std::string_view text);

// Whether (cpu, memory) is a task size Fargate offers (Linux; AWS_SEMANTICS.md):
// 256 -> 512, 1024, 2048 MiB; 512 -> 1-4 GiB; 1024 -> 2-8 GiB; 2048 -> 4-16 GiB;
// 4096 -> 8-30 GiB (1 GiB steps); 8192 -> 16-60 GiB (4 GiB steps);
// 16384 -> 32-120 GiB (8 GiB steps).
bool isValidFargateCpuMemory(int cpu_units, int memory_mib);

}  // namespace berth::ecs
