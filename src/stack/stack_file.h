// berth.yaml stack files: parse, validate, resolve one environment.
//
// The format is documented in docs/stack-file.md. Validation is strict and
// happens once, here, at the edge: unknown keys (with a suggestion), wrong
// types, Fargate CPU/memory combinations, ranges, names and references. Every
// problem is reported as "FILE:LINE:COLUMN: message" (1-based), one per line
// in Error::message, with as many problems reported at once as the file
// allows. A StackFile that parsed resolves for each of its environments
// without error; code after resolve() may assume a valid Environment.
//
// Pure functions of their input (loadStackFile reads the file); thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "stack/model.h"

namespace berth::stack {

// Reads, parses and validates `path` (all its environments). kIo when the
// file cannot be read; kInvalidArgument with the list of problems otherwise.
Result<StackFile> loadStackFile(const std::string& path);

// Parses and validates YAML text; `path` is used in messages only. Never
// throws, whatever the input.
Result<StackFile> parseStackFile(std::string_view yaml, std::string path);

// The environment `env` of a parsed file: defaults and overrides applied and
// ${env}, ${project}, ${region}, ${account} substituted (`account` is the
// AWS account id; berthd's default is 000000000000). kNotFound when the file
// has no such environment.
Result<Environment> resolve(const StackFile& file, std::string_view env, std::string_view account = "000000000000");

// Formats a location as "FILE:LINE:COLUMN".
std::string formatLocation(const Location& where);

}  // namespace berth::stack
