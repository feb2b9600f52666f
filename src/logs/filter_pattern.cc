#include "logs/filter_pattern.h"

#include <string.h>  // memmem

#include <array>
#include <bitset>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace berth::logs {
namespace {

// ---- Errors ---------------------------------------------------------------

// User text echoed in an error, with bytes that are not printable ASCII
// written as \xNN so the message stays valid UTF-8 in any response.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidParameterException");
}

std::unexpected<Error> syntaxError(std::string_view detail) {
  return invalid(fmt::format("Invalid filter pattern: {}", detail));
}

// AWS's wording for a term that needs quotes.
std::unexpected<Error> badTermChars(std::string_view chars) {
  return invalid(fmt::format("Invalid character(s) in term '{}'", printable(chars)));
}

// ---- Characters, substrings, numbers -------------------------------------

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isWordChar(char c) { return isAlnum(c) || c == '_'; }
// JSON property names and delimited field names.
bool isNameChar(char c) { return isWordChar(c) || c == '-'; }
// Characters of an unquoted JSON or delimited value.
bool isBareValueChar(char c) { return isAlnum(c) || c == '_' || c == '.' || c == '*' || c == '+' || c == '-'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool contains(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  return ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr;
}

// AWS's NUMBER: an optional sign, digits with an optional fraction (or a bare
// fraction), an optional exponent. Nothing else (no inf, nan, hex, spaces).
std::optional<double> readNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && isDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && isDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);  // from_chars takes no '+'
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// ---- Regular expressions ----------------------------------------------------
//
// AWS's subset has no groups, so a regex is an alternation of sequences of
// quantified atoms. Each sequence compiles to a chain of nodes ending in an
// accept node; quantifiers become flags (optional: may be skipped; loop: may
// repeat) or copies for {m,n}. search() simulates the NFA over the text with
// one bit per node: linear in the text, no recursion, no allocation.

constexpr size_t kMaxRegexNodes = 1024;
constexpr int kMaxRepeat = 255;
constexpr size_t kMaxRegexesPerPattern = 2;  // AWS's quota for JSON and delimited patterns

// AWS: letters, digits, the symbols _ # = @ / ; , : - and the operators.
bool isRegexChar(char c) {
  if (isAlnum(c)) return true;
  constexpr std::string_view kAllowed = "_#=@/;,:-^$?[]{}|\\*+.";
  return kAllowed.find(c) != std::string_view::npos;
}

class Regex {
 public:
  static Result<Regex> compile(std::string_view body);
  bool search(std::string_view text) const;

 private:
  using Set = std::bitset<256>;
  enum class NodeKind : uint8_t { kClass, kBegin, kEnd, kAccept };
  struct Node {
    NodeKind kind = NodeKind::kClass;
    bool optional = false;  // may be passed without consuming
    bool loop = false;      // may consume again after consuming
    Set cls;
  };

  static Node marker(NodeKind kind) {
    Node node;
    node.kind = kind;
    return node;
  }
  Status push(Node node, size_t copies = 1);

  std::vector<Node> nodes_;
  std::vector<uint16_t> starts_;  // first node of each alternative
  bool anchored_ = false;         // every alternative starts with ^
  Set first_;                     // bytes that can start a match after position 0
};

Status Regex::push(Node node, size_t copies) {
  if (nodes_.size() + copies > kMaxRegexNodes) return syntaxError("regular expression is too complex");
  nodes_.insert(nodes_.end(), copies, node);
  return {};
}

// The class an escape stands for (\d \w \s, their negations, \n \t \r), or
// the escaped punctuation itself.
Result<std::bitset<256>> escapeClass(char c) {
  std::bitset<256> set;
  auto range = [&set](char lo, char hi) {
    for (int x = static_cast<unsigned char>(lo); x <= static_cast<unsigned char>(hi); ++x) set.set(x);
  };
  switch (c) {
    case 'd':
    case 'D':
      range('0', '9');
      break;
    case 'w':
    case 'W':
      range('0', '9'), range('a', 'z'), range('A', 'Z'), set.set('_');
      break;
    case 's':
    case 'S':
      for (char x : std::string_view(" \t\n\r\f\v")) set.set(static_cast<unsigned char>(x));
      break;
    case 'n':
      set.set('\n');
      return set;
    case 't':
      set.set('\t');
      return set;
    case 'r':
      set.set('\r');
      return set;
    default:
      if (isAlnum(c)) return syntaxError(fmt::format("unsupported escape '\\{}' in regular expression", c));
      set.set(static_cast<unsigned char>(c));
      return set;
  }
  if (c == 'D' || c == 'W' || c == 'S') set.flip();
  return set;
}

Result<Regex> Regex::compile(std::string_view body) {
  if (body.empty()) return syntaxError("empty regular expression '%%'");
  for (char c : body) {
    if (!isRegexChar(c))
      return invalid(fmt::format("Invalid character(s) in regex '{}': '{}' is not supported", printable(body),
                                 printable(std::string_view(&c, 1))));
  }
  Regex re;
  re.starts_.push_back(0);
  size_t i = 0;
  // Reads one member of a [...] class: a character (returned), or a class
  // escape such as \d (added to `set`; it cannot bound a range).
  auto classItem = [&](Set& set) -> Result<std::optional<unsigned char>> {
    char c = body[i++];
    if (c != '\\') return static_cast<unsigned char>(c);
    if (i == body.size()) return syntaxError("regular expression ends with '\\'");
    char e = body[i++];
    if (e == 'n') return static_cast<unsigned char>('\n');
    if (e == 't') return static_cast<unsigned char>('\t');
    if (e == 'r') return static_cast<unsigned char>('\r');
    if (!isAlnum(e)) return static_cast<unsigned char>(e);
    set |= BERTH_TRY(escapeClass(e));
    return std::nullopt;
  };
  while (i < body.size()) {
    char c = body[i];
    if (c == '|') {
      BERTH_TRY(re.push(marker(NodeKind::kAccept)));
      re.starts_.push_back(static_cast<uint16_t>(re.nodes_.size()));
      ++i;
      continue;
    }
    if (c == '^' || c == '$') {
      BERTH_TRY(re.push(marker(c == '^' ? NodeKind::kBegin : NodeKind::kEnd)));
      ++i;
      if (i < body.size() && std::string_view("*+?{").find(body[i]) != std::string_view::npos)
        return syntaxError(fmt::format("nothing to repeat before '{}' in regular expression", body[i]));
      continue;
    }
    if (c == '*' || c == '+' || c == '?' || c == '{')
      return syntaxError(fmt::format("nothing to repeat before '{}' in regular expression", c));

    Node atom;
    if (c == '.') {
      atom.cls.set();
      atom.cls.reset('\n');
      ++i;
    } else if (c == '[') {
      ++i;
      bool negate = i < body.size() && body[i] == '^';
      if (negate) ++i;
      bool first = true;
      for (;;) {
        if (i == body.size()) return syntaxError("unterminated '[' in regular expression");
        if (body[i] == ']' && !first) {
          ++i;
          break;
        }
        first = false;
        auto lo = BERTH_TRY(classItem(atom.cls));
        if (!lo) continue;
        if (i + 1 < body.size() && body[i] == '-' && body[i + 1] != ']') {
          ++i;
          Set ignored;
          auto hi = BERTH_TRY(classItem(ignored));
          if (!hi || *hi < *lo) return syntaxError("invalid range in '[...]' of regular expression");
          for (int x = *lo; x <= *hi; ++x) atom.cls.set(x);
        } else {
          atom.cls.set(*lo);
        }
      }
      if (negate) atom.cls.flip();
    } else if (c == '\\') {
      ++i;
      if (i == body.size()) return syntaxError("regular expression ends with '\\'");
      atom.cls = BERTH_TRY(escapeClass(body[i]));
      ++i;
    } else {
      atom.cls.set(static_cast<unsigned char>(c));
      ++i;
    }

    // The quantifier, if any: {min, max}, max < 0 for unbounded.
    int min = 1, max = 1;
    if (i < body.size()) {
      char q = body[i];
      if (q == '*')
        min = 0, max = -1, ++i;
      else if (q == '+')
        min = 1, max = -1, ++i;
      else if (q == '?')
        min = 0, max = 1, ++i;
      else if (q == '{') {
        size_t close = body.find('}', i);
        if (close == std::string_view::npos) return syntaxError("unterminated '{' in regular expression");
        std::string_view spec = body.substr(i + 1, close - i - 1);
        auto number = [](std::string_view t, int& out) {
          if (t.empty() || t.size() > 3) return false;
          auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
          return ec == std::errc() && end == t.data() + t.size();
        };
        size_t comma = spec.find(',');
        bool ok = false;
        if (comma == std::string_view::npos) {
          ok = number(spec, min);
          max = min;
        } else if (comma + 1 == spec.size()) {
          ok = number(spec.substr(0, comma), min);
          max = -1;
        } else {
          ok = number(spec.substr(0, comma), min) && number(spec.substr(comma + 1), max);
        }
        if (!ok || min > kMaxRepeat || max > kMaxRepeat || (max >= 0 && max < min))
          return syntaxError(fmt::format("invalid repetition '{{{}}}' in regular expression (0 to {} allowed)",
                                         printable(spec), kMaxRepeat));
        i = close + 1;
      }
      if (min != 1 || max != 1) {
        if (i < body.size() && body[i] == '?') ++i;  // lazy: the same for a yes/no search
        if (i < body.size() && std::string_view("*+?{").find(body[i]) != std::string_view::npos)
          return syntaxError(fmt::format("nested quantifier '{}' in regular expression", body[i]));
      }
    }
    if (max < 0) {
      if (min > 1) BERTH_TRY(re.push(atom, static_cast<size_t>(min - 1)));
      atom.loop = true;
      atom.optional = min == 0;
      BERTH_TRY(re.push(atom));
    } else {
      if (min > 0) BERTH_TRY(re.push(atom, static_cast<size_t>(min)));
      atom.optional = true;
      if (max > min) BERTH_TRY(re.push(atom, static_cast<size_t>(max - min)));
    }
  }
  BERTH_TRY(re.push(marker(NodeKind::kAccept)));
  re.anchored_ = true;
  for (uint16_t s : re.starts_) {
    re.anchored_ = re.anchored_ && re.nodes_[s].kind == NodeKind::kBegin;
    // A match starting after position 0 consumes a byte first (^ fails
    // there, $ only holds at the end, which search() always visits).
    for (size_t k = s; re.nodes_[k].kind == NodeKind::kClass; ++k) {
      re.first_ |= re.nodes_[k].cls;
      if (!re.nodes_[k].optional) break;
    }
  }
  return re;
}

bool Regex::search(std::string_view text) const {
  using Bits = std::array<uint64_t, kMaxRegexNodes / 64>;
  const size_t words = (nodes_.size() + 63) / 64;
  const size_t n = text.size();
  // Adds state `s` and the states it reaches at `pos` without consuming;
  // true when that reaches an accept node.
  auto add = [&](Bits& set, size_t s, size_t pos) {
    for (;; ++s) {
      uint64_t bit = uint64_t{1} << (s & 63);
      if (set[s >> 6] & bit) return false;
      set[s >> 6] |= bit;
      const Node& node = nodes_[s];
      switch (node.kind) {
        case NodeKind::kAccept:
          return true;
        case NodeKind::kBegin:
          if (pos != 0) return false;
          break;
        case NodeKind::kEnd:
          if (pos != n) return false;
          break;
        case NodeKind::kClass:
          if (!node.optional) return false;
          break;
      }
    }
  };
  Bits cur{};
  bool live = false;  // cur holds states
  for (size_t pos = 0;; ++pos) {
    if (pos == 0 || !anchored_) {
      // With nothing in flight, skip to the next byte that can start a match.
      if (pos > 0 && !live) {
        while (pos < n && !first_.test(static_cast<unsigned char>(text[pos]))) ++pos;
      }
      for (uint16_t s : starts_)
        if (add(cur, s, pos)) return true;
    }
    if (pos == n) return false;
    const auto c = static_cast<unsigned char>(text[pos]);
    Bits next{};
    bool any = false;
    for (size_t w = 0; w < words; ++w) {
      for (uint64_t bits = cur[w]; bits != 0; bits &= bits - 1) {
        size_t s = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
        const Node& node = nodes_[s];
        if (node.kind != NodeKind::kClass || !node.cls.test(c)) continue;
        any = true;
        if (node.loop && add(next, s, pos + 1)) return true;
        if (add(next, s + 1, pos + 1)) return true;
      }
    }
    if (!any && anchored_) return false;
    live = any;  // a consumed byte always leaves a state in next
    cur = next;
  }
}

// ---- Unstructured terms -----------------------------------------------------

struct Term {
  std::string text;
  bool exclude = false;
};

// Terms that must all hold; a pattern's groups are alternatives.
struct TermGroup {
  std::vector<Term> terms;

  bool matches(std::string_view message) const {
    for (const Term& t : terms) {
      if (!t.exclude && !contains(message, t.text)) return false;
    }
    for (const Term& t : terms) {
      if (t.exclude && contains(message, t.text)) return false;
    }
    return true;
  }
};

Result<std::vector<TermGroup>> parseTerms(std::string_view s) {
  std::vector<TermGroup> groups(1);
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < s.size() && isSpace(s[i])) ++i;
  };
  for (;;) {
    skipSpace();
    if (i == s.size()) break;
    char prefix = 0;
    if (s[i] == '?' || s[i] == '-') {
      prefix = s[i++];
      skipSpace();  // AWS's own examples write "ERROR" - "Exiting"
      if (i == s.size()) return badTermChars(std::string_view(&prefix, 1));
    }
    Term term;
    term.exclude = prefix == '-';
    if (s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size() && (s[i] == '"' || s[i] == '\\')) {
          term.text += s[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          term.text += c;
        }
      }
      if (!closed) return syntaxError("unterminated quoted term");
    } else {
      size_t start = i;
      while (i < s.size() && !isSpace(s[i]) && s[i] != '"') ++i;
      std::string_view word = s.substr(start, i - start);
      for (size_t j = 0; j < word.size(); ++j) {
        if (isWordChar(word[j])) continue;
        size_t k = j;
        while (k < word.size() && !isWordChar(word[k])) ++k;
        return badTermChars(word.substr(j, k - j));
      }
      term.text = word;
    }
    if (prefix == '?' && !groups.back().terms.empty()) groups.emplace_back();
    groups.back().terms.push_back(std::move(term));
  }
  return groups;
}

// ---- JSON and space-delimited expressions -----------------------------------

constexpr int kMaxNesting = 32;

enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

enum class Test : uint8_t {
  kCompare,    // op value
  kIsNull,     // IS NULL
  kNotExists,  // NOT EXISTS
  kIsTrue,     // IS TRUE
  kIsFalse,    // IS FALSE
  kPresent,    // a bare delimited field name: always holds for a bound field
};

// A string to compare with: `*` at either end is a wildcard.
struct StringMatch {
  std::string core;
  bool any_prefix = false;
  bool any_suffix = false;

  bool matches(std::string_view s) const {
    if (any_prefix && any_suffix) return contains(s, core);
    if (any_prefix) return s.ends_with(core);
    if (any_suffix) return s.starts_with(core);
    return s == core;
  }
};

struct Value {
  enum class Kind : uint8_t { kAny, kString, kNumber, kRegex } kind = Kind::kAny;
  StringMatch str;
  double number = 0;
  size_t regex = 0;  // index into CompiledPattern::regexes
};

struct PathStep {
  std::string key;
  size_t index = 0;
  bool is_index = false;
};

struct Condition {
  std::vector<PathStep> path;             // JSON selector
  std::string field;                      // delimited: the field's name
  size_t slot = static_cast<size_t>(-1);  // delimited: the named field, -1 if none
  Test test = Test::kCompare;
  Op op = Op::kEq;
  Value value;
};

struct ExprNode {
  enum class Kind : uint8_t { kCondition, kAnd, kOr } kind = Kind::kCondition;
  size_t condition = 0;
  std::vector<size_t> children;
};

// One field of a delimited pattern.
struct Slot {
  bool ellipsis = false;
  std::string name;            // empty: anonymous
  std::optional<size_t> root;  // its condition, if any
};

}  // namespace

namespace internal {

struct CompiledPattern {
  FilterPattern::Kind kind = FilterPattern::Kind::kMatchAll;
  std::string text;
  std::string required_literal;
  std::vector<TermGroup> groups;  // kTerms
  std::vector<Regex> regexes;     // kRegex: [0]; else referenced by values
  std::vector<ExprNode> nodes;    // kJson, kDelimited
  std::vector<Condition> conditions;
  size_t root = 0;                 // kJson
  std::vector<Slot> slots;         // kDelimited
  std::optional<size_t> ellipsis;  // kDelimited: index of `...`
};

}  // namespace internal

namespace {

using internal::CompiledPattern;

// Recursive descent over JSON and delimited conditions:
//   or := and ('||' and)*     and := unary ('&&' unary)*
//   unary := '(' or ')' | condition
//   condition := selector (op value | IS NULL | IS TRUE | IS FALSE | NOT EXISTS)   (JSON)
//              | name [op value]                                                   (delimited)
class ExprParser {
 public:
  ExprParser(std::string_view text, bool json, CompiledPattern& out) : s_(text), json_(json), out_(out) {}

  Result<size_t> parseOr(int depth) {
    if (depth > kMaxNesting) return syntaxError("expression nested too deeply");
    return parseList(ExprNode::Kind::kOr, "||", depth);
  }

  void skipSpace() {
    while (pos_ < s_.size() && isSpace(s_[pos_])) ++pos_;
  }
  bool atEnd() const { return pos_ == s_.size(); }
  bool lookingAt(std::string_view token) const { return s_.substr(pos_).starts_with(token); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void advance(size_t n) { pos_ += n; }
  // The rest of the input, shortened, for error messages.
  std::string rest() const { return printable(s_.substr(pos_, 24)); }

 private:
  Result<size_t> parseList(ExprNode::Kind kind, std::string_view token, int depth) {
    std::vector<size_t> children;
    for (;;) {
      size_t child = kind == ExprNode::Kind::kOr ? BERTH_TRY(parseList(ExprNode::Kind::kAnd, "&&", depth))
                                                 : BERTH_TRY(parseUnary(depth));
      children.push_back(child);
      skipSpace();
      if (!lookingAt(token)) break;
      advance(token.size());
    }
    if (children.size() == 1) return children.front();
    out_.nodes.push_back(ExprNode{kind, 0, std::move(children)});
    return out_.nodes.size() - 1;
  }

  Result<size_t> parseUnary(int depth) {
    skipSpace();
    if (peek() == '(') {
      advance(1);
      size_t inner = BERTH_TRY(parseOr(depth + 1));
      skipSpace();
      if (peek() != ')') return syntaxError(fmt::format("expected ')' at '{}'", rest()));
      advance(1);
      return inner;
    }
    Condition c = BERTH_TRY(parseCondition());
    out_.conditions.push_back(std::move(c));
    out_.nodes.push_back(ExprNode{ExprNode::Kind::kCondition, out_.conditions.size() - 1, {}});
    return out_.nodes.size() - 1;
  }

  // Whether the character after a selector, name or bare value may follow it.
  bool isBoundary(char c) const {
    return c == '\0' || isSpace(c) || c == ')' || c == '&' || c == '|' || (!json_ && c == ',');
  }

  Result<Condition> parseCondition() {
    Condition c;
    size_t start = pos_;
    if (json_) {
      if (peek() != '$') return syntaxError(fmt::format("expected a selector such as $.field at '{}'", rest()));
      advance(1);
      for (;;) {
        if (peek() == '.') {
          advance(1);
          size_t name_start = pos_;
          while (pos_ < s_.size() && isNameChar(s_[pos_])) ++pos_;
          if (pos_ == name_start) return badTermChars(s_.substr(start, pos_ - start + 1));
          c.path.push_back(PathStep{std::string(s_.substr(name_start, pos_ - name_start)), 0, false});
        } else if (peek() == '[') {
          if (c.path.empty()) return syntaxError("an array index must follow a property, as in $.list[0]");
          advance(1);
          size_t digits_start = pos_;
          while (pos_ < s_.size() && isDigit(s_[pos_])) ++pos_;
          std::string_view digits = s_.substr(digits_start, pos_ - digits_start);
          size_t index = 0;
          auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
          if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || peek() != ']')
            return syntaxError(fmt::format("invalid array index in '{}'", printable(s_.substr(start, 24))));
          advance(1);
          c.path.push_back(PathStep{{}, index, true});
        } else {
          break;
        }
      }
      if (c.path.empty()) return syntaxError("expected a property after '$', as in $.field");
    } else {
      while (pos_ < s_.size() && isNameChar(s_[pos_])) ++pos_;
      if (pos_ == start) return syntaxError(fmt::format("expected a field name at '{}'", rest()));
      c.field = s_.substr(start, pos_ - start);
    }
    if (!isBoundary(peek()) && !isOpChar(peek())) {
      size_t end = pos_;
      while (end < s_.size() && !isBoundary(s_[end]) && !isOpChar(s_[end])) ++end;
      return badTermChars(s_.substr(start, end - start));
    }
    skipSpace();

    if (json_ && isAlnum(peek())) {
      std::string_view first = word();
      skipSpace();
      std::string_view second = word();
      if (iequals(first, "IS") && iequals(second, "NULL"))
        c.test = Test::kIsNull;
      else if (iequals(first, "IS") && iequals(second, "TRUE"))
        c.test = Test::kIsTrue;
      else if (iequals(first, "IS") && iequals(second, "FALSE"))
        c.test = Test::kIsFalse;
      else if (iequals(first, "NOT") && iequals(second, "EXISTS"))
        c.test = Test::kNotExists;
      else
        return syntaxError(fmt::format("expected IS NULL, IS TRUE, IS FALSE or NOT EXISTS, not '{} {}'",
                                       printable(first), printable(second)));
      return c;
    }
    if (!isOpChar(peek())) {
      if (json_) return syntaxError(fmt::format("expected an operator after the selector at '{}'", rest()));
      c.test = Test::kPresent;
      return c;
    }
    std::string_view op_text;
    if (lookingAt("!="))
      c.op = Op::kNe, op_text = "!=";
    else if (lookingAt("<="))
      c.op = Op::kLe, op_text = "<=";
    else if (lookingAt(">="))
      c.op = Op::kGe, op_text = ">=";
    else if (lookingAt("="))
      c.op = Op::kEq, op_text = "=";
    else if (lookingAt("<"))
      c.op = Op::kLt, op_text = "<";
    else if (lookingAt(">"))
      c.op = Op::kGt, op_text = ">";
    else
      return syntaxError(fmt::format("unknown operator at '{}'", rest()));
    advance(op_text.size());
    skipSpace();
    c.value = BERTH_TRY(parseValue(op_text));
    bool ordered = c.op != Op::kEq && c.op != Op::kNe;
    if (ordered && c.value.kind != Value::Kind::kNumber)
      return syntaxError(fmt::format("'{}' compares numbers only", op_text));
    return c;
  }

  Result<Value> parseValue(std::string_view op_text) {
    Value v;
    if (peek() == '"') {
      advance(1);
      std::string text;
      bool closed = false;
      while (pos_ < s_.size()) {
        char c = s_[pos_++];
        if (c == '\\' && pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '\\')) {
          text += s_[pos_++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          text += c;
        }
      }
      if (!closed) return syntaxError("unterminated quoted string");
      setString(v, std::move(text));
      return v;
    }
    if (peek() == '%') {
      size_t close = s_.find('%', pos_ + 1);
      if (close == std::string_view::npos) return syntaxError("a regular expression must end with '%'");
      if (out_.regexes.size() == kMaxRegexesPerPattern)
        return syntaxError(
            fmt::format("at most {} regular expressions are allowed in a filter pattern", kMaxRegexesPerPattern));
      out_.regexes.push_back(BERTH_TRY(Regex::compile(s_.substr(pos_ + 1, close - pos_ - 1))));
      v.kind = Value::Kind::kRegex;
      v.regex = out_.regexes.size() - 1;
      pos_ = close + 1;
      return v;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && isBareValueChar(s_[pos_])) ++pos_;
    std::string_view bare = s_.substr(start, pos_ - start);
    if (!isBoundary(peek())) {
      size_t end = pos_;
      while (end < s_.size() && !isBoundary(s_[end]) && !isBareValueChar(s_[end])) ++end;
      return badTermChars(s_.substr(pos_, end - pos_));
    }
    if (bare.empty()) return syntaxError(fmt::format("expected a value after '{}'", op_text));
    if (bare.find('*') == std::string_view::npos) {
      if (auto number = readNumber(bare)) {
        v.kind = Value::Kind::kNumber;
        v.number = *number;
        return v;
      }
    }
    setString(v, std::string(bare));
    return v;
  }

  static void setString(Value& v, std::string text) {
    if (text == "*") {
      v.kind = Value::Kind::kAny;
      return;
    }
    v.kind = Value::Kind::kString;
    if (text.starts_with('*')) v.str.any_prefix = true, text.erase(0, 1);
    if (text.ends_with('*')) v.str.any_suffix = true, text.pop_back();
    v.str.core = std::move(text);
  }

  static bool isOpChar(char c) { return c == '=' || c == '!' || c == '<' || c == '>'; }

  static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
      if (x != b[i]) return false;
    }
    return true;
  }

  std::string_view word() {
    size_t start = pos_;
    while (pos_ < s_.size() && isAlnum(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  std::string_view s_;
  size_t pos_ = 0;
  bool json_;
  CompiledPattern& out_;
};

Status parseJson(std::string_view inner, CompiledPattern& out) {
  ExprParser p(inner, true, out);
  p.skipSpace();
  if (p.atEnd()) return syntaxError("empty JSON expression '{}'");
  out.root = BERTH_TRY(p.parseOr(0));
  p.skipSpace();
  if (!p.atEnd()) return syntaxError(fmt::format("unexpected '{}'", p.rest()));
  return {};
}

Status parseDelimited(std::string_view inner, CompiledPattern& out) {
  if (trim(inner).empty()) return syntaxError("empty space-delimited pattern '[]'");
  ExprParser p(inner, false, out);
  for (;;) {
    p.skipSpace();
    Slot slot;
    if (p.lookingAt("...")) {
      if (out.ellipsis) return syntaxError("'...' may appear only once in a space-delimited pattern");
      p.advance(3);
      slot.ellipsis = true;
      out.ellipsis = out.slots.size();
    } else if (!p.atEnd() && p.peek() != ',') {
      size_t first_condition = out.conditions.size();
      slot.root = BERTH_TRY(p.parseOr(0));
      slot.name = out.conditions[first_condition].field;
    }
    out.slots.push_back(std::move(slot));
    p.skipSpace();
    if (p.atEnd()) break;
    if (p.peek() != ',') return syntaxError(fmt::format("expected ',' between fields at '{}'", p.rest()));
    p.advance(1);
  }
  for (Condition& c : out.conditions) {
    for (size_t i = 0; i < out.slots.size(); ++i) {
      if (!out.slots[i].name.empty() && out.slots[i].name == c.field) {
        c.slot = i;
        break;
      }
    }
  }
  return {};
}

// ---- Evaluation ------------------------------------------------------------

// A value a condition looks at: a JSON node or a delimited field.
struct Operand {
  enum class Kind : uint8_t { kMissing, kComposite, kNull, kBool, kNumber, kString } kind = Kind::kMissing;
  std::string_view text;  // strings, numbers and booleans as text
  std::optional<double> number;
  bool boolean = false;
};

bool evalCondition(const Condition& c, const Operand& v, const CompiledPattern& p) {
  using K = Operand::Kind;
  switch (c.test) {
    case Test::kPresent:
      return v.kind != K::kMissing;
    case Test::kNotExists:
      return v.kind == K::kMissing;
    case Test::kIsNull:
      return v.kind == K::kNull;
    case Test::kIsTrue:
      return v.kind == K::kBool && v.boolean;
    case Test::kIsFalse:
      return v.kind == K::kBool && !v.boolean;
    case Test::kCompare:
      break;
  }
  // AWS: a selector must name a value; objects, arrays, null and nothing
  // match neither = nor !=.
  if (v.kind == K::kMissing || v.kind == K::kComposite || v.kind == K::kNull) return false;
  bool equal = false;
  switch (c.value.kind) {
    case Value::Kind::kAny:
      equal = true;
      break;
    case Value::Kind::kString:
      equal = c.value.str.matches(v.text);
      break;
    case Value::Kind::kRegex:
      equal = p.regexes[c.value.regex].search(v.text);
      break;
    case Value::Kind::kNumber: {
      if (!v.number) return c.op == Op::kNe;
      double a = *v.number, b = c.value.number;
      switch (c.op) {
        case Op::kEq:
          return a == b;
        case Op::kNe:
          return a != b;
        case Op::kLt:
          return a < b;
        case Op::kLe:
          return a <= b;
        case Op::kGt:
          return a > b;
        case Op::kGe:
          return a >= b;
      }
      return false;
    }
  }
  return c.op == Op::kEq ? equal : !equal;
}

template <typename LeafFn>
bool evalExpr(const CompiledPattern& p, size_t node, const LeafFn& leaf) {
  const ExprNode& n = p.nodes[node];
  switch (n.kind) {
    case ExprNode::Kind::kCondition:
      return leaf(p.conditions[n.condition]);
    case ExprNode::Kind::kAnd:
      for (size_t child : n.children)
        if (!evalExpr(p, child, leaf)) return false;
      return true;
    case ExprNode::Kind::kOr:
      for (size_t child : n.children)
        if (evalExpr(p, child, leaf)) return true;
      return false;
  }
  return false;
}

const boost::json::value* resolve(const boost::json::value& root, const std::vector<PathStep>& path) {
  const boost::json::value* cur = &root;
  for (const PathStep& step : path) {
    if (step.is_index) {
      const auto* array = cur->if_array();
      if (!array || step.index >= array->size()) return nullptr;
      cur = &(*array)[step.index];
    } else {
      const auto* object = cur->if_object();
      if (!object) return nullptr;
      cur = object->if_contains(step.key);
      if (!cur) return nullptr;
    }
  }
  return cur;
}

bool matchJson(const CompiledPattern& p, std::string_view message) {
  std::string_view body = trim(message);
  if (body.empty() || body.front() != '{') return false;  // selectors start at an object
  alignas(std::max_align_t) unsigned char buffer[8192];
  boost::json::monotonic_resource arena(buffer, sizeof buffer);
  boost::json::parse_options options;
  options.max_depth = 128;
  options.allow_invalid_utf8 = true;
  boost::json::error_code ec;
  boost::json::value root = boost::json::parse(body, ec, &arena, options);
  if (ec || !root.is_object()) return false;
  return evalExpr(p, p.root, [&root, &p](const Condition& c) {
    Operand v;
    char digits[64];
    const boost::json::value* node = resolve(root, c.path);
    if (!node) {
      v.kind = Operand::Kind::kMissing;
    } else if (node->is_string()) {
      v.kind = Operand::Kind::kString;
      v.text = node->get_string();
      v.number = readNumber(v.text);
    } else if (node->is_number()) {
      v.kind = Operand::Kind::kNumber;
      std::to_chars_result r;
      if (node->is_int64())
        r = std::to_chars(digits, digits + sizeof digits, node->get_int64());
      else if (node->is_uint64())
        r = std::to_chars(digits, digits + sizeof digits, node->get_uint64());
      else
        r = std::to_chars(digits, digits + sizeof digits, node->get_double());
      v.text = std::string_view(digits, static_cast<size_t>(r.ptr - digits));
      if (node->is_int64())
        v.number = static_cast<double>(node->get_int64());
      else if (node->is_uint64())
        v.number = static_cast<double>(node->get_uint64());
      else
        v.number = node->get_double();
    } else if (node->is_bool()) {
      v.kind = Operand::Kind::kBool;
      v.boolean = node->get_bool();
      v.text = v.boolean ? "true" : "false";
    } else if (node->is_null()) {
      v.kind = Operand::Kind::kNull;
    } else {
      v.kind = Operand::Kind::kComposite;
    }
    return evalCondition(c, v, p);
  });
}

// Splits a message into space-separated fields; "..." and [...] are one field
// each, without their delimiters (an unclosed one runs to the end).
void splitFields(std::string_view message, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t i = 0;
  const size_t n = message.size();
  while (i < n) {
    while (i < n && message[i] == ' ') ++i;
    if (i == n) break;
    char open = message[i];
    if (open == '"' || open == '[') {
      char close = open == '"' ? '"' : ']';
      size_t j = i + 1;
      while (j < n && !(message[j] == close && !(close == '"' && message[j - 1] == '\\'))) ++j;
      fields.push_back(message.substr(i + 1, j - i - 1));
      i = j < n ? j + 1 : n;
    } else {
      size_t j = message.find(' ', i);
      if (j == std::string_view::npos) j = n;
      fields.push_back(message.substr(i, j - i));
      i = j;
    }
  }
}

bool matchDelimited(const CompiledPattern& p, std::string_view message) {
  thread_local std::vector<std::string_view> fields;  // reused: no allocation per message
  splitFields(message, fields);
  const size_t slots = p.slots.size();
  if (p.ellipsis ? fields.size() + 1 < slots : fields.size() != slots) return false;
  auto fieldOf = [&](size_t slot) {
    return !p.ellipsis || slot < *p.ellipsis ? fields[slot] : fields[fields.size() - (slots - slot)];
  };
  auto leaf = [&](const Condition& c) {
    Operand v;
    if (c.slot < slots) {
      v.kind = Operand::Kind::kString;
      v.text = fieldOf(c.slot);
      v.number = readNumber(v.text);
    }
    return evalCondition(c, v, p);
  };
  for (const Slot& slot : p.slots) {
    if (slot.root && !evalExpr(p, *slot.root, leaf)) return false;
  }
  return true;
}

}  // namespace

// ---- FilterPattern -----------------------------------------------------------

FilterPattern::FilterPattern() = default;

FilterPattern::FilterPattern(std::shared_ptr<const internal::CompiledPattern> impl) : impl_(std::move(impl)) {}

Result<FilterPattern> FilterPattern::parse(std::string_view text) {
  if (text.size() > kMaxFilterPatternBytes)
    return invalid(fmt::format(
        "1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: Member must have "
        "length less than or equal to {}",
        kMaxFilterPatternBytes));
  auto out = std::make_shared<CompiledPattern>();
  out->text = text;
  std::string_view body = trim(text);
  if (body.empty()) {
    out->kind = Kind::kMatchAll;
  } else if (body.front() == '{') {
    if (body.size() < 2 || body.back() != '}')
      return invalid("If a filter pattern starts with '{' it must end with '}'");
    out->kind = Kind::kJson;
    BERTH_TRY(parseJson(body.substr(1, body.size() - 2), *out));
  } else if (body.front() == '[') {
    if (body.size() < 2 || body.back() != ']')
      return invalid("If a filter pattern starts with '[' it must end with ']'");
    out->kind = Kind::kDelimited;
    BERTH_TRY(parseDelimited(body.substr(1, body.size() - 2), *out));
  } else if (body.front() == '%') {
    if (body.size() < 2 || body.back() != '%')
      return invalid("If a filter pattern starts with '%' it must end with '%'");
    out->kind = Kind::kRegex;
    out->regexes.push_back(BERTH_TRY(Regex::compile(body.substr(1, body.size() - 2))));
  } else {
    out->kind = Kind::kTerms;
    out->groups = BERTH_TRY(parseTerms(body));
    if (out->groups.size() == 1) {
      for (const Term& t : out->groups.front().terms) {
        if (!t.exclude && t.text.size() > out->required_literal.size()) out->required_literal = t.text;
      }
    }
  }
  return FilterPattern(std::move(out));
}

bool FilterPattern::matches(std::string_view message) const {
  if (!impl_) return true;
  const CompiledPattern& p = *impl_;
  switch (p.kind) {
    case Kind::kMatchAll:
      return true;
    case Kind::kTerms:
      for (const TermGroup& g : p.groups)
        if (g.matches(message)) return true;
      return false;
    case Kind::kRegex:
      return p.regexes.front().search(message);
    case Kind::kJson:
      return matchJson(p, message);
    case Kind::kDelimited:
      return matchDelimited(p, message);
  }
  return false;
}

std::string FilterPattern::requiredLiteral() const { return impl_ ? impl_->required_literal : std::string(); }

FilterPattern::Kind FilterPattern::kind() const { return impl_ ? impl_->kind : Kind::kMatchAll; }

const std::string& FilterPattern::text() const {
  static const std::string kEmpty;
  return impl_ ? impl_->text : kEmpty;
}

}  // namespace berth::logs
