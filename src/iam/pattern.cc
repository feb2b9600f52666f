#include "iam/pattern.h"

namespace berth::iam {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool startsWithAt(std::string_view subject, size_t at, std::string_view lit, bool ignore_case) {
  if (subject.size() - at < lit.size()) return false;
  if (lit.empty()) return true;
  if (!ignore_case) {
    // ARNs that differ mostly differ late (they share "arn:aws:ssm:region:
    // account:"), so the last byte rules most candidates out before memcmp.
    return subject[at + lit.size() - 1] == lit.back() && subject.compare(at, lit.size(), lit) == 0;
  }
  for (size_t i = 0; i < lit.size(); ++i) {
    if (lowerAscii(subject[at + i]) != lowerAscii(lit[i])) return false;
  }
  return true;
}

}  // namespace

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

std::span<const std::string> contextValues(const RequestContext& request, std::string_view lower_key) {
  if (const auto* values = request.key(lower_key)) return *values;
  if (lower_key == "aws:principalarn" && !request.principal_arn.empty()) return {&request.principal_arn, 1};
  if (lower_key == "aws:principalaccount" && !request.principal_account.empty()) {
    return {&request.principal_account, 1};
  }
  if (lower_key == "aws:principalservicename" && !request.principal_service.empty()) {
    return {&request.principal_service, 1};
  }
  return {};
}

Pattern Pattern::compile(std::string_view text, Options options) {
  Pattern p;
  p.text_ = std::string(text);
  auto literal = [&](std::string_view s) {
    if (s.empty()) return;
    if (p.tokens_.empty() || p.tokens_.back().kind != Kind::kLiteral) p.tokens_.push_back(Token{Kind::kLiteral});
    for (char c : s) p.tokens_.back().text.push_back(options.lower ? lowerAscii(c) : c);
  };
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (options.wildcards && (c == '*' || c == '?')) {
      // Consecutive stars are one star; it keeps backtracking linear.
      Kind kind = c == '*' ? Kind::kAny : Kind::kOne;
      if (!(kind == Kind::kAny && !p.tokens_.empty() && p.tokens_.back().kind == Kind::kAny)) {
        p.tokens_.push_back(Token{kind});
      }
      ++i;
      continue;
    }
    if (options.variables && c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view inner = trim(text.substr(i + 2, close - i - 2));
        if (inner == "*" || inner == "?" || inner == "$") {
          literal(inner);
          i = close + 1;
          continue;
        }
        Token var{Kind::kVariable};
        std::string_view key = inner;
        size_t comma = inner.find(',');
        bool ok = true;
        if (comma != std::string_view::npos) {
          key = trim(inner.substr(0, comma));
          std::string_view def = trim(inner.substr(comma + 1));
          ok = def.size() >= 2 && def.front() == '\'' && def.back() == '\'';
          if (ok) {
            var.fallback = std::string(def.substr(1, def.size() - 2));
            var.has_fallback = true;
          }
        }
        if (ok && !key.empty()) {
          var.text = lowerAscii(key);
          p.tokens_.push_back(std::move(var));
          i = close + 1;
          continue;
        }
      }
    }
    literal(text.substr(i, 1));
    ++i;
  }
  p.everything_ = p.tokens_.size() == 1 && p.tokens_[0].kind == Kind::kAny;
  p.literal_ = p.tokens_.empty() || (p.tokens_.size() == 1 && p.tokens_[0].kind == Kind::kLiteral);
  p.prefix_ = p.tokens_.size() == 2 && p.tokens_[0].kind == Kind::kLiteral && p.tokens_[1].kind == Kind::kAny;
  return p;
}

bool Pattern::matches(std::string_view subject, bool ignore_case, const RequestContext& request) const {
  if (everything_) return true;
  if (literal_) {
    std::string_view lit = tokens_.empty() ? std::string_view{} : std::string_view(tokens_[0].text);
    return subject.size() == lit.size() && startsWithAt(subject, 0, lit, ignore_case);
  }
  if (prefix_) return startsWithAt(subject, 0, tokens_[0].text, ignore_case);
  return matchTokens(subject, ignore_case, request);
}

// Glob matching with one backtrack point: on a mismatch, the last `*` takes
// one more character. Every other token matches a fixed number of
// characters (a variable's value is fixed for the request), which is what
// makes a single backtrack point sufficient; the cost is O(|subject| *
// |pattern|) at worst.
bool Pattern::matchTokens(std::string_view subject, bool ignore_case, const RequestContext& request) const {
  size_t ti = 0;
  size_t si = 0;
  size_t star_ti = tokens_.size();  // none yet
  size_t star_si = 0;
  while (true) {
    bool advanced = false;
    if (ti < tokens_.size()) {
      const Token& t = tokens_[ti];
      switch (t.kind) {
        case Kind::kAny:
          if (ti + 1 == tokens_.size()) return true;  // a trailing star takes the rest
          star_ti = ti;
          star_si = si;
          ++ti;
          continue;
        case Kind::kOne:
          if (si < subject.size()) {
            ++si;
            ++ti;
            advanced = true;
          }
          break;
        case Kind::kLiteral:
          if (startsWithAt(subject, si, t.text, ignore_case)) {
            si += t.text.size();
            ++ti;
            advanced = true;
          }
          break;
        case Kind::kVariable: {
          std::string_view value;
          auto values = contextValues(request, t.text);
          if (values.size() == 1) {
            value = values[0];
          } else if (values.empty() && t.has_fallback) {
            value = t.fallback;
          } else {
            return false;  // unknown (or multivalued) key: the pattern matches nothing
          }
          if (startsWithAt(subject, si, value, ignore_case)) {
            si += value.size();
            ++ti;
            advanced = true;
          }
          break;
        }
      }
      if (advanced) continue;
    } else if (si == subject.size()) {
      return true;
    }
    // Mismatch: let the last star swallow one more character.
    if (star_ti == tokens_.size() || star_si >= subject.size()) return false;
    ++star_si;
    si = star_si;
    ti = star_ti + 1;
  }
}

}  // namespace berth::iam
