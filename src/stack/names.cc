#include "stack/names.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace berth::stack {
namespace {

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isLower(c) || isDigit(c) || (c >= 'A' && c <= 'Z'); }

}  // namespace

// [a-z][a-z0-9-]*
bool isLowerName(std::string_view s) {
  if (s.empty() || !isLower(s[0])) return false;
  return std::ranges::all_of(s, [](char c) { return isLower(c) || isDigit(c) || c == '-'; });
}

// Optimal string alignment distance (Damerau-Levenshtein with adjacent
// transpositions), for "did you mean" suggestions.
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The candidate nearest to `word` within distance 2 (and closer than the
// candidate's own length, so short words do not suggest anything at all).
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return std::nullopt;  // keep the quadratic table small
  std::optional<std::string> best;
  size_t best_distance = 3;
  for (const std::string& c : candidates) {
    size_t dist = editDistance(word, c);
    if (dist < best_distance && dist < c.size()) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  auto c = closest(word, candidates);
  return c ? fmt::format("; did you mean '{}'?", *c) : std::string();
}

// `s` with every ${name} replaced by `value`: templates are checked for
// shape with a representative value substituted.
std::string substitute(std::string_view s, const std::map<std::string, std::string, std::less<>>& values) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find("${", i);
    if (open == std::string_view::npos) break;
    size_t close = s.find('}', open + 2);
    if (close == std::string_view::npos) break;
    auto it = values.find(s.substr(open + 2, close - open - 2));
    out.append(s.substr(i, open - i));
    if (it == values.end()) {
      out.append(s.substr(open, close + 1 - open));
    } else {
      out.append(it->second);
    }
    i = close + 1;
  }
  out.append(s.substr(i));
  return out;
}

const std::map<std::string, std::string, std::less<>> kSample{
    {"env", "x"}, {"project", "x"}, {"region", "x"}, {"account", "0"}};

bool validClusterName(std::string_view s) {
  return !s.empty() && s.size() <= 255 &&
         std::ranges::all_of(s, [](char c) { return isAlnum(c) || c == '-' || c == '_'; });
}

// A private DNS namespace: lowercase labels of letters, digits and hyphens.
bool validNamespace(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    if (!std::ranges::all_of(label, [](char c) { return isLower(c) || isDigit(c) || c == '-'; })) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool validRegion(std::string_view s) {
  // us-east-1, ap-southeast-2, us-gov-west-1
  if (s.size() < 4 || s.size() > 32 || !isDigit(s.back())) return false;
  size_t dash = s.rfind('-');
  if (dash == std::string_view::npos || dash < 2) return false;
  if (!std::ranges::all_of(s.substr(dash + 1), isDigit)) return false;
  std::string_view head = s.substr(0, dash);
  return isLower(head[0]) && head.find("--") == std::string_view::npos && head.find('-') != std::string_view::npos &&
         std::ranges::all_of(head, [](char c) { return isLower(c) || c == '-'; });
}

// SSM parameter names: letters, digits and _.-/; hierarchical names start
// with '/'.
bool validParameterName(std::string_view s) {
  if (s.empty() || s.size() > 2048) return false;
  if (s.find('/') != std::string_view::npos && s[0] != '/') return false;
  if (s.find("//") != std::string_view::npos) return false;
  return std::ranges::all_of(s, [](char c) { return isAlnum(c) || c == '_' || c == '.' || c == '-' || c == '/'; });
}

bool validEnvVarName(std::string_view s) {
  if (s.empty() || isDigit(s[0])) return false;
  return std::ranges::all_of(s, [](char c) { return isAlnum(c) || c == '_'; });
}

// One path component of a repository: [a-z0-9]+ separated by . _ __ or -.
bool validRepoComponent(std::string_view s) {
  if (s.empty() || !(isLower(s.front()) || isDigit(s.front())) || !(isLower(s.back()) || isDigit(s.back())))
    return false;
  return std::ranges::all_of(s, [](char c) { return isLower(c) || isDigit(c) || c == '.' || c == '_' || c == '-'; });
}

bool validRepository(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    if (!validRepoComponent(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start)))
      return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool isRegistryHost(std::string_view component) {
  return component.find('.') != std::string_view::npos || component.find(':') != std::string_view::npos ||
         component == "localhost";
}

std::optional<ImageParts> splitImage(std::string_view s) {
  ImageParts p;
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    p.digest = s.substr(at + 1);
    s = s.substr(0, at);
    if (!p.digest.starts_with("sha256:") || p.digest.size() != 7 + 64 ||
        !std::ranges::all_of(std::string_view(p.digest).substr(7),
                             [](char c) { return isDigit(c) || (c >= 'a' && c <= 'f'); }))
      return std::nullopt;
  }
  size_t slash = s.find('/');
  if (slash != std::string_view::npos && isRegistryHost(s.substr(0, slash))) {
    p.host = s.substr(0, slash);
    s = s.substr(slash + 1);
  }
  size_t colon = s.rfind(':');
  if (colon != std::string_view::npos) {
    p.tag = s.substr(colon + 1);
    s = s.substr(0, colon);
    if (p.tag.empty() || p.tag.size() > 128 || p.tag[0] == '.' || p.tag[0] == '-' ||
        !std::ranges::all_of(p.tag, [](char c) { return isAlnum(c) || c == '_' || c == '.' || c == '-'; }))
      return std::nullopt;
  }
  if (!validRepository(s)) return std::nullopt;
  if (!p.host.empty() &&
      !std::ranges::all_of(p.host, [](char c) { return isAlnum(c) || c == '.' || c == '-' || c == ':'; }))
    return std::nullopt;
  p.repository = s;
  return p;
}

bool validIamAction(std::string_view a) {
  size_t colon = a.find(':');
  return colon != std::string_view::npos && colon > 0 && colon + 1 < a.size() &&
         std::ranges::all_of(a.substr(0, colon), [](char c) { return isLower(c) || isDigit(c) || c == '-'; }) &&
         std::ranges::all_of(a.substr(colon + 1), [](char c) { return isAlnum(c) || c == '*' || c == '?'; });
}

}  // namespace berth::stack
