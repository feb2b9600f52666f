#include "aws/sigv4.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

namespace berth::aws {
namespace {

using HeaderViews = std::vector<std::pair<std::string_view, std::string_view>>;

constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

constexpr std::string_view kMsgMissingToken = "Missing Authentication Token";
constexpr std::string_view kMsgSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kMsgInvalidToken = "The security token included in the request is invalid.";
constexpr std::string_view kMsgExpiredToken = "The security token included in the request is expired";
constexpr std::string_view kMsgHostNotSigned =
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
constexpr std::string_view kMsgContentSha256Mismatch =
    "The provided 'x-amz-content-sha256' header does not match what was computed.";

constexpr char kUpperHex[] = "0123456789ABCDEF";

std::unexpected<Error> authError(std::string_view aws_type, std::string message) {
  return fail(ErrorCode::kUnauthenticated, std::move(message), std::string(aws_type));
}

// ---- character helpers (ASCII only; locale-independent) --------------------

bool isAlnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool isUnreserved(unsigned char c) { return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

// The whitespace botocore collapses in header values (Python's str.split()).
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

char toLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLower(a[i]) != toLower(b[i])) return false;
  }
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool isHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return hexValue(c) >= 0; });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

void appendPercent(std::string& out, unsigned char c) {
  out += '%';
  out += kUpperHex[c >> 4];
  out += kUpperHex[c & 0x0f];
}

// Percent-encodes every byte but the unreserved ones (and '/' if asked),
// copying runs of bytes that need no escape in one go.
void appendEncoded(std::string& out, std::string_view in, bool keep_slash) {
  size_t run = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (isUnreserved(c) || (keep_slash && c == '/')) continue;
    out.append(in.data() + run, i - run);
    appendPercent(out, c);
    run = i + 1;
  }
  out.append(in.data() + run, in.size() - run);
}

// Decodes valid %XX escapes; anything else (including '+') is literal.
std::string percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

// Decode-then-encode in one pass: the canonical form of a query component
// whatever escaping the client chose.
void appendReencoded(std::string& out, std::string_view in, bool keep_slash) {
  for (size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '%' && i + 2 < in.size()) {
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = static_cast<unsigned char>(hi * 16 + lo);
        i += 2;
      }
    }
    if (isUnreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      appendPercent(out, c);
    }
  }
}

// Echoed client input goes into error messages that end up in JSON and XML
// bodies; bytes that are not printable ASCII become '?'.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return out;
}

// Calls fn(piece) for each piece of `s` between separators.
template <typename Fn>
void forEachPiece(std::string_view s, char sep, Fn&& fn) {
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    fn(s.substr(start, end - start));
    start = end + 1;
  }
}

std::optional<std::string_view> firstHeader(const HeaderViews& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

struct SplitTarget {
  std::string_view path;
  std::string_view query;
};

SplitTarget splitTarget(std::string_view target) {
  // Absolute-form (RFC 9112 3.2.2), as sent to proxies: drop scheme and authority.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      size_t slash = target.find_first_of("/?", scheme.size());
      target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
      break;
    }
  }
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

// ---- canonical request pieces ----------------------------------------------

void appendCanonicalUri(std::string& out, std::string_view raw_path, bool s3) {
  if (s3) {
    if (raw_path.empty() || raw_path.front() != '/') out += '/';
    appendReencoded(out, raw_path, /*keep_slash=*/true);
    return;
  }
  if (raw_path == "/" || raw_path.empty()) {
    out += '/';
    return;
  }
  // RFC 3986 5.2.4 dot-segment removal, plus dropping empty segments, the way
  // botocore (and the AWS test suite's "normalized" cases) do it.
  std::vector<std::string_view> segments;
  forEachPiece(raw_path, '/', [&](std::string_view seg) {
    if (seg.empty() || seg == ".") return;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      return;
    }
    segments.push_back(seg);
  });
  out += '/';
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    appendEncoded(out, segments[i], /*keep_slash=*/false);
  }
  if (!segments.empty() && raw_path.back() == '/') out += '/';
}

void appendCanonicalQuery(std::string& out, std::string_view raw_query, bool presigned) {
  if (raw_query.empty()) return;
  struct Param {
    std::string key;
    std::string value;
  };
  std::vector<Param> params;
  forEachPiece(raw_query, '&', [&](std::string_view piece) {
    if (piece.empty()) return;
    size_t eq = piece.find('=');
    Param p;
    appendReencoded(p.key, piece.substr(0, eq), false);
    if (eq != std::string_view::npos) appendReencoded(p.value, piece.substr(eq + 1), false);
    if (presigned && p.key == "X-Amz-Signature") return;
    params.push_back(std::move(p));
  });
  std::sort(params.begin(), params.end(), [](const Param& a, const Param& b) {
    if (a.key != b.key) return a.key < b.key;
    return a.value < b.value;
  });
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += '&';
    out += params[i].key;
    out += '=';
    out += params[i].value;
  }
}

// Trimmed, with every inner run of whitespace collapsed to one space. Copies
// whole words at a time: this runs over every signed header of every call.
void appendCollapsed(std::string& out, std::string_view value) {
  size_t i = 0;
  bool first_word = true;
  while (i < value.size()) {
    while (i < value.size() && isSpace(value[i])) ++i;
    size_t start = i;
    while (i < value.size() && !isSpace(value[i])) ++i;
    if (i == start) break;
    if (!first_word) out += ' ';
    first_word = false;
    out.append(value.data() + start, i - start);
  }
}

void appendCanonicalHeaders(std::string& out, const HeaderViews& headers, std::string_view signed_headers) {
  forEachPiece(signed_headers, ';', [&](std::string_view name) {
    for (char c : name) out += toLower(c);
    out += ':';
    bool first = true;
    for (const auto& [n, v] : headers) {
      if (!iequals(n, name)) continue;
      if (!first) out += ',';
      first = false;
      appendCollapsed(out, v);
    }
    out += '\n';
  });
}

void appendCanonicalRequest(std::string& out, std::string_view method, std::string_view target,
                            const HeaderViews& headers, std::string_view signed_headers, std::string_view payload_hash,
                            std::string_view service, bool presigned) {
  SplitTarget t = splitTarget(target);
  out += method;
  out += '\n';
  appendCanonicalUri(out, t.path, service == "s3");
  out += '\n';
  appendCanonicalQuery(out, t.query, presigned);
  out += '\n';
  appendCanonicalHeaders(out, headers, signed_headers);
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += payload_hash;
}

void appendStringToSign(std::string& out, std::string_view amz_date, std::string_view scope,
                        const Digest& canonical_hash) {
  out += kSigV4Algorithm;
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  size_t at = out.size();
  out.resize(at + 64);
  hexEncodeTo(canonical_hash, out.data() + at);
}

// ---- signing-key cache -----------------------------------------------------

// Derived keys change once a day per (secret, region, service), so a few
// hundred entries cover every client of one berthd. Clearing on overflow
// keeps the structure trivial; a miss only costs four HMACs.
class SigningKeyCache {
 public:
  Digest get(std::string_view secret, std::string_view date, std::string_view region, std::string_view service) {
    // Region and service are validated to [a-z0-9-], so NUL separators keep
    // the key unambiguous; the secret goes last since it may hold any byte.
    thread_local std::string key;
    key.clear();
    key.append(date).append(1, '\0').append(region).append(1, '\0').append(service);
    key.append(1, '\0').append(secret);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = keys_.find(key);
      if (it != keys_.end()) return it->second;
    }
    Digest derived = deriveSigningKey(secret, date, region, service);
    std::lock_guard<std::mutex> lock(mu_);
    if (keys_.size() >= kCapacity) keys_.clear();
    keys_.emplace(key, derived);
    return derived;
  }

 private:
  static constexpr size_t kCapacity = 512;
  std::mutex mu_;
  std::unordered_map<std::string, Digest> keys_;  // guarded by mu_
};

SigningKeyCache& signingKeyCache() {
  // Never destroyed: request threads may still sign while the process exits.
  static SigningKeyCache* cache = new SigningKeyCache();
  return *cache;
}

std::string computeSignature(std::string_view secret, const CredentialScope& scope, std::string_view amz_date,
                             std::string_view canonical_request) {
  Digest key = signingKeyCache().get(secret, scope.date, scope.region, scope.service);
  std::string scope_text;
  scope_text.reserve(64);
  scope_text.append(scope.date).append(1, '/').append(scope.region).append(1, '/');
  scope_text.append(scope.service).append(1, '/').append(scope.terminator);
  std::string to_sign;
  to_sign.reserve(200);
  appendStringToSign(to_sign, amz_date, scope_text, sha256(canonical_request));
  Digest sig = hmacSha256Digest(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), to_sign);
  return hexEncode(sig);
}

// ---- verification ----------------------------------------------------------

bool validScopeName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool signsHost(std::string_view signed_headers) {
  bool found = false;
  forEachPiece(signed_headers, ';', [&](std::string_view name) {
    if (iequals(name, "host")) found = true;
  });
  return found;
}

// The authentication parameters, from the Authorization header or the query.
struct AuthParams {
  std::string_view algorithm;
  std::string_view credential;
  std::string_view signed_headers;
  std::string_view signature;
  std::string_view date;
  std::optional<std::string_view> security_token;
  std::optional<std::string_view> expires;  // presigned only
  bool presigned = false;
};

std::string windowText(int64_t seconds) {
  if (seconds > 0 && seconds % 60 == 0) return fmt::format("{} min", seconds / 60);
  return fmt::format("{} sec", seconds);
}

Status checkDateWindow(std::string_view date_text, WallTime date, WallTime now, std::chrono::seconds valid_for) {
  if (date < now - valid_for) {
    return authError(kInvalidSignatureException,
                     fmt::format("Signature expired: {} is now earlier than {} ({} - {}.)", date_text,
                                 formatAmzDate(now - valid_for), formatAmzDate(now), windowText(valid_for.count())));
  }
  if (date > now + kMaxClockSkew) {
    return authError(kInvalidSignatureException,
                     fmt::format("Signature not yet current: {} is still later than {} ({} + {}.)", date_text,
                                 formatAmzDate(now + kMaxClockSkew), formatAmzDate(now),
                                 windowText(std::chrono::seconds(kMaxClockSkew).count())));
  }
  return {};
}

Result<int64_t> parseExpires(std::string_view text) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return authError(kIncompleteSignatureException, "X-Amz-Expires should be a number");
  }
  int64_t value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  if (value > kMaxPresignExpiresSeconds) {
    return authError(kIncompleteSignatureException,
                     "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
  }
  return value;
}

Result<std::string> payloadHash(const SignedRequest& request, std::string_view service, bool presigned) {
  bool s3 = service == "s3";
  std::optional<std::string> declared;
  for (const auto& [n, v] : request.headers) {
    if (!iequals(n, "x-amz-content-sha256")) continue;
    if (declared) {
      // Repeated: the canonical value would be "a,b", never a hash.
      return authError(kInvalidSignatureException, std::string(kMsgContentSha256Mismatch));
    }
    declared = std::string(trim(v));
  }
  if (!declared) {
    if (s3 && presigned) return std::string(kUnsignedPayload);
    return sha256Hex(request.body);
  }
  if (s3 && *declared == kUnsignedPayload) return *declared;
  if (!isHex64(*declared)) {
    return authError(kInvalidSignatureException, std::string(kMsgContentSha256Mismatch));
  }
  std::string actual = sha256Hex(request.body);
  if (!iequals(actual, *declared)) {
    return authError(kInvalidSignatureException, std::string(kMsgContentSha256Mismatch));
  }
  return *declared;
}

VerifiedIdentity makeIdentity(const CredentialScope& scope, std::string account_id, std::string principal_arn) {
  VerifiedIdentity id;
  id.access_key_id = std::string(scope.access_key_id);
  id.account_id = std::move(account_id);
  id.principal_arn = std::move(principal_arn);
  id.region = std::string(scope.region);
  id.service = std::string(scope.service);
  return id;
}

Result<VerifiedIdentity> verifyParams(const SignedRequest& request, const AuthParams& p, const CredentialLookup& lookup,
                                      WallTime now, AuthMode mode, std::string_view default_account_id) {
  std::optional<WallTime> date = parseAmzDate(p.date);
  if (!date) {
    return authError(kIncompleteSignatureException,
                     fmt::format("Date must be in ISO-8601 'basic format'. Got '{}'. See "
                                 "http://en.wikipedia.org/wiki/ISO_8601",
                                 printable(p.date)));
  }
  std::chrono::seconds valid_for = kMaxClockSkew;
  if (p.expires) {
    Result<int64_t> expires = parseExpires(*p.expires);
    if (!expires) return std::unexpected(std::move(expires).error());
    valid_for = std::chrono::seconds(*expires);
  }
  if (mode == AuthMode::kSigV4) {
    Status window = checkDateWindow(p.date, *date, now, valid_for);
    if (!window) return std::unexpected(std::move(window).error());
  }
  if (!signsHost(p.signed_headers)) {
    return authError(kInvalidSignatureException, std::string(kMsgHostNotSigned));
  }
  if (p.algorithm != kSigV4Algorithm) {
    return authError(
        kIncompleteSignatureException,
        fmt::format("Unsupported AWS 'algorithm': '{}' (only AWS4-HMAC-SHA256 for now).", printable(p.algorithm)));
  }
  Result<CredentialScope> parsed_scope = parseCredentialScope(p.credential);
  if (!parsed_scope) return std::unexpected(std::move(parsed_scope).error());
  const CredentialScope& scope = *parsed_scope;

  std::string problems;
  if (!validScopeName(scope.region)) {
    problems += fmt::format("Credential should be scoped to a valid region, not '{}'. ", printable(scope.region));
  }
  if (!validScopeName(scope.service)) {
    problems += fmt::format("Credential should be scoped to correct service: '{}'. ", printable(scope.service));
  }
  if (scope.terminator != kTerminator) {
    problems += fmt::format("Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                            printable(scope.terminator));
  }
  std::string_view http_day = p.date.substr(0, 8);
  if (scope.date != http_day) {
    problems += fmt::format(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '{}' != '{}', from '{}'. ",
        printable(scope.date), http_day, p.date);
  }
  if (!problems.empty()) {
    problems.pop_back();
    return authError(kInvalidSignatureException, std::move(problems));
  }
  if (scope.access_key_id.empty()) {
    return authError(kUnrecognizedClientException, std::string(kMsgInvalidToken));
  }

  std::optional<Credential> credential;
  if (lookup) credential = lookup(scope.access_key_id);

  if (mode == AuthMode::kOff) {
    if (!isLowerHex64(p.signature)) {
      return authError(kInvalidSignatureException, std::string(kMsgSignatureMismatch));
    }
    if (credential) {
      return makeIdentity(scope, std::move(credential->account_id), std::move(credential->principal_arn));
    }
    return makeIdentity(scope, std::string(default_account_id),
                        fmt::format("arn:aws:iam::{}:root", default_account_id));
  }

  if (!credential) return authError(kUnrecognizedClientException, std::string(kMsgInvalidToken));

  Result<std::string> payload = payloadHash(request, scope.service, p.presigned);
  if (!payload) return std::unexpected(std::move(payload).error());

  std::string canonical;
  canonical.reserve(256 + request.target.size() + 64 * request.headers.size());
  appendCanonicalRequest(canonical, request.method, request.target, request.headers, p.signed_headers, *payload,
                         scope.service, p.presigned);
  std::string expected = computeSignature(credential->secret_access_key, scope, p.date, canonical);
  if (!constantTimeEquals(expected, p.signature)) {
    return authError(kInvalidSignatureException, std::string(kMsgSignatureMismatch));
  }

  // Checked after the signature, as AWS does: a correctly signed request with
  // a stale or foreign token is an unrecognized client, not a bad signature.
  std::string_view presented = p.security_token.value_or(std::string_view());
  if (credential->session_token) {
    if (presented.empty() || !constantTimeEquals(presented, *credential->session_token)) {
      return authError(kUnrecognizedClientException, std::string(kMsgInvalidToken));
    }
  } else if (!presented.empty()) {
    // A token with a long-term key matches nothing AWS issued either.
    return authError(kUnrecognizedClientException, std::string(kMsgInvalidToken));
  }
  if (credential->expiration && now >= *credential->expiration) {
    return authError(kExpiredTokenException, std::string(kMsgExpiredToken));
  }
  return makeIdentity(scope, std::move(credential->account_id), std::move(credential->principal_arn));
}

struct ParsedAuthorization {
  AuthorizationHeader fields;
  std::string missing;  // the "requires ..." sentences, each ending in ". "
};

Result<ParsedAuthorization> parseAuthorizationFields(std::string_view value) {
  ParsedAuthorization out;
  std::string_view v = trim(value);
  size_t alg_end = 0;
  while (alg_end < v.size() && !isSpace(v[alg_end])) ++alg_end;
  out.fields.algorithm = v.substr(0, alg_end);
  std::string_view rest = v.substr(alg_end);

  size_t i = 0;
  while (i < rest.size()) {
    char c = rest[i];
    if (c == ',' || isSpace(c)) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < rest.size() && rest[end] != ',' && !isSpace(rest[end])) ++end;
    std::string_view token = rest.substr(i, end - i);
    i = end;
    size_t eq = token.find('=');
    if (eq == std::string_view::npos) {
      return authError(kIncompleteSignatureException,
                       fmt::format("'{}' not a valid key=value pair (missing equal-sign) in "
                                   "Authorization header: '{}'.",
                                   printable(token), printable(value)));
    }
    std::string_view key = token.substr(0, eq);
    std::string_view val = token.substr(eq + 1);
    if (key == "Credential") {
      out.fields.credential = val;
    } else if (key == "SignedHeaders") {
      out.fields.signed_headers = val;
    } else if (key == "Signature") {
      out.fields.signature = val;
    }
  }
  if (out.fields.credential.empty()) {
    out.missing += "Authorization header requires 'Credential' parameter. ";
  }
  if (out.fields.signature.empty()) {
    out.missing += "Authorization header requires 'Signature' parameter. ";
  }
  if (out.fields.signed_headers.empty()) {
    out.missing += "Authorization header requires 'SignedHeaders' parameter. ";
  }
  return out;
}

Result<VerifiedIdentity> verifyPresigned(const SignedRequest& request, std::string_view raw_query,
                                         const CredentialLookup& lookup, WallTime now, AuthMode mode,
                                         std::string_view default_account_id) {
  PresignedQuery q = parsePresignedQuery(raw_query);
  std::string missing;
  auto require = [&](const std::string& value, std::string_view name) {
    if (value.empty()) {
      missing += fmt::format("AWS query-string parameters must include '{}'. ", name);
    }
  };
  require(q.algorithm, "X-Amz-Algorithm");
  require(q.credential, "X-Amz-Credential");
  require(q.signature, "X-Amz-Signature");
  require(q.signed_headers, "X-Amz-SignedHeaders");
  require(q.date, "X-Amz-Date");
  if (!missing.empty()) {
    missing += "Re-examine the query-string parameters.";
    return authError(kIncompleteSignatureException, std::move(missing));
  }
  AuthParams p;
  p.algorithm = q.algorithm;
  p.credential = q.credential;
  p.signed_headers = q.signed_headers;
  p.signature = q.signature;
  p.date = q.date;
  p.presigned = true;
  if (!q.security_token.empty()) {
    p.security_token = q.security_token;
  } else {
    p.security_token = firstHeader(request.headers, "x-amz-security-token");
  }
  if (q.expires) p.expires = *q.expires;
  return verifyParams(request, p, lookup, now, mode, default_account_id);
}

}  // namespace

// ---- public: parsing -------------------------------------------------------

Result<AuthorizationHeader> parseAuthorizationHeader(std::string_view value) {
  Result<ParsedAuthorization> parsed = parseAuthorizationFields(value);
  if (!parsed) return std::unexpected(std::move(parsed).error());
  if (!parsed->missing.empty()) {
    return authError(kIncompleteSignatureException, parsed->missing + "Authorization=" + printable(value));
  }
  return parsed->fields;
}

Result<CredentialScope> parseCredentialScope(std::string_view credential) {
  std::string_view c = credential;
  while (!c.empty() && c.back() == '/') c.remove_suffix(1);
  std::array<std::string_view, 5> parts;
  size_t count = 0;
  bool too_many = false;
  forEachPiece(c, '/', [&](std::string_view piece) {
    if (count < parts.size()) {
      parts[count] = piece;
    } else {
      too_many = true;
    }
    ++count;
  });
  if (too_many || count != parts.size()) {
    return authError(kIncompleteSignatureException,
                     fmt::format("Credential must have exactly 5 slash-delimited elements, e.g. "
                                 "keyid/date/region/service/term, got '{}'",
                                 printable(credential)));
  }
  return CredentialScope{parts[0], parts[1], parts[2], parts[3], parts[4]};
}

bool hasPresignedQuery(std::string_view raw_query) {
  bool found = false;
  forEachPiece(raw_query, '&', [&](std::string_view piece) {
    if (found || piece.empty()) return;
    std::string key = percentDecode(piece.substr(0, piece.find('=')));
    found = key == "X-Amz-Algorithm" || key == "X-Amz-Credential" || key == "X-Amz-Signature";
  });
  return found;
}

PresignedQuery parsePresignedQuery(std::string_view raw_query) {
  PresignedQuery q;
  bool seen_algorithm = false, seen_credential = false, seen_date = false, seen_signed = false, seen_signature = false,
       seen_token = false;
  forEachPiece(raw_query, '&', [&](std::string_view piece) {
    if (piece.empty()) return;
    size_t eq = piece.find('=');
    std::string key = percentDecode(piece.substr(0, eq));
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    auto take = [&](std::string& field, bool& seen) {
      if (seen) return;
      seen = true;
      field = percentDecode(raw_value);
    };
    if (key == "X-Amz-Algorithm") {
      take(q.algorithm, seen_algorithm);
    } else if (key == "X-Amz-Credential") {
      take(q.credential, seen_credential);
    } else if (key == "X-Amz-Date") {
      take(q.date, seen_date);
    } else if (key == "X-Amz-SignedHeaders") {
      take(q.signed_headers, seen_signed);
    } else if (key == "X-Amz-Signature") {
      take(q.signature, seen_signature);
    } else if (key == "X-Amz-Security-Token") {
      take(q.security_token, seen_token);
    } else if (key == "X-Amz-Expires") {
      if (!q.expires) q.expires = percentDecode(raw_value);
    }
  });
  return q;
}

std::string formatAmzDate(WallTime t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto day = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss<std::chrono::seconds> hms{secs - day};
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

std::optional<WallTime> parseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](size_t pos, size_t len, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(0, 4, year) || !number(4, 2, month) || !number(6, 2, day) || !number(9, 2, hour) ||
      !number(11, 2, minute) || !number(13, 2, second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  auto tp = std::chrono::sys_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
            std::chrono::seconds(second);
  return std::chrono::time_point_cast<std::chrono::microseconds>(tp);
}

// ---- public: canonical forms -----------------------------------------------

std::string canonicalUri(std::string_view raw_path, std::string_view service) {
  std::string out;
  appendCanonicalUri(out, raw_path, service == "s3");
  return out;
}

std::string canonicalQueryString(std::string_view raw_query, bool presigned) {
  std::string out;
  appendCanonicalQuery(out, raw_query, presigned);
  return out;
}

std::string canonicalRequest(std::string_view method, std::string_view target,
                             const std::vector<std::pair<std::string_view, std::string_view>>& headers,
                             std::string_view signed_headers, std::string_view payload_hash, std::string_view service,
                             bool presigned) {
  std::string out;
  appendCanonicalRequest(out, method, target, headers, signed_headers, payload_hash, service, presigned);
  return out;
}

std::string stringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  std::string out;
  appendStringToSign(out, amz_date, scope, sha256(canonical_request));
  return out;
}

Digest deriveSigningKey(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string seed;
  seed.reserve(4 + secret.size());
  seed.append("AWS4").append(secret);
  auto view = [](const Digest& d) { return std::string_view(reinterpret_cast<const char*>(d.data()), d.size()); };
  Digest k = hmacSha256Digest(seed, date);
  k = hmacSha256Digest(view(k), region);
  k = hmacSha256Digest(view(k), service);
  return hmacSha256Digest(view(k), kTerminator);
}

// ---- public: verification --------------------------------------------------

Result<VerifiedIdentity> verifySigV4(const SignedRequest& request, const CredentialLookup& lookup, WallTime now,
                                     AuthMode mode, std::string_view default_account_id) {
  SplitTarget target = splitTarget(request.target);

  // Repeated Authorization headers are read as one comma-joined value, as
  // HTTP defines; the second algorithm name then fails the key=value rule.
  std::string joined_authorization;
  std::optional<std::string_view> authorization;
  for (const auto& [n, v] : request.headers) {
    if (!iequals(n, "authorization")) continue;
    if (!authorization) {
      authorization = v;
    } else {
      if (joined_authorization.empty()) joined_authorization = std::string(*authorization);
      joined_authorization.append(", ").append(v);
      authorization = joined_authorization;
    }
  }
  if (!authorization || trim(*authorization).empty()) {
    if (hasPresignedQuery(target.query)) {
      return verifyPresigned(request, target.query, lookup, now, mode, default_account_id);
    }
    return authError(kMissingAuthenticationTokenException, std::string(kMsgMissingToken));
  }

  Result<ParsedAuthorization> parsed = parseAuthorizationFields(*authorization);
  if (!parsed) return std::unexpected(std::move(parsed).error());
  std::optional<std::string_view> date = firstHeader(request.headers, "x-amz-date");
  if (!date) date = firstHeader(request.headers, "date");
  std::string missing = std::move(parsed->missing);
  if (!date) {
    missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) {
    missing += "Authorization=";
    missing += printable(*authorization);
    return authError(kIncompleteSignatureException, std::move(missing));
  }

  AuthParams p;
  p.algorithm = parsed->fields.algorithm;
  p.credential = parsed->fields.credential;
  p.signed_headers = parsed->fields.signed_headers;
  p.signature = parsed->fields.signature;
  p.date = trim(*date);
  p.security_token = firstHeader(request.headers, "x-amz-security-token");
  if (p.security_token) p.security_token = trim(*p.security_token);
  return verifyParams(request, p, lookup, now, mode, default_account_id);
}

Status checkCredentialService(const VerifiedIdentity& identity, std::string_view expected_service) {
  if (identity.service == expected_service) return {};
  return authError(kInvalidSignatureException,
                   fmt::format("Credential should be scoped to correct service: '{}'.", expected_service));
}

int sigv4HttpStatus(std::string_view aws_type) {
  if (aws_type == kIncompleteSignatureException || aws_type == kInvalidSignatureException ||
      aws_type == kUnrecognizedClientException || aws_type == kMissingAuthenticationTokenException ||
      aws_type == kExpiredTokenException ||
      aws_type == "IncompleteSignature") {
    return 400;
  }
  return 403;  // SignatureDoesNotMatch, InvalidClientTokenId, MissingAuthenticationToken, others
}

std::string_view sigv4QueryErrorCode(std::string_view aws_type) {
  if (aws_type == kInvalidSignatureException) return "SignatureDoesNotMatch";
  if (aws_type == kUnrecognizedClientException) return "InvalidClientTokenId";
  if (aws_type == kIncompleteSignatureException) return "IncompleteSignature";
  if (aws_type == kMissingAuthenticationTokenException) return "MissingAuthenticationToken";
  if (aws_type == kExpiredTokenException) return "ExpiredToken";
  return aws_type;
}

// ---- public: signing -------------------------------------------------------

namespace {

bool excludedFromSigning(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "user-agent" || lower_name == "expect" ||
         lower_name == "transfer-encoding" || lower_name == "x-amzn-trace-id";
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = toLower(c);
  return out;
}

// The headers a signed request will carry, and which of them are signed.
struct SigningPlan {
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::string signed_headers;
  std::string payload_hash;
};

SigningPlan planSigning(const SigningInput& input, bool presigned, std::string_view amz_date) {
  SigningPlan plan;
  bool has_host = false;
  std::optional<std::string> declared_payload;
  for (const auto& [name, value] : input.headers) {
    std::string lower = lowercase(name);
    if (lower == "authorization" || lower == "x-amz-date" || lower == "x-amz-security-token") {
      continue;
    }
    if (lower == "host") has_host = true;
    if (lower == "x-amz-content-sha256") declared_payload = std::string(trim(value));
    plan.headers.emplace_back(std::move(lower), value);
  }
  if (!has_host) plan.headers.emplace_back("host", input.host);
  if (!presigned) {
    plan.headers.emplace_back("x-amz-date", std::string(amz_date));
    if (input.session_token) plan.headers.emplace_back("x-amz-security-token", *input.session_token);
  }

  std::vector<std::string_view> names;
  for (const auto& [name, value] : plan.headers) {
    if (!excludedFromSigning(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) plan.signed_headers += ';';
    plan.signed_headers += names[i];
  }

  if (declared_payload) {
    plan.payload_hash = *declared_payload;
  } else if (presigned && input.service == "s3") {
    plan.payload_hash = std::string(kUnsignedPayload);
  } else {
    plan.payload_hash = sha256Hex(input.body);
  }
  return plan;
}

std::string signPlan(const SigningInput& input, const SigningPlan& plan, std::string_view target,
                     std::string_view amz_date, bool presigned) {
  HeaderViews views;
  views.reserve(plan.headers.size());
  for (const auto& [n, v] : plan.headers) views.emplace_back(n, v);
  std::string canonical;
  appendCanonicalRequest(canonical, input.method, target, views, plan.signed_headers, plan.payload_hash, input.service,
                         presigned);
  std::string_view day = amz_date.substr(0, 8);
  CredentialScope scope{input.access_key_id, day, input.region, input.service, kTerminator};
  return computeSignature(input.secret_access_key, scope, amz_date, canonical);
}

std::string encoded(std::string_view s) {
  std::string out;
  appendEncoded(out, s, /*keep_slash=*/false);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> signRequest(const SigningInput& input) {
  std::string amz_date = formatAmzDate(input.now);
  SigningPlan plan = planSigning(input, /*presigned=*/false, amz_date);
  std::string target = input.path.empty() ? std::string("/") : input.path;
  if (!input.query.empty()) target.append(1, '?').append(input.query);
  std::string signature = signPlan(input, plan, target, amz_date, /*presigned=*/false);

  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back(
      "Authorization",
      fmt::format("{} Credential={}/{}/{}/{}/{}, SignedHeaders={}, Signature={}", kSigV4Algorithm, input.access_key_id,
                  amz_date.substr(0, 8), input.region, input.service, kTerminator, plan.signed_headers, signature));
  out.emplace_back("X-Amz-Date", amz_date);
  if (input.session_token) out.emplace_back("X-Amz-Security-Token", *input.session_token);
  return out;
}

std::string presignQuery(const SigningInput& input, std::chrono::seconds expires) {
  std::string amz_date = formatAmzDate(input.now);
  SigningPlan plan = planSigning(input, /*presigned=*/true, amz_date);
  std::string credential = fmt::format("{}/{}/{}/{}/{}", input.access_key_id, amz_date.substr(0, 8), input.region,
                                       input.service, kTerminator);
  std::string query = input.query;
  if (!query.empty()) query += '&';
  query += fmt::format("X-Amz-Algorithm={}&X-Amz-Credential={}&X-Amz-Date={}&X-Amz-Expires={}&X-Amz-SignedHeaders={}",
                       kSigV4Algorithm, encoded(credential), amz_date, expires.count(), encoded(plan.signed_headers));
  if (input.session_token) query += "&X-Amz-Security-Token=" + encoded(*input.session_token);
  std::string target = input.path.empty() ? std::string("/") : input.path;
  target.append(1, '?').append(query);
  std::string signature = signPlan(input, plan, target, amz_date, /*presigned=*/true);
  query += "&X-Amz-Signature=" + signature;
  return query;
}

}  // namespace berth::aws
