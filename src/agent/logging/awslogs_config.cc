#include "agent/logging/awslogs_config.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace berth::agent::logging {

Result<uint64_t> parseBufferSize(std::string_view text) {
  auto invalid = [&] { return fail(ErrorCode::kInvalidArgument, fmt::format("invalid size: '{}'", text)); };
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i > start;
  };
  if (!digits()) return invalid();
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return invalid();
  }
  std::string_view number = text.substr(0, i);
  if (i < text.size() && text[i] == ' ') ++i;
  uint64_t multiplier = 1;
  constexpr std::string_view kUnits = "kmgtp";  // powers of 1024
  if (size_t u = i < text.size() ? kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))))
                                 : std::string_view::npos;
      u != std::string_view::npos) {
    multiplier = 1ull << (10 * (u + 1));
    ++i;
  }
  if (i < text.size() && std::tolower(static_cast<unsigned char>(text[i])) == 'i') ++i;
  if (i < text.size() && std::tolower(static_cast<unsigned char>(text[i])) == 'b') ++i;
  if (i != text.size()) return invalid();
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return invalid();
  double bytes = std::floor(value * static_cast<double>(multiplier));
  if (bytes >= 9.2e18) return invalid();
  return static_cast<uint64_t>(bytes);
}

Result<AwslogsConfig> parseAwslogsOptions(const std::map<std::string, std::string>& options, std::string_view task_id,
                                          std::string_view container, std::string_view fallback_stream) {
  auto get = [&](const char* key) -> std::optional<std::string> {
    auto it = options.find(key);
    if (it == options.end()) return std::nullopt;
    return it->second;
  };
  AwslogsConfig c;
  c.group = get("awslogs-group").value_or("");
  if (c.group.empty()) return fail(ErrorCode::kInvalidArgument, "awslogs-group is required");
  if (auto prefix = get("awslogs-stream-prefix"); prefix && !prefix->empty()) {
    c.stream = fmt::format("{}/{}/{}", *prefix, container, task_id);
  } else {
    c.stream = std::string(fallback_stream);
  }
  c.create_group = get("awslogs-create-group") == "true";
  if (auto mode = get("mode")) {
    if (*mode == "blocking") {
      c.mode = LogMode::kBlocking;
    } else if (*mode == "non-blocking" || mode->empty()) {
      c.mode = LogMode::kNonBlocking;
    } else {
      return fail(ErrorCode::kInvalidArgument, "unknown mode type: " + *mode);
    }
  }
  // Blocking mode has no buffer to size; the shim logger ignores the option there.
  if (auto size = get("max-buffer-size"); size && c.mode == LogMode::kNonBlocking) {
    auto bytes = parseBufferSize(*size);
    if (!bytes)
      return fail(ErrorCode::kInvalidArgument, "unable to parse buffer size to bytes: " + bytes.error().message);
    c.max_buffer_bytes = *bytes;
  }
  return c;
}

}  // namespace berth::agent::logging
