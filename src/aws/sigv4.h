// AWS Signature Version 4: verifying the requests berthd receives and signing
// the requests berth's own CLI, tests and benchmarks send.
//
// Verification follows what AWS's JSON ("Coral") front ends do, in the same
// order and with the same error names and messages, so that SDKs, the aws CLI
// and Terraform see the errors they would see from AWS:
//
//   1. no Authorization header and no presigned query  -> MissingAuthenticationTokenException
//   2. Authorization not `key=value` pairs, or missing Credential / SignedHeaders /
//      Signature / date header; presigned query missing a parameter
//                                                       -> IncompleteSignatureException
//   3. date not ISO 8601 basic (20260101T000000Z)       -> IncompleteSignatureException
//   4. date more than 5 minutes from `now` (presigned: past X-Amz-Expires)
//                                                       -> InvalidSignatureException
//   5. `host` not among the signed headers              -> InvalidSignatureException
//   6. algorithm other than AWS4-HMAC-SHA256            -> IncompleteSignatureException
//   7. Credential not keyid/date/region/service/aws4_request
//                                                       -> IncompleteSignatureException (shape)
//                                                          InvalidSignatureException (values)
//   8. unknown access key                               -> UnrecognizedClientException
//   9. x-amz-content-sha256 not the body's SHA-256      -> InvalidSignatureException
//  10. signature mismatch                               -> InvalidSignatureException
//  11. session token absent, extra or different         -> UnrecognizedClientException
//  12. temporary credentials past their expiration      -> ExpiredTokenException
//
// Every error has ErrorCode::kUnauthenticated and `aws_type` set to one of the
// k*Exception names below; sigv4HttpStatus() gives the HTTP status. The API
// layer maps them to the Query protocol's names with sigv4QueryErrorCode().
//
// Canonicalization (the part clients and server must agree on byte for byte):
// - URI: the raw path is normalized as botocore does (dot segments removed,
//   empty segments dropped, a trailing slash kept) and then every byte other
//   than unreserved characters and '/' is percent-encoded, so an encoded path
//   is encoded twice, as AWS does for every service but S3. For service "s3"
//   the path is only re-encoded (normalized escapes), never normalized.
// - Query: each key and value is percent-decoded and re-encoded (unreserved
//   characters kept, everything else %XX uppercase; '+' is a literal plus),
//   pairs sorted by encoded key then value; X-Amz-Signature is left out of a
//   presigned request's query.
// - Headers: names lowercased; values trimmed, inner runs of whitespace
//   collapsed to one space; repeated headers joined with ',' in received order.
// - Payload: x-amz-content-sha256 when present, else hex SHA-256 of the body.
//   A present value must equal the body's SHA-256 (S3 also allows
//   UNSIGNED-PAYLOAD), so an unsigned header cannot detach the body from the
//   signature.
//
// Thread rules: all functions are thread-safe. Derived signing keys are kept
// in a small process-wide cache keyed by (secret, date, region, service),
// guarded by a mutex; a hit costs one lookup instead of four HMACs.
// Nothing here asserts or throws on request input.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/crypto.h"
#include "common/clock.h"
#include "common/result.h"

namespace berth::aws {

// AWS error names for signature failures (JSON protocols).
inline constexpr std::string_view kMissingAuthenticationTokenException = "MissingAuthenticationTokenException";
inline constexpr std::string_view kIncompleteSignatureException = "IncompleteSignatureException";
inline constexpr std::string_view kInvalidSignatureException = "InvalidSignatureException";
inline constexpr std::string_view kUnrecognizedClientException = "UnrecognizedClientException";
inline constexpr std::string_view kExpiredTokenException = "ExpiredTokenException";

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
// Largest clock difference accepted between a request's date and `now`.
inline constexpr std::chrono::minutes kMaxClockSkew{5};
// Largest X-Amz-Expires of a presigned request (seven days).
inline constexpr int64_t kMaxPresignExpiresSeconds = 604800;

// A view of an HTTP request as received. Nothing is copied: the views must
// outlive the verifySigV4 call that reads them.
struct SignedRequest {
  std::string_view method;
  std::string_view target;  // raw request-target: path plus optional ?query, still percent-encoded
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // as received, any case, repeats allowed
  std::string_view body;
};

// What the credential store knows about one access key.
struct Credential {
  std::string secret_access_key;
  std::string account_id;
  std::string principal_arn;
  std::optional<std::string> session_token;  // set for temporary (STS-style) credentials
  // Temporary credentials stop working at this time: a request signed with
  // them fails with ExpiredTokenException "The security token included in
  // the request is expired" (checked after the signature and the token).
  std::optional<WallTime> expiration;
};

// Looks up an access key id; nullopt when the key is unknown. Called at most
// once per verifySigV4 call, on the calling thread.
using CredentialLookup = std::function<std::optional<Credential>(std::string_view access_key_id)>;

struct VerifiedIdentity {
  std::string access_key_id;
  std::string account_id;
  std::string principal_arn;
  std::string region;   // from the credential scope
  std::string service;  // from the credential scope; check it with checkCredentialService()
};

// kOff (`berthd --auth off`): the request must still carry a well-formed
// signature (steps 1-3 and 5-7 above, and a 64-hex-digit signature), but its
// value, the clock skew and the session token are not checked and unknown keys
// are accepted: they act in `default_account_id` as its root principal.
enum class AuthMode { kSigV4, kOff };

// Authenticates `request`. On success, says who signed it and for which
// region and service. The caller still checks the service (and, if it cares,
// the region) against the endpoint that received the request.
Result<VerifiedIdentity> verifySigV4(const SignedRequest& request, const CredentialLookup& lookup, WallTime now,
                                     AuthMode mode, std::string_view default_account_id);

// InvalidSignatureException "Credential should be scoped to correct service:
// '<expected>'." unless the identity's scope names `expected_service`.
Status checkCredentialService(const VerifiedIdentity& identity, std::string_view expected_service);

// The HTTP status AWS answers with for a signature error name: 400 for the
// JSON protocols' names (ECS, CloudWatch Logs, ECR and the other Coral JSON
// services answer 400 for all four), and for the Query protocol's names 400
// for IncompleteSignature and 403 for SignatureDoesNotMatch,
// InvalidClientTokenId, ExpiredToken and MissingAuthenticationToken. 403 for
// anything else.
int sigv4HttpStatus(std::string_view aws_type);

// The Query protocol's (IAM, STS, CloudWatch) name for a JSON signature error
// name: SignatureDoesNotMatch, InvalidClientTokenId, IncompleteSignature,
// MissingAuthenticationToken, ExpiredToken. Other names are returned unchanged.
std::string_view sigv4QueryErrorCode(std::string_view aws_type);

// ---------------------------------------------------------------------------
// Parsing. Exposed for tests, the fuzzer and diagnostics; the views point into
// the parsed input.

// `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
// Parameters may be separated by commas and/or spaces and tabs in any mix,
// the way real clients send them; every other token must be `key=value`.
// Keys are case-sensitive; unknown keys are ignored; a repeated key keeps its
// last value. Fails with IncompleteSignatureException on a token without '='
// and when Credential, SignedHeaders or Signature is missing or empty.
struct AuthorizationHeader {
  std::string_view algorithm;
  std::string_view credential;
  std::string_view signed_headers;
  std::string_view signature;
};
Result<AuthorizationHeader> parseAuthorizationHeader(std::string_view value);

// `AKID/20260101/us-east-1/ecs/aws4_request` (trailing slashes ignored, as
// AWS does). Checks the shape only (IncompleteSignatureException); the values
// are checked against the request by verifySigV4.
struct CredentialScope {
  std::string_view access_key_id;
  std::string_view date;
  std::string_view region;
  std::string_view service;
  std::string_view terminator;
};
Result<CredentialScope> parseCredentialScope(std::string_view credential);

// The SigV4 parameters of a presigned query string, percent-decoded. Empty
// strings for absent parameters, except `expires`, which is nullopt when
// X-Amz-Expires is absent. A repeated parameter keeps its first value.
struct PresignedQuery {
  std::string algorithm;
  std::string credential;
  std::string date;
  std::string signed_headers;
  std::string signature;
  std::string security_token;
  std::optional<std::string> expires;
};
// True when the raw query carries X-Amz-Algorithm, X-Amz-Credential or
// X-Amz-Signature, i.e. the request means to authenticate by query string.
bool hasPresignedQuery(std::string_view raw_query);
PresignedQuery parsePresignedQuery(std::string_view raw_query);

// 20260101T000000Z <-> WallTime (whole seconds, UTC). parseAmzDate accepts
// exactly that form with a valid calendar date and time.
std::string formatAmzDate(WallTime t);
std::optional<WallTime> parseAmzDate(std::string_view text);

// ---------------------------------------------------------------------------
// Canonical forms, shared by the signer and the verifier.

std::string canonicalUri(std::string_view raw_path, std::string_view service);
std::string canonicalQueryString(std::string_view raw_query, bool presigned);
// The full canonical request. `target` is the raw request-target;
// `signed_headers` the semicolon-separated lowercase names.
std::string canonicalRequest(std::string_view method, std::string_view target,
                             const std::vector<std::pair<std::string_view, std::string_view>>& headers,
                             std::string_view signed_headers, std::string_view payload_hash, std::string_view service,
                             bool presigned);
// `scope` is date/region/service/aws4_request.
std::string stringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
// HMAC chain "AWS4"+secret -> date -> region -> service -> aws4_request,
// uncached.
Digest deriveSigningKey(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);

// ---------------------------------------------------------------------------
// Signing.

struct SigningInput {
  std::string method, host, path, query;                     // path and query exactly as they will be sent
  std::vector<std::pair<std::string, std::string>> headers;  // headers that will be sent (besides Host)
  std::string body;
  std::string region, service, access_key_id, secret_access_key;
  std::optional<std::string> session_token;
  WallTime now;
};

// Signs the request described by `input` in the Authorization header. Signs
// Host, X-Amz-Date, X-Amz-Security-Token and every header in `input.headers`
// except Authorization, User-Agent, Expect, Transfer-Encoding and
// X-Amzn-Trace-Id (botocore's choice: proxies rewrite those). A Host header in
// `input.headers` overrides `input.host`; X-Amz-Date, X-Amz-Security-Token
// and Authorization in it are replaced. Returns the headers to add to the
// request: Authorization, X-Amz-Date and, with a session token,
// X-Amz-Security-Token.
std::vector<std::pair<std::string, std::string>> signRequest(const SigningInput& input);

// Presigns the request: returns the complete query string to send (without
// '?'): `input.query` followed by the X-Amz-* parameters, X-Amz-Signature
// last. Signs Host and the headers in `input.headers` (same exclusions as
// signRequest). The payload is the body's SHA-256, or UNSIGNED-PAYLOAD for s3.
std::string presignQuery(const SigningInput& input, std::chrono::seconds expires);

}  // namespace berth::aws
