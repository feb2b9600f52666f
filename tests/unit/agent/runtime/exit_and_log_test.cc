#include <sys/wait.h>

#include <gtest/gtest.h>

#include "agent/runtime/exit_file.h"
#include "agent/runtime/log_format.h"

namespace berth::agent::runtime {
namespace {

TEST(ExitStatusTest, DecodesWaitStatuses) {
  auto exited = decodeWaitStatus(W_EXITCODE(3, 0), false);
  EXPECT_EQ(exited.exit_code, 3);
  EXPECT_EQ(exited.signal, 0);
  EXPECT_FALSE(exited.oom_killed);

  auto killed = decodeWaitStatus(W_EXITCODE(0, SIGKILL), true);
  EXPECT_EQ(killed.exit_code, 137);
  EXPECT_EQ(killed.signal, SIGKILL);
  EXPECT_TRUE(killed.oom_killed);

  EXPECT_EQ(decodeWaitStatus(W_EXITCODE(0, SIGTERM), false).exit_code, 143);
  EXPECT_EQ(decodeWaitStatus(W_EXITCODE(0, 0), false).exit_code, 0);
  EXPECT_EQ(decodeWaitStatus(W_EXITCODE(255, 0), false).exit_code, 255);
}

TEST(ExitStatusTest, FileRoundTrip) {
  ExitStatus s{137, 9, true, WallTime(std::chrono::microseconds(1764330000123456))};
  std::string text = encodeExitStatus(s);
  EXPECT_EQ(text, "{\"exit_code\":137,\"signal\":9,\"oom_killed\":true,\"exited_at_us\":1764330000123456}\n");
  auto back = decodeExitStatus(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->signal, 9);
  EXPECT_TRUE(back->oom_killed);
  EXPECT_EQ(back->exited_at, s.exited_at);

  auto zero = decodeExitStatus(encodeExitStatus(ExitStatus{}));
  ASSERT_TRUE(zero.has_value());
  EXPECT_FALSE(zero->oom_killed);
  EXPECT_FALSE(decodeExitStatus("").has_value());
  EXPECT_FALSE(decodeExitStatus("{\"exit_code\":1").has_value());
}

TEST(LogFormatTest, TimeIsRfc3339WithNanoseconds) {
  EXPECT_EQ(formatLogTime(timespec{0, 5}), "1970-01-01T00:00:00.000000005Z");
  EXPECT_EQ(formatLogTime(timespec{1764330000, 123456789}), "2025-11-28T11:40:00.123456789Z");
}

TEST(LogFormatTest, SplitsChunksIntoFullAndPartialRecords) {
  std::string out;
  timespec ts{0, 0};
  appendLogRecords(out, "stdout", "hello\nwor", ts);
  appendLogRecords(out, "stdout", "ld\n", ts);
  appendLogRecords(out, "stderr", "\n", ts);
  appendLogRecords(out, "stderr", "", ts);
  const std::string t = "1970-01-01T00:00:00.000000000Z";
  EXPECT_EQ(out, t + " stdout F hello\n" + t + " stdout P wor\n" + t + " stdout F ld\n" + t + " stderr F \n");
}

TEST(LogFormatTest, ParsesRecords) {
  LogRecord r;
  ASSERT_TRUE(parseLogRecord("2026-01-01T00:00:00.000000000Z stderr P  two spaces", r));
  EXPECT_EQ(r.stream, "stderr");
  EXPECT_TRUE(r.partial);
  EXPECT_EQ(r.text, " two spaces");
  ASSERT_TRUE(parseLogRecord("2026-01-01T00:00:00.000000000Z stdout F", r));
  EXPECT_EQ(r.text, "");
  EXPECT_FALSE(r.partial);
  EXPECT_FALSE(parseLogRecord("garbage", r));
  EXPECT_FALSE(parseLogRecord("t stdout X y", r));
}

}  // namespace
}  // namespace berth::agent::runtime
