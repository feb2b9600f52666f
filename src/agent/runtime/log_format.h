// The container log line format (layout.h): CRI's
//   <RFC 3339 UTC, ns> <stdout|stderr> <F|P> <text>\n
// Pure helpers, used by berth-monitor (no heap beyond std::string) and by
// tests and readers.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace berth::agent::runtime {

// "2026-11-28T11:40:00.123456789Z"
std::string formatLogTime(const timespec& ts);

// Splits a chunk read from one stream into records appended to `out`: every
// complete line becomes an F record; a trailing piece without '\n' becomes
// a P record (the next chunk continues it).
void appendLogRecords(std::string& out, std::string_view stream, std::string_view chunk, const timespec& ts);

struct LogRecord {
  std::string time;
  std::string stream;
  bool partial = false;
  std::string text;
};
// Parses one line (without its '\n'); false when malformed.
bool parseLogRecord(std::string_view line, LogRecord& out);

// The same without copies: the views borrow `line`.
struct LogRecordView {
  std::string_view time;
  std::string_view stream;
  bool partial = false;
  std::string_view text;
};
bool parseLogRecord(std::string_view line, LogRecordView& out);

}  // namespace berth::agent::runtime
