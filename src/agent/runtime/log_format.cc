#include "agent/runtime/log_format.h"

#include <cstdio>

namespace berth::agent::runtime {

std::string formatLogTime(const timespec& ts) {
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(ts.tv_nsec));
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

void appendLogRecords(std::string& out, std::string_view stream, std::string_view chunk, const timespec& ts) {
  if (chunk.empty()) return;
  std::string time = formatLogTime(ts);
  size_t start = 0;
  while (start < chunk.size()) {
    size_t nl = chunk.find('\n', start);
    bool full = nl != std::string_view::npos;
    size_t end = full ? nl : chunk.size();
    out += time;
    out += ' ';
    out += stream;
    out += full ? " F " : " P ";
    out.append(chunk.data() + start, end - start);
    out += '\n';
    start = full ? nl + 1 : chunk.size();
  }
}

bool parseLogRecord(std::string_view line, LogRecordView& out) {
  size_t a = line.find(' ');
  if (a == std::string_view::npos) return false;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos || b + 2 > line.size()) return false;
  char tag = line[b + 1];
  if (tag != 'F' && tag != 'P') return false;
  if (b + 2 < line.size() && line[b + 2] != ' ') return false;
  out.time = line.substr(0, a);
  out.stream = line.substr(a + 1, b - a - 1);
  out.partial = tag == 'P';
  out.text = b + 3 <= line.size() ? line.substr(b + 3) : std::string_view();
  return true;
}

bool parseLogRecord(std::string_view line, LogRecord& out) {
  LogRecordView v;
  if (!parseLogRecord(line, v)) return false;
  out.time = std::string(v.time);
  out.stream = std::string(v.stream);
  out.partial = v.partial;
  out.text = std::string(v.text);
  return true;
}

}  // namespace berth::agent::runtime
