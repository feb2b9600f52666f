// AWS event-stream messages (application/vnd.amazon.eventstream), the
// framing of streamed responses such as CloudWatch Logs' StartLiveTail.
//
// A message is:
//   total length      u32 BE (the whole message, both CRCs included)
//   headers length    u32 BE
//   prelude CRC       u32 BE, CRC-32 (IEEE, as zlib's crc32) of the 8 bytes above
//   headers           each: name length u8, name, value type u8, value
//                     (this encoder writes strings only: type 7, length u16 BE, bytes)
//   payload
//   message CRC       u32 BE, CRC-32 of everything before it
//
// Threads: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::aws::eventstream {

// Largest message AWS accepts (16 MiB) and longest header name / value.
inline constexpr size_t kMaxMessageBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxHeaderNameBytes = 255;
inline constexpr size_t kMaxHeaderValueBytes = 32767;

using Headers = std::vector<std::pair<std::string, std::string>>;  // string-valued, in order

// CRC-32 of `data`, continuing from `crc` (0 to start).
uint32_t crc32(std::string_view data, uint32_t crc = 0);

// One message. Preconditions: header names <= kMaxHeaderNameBytes, values
// <= kMaxHeaderValueBytes (longer ones are truncated, never misframed).
std::string encodeMessage(const Headers& headers, std::string_view payload);

// An event of a modeled event stream (":message-type" event) with a JSON
// payload, e.g. StartLiveTail's "sessionUpdate".
std::string encodeEvent(std::string_view event_type, std::string_view json_payload);

// A modeled exception inside a stream (":message-type" exception), e.g.
// "SessionTimeoutException"; the payload is {"message": ...} as JSON.
std::string encodeException(std::string_view exception_type, std::string_view json_payload);

}  // namespace berth::aws::eventstream
