// AWS Signature Version 4 for the example's calls to AWS (SSM), small and
// separate from berth's src/aws/sigv4 so that the example checks berth's
// verifier with an independent signer rather than with its own twin.
// Thread-safe (no state); SHA-256 and HMAC from sha256.h.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "http.h"

namespace durableai {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

// 20260101T000000Z for `t` (UTC).
std::string amzDate(std::time_t t);

// Signs a request without a query string. `path` is sent as is and must
// need no canonicalization (e.g. "/"). Signs host, x-amz-date,
// x-amz-security-token (with a session token) and every header in
// `headers`; returns the headers to add: X-Amz-Date, X-Amz-Security-Token
// (when there is a token) and Authorization.
Headers signAwsRequest(std::string_view method, std::string_view host, std::string_view path, const Headers& headers,
                       std::string_view body, std::string_view region, std::string_view service,
                       const AwsCredentials& credentials, std::time_t now);

}  // namespace durableai
