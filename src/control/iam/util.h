// Small helpers shared by the IAM and STS implementation files.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/random.h"

namespace berth::iam::util {

namespace bj = boost::json;

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `n` characters of [A-Z2-7], the alphabet of AWS key and entity ids.
inline std::string randomIdChars(size_t n) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(kAlphabet[randomBelow(kAlphabet.size())]);
  return out;
}

// `n` characters of the base64 alphabet (secret access keys, tokens).
inline std::string randomSecret(size_t n) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(kAlphabet[randomBelow(kAlphabet.size())]);
  return out;
}

// RFC 3986 percent-encoding of everything but unreserved characters, the
// way IAM returns policy documents (clients decode with unquote()).
inline std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 2);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// IAM counts a policy's size without white space.
inline size_t policySize(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](unsigned char c) { return !std::isspace(c); }));
}

// One page of `items` (each with its sort key) after `marker`, as IAM's
// Marker/MaxItems pagination: sets IsTruncated and, when truncated, Marker
// on `out` and the page under `member`.
struct Keyed {
  std::string key;
  bj::value value;
};
inline void paginate(std::vector<Keyed> items, const bj::object& in, std::string_view member, bj::object& out) {
  std::sort(items.begin(), items.end(), [](const Keyed& a, const Keyed& b) { return a.key < b.key; });
  int64_t max = json::getInt(in, "MaxItems").value_or(100);
  if (max < 1) max = 1;
  std::string marker = json::stringOr(in, "Marker");
  bj::array page;
  bool truncated = false;
  std::string last;
  for (auto& item : items) {
    if (!marker.empty() && item.key <= marker) continue;
    if (static_cast<int64_t>(page.size()) == max) {
      truncated = true;
      break;
    }
    last = item.key;
    page.push_back(std::move(item.value));
  }
  out[member] = std::move(page);
  out["IsTruncated"] = truncated;
  if (truncated) out["Marker"] = last;
}

// Tags [{Key, Value}] merged: the same key keeps the new value.
inline void mergeTags(bj::array& tags, const bj::array& add) {
  for (const auto& t : add) {
    if (!t.is_object()) continue;
    std::string key = json::stringOr(t.as_object(), "Key");
    auto it = std::find_if(tags.begin(), tags.end(), [&](const bj::value& x) {
      return x.is_object() && json::stringOr(x.as_object(), "Key") == key;
    });
    if (it != tags.end())
      *it = t;
    else
      tags.push_back(t);
  }
}

inline void removeTags(bj::array& tags, const bj::array& keys) {
  for (const auto& k : keys) {
    if (!k.is_string()) continue;
    std::string_view key = k.as_string();
    tags.erase(std::remove_if(
                   tags.begin(), tags.end(),
                   [&](const bj::value& x) { return x.is_object() && json::stringOr(x.as_object(), "Key") == key; }),
               tags.end());
  }
}

// Path rules: "/" or "/.../".
inline bool validPath(std::string_view path) {
  return !path.empty() && path.front() == '/' && path.back() == '/' && path.size() <= 512;
}

}  // namespace berth::iam::util
