#include "aws/event_stream.h"

#include <algorithm>
#include <array>

namespace berth::aws::eventstream {
namespace {

constexpr uint8_t kStringType = 7;
constexpr size_t kPreludeBytes = 12;  // two lengths and the prelude CRC
constexpr size_t kCrcBytes = 4;

constexpr std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = makeTable();

void putU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void putU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

}  // namespace

uint32_t crc32(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (char ch : data) crc = kTable[(crc ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::string encodeMessage(const Headers& headers, std::string_view payload) {
  std::string head;
  for (const auto& [name, value] : headers) {
    size_t name_len = std::min(name.size(), kMaxHeaderNameBytes);
    size_t value_len = std::min(value.size(), kMaxHeaderValueBytes);
    head.push_back(static_cast<char>(name_len));
    head.append(name, 0, name_len);
    head.push_back(static_cast<char>(kStringType));
    putU16(head, static_cast<uint16_t>(value_len));
    head.append(value, 0, value_len);
  }
  size_t total = kPreludeBytes + head.size() + payload.size() + kCrcBytes;
  std::string out;
  out.reserve(total);
  putU32(out, static_cast<uint32_t>(total));
  putU32(out, static_cast<uint32_t>(head.size()));
  putU32(out, crc32(out));
  out += head;
  out.append(payload);
  putU32(out, crc32(out));
  return out;
}

std::string encodeEvent(std::string_view event_type, std::string_view json_payload) {
  return encodeMessage(
      {{":message-type", "event"}, {":event-type", std::string(event_type)}, {":content-type", "application/json"}},
      json_payload);
}

std::string encodeException(std::string_view exception_type, std::string_view json_payload) {
  return encodeMessage({{":message-type", "exception"},
                        {":exception-type", std::string(exception_type)},
                        {":content-type", "application/json"}},
                       json_payload);
}

}  // namespace berth::aws::eventstream
