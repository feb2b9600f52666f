#include "registry/tokens.h"

#include <openssl/evp.h>

#include <charconv>

#include "aws/crypto.h"

namespace berth::registry {

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > 16 * 1024) return std::nullopt;
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return std::nullopt;
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (text.ends_with("==")) len -= 2;
  else if (text.ends_with("=")) len -= 1;
  out.resize(len);
  return out;
}

RegistryTokens::RegistryTokens(std::string_view root_secret, const Clock& clock)
    : key_(aws::hmacSha256(root_secret, "berth registry tokens v1")), clock_(clock) {}

std::string RegistryTokens::mac(std::string_view expiry) const {
  return aws::hexEncode(aws::hmacSha256Digest(key_, expiry));
}

RegistryTokens::Issued RegistryTokens::issue() const {
  Issued t;
  t.expires_at = std::chrono::time_point_cast<std::chrono::seconds>(clock_.now() + kLifetime);
  std::string expiry = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t.expires_at.time_since_epoch()).count());
  t.password = expiry + "." + mac(expiry);
  t.authorization_token = base64Encode("AWS:" + t.password);
  return t;
}

Status RegistryTokens::checkPassword(std::string_view user, std::string_view password) const {
  auto denied = [](std::string m) { return fail(ErrorCode::kUnauthenticated, std::move(m), "UNAUTHORIZED"); };
  if (user != "AWS") return denied("authentication required: the user must be AWS");
  auto dot = password.find('.');
  if (dot == std::string_view::npos) return denied("authentication required: not a token from GetAuthorizationToken");
  std::string_view expiry = password.substr(0, dot);
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), seconds);
  if (ec != std::errc() || ptr != expiry.data() + expiry.size())
    return denied("authentication required: not a token from GetAuthorizationToken");
  if (!aws::constantTimeEquals(password.substr(dot + 1), mac(expiry)))
    return denied("authentication required: the token is not valid");
  auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  if (now >= seconds) return denied("authentication required: the token has expired");
  return {};
}

Status RegistryTokens::checkBasic(std::string_view authorization) const {
  auto denied = [](std::string m) { return fail(ErrorCode::kUnauthenticated, std::move(m), "UNAUTHORIZED"); };
  if (authorization.empty()) return denied("authentication required");
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.size() < kBasic.size() ||
      !std::equal(kBasic.begin(), kBasic.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    return denied("authentication required: use Basic credentials from GetAuthorizationToken");
  std::string_view encoded = authorization.substr(kBasic.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  auto decoded = base64Decode(encoded);
  if (!decoded) return denied("authentication required: malformed Basic credentials");
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return denied("authentication required: malformed Basic credentials");
  return checkPassword(std::string_view(*decoded).substr(0, colon), std::string_view(*decoded).substr(colon + 1));
}

}  // namespace berth::registry
