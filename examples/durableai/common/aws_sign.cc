#include "aws_sign.h"

#include <algorithm>
#include <cctype>

#include "sha256.h"

namespace durableai {
namespace {

std::string sha256Hex(std::string_view data) { return hexLower(sha256(data)); }

std::string hmac(std::string_view key, std::string_view data) {
  Sha256Digest d = hmacSha256(key, data);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Trimmed, inner whitespace runs collapsed to one space (SigV4's rule).
std::string canonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string amzDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Headers signAwsRequest(std::string_view method, std::string_view host, std::string_view path, const Headers& headers,
                       std::string_view body, std::string_view region, std::string_view service,
                       const AwsCredentials& credentials, std::time_t now) {
  std::string date = amzDate(now);
  Headers added = {{"X-Amz-Date", date}};
  if (!credentials.session_token.empty()) added.emplace_back("X-Amz-Security-Token", credentials.session_token);

  std::vector<std::pair<std::string, std::string>> canonical = {{"host", std::string(host)}};
  for (const Headers* list : {&headers, static_cast<const Headers*>(&added)})
    for (const auto& [name, value] : *list) canonical.emplace_back(lower(name), canonicalValue(value));
  std::sort(canonical.begin(), canonical.end());
  std::string header_block, signed_headers;
  for (const auto& [name, value] : canonical) {
    header_block += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  std::string request = std::string(method) + "\n" + std::string(path) + "\n\n" + header_block + "\n" + signed_headers +
                        "\n" + sha256Hex(body);
  std::string day = date.substr(0, 8);
  std::string scope = day + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  std::string to_sign = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + sha256Hex(request);
  std::string key = hmac("AWS4" + credentials.secret_access_key, day);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  std::string signature = hmac(key, to_sign);
  added.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                                          ", SignedHeaders=" + signed_headers + ", Signature=" + hexLower(signature));
  return added;
}

}  // namespace durableai
