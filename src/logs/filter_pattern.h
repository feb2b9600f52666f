// FilterPattern: CloudWatch Logs' filter pattern language, as FilterLogEvents,
// metric filters and subscription filters accept it ("Filter pattern syntax
// for metric filters, subscription filters, filter log events, and Live
// Tail").
//
// A pattern is one of:
//   ""  (or only whitespace)      matches every message.
//   terms                         ERROR "disk full" -DEBUG ?WARN
//       A term is a run of [A-Za-z0-9_] or a double-quoted phrase (inside
//       quotes \" and \\ escape); it matches as a case-sensitive substring.
//       `-term` excludes. `?term` starts an alternative: the terms are split
//       into groups at each `?`, a group matches when all its plain terms
//       occur and none of its `-` terms do, and the pattern matches when any
//       group does (AWS CDK's anyTermGroup renders ?"a" "b" ?"c" "d" this
//       way). Without `?` there is one group: all terms must match.
//   %regex%                       a regular expression searched in the
//       message: literals from [A-Za-z0-9_#=@/;,:-], `.`, [classes] with
//       ranges and ^ negation, \d \D \s \S \w \W \n \t \r, escaped
//       punctuation, ^ $ anchors, | alternation, quantifiers * + ? {m}
//       {m,} {m,n} (n <= 255; a trailing ? is accepted and changes nothing).
//       No groups, as in AWS. Matching runs an NFA: time linear in the
//       message, no backtracking.
//   { json expression }           the message must be a JSON object:
//       $.a.b[0].c  selectors; = != with strings ("quoted" or bare
//       [A-Za-z0-9._+-] words, `*` a wildcard at the start and/or end; a
//       lone * matches any non-null scalar), = != < <= > >= with numbers
//       ([+-]digits[.digits][e[+-]digits]), = != with %regex%, IS NULL,
//       NOT EXISTS, IS TRUE, IS FALSE, && over ||, parentheses. A selector
//       that names an object, an array, or nothing makes its comparison
//       false (NOT EXISTS aside).
//   [ f1, f2 = value, ..., fN > 10 ]
//       space-delimited fields: the message is split at spaces, "..." and
//       [...] each being one field (without the quotes/brackets). The
//       pattern's fields must match the message's count exactly, but one
//       `...` stands for any number of fields. A field is a name, empty, or
//       a condition on names of the pattern's fields (same operators as
//       JSON, minus IS/NOT EXISTS), e.g. [w1=ERROR || w1=WARN, w2].
//
// Numbers compare numerically (as doubles) when both sides are numbers or
// strings that read as numbers; `!=` holds for a value that is not a number.
// At most 2 regexes in a JSON or delimited pattern (AWS's quota); at most
// kMaxFilterPatternBytes of pattern text.
//
// Not supported: case-insensitive matching (AWS has none), regex groups,
// $.* or quoted JSON keys, JSON messages with text around the object.
//
// Threads: immutable once parsed; matches() and the accessors may be called
// from any number of threads at once. Copies share the compiled pattern.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::logs {

namespace internal {
struct CompiledPattern;  // filter_pattern.cc
}

// FilterLogEvents' and PutMetricFilter's length constraint on filterPattern.
inline constexpr size_t kMaxFilterPatternBytes = 1024;

class FilterPattern {
 public:
  enum class Kind {
    kMatchAll,   // empty pattern
    kTerms,      // unstructured terms
    kRegex,      // %regex%
    kJson,       // { ... }
    kDelimited,  // [ ... ]
  };

  // Compiles `text`. Errors are kInvalidArgument with aws_type
  // "InvalidParameterException" and AWS's wording where it is known
  // ("Invalid character(s) in term '@'").
  static Result<FilterPattern> parse(std::string_view text);

  // The pattern that matches every message.
  FilterPattern();

  // Whether `message` (one event's text) matches. Term and regex patterns do
  // not allocate; JSON patterns parse the message.
  bool matches(std::string_view message) const;

  // A substring that every matching message contains: the longest plain term
  // of a one-group term pattern, else empty. Lets a caller skip data that
  // cannot match (memmem over a raw block) before calling matches().
  std::string requiredLiteral() const;

  // True for the empty pattern, which a caller may skip calling matches()
  // for. (False does not promise that some message fails.)
  bool matchesEverything() const { return kind() == Kind::kMatchAll; }

  Kind kind() const;
  // The pattern as given to parse().
  const std::string& text() const;

 private:
  explicit FilterPattern(std::shared_ptr<const internal::CompiledPattern> impl);

  std::shared_ptr<const internal::CompiledPattern> impl_;  // null: matches everything
};

}  // namespace berth::logs
