// The awslogs log driver's options, as a container definition's
// logConfiguration gives them (AWS_SEMANTICS.md, "awslogs"):
//
//   awslogs-group          the log group (required; RegisterTaskDefinition checks)
//   awslogs-stream-prefix  stream = <prefix>/<container name>/<task id>
//   awslogs-create-group   "true": create the group when it is missing
//   mode                   blocking | non-blocking (default non-blocking)
//   max-buffer-size        non-blocking's buffer, Docker units ("25m"; default 10m)
//   awslogs-region         ignored: berth has one region
//
// Pure functions, no I/O: safe on any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::agent::logging {

enum class LogMode { kBlocking, kNonBlocking };

inline constexpr uint64_t kDefaultMaxBufferBytes = 10ull << 20;

struct AwslogsConfig {
  std::string group;
  std::string stream;
  bool create_group = false;
  LogMode mode = LogMode::kNonBlocking;
  // Non-blocking mode: the most unread output kept before the oldest is
  // dropped (the log file is the buffer).
  uint64_t max_buffer_bytes = kDefaultMaxBufferBytes;
};

// Docker's units.RAMInBytes: "<number>[ ][kmgtp][i][b]", case-insensitive,
// binary multiples, a fraction allowed ("1.5m"). kInvalidArgument
// ("invalid size: '<text>'") otherwise.
Result<uint64_t> parseBufferSize(std::string_view text);

// The config of an awslogs container: `options` are the logConfiguration's
// options; the stream is <prefix>/<container>/<task id>, or `fallback_stream`
// without a prefix (Docker names it after the container id). Errors
// (kInvalidArgument) use the shim logger's wording, e.g. "unknown mode type:
// fast".
Result<AwslogsConfig> parseAwslogsOptions(const std::map<std::string, std::string>& options, std::string_view task_id,
                                          std::string_view container, std::string_view fallback_stream);

}  // namespace berth::agent::logging
