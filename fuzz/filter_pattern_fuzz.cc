// Fuzzes CloudWatch Logs filter patterns (logs/filter_pattern.h). The input
// is "<pattern>\n<message>": the pattern is parsed and, when accepted, matched
// against the message and a few related texts.
//
// Beyond "no crash, no sanitizer report, no timeout" (regexes must not
// backtrack), it checks:
//   - a rejection is kInvalidArgument / InvalidParameterException with a message;
//   - matching is deterministic;
//   - every matching text contains requiredLiteral(), which the log store
//     uses to skip whole blocks;
//   - a JSON pattern only matches text that contains '{'; the empty pattern
//     matches everything.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "logs/filter_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using berth::logs::FilterPattern;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view pattern = input.substr(0, newline);
  std::string_view message = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  auto parsed = FilterPattern::parse(pattern);
  if (!parsed) {
    const berth::Error& e = parsed.error();
    if (e.code != berth::ErrorCode::kInvalidArgument || e.aws_type != "InvalidParameterException" || e.message.empty())
      __builtin_trap();
    return 0;
  }
  const FilterPattern& p = *parsed;
  const std::string literal = p.requiredLiteral();
  auto check = [&](std::string_view text) {
    bool matched = p.matches(text);
    if (matched != p.matches(text)) __builtin_trap();
    if (matched && text.find(literal) == std::string_view::npos) __builtin_trap();
    if (matched && p.kind() == FilterPattern::Kind::kJson && text.find('{') == std::string_view::npos) __builtin_trap();
    if (!matched && p.kind() == FilterPattern::Kind::kMatchAll) __builtin_trap();
  };
  check(message);
  check(pattern);  // a pattern's own text often comes close to matching it
  check(literal);
  check(std::string(literal) + " " + std::string(message));
  check({});
  return 0;
}
