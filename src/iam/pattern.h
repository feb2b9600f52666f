// Wildcard patterns of IAM policies (Action, Resource, String*/Arn*
// condition values), compiled once at parse time and matched without
// allocating.
//
// A pattern is a sequence of tokens: literal text, `*` (any run of
// characters), `?` (one character) and policy variables (${aws:username},
// ${aws:PrincipalTag/team, 'default'}) whose value comes from the request
// at match time and is compared literally. ${*}, ${?} and ${$} stand for the
// characters themselves. A variable whose key the request lacks (or holds
// more than one value for) makes the pattern match nothing, as on AWS.
//
// Threads: a Pattern is immutable after compile() and may be matched from
// any number of threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iam/policy.h"

namespace berth::iam {

// The values of a (lower-cased) condition key in `request`, or an empty span
// when it has none. aws:PrincipalArn, aws:PrincipalAccount and
// aws:PrincipalServiceName fall back to the request's principal fields when
// not set as keys.
std::span<const std::string> contextValues(const RequestContext& request, std::string_view lower_key);

// ASCII lower-casing; IAM's case-insensitive parts are all ASCII.
inline char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string lowerAscii(std::string_view s);
bool equalsIgnoreCase(std::string_view a, std::string_view b);

class Pattern {
 public:
  struct Options {
    bool wildcards = true;   // `*` and `?` are wildcards (else literal)
    bool variables = false;  // ${...} are policy variables (Version 2012-10-17)
    bool lower = false;      // store literals lower-cased (for ignore-case matching)
  };
  static Pattern compile(std::string_view text, Options options);

  // Whether `subject` matches. With `ignore_case`, the pattern must have been
  // compiled with `lower` (variable values are lowered as they are compared).
  bool matches(std::string_view subject, bool ignore_case, const RequestContext& request) const;

  bool matchesEverything() const { return everything_; }
  const std::string& text() const { return text_; }

 private:
  enum class Kind : uint8_t { kLiteral, kAny, kOne, kVariable };
  struct Token {
    Kind kind = Kind::kLiteral;
    std::string text;      // the literal, or the variable's lower-cased key
    std::string fallback;  // a variable's default value
    bool has_fallback = false;
  };

  bool matchTokens(std::string_view subject, bool ignore_case, const RequestContext& request) const;

  std::string text_;
  std::vector<Token> tokens_;
  bool everything_ = false;  // "*" alone
  bool literal_ = false;     // no wildcard, no variable: compare the one literal
  bool prefix_ = false;      // a literal then a trailing `*` ("ecs:Describe*", ".../dev/*")
};

}  // namespace berth::iam
