// libFuzzer target for SigV4 (src/aws/sigv4.h): arbitrary bytes as the
// method, request-target, Authorization header, other headers and body of a
// request, fed to verifySigV4 and to the parsers on their own. It also checks
// one property: whatever the signer signs, the verifier accepts.
//
// Input layout (see fuzz/corpus/sigv4_fuzz/ for examples):
//   byte 0        flags: bit 0 AuthMode::kOff, bit 1 the key has a session
//                 token, bit 2 presign instead of header-sign in the property
//                 check, bits 3-7 the clock offset in minutes from the suite
//                 time (20150830T123600Z)
//   line 1        method
//   line 2        request-target
//   line 3        Authorization value (an empty line: no Authorization header)
//   lines 4..     "Name: value" headers, up to an empty line
//   the rest      body
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4.h"

namespace {

using namespace berth::aws;
using berth::Error;
using berth::WallTime;

constexpr std::string_view kAkid = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";

std::string_view nextLine(std::string_view& in, char separator = '\n') {
  size_t nl = in.find(separator);
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool reservedForSigner(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return lower == "authorization" || lower == "x-amz-date" || lower == "x-amz-security-token" ||
         lower == "x-amz-content-sha256";
}

[[noreturn]] void propertyFailed(const Error& error, std::string_view target) {
  std::fprintf(stderr, "signed request rejected: %s: %s (target %.*s)\n", error.aws_type.c_str(), error.message.c_str(),
               static_cast<int>(target.size()), target.data());
  std::abort();
}

// verify(sign(request)) must succeed for any request a client could send:
// header names made of token characters, and none of the headers the signer
// itself owns.
void checkSignThenVerify(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string_view, std::string_view>>& headers,
                         std::string_view body, bool presign, bool with_token, WallTime now,
                         const CredentialLookup& lookup) {
  SigningInput in;
  in.method = method.empty() ? "GET" : std::string(method);
  size_t q = target.find('?');
  in.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) in.query = std::string(target.substr(q + 1));
  in.host = "localhost:4566";
  if (presign) {
    // A query that already carries X-Amz-* authentication parameters is not
    // something presignQuery is asked to sign.
    // Keys are compared in canonical (decoded and re-encoded) form.
    std::string canonical = canonicalQueryString(in.query, false);
    std::string_view rest = canonical;
    while (!rest.empty()) {
      std::string_view pair = nextLine(rest, '&');
      if (pair.substr(0, pair.find('=')).starts_with("X-Amz-")) return;
    }
  }
  for (const auto& [n, v] : headers) {
    if (n.empty() || reservedForSigner(n)) continue;
    bool token = true;
    for (char c : n) token = token && isTokenChar(c);
    if (token) in.headers.emplace_back(std::string(n), std::string(v));
  }
  in.body = std::string(body);
  in.region = "us-east-1";
  in.service = body.size() % 7 == 0 ? "s3" : "ecs";
  in.access_key_id = std::string(kAkid);
  in.secret_access_key = std::string(kSecret);
  if (with_token) in.session_token = std::string(kToken);
  in.now = now;

  std::vector<std::pair<std::string, std::string>> sent = in.headers;
  bool has_host = false;
  for (const auto& [n, v] : sent) {
    if (n.size() == 4 && (n[0] | 0x20) == 'h' && (n[1] | 0x20) == 'o' && (n[2] | 0x20) == 's' && (n[3] | 0x20) == 't') {
      has_host = true;
    }
  }
  if (!has_host) sent.emplace_back("Host", in.host);
  std::string sent_target;
  if (presign) {
    auto expires = std::chrono::seconds(static_cast<int64_t>(body.size()) * 4099 % 604801);
    sent_target = (in.path.empty() ? "/" : in.path) + "?" + presignQuery(in, expires);
  } else {
    sent_target = in.path.empty() ? "/" : in.path;
    if (!in.query.empty()) sent_target += "?" + in.query;
    for (auto& h : signRequest(in)) sent.push_back(std::move(h));
  }
  SignedRequest request;
  request.method = in.method;
  request.target = sent_target;
  request.body = in.body;
  for (const auto& [n, v] : sent) request.headers.emplace_back(n, v);
  auto result = verifySigV4(request, lookup, now, AuthMode::kSigV4, "000000000000");
  if (!result) propertyFailed(result.error(), sent_target);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string_view method = nextLine(in);
  std::string_view target = nextLine(in);
  std::string_view authorization = nextLine(in);
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  while (!in.empty()) {
    std::string_view line = nextLine(in);
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.emplace_back(name, value);
  }
  std::string_view body = in;

  const AuthMode mode = (flags & 1) ? AuthMode::kOff : AuthMode::kSigV4;
  const bool with_token = (flags & 2) != 0;
  const bool presign = (flags & 4) != 0;
  const WallTime now = *parseAmzDate("20150830T123600Z") + std::chrono::minutes((flags >> 3) - 16);

  CredentialLookup lookup = [with_token](std::string_view akid) -> std::optional<Credential> {
    if (akid != kAkid) return std::nullopt;
    Credential c;
    c.secret_access_key = std::string(kSecret);
    c.account_id = "123456789012";
    c.principal_arn = "arn:aws:iam::123456789012:user/fuzz";
    if (with_token) c.session_token = std::string(kToken);
    return c;
  };

  SignedRequest request;
  request.method = method;
  request.target = target;
  request.headers = headers;
  if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
  request.body = body;
  auto result = verifySigV4(request, lookup, now, mode, "000000000000");
  if (!result) {
    // Every failure must name one of the four AWS signature errors.
    const std::string& type = result.error().aws_type;
    if (type != kMissingAuthenticationTokenException && type != kIncompleteSignatureException &&
        type != kInvalidSignatureException && type != kUnrecognizedClientException) {
      std::abort();
    }
    (void)sigv4HttpStatus(type);
  }

  (void)parseAuthorizationHeader(authorization);
  (void)parseCredentialScope(authorization);
  (void)parseAmzDate(authorization);
  size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  (void)hasPresignedQuery(query);
  (void)parsePresignedQuery(query);
  (void)canonicalUri(target.substr(0, q), "ecs");
  (void)canonicalUri(target.substr(0, q), "s3");
  (void)canonicalQueryString(query, presign);

  checkSignThenVerify(method, target, headers, body, presign, with_token, *parseAmzDate("20150830T123600Z"), lookup);
  return 0;
}
