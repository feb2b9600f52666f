// The event-stream encoder against vectors decoded by an independent
// implementation (botocore's EventStreamBuffer, which checks both CRCs) and
// the CRC-32 check value.
#include "aws/event_stream.h"

#include <gtest/gtest.h>

namespace berth::aws::eventstream {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

uint32_t u32At(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

TEST(EventStreamTest, Crc32IsZlibs) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  EXPECT_EQ(crc32(""), 0u);
  // Continuing a CRC equals computing it at once.
  EXPECT_EQ(crc32("6789", crc32("12345")), crc32("123456789"));
}

TEST(EventStreamTest, EmptyMessageMatchesTheSpecVector) {
  // AWS's event-stream test suite's "empty_message".
  EXPECT_EQ(hex(encodeMessage({}, "")), "000000100000000005c248eb7d98c8ff");
}

TEST(EventStreamTest, EventMatchesBotocoresDecoding) {
  // Decoded by botocore 1.43's EventStreamBuffer: headers {':message-type':
  // 'event', ':event-type': 'sessionUpdate', ':content-type':
  // 'application/json'}, payload {"a":1}, message CRC 0xdd640fe6.
  std::string m = encodeEvent("sessionUpdate", R"({"a":1})");
  EXPECT_EQ(hex(m),
            "0000006a0000005344c2b0cb0d3a6d6573736167652d747970650700056576656e740b3a6576656e742d7479706507000d7365"
            "7373696f6e5570646174650d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b2261223a31"
            "7ddd640fe6");
  EXPECT_EQ(u32At(m, 0), m.size());
  EXPECT_EQ(u32At(m, 8), crc32(std::string_view(m).substr(0, 8)));
  EXPECT_EQ(u32At(m, m.size() - 4), crc32(std::string_view(m).substr(0, m.size() - 4)));
}

TEST(EventStreamTest, ExceptionCarriesItsType) {
  std::string m = encodeException("SessionTimeoutException", R"({"message":"x"})");
  EXPECT_NE(m.find(":message-type"), std::string::npos);
  EXPECT_NE(m.find("exception"), std::string::npos);
  EXPECT_NE(m.find(":exception-type"), std::string::npos);
  EXPECT_NE(m.find("SessionTimeoutException"), std::string::npos);
  EXPECT_TRUE(std::string_view(m).substr(0, m.size() - 4).ends_with(R"({"message":"x"})"));
  EXPECT_EQ(u32At(m, 4), m.size() - 16 - 15);  // headers = all but prelude, payload, CRC
}

TEST(EventStreamTest, OversizedHeadersAreTruncatedNotMisframed) {
  std::string long_name(300, 'n');
  std::string long_value(40000, 'v');
  std::string m = encodeMessage({{long_name, long_value}}, "p");
  size_t headers = 1 + kMaxHeaderNameBytes + 1 + 2 + kMaxHeaderValueBytes;
  EXPECT_EQ(u32At(m, 4), headers);
  EXPECT_EQ(m.size(), 12 + headers + 1 + 4);
  EXPECT_EQ(static_cast<unsigned char>(m[12]), kMaxHeaderNameBytes);
}

}  // namespace
}  // namespace berth::aws::eventstream
