// SigV4 signing and verification, checked against AWS's published SigV4 test
// suite (aws-sig-v4-test-suite, as kept in awslabs/aws-c-auth under
// tests/aws-signing-test-suite/v4) and against the error names and messages
// AWS's JSON front ends return.
#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "aws/crypto.h"

namespace berth::aws {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kAkid = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kHost = "example.amazonaws.com";
constexpr std::string_view kSuiteDate = "20150830T123600Z";
constexpr std::string_view kSessionToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
constexpr std::string_view kAccount = "123456789012";
constexpr std::string_view kDefaultAccount = "000000000000";

WallTime at(std::string_view amz_date) {
  std::optional<WallTime> t = parseAmzDate(amz_date);
  EXPECT_TRUE(t.has_value()) << amz_date;
  return t.value_or(WallTime{});
}

WallTime suiteTime() { return at(kSuiteDate); }

// A request that owns its bytes; view() gives the SignedRequest over them.
struct OwnedRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  SignedRequest view() const {
    SignedRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    for (const auto& [n, v] : headers) r.headers.emplace_back(n, v);
    return r;
  }
  void setHeader(std::string_view name, std::string value) {
    for (auto& [n, v] : headers) {
      if (n == name) {
        v = std::move(value);
        return;
      }
    }
    headers.emplace_back(std::string(name), std::move(value));
  }
  void removeHeader(std::string_view name) {
    std::erase_if(headers, [&](const auto& h) { return h.first == name; });
  }
};

class KeyStore {
 public:
  KeyStore() {
    add(kAkid, kSecret, std::nullopt);
    add("AKIDTEMPORARY", kSecret, std::string(kSessionToken));
  }
  void add(std::string_view akid, std::string_view secret, std::optional<std::string> token,
           std::optional<WallTime> expiration = std::nullopt) {
    Credential c;
    c.expiration = expiration;
    c.secret_access_key = std::string(secret);
    c.account_id = std::string(kAccount);
    c.principal_arn = "arn:aws:iam::123456789012:user/" + std::string(akid);
    c.session_token = std::move(token);
    keys_[std::string(akid)] = std::move(c);
  }
  CredentialLookup lookup() const {
    return [this](std::string_view akid) -> std::optional<Credential> {
      ++lookups_;
      auto it = keys_.find(std::string(akid));
      if (it == keys_.end()) return std::nullopt;
      return it->second;
    };
  }
  int lookups() const { return lookups_; }

 private:
  std::map<std::string, Credential> keys_;
  mutable int lookups_ = 0;
};

Result<VerifiedIdentity> verify(const OwnedRequest& r, const KeyStore& keys, WallTime now,
                                AuthMode mode = AuthMode::kSigV4) {
  return verifySigV4(r.view(), keys.lookup(), now, mode, kDefaultAccount);
}

void expectError(const Result<VerifiedIdentity>& result, std::string_view aws_type, std::string_view message) {
  ASSERT_FALSE(result.has_value()) << "expected " << aws_type;
  EXPECT_EQ(result.error().aws_type, aws_type) << result.error().message;
  EXPECT_EQ(result.error().code, ErrorCode::kUnauthenticated);
  if (!message.empty()) {
    EXPECT_EQ(result.error().message, message);
  }
}

// ---------------------------------------------------------------------------
// The AWS test-suite vectors: AKIDEXAMPLE, 20150830T123600Z, us-east-1,
// service "service", host example.amazonaws.com. `path` and `query` are the
// request line's as the suite writes them; `headers` excludes Host and
// X-Amz-Date, which every case carries.

struct SuiteVector {
  std::string name;
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string signed_headers;
  std::string signature;
  bool with_token = false;
};

std::vector<SuiteVector> suiteVectors() {
  const std::string kUnreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return {
      {"get-vanilla",
       "GET",
       "/",
       "",
       {},
       "",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       "Param2=value2&Param1=value1",
       {},
       "",
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-empty-query-key",
       "GET",
       "/",
       "Param1=value1",
       {},
       "",
       "host;x-amz-date",
       "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
      {"get-vanilla-query-unreserved",
       "GET",
       "/",
       kUnreserved + "=" + kUnreserved,
       {},
       "",
       "host;x-amz-date",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       "\xe1\x88\xb4=bar",
       {},
       "",
       "host;x-amz-date",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-header-value-trim",
       "GET",
       "/",
       "",
       {{"My-Header1", "value1"}, {"My-Header2", "\"a   b   c\""}},
       "",
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-header-value-order",
       "GET",
       "/",
       "",
       {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"}, {"My-Header1", "value2"}},
       "",
       "host;my-header1;x-amz-date",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
      {"get-header-key-duplicate",
       "GET",
       "/",
       "",
       {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
       "",
       "host;my-header1;x-amz-date",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-utf8",
       "GET",
       "/\xe1\x88\xb4",
       "",
       {},
       "",
       "host;x-amz-date",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-unreserved",
       "GET",
       "/" + kUnreserved,
       "",
       {},
       "",
       "host;x-amz-date",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-space-normalized",
       "GET",
       "/example space/",
       "",
       {},
       "",
       "host;x-amz-date",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-slash-dot-slash-normalized",
       "GET",
       "/./",
       "",
       {},
       "",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-relative-relative-normalized",
       "GET",
       "/example1/example2/../..",
       "",
       {},
       "",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-slashes-normalized",
       "GET",
       "//example//",
       "",
       {},
       "",
       "host;x-amz-date",
       "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"}},
       "Param1=value1",
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
      // The suite's newer form of the same case, with a declared payload hash.
      {"post-x-www-form-urlencoded (x-amz-content-sha256)",
       "POST",
       "/",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"},
        {"Content-Length", "13"},
        {"x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"}},
       "Param1=value1",
       "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
      {"get-vanilla-with-session-token",
       "GET",
       "/",
       "",
       {},
       "",
       "host;x-amz-date;x-amz-security-token",
       "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
       true},
  };
}

std::string suiteAuthorization(const SuiteVector& v) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         v.signed_headers + ", Signature=" + v.signature;
}

SigningInput suiteSigningInput(const SuiteVector& v) {
  SigningInput in;
  in.method = v.method;
  in.host = std::string(kHost);
  in.path = v.path;
  in.query = v.query;
  in.headers = v.headers;
  in.body = v.body;
  in.region = "us-east-1";
  in.service = "service";
  in.access_key_id = std::string(kAkid);
  in.secret_access_key = std::string(kSecret);
  if (v.with_token) in.session_token = std::string(kSessionToken);
  in.now = suiteTime();
  return in;
}

OwnedRequest suiteRequest(const SuiteVector& v) {
  OwnedRequest r;
  r.method = v.method;
  r.target = v.path + (v.query.empty() ? "" : "?" + v.query);
  r.headers.emplace_back("Host", std::string(kHost));
  for (const auto& h : v.headers) r.headers.push_back(h);
  r.headers.emplace_back("X-Amz-Date", std::string(kSuiteDate));
  if (v.with_token) r.headers.emplace_back("X-Amz-Security-Token", std::string(kSessionToken));
  r.headers.emplace_back("Authorization", suiteAuthorization(v));
  r.body = v.body;
  return r;
}

KeyStore suiteKeys() {
  KeyStore keys;
  keys.add(kAkid, kSecret, std::nullopt);
  return keys;
}

TEST(SigV4SuiteTest, SignerProducesThePublishedSignatures) {
  for (const SuiteVector& v : suiteVectors()) {
    SCOPED_TRACE(v.name);
    auto added = signRequest(suiteSigningInput(v));
    ASSERT_EQ(added.size(), v.with_token ? 3u : 2u);
    EXPECT_EQ(added[0].first, "Authorization");
    EXPECT_EQ(added[0].second, suiteAuthorization(v));
    EXPECT_EQ(added[1], std::make_pair(std::string("X-Amz-Date"), std::string(kSuiteDate)));
    if (v.with_token) {
      EXPECT_EQ(added[2], std::make_pair(std::string("X-Amz-Security-Token"), std::string(kSessionToken)));
    }
  }
}

TEST(SigV4SuiteTest, VerifierAcceptsThePublishedRequests) {
  for (const SuiteVector& v : suiteVectors()) {
    SCOPED_TRACE(v.name);
    KeyStore keys;
    if (v.with_token) keys.add(kAkid, kSecret, std::string(kSessionToken));
    auto id = verify(suiteRequest(v), keys, suiteTime());
    ASSERT_TRUE(id.has_value()) << id.error().aws_type << ": " << id.error().message;
    EXPECT_EQ(id->access_key_id, kAkid);
    EXPECT_EQ(id->account_id, kAccount);
    EXPECT_EQ(id->principal_arn, "arn:aws:iam::123456789012:user/AKIDEXAMPLE");
    EXPECT_EQ(id->region, "us-east-1");
    EXPECT_EQ(id->service, "service");
  }
}

TEST(SigV4SuiteTest, VerifierRejectsTamperedRequests) {
  const std::string mismatch(
      "The request signature we calculated does not match the signature you provided. Check "
      "your AWS Secret Access Key and signing method. Consult the service documentation for "
      "details.");
  for (const SuiteVector& v : suiteVectors()) {
    SCOPED_TRACE(v.name);
    KeyStore keys;
    if (v.with_token) keys.add(kAkid, kSecret, std::string(kSessionToken));

    // One hex digit of the signature changed.
    SuiteVector flipped = v;
    flipped.signature[10] = flipped.signature[10] == '0' ? '1' : '0';
    expectError(verify(suiteRequest(flipped), keys, suiteTime()), kInvalidSignatureException, mismatch);

    // The path changed under the signature.
    OwnedRequest other_path = suiteRequest(v);
    other_path.target.insert(1, "zz/");
    expectError(verify(other_path, keys, suiteTime()), kInvalidSignatureException, mismatch);

    // The method changed.
    OwnedRequest other_method = suiteRequest(v);
    other_method.method = v.method == "GET" ? "DELETE" : "GET";
    expectError(verify(other_method, keys, suiteTime()), kInvalidSignatureException, mismatch);

    // The host changed.
    OwnedRequest other_host = suiteRequest(v);
    other_host.setHeader("Host", "evil.example.com");
    expectError(verify(other_host, keys, suiteTime()), kInvalidSignatureException, mismatch);

    // The body changed (a declared payload hash then no longer matches it).
    OwnedRequest other_body = suiteRequest(v);
    other_body.body += "&extra=1";
    auto body_result = verify(other_body, keys, suiteTime());
    ASSERT_FALSE(body_result.has_value());
    EXPECT_EQ(body_result.error().aws_type, kInvalidSignatureException);
  }
}

TEST(SigV4SuiteTest, CanonicalRequestAndStringToSignOfGetVanilla) {
  std::vector<std::pair<std::string_view, std::string_view>> headers = {{"Host", kHost}, {"X-Amz-Date", kSuiteDate}};
  std::string canonical = canonicalRequest("GET", "/", headers, "host;x-amz-date", sha256Hex(""), "service", false);
  EXPECT_EQ(canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(stringToSign(kSuiteDate, "20150830/us-east-1/service/aws4_request", canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

TEST(SigV4SuiteTest, HeaderValuesAreTrimmedAndCollapsed) {
  std::vector<std::pair<std::string_view, std::string_view>> headers = {
      {"Host", kHost}, {"My-Header1", "  value1  "}, {"My-Header2", "\"a   b \t  c\""}, {"X-Amz-Date", kSuiteDate}};
  std::string canonical =
      canonicalRequest("GET", "/", headers, "host;my-header1;my-header2;x-amz-date", sha256Hex(""), "service", false);
  EXPECT_NE(canonical.find("\nmy-header1:value1\nmy-header2:\"a b c\"\n"), std::string::npos) << canonical;
}

TEST(SigV4SuiteTest, DerivesTheDocumentedSigningKey) {
  // AWS General Reference, "Examples of how to derive a signing key".
  Digest key = deriveSigningKey(kSecret, "20120215", "us-east-1", "iam");
  EXPECT_EQ(hexEncode(key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

// ---------------------------------------------------------------------------
// Canonical forms

TEST(SigV4CanonicalTest, UriIsNormalizedAndEncodedTwice) {
  EXPECT_EQ(canonicalUri("", "ecs"), "/");
  EXPECT_EQ(canonicalUri("/", "ecs"), "/");
  EXPECT_EQ(canonicalUri("/a/b/../c/./d", "ecs"), "/a/c/d");
  EXPECT_EQ(canonicalUri("/a/b/", "ecs"), "/a/b/");
  EXPECT_EQ(canonicalUri("/../../a", "ecs"), "/a");
  EXPECT_EQ(canonicalUri("/a//b", "ecs"), "/a/b");
  EXPECT_EQ(canonicalUri("/example%20space/", "ecs"), "/example%2520space/");
  EXPECT_EQ(canonicalUri("/a%2Fb", "ecs"), "/a%252Fb");
  EXPECT_EQ(canonicalUri("/a b+c", "ecs"), "/a%20b%2Bc");
}

TEST(SigV4CanonicalTest, S3PathsAreNeitherNormalizedNorDoubleEncoded) {
  EXPECT_EQ(canonicalUri("//a/./b/", "s3"), "//a/./b/");
  EXPECT_EQ(canonicalUri("/a%20b", "s3"), "/a%20b");
  EXPECT_EQ(canonicalUri("/a%7eb", "s3"), "/a~b");
  EXPECT_EQ(canonicalUri("/a b", "s3"), "/a%20b");
}

TEST(SigV4CanonicalTest, QueryIsReencodedAndSorted) {
  EXPECT_EQ(canonicalQueryString("", false), "");
  EXPECT_EQ(canonicalQueryString("b=2&a=1&a=0", false), "a=0&a=1&b=2");
  EXPECT_EQ(canonicalQueryString("a=%7e&b=+&c=%2f", false), "a=~&b=%2B&c=%2F");
  EXPECT_EQ(canonicalQueryString("flag&x=", false), "flag=&x=");
  EXPECT_EQ(canonicalQueryString("a=1&&b=2&", false), "a=1&b=2");
  EXPECT_EQ(canonicalQueryString("a=%zz&b=%4", false), "a=%25zz&b=%254");
  // Sorted by encoded key: uppercase before lowercase.
  EXPECT_EQ(canonicalQueryString("a=1&B=2", false), "B=2&a=1");
  EXPECT_EQ(canonicalQueryString("X-Amz-Signature=abc&a=1", false), "X-Amz-Signature=abc&a=1");
  EXPECT_EQ(canonicalQueryString("X-Amz-Signature=abc&a=1", true), "a=1");
}

TEST(SigV4CanonicalTest, AmzDatesParseAndFormat) {
  EXPECT_EQ(formatAmzDate(suiteTime()), kSuiteDate);
  EXPECT_EQ(formatAmzDate(suiteTime() + 999999us), kSuiteDate);
  EXPECT_TRUE(parseAmzDate("20240229T235959Z").has_value());
  EXPECT_FALSE(parseAmzDate("20230229T000000Z").has_value());
  EXPECT_FALSE(parseAmzDate("20150830T243600Z").has_value());
  EXPECT_FALSE(parseAmzDate("20151330T123600Z").has_value());
  EXPECT_FALSE(parseAmzDate("20150830T123600").has_value());
  EXPECT_FALSE(parseAmzDate("2015-08-30T12:36:00Z").has_value());
  EXPECT_FALSE(parseAmzDate("Sun, 30 Aug 2015 12:36:00 GMT").has_value());
  EXPECT_FALSE(parseAmzDate("2015083OT123600Z").has_value());
}

// ---------------------------------------------------------------------------
// Verification errors, with AWS's names and messages

class SigV4VerifyTest : public ::testing::Test {
 protected:
  // A correctly signed ECS call at `now_`.
  OwnedRequest signedCall(std::optional<std::string> token = std::nullopt, std::string akid = std::string(kAkid)) {
    SigningInput in;
    in.method = "POST";
    in.host = "localhost:4566";
    in.path = "/";
    in.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                  {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"}};
    in.body = "{}";
    in.region = "us-east-1";
    in.service = "ecs";
    in.access_key_id = akid;
    in.secret_access_key = std::string(kSecret);
    in.session_token = token;
    in.now = now_;
    OwnedRequest r;
    r.method = in.method;
    r.target = in.path;
    r.body = in.body;
    r.headers.emplace_back("Host", in.host);
    for (const auto& h : in.headers) r.headers.push_back(h);
    r.headers.emplace_back("User-Agent", "aws-cli/2.15");
    for (auto& h : signRequest(in)) r.headers.push_back(std::move(h));
    return r;
  }

  std::string authorizationOf(const OwnedRequest& r) {
    for (const auto& [n, v] : r.headers) {
      if (n == "Authorization") return v;
    }
    return {};
  }

  WallTime now_ = at("20260101T000000Z");
  KeyStore keys_;
};

TEST_F(SigV4VerifyTest, AcceptsASignedCall) {
  auto id = verify(signedCall(), keys_, now_);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(id->service, "ecs");
  EXPECT_EQ(id->region, "us-east-1");
  EXPECT_TRUE(checkCredentialService(*id, "ecs").has_value());
  Status wrong = checkCredentialService(*id, "logs");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().aws_type, kInvalidSignatureException);
  EXPECT_EQ(wrong.error().message, "Credential should be scoped to correct service: 'logs'.");
}

TEST_F(SigV4VerifyTest, MissingAuthorizationIsAMissingToken) {
  OwnedRequest r = signedCall();
  r.removeHeader("Authorization");
  expectError(verify(r, keys_, now_), kMissingAuthenticationTokenException, "Missing Authentication Token");
  r.headers.emplace_back("Authorization", "   ");
  expectError(verify(r, keys_, now_), kMissingAuthenticationTokenException, "Missing Authentication Token");
}

TEST_F(SigV4VerifyTest, ExpiredAndFutureSignaturesCarryAwsMessages) {
  OwnedRequest r = signedCall();  // dated 20260101T000000Z
  expectError(verify(r, keys_, at("20260101T001000Z")), kInvalidSignatureException,
              "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z "
              "(20260101T001000Z - 5 min.)");
  expectError(verify(r, keys_, at("20251231T235000Z")), kInvalidSignatureException,
              "Signature not yet current: 20260101T000000Z is still later than 20251231T235500Z "
              "(20251231T235000Z + 5 min.)");
  // Exactly five minutes either way is still accepted.
  EXPECT_TRUE(verify(r, keys_, at("20260101T000500Z")).has_value());
  EXPECT_TRUE(verify(r, keys_, at("20251231T235500Z")).has_value());
  EXPECT_FALSE(verify(r, keys_, at("20260101T000500Z") + 1s).has_value());
}

TEST_F(SigV4VerifyTest, WrongSecretIsASignatureMismatch) {
  keys_.add(kAkid, "not-the-secret", std::nullopt);
  expectError(verify(signedCall(), keys_, now_), kInvalidSignatureException,
              "The request signature we calculated does not match the signature you provided. "
              "Check your AWS Secret Access Key and signing method. Consult the service "
              "documentation for details.");
}

TEST_F(SigV4VerifyTest, UnknownKeyIsAnUnrecognizedClient) {
  expectError(verify(signedCall(std::nullopt, "AKIDUNKNOWN"), keys_, now_), kUnrecognizedClientException,
              "The security token included in the request is invalid.");
}

TEST_F(SigV4VerifyTest, MissingDateHeader) {
  OwnedRequest r = signedCall();
  r.removeHeader("X-Amz-Date");
  std::string auth = authorizationOf(r);
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
              "header. Authorization=" +
                  auth);
}

TEST_F(SigV4VerifyTest, DateHeaderStandsInForXAmzDate) {
  OwnedRequest r = signedCall();
  r.removeHeader("X-Amz-Date");
  r.headers.emplace_back("Date", "20260101T000000Z");
  // x-amz-date was signed and is now absent, so the signature cannot match,
  // but the date itself was found and accepted.
  expectError(verify(r, keys_, now_), kInvalidSignatureException, "");
  r.setHeader("Date", "Thu, 01 Jan 2026 00:00:00 GMT");
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "Date must be in ISO-8601 'basic format'. Got 'Thu, 01 Jan 2026 00:00:00 GMT'. See "
              "http://en.wikipedia.org/wiki/ISO_8601");
}

TEST_F(SigV4VerifyTest, MissingAuthorizationParameters) {
  OwnedRequest r = signedCall();
  r.setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request");
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "Authorization header requires 'Signature' parameter. Authorization header requires "
              "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 "
              "Credential=AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request");

  r.setHeader("Authorization", "Bearer");
  r.removeHeader("X-Amz-Date");
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "Authorization header requires 'Credential' parameter. Authorization header requires "
              "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
              "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
              "header. Authorization=Bearer");
}

TEST_F(SigV4VerifyTest, TokensWithoutEqualSignAreRejected) {
  OwnedRequest r = signedCall();
  std::string auth =
      "AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc";
  r.setHeader("Authorization", auth);
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "'AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request' not a valid key=value pair "
              "(missing equal-sign) in Authorization header: '" +
                  auth + "'.");
  r.setHeader("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig");
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "'eyJhbGciOiJIUzI1NiJ9.e30.sig' not a valid key=value pair (missing equal-sign) in "
              "Authorization header: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig'.");
}

TEST_F(SigV4VerifyTest, WhitespaceVariantsOfRealClientsAreAccepted) {
  OwnedRequest r = signedCall();
  std::string auth = authorizationOf(r);
  auto parsed = parseAuthorizationHeader(auth);
  ASSERT_TRUE(parsed.has_value());
  std::string cred(parsed->credential), signed_headers(parsed->signed_headers), sig(parsed->signature);
  for (const std::string& form : {
           "AWS4-HMAC-SHA256 Credential=" + cred + ",SignedHeaders=" + signed_headers + ",Signature=" + sig,
           "AWS4-HMAC-SHA256   Credential=" + cred + " ,  SignedHeaders=" + signed_headers + ",\tSignature=" + sig +
               "  ",
           "  AWS4-HMAC-SHA256\tCredential=" + cred + ", SignedHeaders=" + signed_headers + ", Signature=" + sig,
           "AWS4-HMAC-SHA256 Signature=" + sig + ", Credential=" + cred + ", SignedHeaders=" + signed_headers,
       }) {
    SCOPED_TRACE(form);
    r.setHeader("Authorization", form);
    auto id = verify(r, keys_, now_);
    EXPECT_TRUE(id.has_value()) << id.error().message;
  }
}

TEST_F(SigV4VerifyTest, RepeatedAuthorizationHeadersAreRejected) {
  OwnedRequest r = signedCall();
  r.headers.emplace_back("authorization", authorizationOf(r));
  auto result = verify(r, keys_, now_);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().aws_type, kIncompleteSignatureException);
}

TEST_F(SigV4VerifyTest, UnsupportedAlgorithm) {
  OwnedRequest r = signedCall();
  std::string auth = authorizationOf(r);
  r.setHeader("Authorization", "AWS4-HMAC-SHA512" + auth.substr(16));
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).");
}

TEST_F(SigV4VerifyTest, HostMustBeSigned) {
  OwnedRequest r = signedCall();
  r.setHeader("Authorization",
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request, "
              "SignedHeaders=x-amz-date, Signature=" +
                  std::string(64, 'a'));
  expectError(verify(r, keys_, now_), kInvalidSignatureException,
              "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(SigV4VerifyTest, CredentialShapeAndScope) {
  OwnedRequest r = signedCall();
  auto with_credential = [&](std::string credential) {
    r.setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=" + credential +
                                     ", SignedHeaders=host;x-amz-date, Signature=" + std::string(64, 'a'));
    return verify(r, keys_, now_);
  };
  expectError(with_credential("AKIDEXAMPLE/20260101/us-east-1/ecs"), kIncompleteSignatureException,
              "Credential must have exactly 5 slash-delimited elements, e.g. "
              "keyid/date/region/service/term, got 'AKIDEXAMPLE/20260101/us-east-1/ecs'");
  expectError(with_credential("AKIDEXAMPLE/20260101/us-east-1/ecs/aws4_request/x"), kIncompleteSignatureException, "");
  expectError(with_credential("AKIDEXAMPLE/20260102/US-EAST-1/ecs/aws5_request"), kInvalidSignatureException,
              "Credential should be scoped to a valid region, not 'US-EAST-1'. Credential should be "
              "scoped with a valid terminator: 'aws4_request', not 'aws5_request'. Date in "
              "Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
              "'20260102' != '20260101', from '20260101T000000Z'.");
  expectError(with_credential("/20260101/us-east-1/ecs/aws4_request"), kUnrecognizedClientException,
              "The security token included in the request is invalid.");
  // Trailing slashes are ignored, as AWS does; this one then verifies.
  std::string auth = authorizationOf(signedCall());
  auto parsed = parseAuthorizationHeader(auth);
  ASSERT_TRUE(parsed.has_value());
  r.setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(parsed->credential) +
                                   "//, SignedHeaders=" + std::string(parsed->signed_headers) +
                                   ", Signature=" + std::string(parsed->signature));
  auto id = verify(r, keys_, now_);
  EXPECT_TRUE(id.has_value()) << id.error().message;
}

TEST_F(SigV4VerifyTest, SessionTokens) {
  keys_.add("AKIDTEMP", kSecret, std::string("token-A"));
  // Correct token.
  auto ok = verify(signedCall(std::string("token-A"), "AKIDTEMP"), keys_, now_);
  EXPECT_TRUE(ok.has_value()) << ok.error().message;
  // Signed with another token: the signature holds, the token does not.
  expectError(verify(signedCall(std::string("token-B"), "AKIDTEMP"), keys_, now_), kUnrecognizedClientException,
              "The security token included in the request is invalid.");
  // No token at all for a temporary key.
  expectError(verify(signedCall(std::nullopt, "AKIDTEMP"), keys_, now_), kUnrecognizedClientException,
              "The security token included in the request is invalid.");
  // A token presented with a long-term key.
  expectError(verify(signedCall(std::string("token-A")), keys_, now_), kUnrecognizedClientException,
              "The security token included in the request is invalid.");
  // Token replaced after signing: the signed header no longer matches.
  OwnedRequest r = signedCall(std::string("token-A"), "AKIDTEMP");
  r.setHeader("X-Amz-Security-Token", "token-B");
  expectError(verify(r, keys_, now_), kInvalidSignatureException, "");
}

TEST_F(SigV4VerifyTest, ExpiredTemporaryCredentials) {
  keys_.add("AKIDEXPIRING", kSecret, std::string("token-A"), now_ + std::chrono::seconds(1));
  EXPECT_TRUE(verify(signedCall(std::string("token-A"), "AKIDEXPIRING"), keys_, now_).has_value());
  keys_.add("AKIDEXPIRED", kSecret, std::string("token-A"), now_);
  expectError(verify(signedCall(std::string("token-A"), "AKIDEXPIRED"), keys_, now_), kExpiredTokenException,
              "The security token included in the request is expired");
  // The token is checked first: a wrong one is invalid, expired or not.
  expectError(verify(signedCall(std::string("token-B"), "AKIDEXPIRED"), keys_, now_), kUnrecognizedClientException,
              "The security token included in the request is invalid.");
  EXPECT_EQ(sigv4QueryErrorCode(kExpiredTokenException), "ExpiredToken");
  EXPECT_EQ(sigv4HttpStatus(kExpiredTokenException), 400);
  EXPECT_EQ(sigv4HttpStatus("ExpiredToken"), 403);
}

TEST_F(SigV4VerifyTest, DeclaredPayloadHashMustMatchTheBody) {
  OwnedRequest r = signedCall();
  // An unsigned x-amz-content-sha256 must not let a body be swapped.
  r.body = "{\"evil\":true}";
  r.headers.emplace_back("X-Amz-Content-Sha256", sha256Hex("{}"));
  expectError(verify(r, keys_, now_), kInvalidSignatureException,
              "The provided 'x-amz-content-sha256' header does not match what was computed.");
  r.setHeader("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
  expectError(verify(r, keys_, now_), kInvalidSignatureException,
              "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

TEST_F(SigV4VerifyTest, UnsignedHeadersMayChange) {
  OwnedRequest r = signedCall();
  r.setHeader("User-Agent", "something-else");
  r.headers.emplace_back("X-Forwarded-For", "10.0.0.1");
  EXPECT_TRUE(verify(r, keys_, now_).has_value());
}

TEST_F(SigV4VerifyTest, AbsoluteFormTargetsVerify) {
  OwnedRequest r = signedCall();
  r.target = "http://localhost:4566/";
  auto id = verify(r, keys_, now_);
  EXPECT_TRUE(id.has_value()) << id.error().message;
}

TEST_F(SigV4VerifyTest, AuthOffChecksShapeOnly) {
  // Unknown key, stale date: accepted, acting as the default account's root.
  OwnedRequest r = signedCall(std::nullopt, "test");
  auto id = verify(r, keys_, now_ + 24h, AuthMode::kOff);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(id->access_key_id, "test");
  EXPECT_EQ(id->account_id, kDefaultAccount);
  EXPECT_EQ(id->principal_arn, "arn:aws:iam::000000000000:root");
  EXPECT_EQ(id->service, "ecs");

  // A known key keeps its identity, whatever the signature's value.
  keys_.add(kAkid, "other-secret", std::nullopt);
  auto known = verify(signedCall(), keys_, now_, AuthMode::kOff);
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->account_id, kAccount);

  // Still required: a signature, of the right shape.
  OwnedRequest unsigned_call = r;
  unsigned_call.removeHeader("Authorization");
  expectError(verify(unsigned_call, keys_, now_, AuthMode::kOff), kMissingAuthenticationTokenException,
              "Missing Authentication Token");
  OwnedRequest short_sig = r;
  short_sig.setHeader("Authorization",
                      "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, "
                      "SignedHeaders=host;x-amz-date, Signature=xyz");
  expectError(verify(short_sig, keys_, now_, AuthMode::kOff), kInvalidSignatureException, "");
  OwnedRequest bad_scope = r;
  bad_scope.setHeader("Authorization",
                      "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs, "
                      "SignedHeaders=host;x-amz-date, Signature=" +
                          std::string(64, '0'));
  expectError(verify(bad_scope, keys_, now_, AuthMode::kOff), kIncompleteSignatureException, "");
}

TEST_F(SigV4VerifyTest, LookupIsCalledOncePerRequest) {
  KeyStore keys;
  ASSERT_TRUE(verify(signedCall(), keys, now_).has_value());
  EXPECT_EQ(keys.lookups(), 1);
}

TEST_F(SigV4VerifyTest, ConcurrentVerificationSharesTheKeyCache) {
  OwnedRequest r = signedCall();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      KeyStore keys;
      for (int i = 0; i < 200; ++i) {
        // Different regions force cache misses and inserts alongside hits.
        SigningInput in;
        in.method = "POST";
        in.host = "localhost";
        in.path = "/";
        in.body = std::to_string(i);
        in.region = "region-" + std::to_string((t * 200 + i) % 37);
        in.service = "ecs";
        in.access_key_id = std::string(kAkid);
        in.secret_access_key = std::string(kSecret);
        in.now = now_;
        OwnedRequest own;
        own.method = "POST";
        own.body = in.body;
        own.headers.emplace_back("Host", "localhost");
        for (auto& h : signRequest(in)) own.headers.push_back(std::move(h));
        if (!verify(own, keys, now_).has_value()) ++failures;
        if (!verify(r, keys, now_).has_value()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---------------------------------------------------------------------------
// Presigned (query-string) requests

TEST(SigV4PresignTest, VerifiesTheSuitesPresignedRequest) {
  // aws-signing-test-suite v4/get-vanilla-query-order-key-case, query form.
  OwnedRequest r;
  r.target =
      "/?Param2=value2&Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
      "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&"
      "X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature="
      "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5";
  r.headers = {{"Host", std::string(kHost)}, {"X-Amz-Date", std::string(kSuiteDate)}};
  KeyStore keys = suiteKeys();
  auto id = verify(r, keys, suiteTime());
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(id->service, "service");

  // The signer produces the same signature for the same request.
  SigningInput in;
  in.method = "GET";
  in.host = std::string(kHost);
  in.path = "/";
  in.query = "Param2=value2&Param1=value1";
  in.region = "us-east-1";
  in.service = "service";
  in.access_key_id = std::string(kAkid);
  in.secret_access_key = std::string(kSecret);
  in.now = suiteTime();
  std::string query = presignQuery(in, 3600s);
  EXPECT_TRUE(query.ends_with("&X-Amz-Signature=86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5"))
      << query;

  // Tampered: a parameter added after signing.
  r.target += "&Param3=value3";
  expectError(verify(r, keys, suiteTime()), kInvalidSignatureException, "");
}

class SigV4PresignRoundTripTest : public ::testing::Test {
 protected:
  SigningInput input(std::optional<std::string> token = std::nullopt) {
    SigningInput in;
    in.method = "GET";
    in.host = "localhost:4566";
    in.path = "/";
    in.query = "Action=GetCallerIdentity&Version=2011-06-15";
    in.region = "us-east-1";
    in.service = "sts";
    in.access_key_id = token ? "AKIDTEMP" : std::string(kAkid);
    in.secret_access_key = std::string(kSecret);
    in.session_token = std::move(token);
    in.now = now_;
    return in;
  }
  OwnedRequest request(const SigningInput& in, std::chrono::seconds expires) {
    OwnedRequest r;
    r.method = in.method;
    r.target = in.path + "?" + presignQuery(in, expires);
    r.headers = {{"Host", in.host}};
    return r;
  }
  WallTime now_ = at("20260101T000000Z");
  KeyStore keys_;
};

TEST_F(SigV4PresignRoundTripTest, AcceptsUntilExpiry) {
  OwnedRequest r = request(input(), 900s);
  EXPECT_TRUE(verify(r, keys_, now_).has_value());
  EXPECT_TRUE(verify(r, keys_, now_ + 900s).has_value());
  expectError(verify(r, keys_, now_ + 901s), kInvalidSignatureException,
              "Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z "
              "(20260101T001501Z - 15 min.)");
  expectError(verify(r, keys_, now_ - 6min), kInvalidSignatureException,
              "Signature not yet current: 20260101T000000Z is still later than 20251231T235900Z "
              "(20251231T235400Z + 5 min.)");
}

TEST_F(SigV4PresignRoundTripTest, SessionTokenTravelsInTheQuery) {
  keys_.add("AKIDTEMP", kSecret, std::string("tok+en/=="));
  OwnedRequest r = request(input(std::string("tok+en/==")), 60s);
  EXPECT_NE(r.target.find("X-Amz-Security-Token=tok%2Ben%2F%3D%3D"), std::string::npos);
  auto id = verify(r, keys_, now_);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  keys_.add("AKIDTEMP", kSecret, std::string("other"));
  expectError(verify(r, keys_, now_), kUnrecognizedClientException,
              "The security token included in the request is invalid.");
}

TEST_F(SigV4PresignRoundTripTest, MissingAndMalformedParameters) {
  OwnedRequest r;
  r.headers = {{"Host", "localhost"}};
  r.target = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z";
  expectError(verify(r, keys_, now_), kIncompleteSignatureException,
              "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string "
              "parameters must include 'X-Amz-Signature'. AWS query-string parameters must include "
              "'X-Amz-SignedHeaders'. Re-examine the query-string parameters.");

  OwnedRequest good = request(input(), 60s);
  OwnedRequest not_number = good;
  not_number.target.replace(not_number.target.find("X-Amz-Expires=60"), 16, "X-Amz-Expires=6x");
  expectError(verify(not_number, keys_, now_), kIncompleteSignatureException, "X-Amz-Expires should be a number");
  OwnedRequest too_long = request(input(), 604801s);
  expectError(verify(too_long, keys_, now_), kIncompleteSignatureException,
              "X-Amz-Expires must be less than a week (in seconds) that is; 604800");
}

// ---------------------------------------------------------------------------
// Error shapes and the parsers on their own

TEST(SigV4ErrorsTest, HttpStatusesAndQueryCodes) {
  EXPECT_EQ(sigv4HttpStatus(kIncompleteSignatureException), 400);
  EXPECT_EQ(sigv4HttpStatus(kInvalidSignatureException), 400);
  EXPECT_EQ(sigv4HttpStatus(kUnrecognizedClientException), 400);
  EXPECT_EQ(sigv4HttpStatus(kMissingAuthenticationTokenException), 400);
  EXPECT_EQ(sigv4HttpStatus("IncompleteSignature"), 400);
  EXPECT_EQ(sigv4HttpStatus("SignatureDoesNotMatch"), 403);
  EXPECT_EQ(sigv4HttpStatus("InvalidClientTokenId"), 403);
  EXPECT_EQ(sigv4HttpStatus("MissingAuthenticationToken"), 403);
  EXPECT_EQ(sigv4QueryErrorCode(kInvalidSignatureException), "SignatureDoesNotMatch");
  EXPECT_EQ(sigv4QueryErrorCode(kUnrecognizedClientException), "InvalidClientTokenId");
  EXPECT_EQ(sigv4QueryErrorCode(kIncompleteSignatureException), "IncompleteSignature");
  EXPECT_EQ(sigv4QueryErrorCode(kMissingAuthenticationTokenException), "MissingAuthenticationToken");
  EXPECT_EQ(sigv4QueryErrorCode("Other"), "Other");
}

TEST(SigV4ParseTest, AuthorizationHeader) {
  auto h = parseAuthorizationHeader(
      "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecs/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abcd, Extra=ignored");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->algorithm, "AWS4-HMAC-SHA256");
  EXPECT_EQ(h->credential, "AKID/20260101/us-east-1/ecs/aws4_request");
  EXPECT_EQ(h->signed_headers, "host;x-amz-date");
  EXPECT_EQ(h->signature, "abcd");

  auto missing = parseAuthorizationHeader("AWS4-HMAC-SHA256 Credential=a, Signature=");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message,
            "Authorization header requires 'Signature' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=a, Signature=");
  // Keys are case-sensitive.
  EXPECT_FALSE(parseAuthorizationHeader("AWS4-HMAC-SHA256 credential=a, signedheaders=b, "
                                        "signature=c")
                   .has_value());
  // Control bytes echoed in messages are replaced.
  auto ctl = parseAuthorizationHeader(std::string("AWS4 \x01\xff"));
  ASSERT_FALSE(ctl.has_value());
  EXPECT_EQ(ctl.error().message,
            "'?\?' not a valid key=value pair (missing equal-sign) in Authorization header: "
            "'AWS4 ?\?'.");
}

TEST(SigV4ParseTest, CredentialScope) {
  auto s = parseCredentialScope("AKID/20260101/eu-west-1/logs/aws4_request");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->access_key_id, "AKID");
  EXPECT_EQ(s->date, "20260101");
  EXPECT_EQ(s->region, "eu-west-1");
  EXPECT_EQ(s->service, "logs");
  EXPECT_EQ(s->terminator, "aws4_request");
  EXPECT_FALSE(parseCredentialScope("").has_value());
  EXPECT_FALSE(parseCredentialScope("a/b/c/d/e/f").has_value());
  EXPECT_FALSE(parseCredentialScope("/////").has_value());
  EXPECT_TRUE(parseCredentialScope("a/b/c/d/e///").has_value());
}

TEST(SigV4ParseTest, PresignedQuery) {
  EXPECT_FALSE(hasPresignedQuery(""));
  EXPECT_FALSE(hasPresignedQuery("Action=ListUsers&X-Amz-Date=1"));
  EXPECT_TRUE(hasPresignedQuery("a=1&X-Amz-Signature"));
  EXPECT_TRUE(hasPresignedQuery("X%2DAmz%2DCredential=x"));
  PresignedQuery q = parsePresignedQuery(
      "X-Amz-Credential=a%2Fb&X-Amz-Expires=60&X-Amz-Security-Token=t%2B1&"
      "X-Amz-Security-Token=second&X-Amz-SignedHeaders=host%3Bx");
  EXPECT_EQ(q.credential, "a/b");
  EXPECT_EQ(q.expires, std::optional<std::string>("60"));
  EXPECT_EQ(q.security_token, "t+1");
  EXPECT_EQ(q.signed_headers, "host;x");
  EXPECT_EQ(q.algorithm, "");
}

// ---------------------------------------------------------------------------
// crypto helpers

TEST(CryptoTest, Sha256AndHmacKnownAnswers) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231, test case 2.
  EXPECT_EQ(hexEncode(hmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmacSha256("Jefe", "what do ya want for nothing?").size(), 32u);
  // An empty key is a key, not "keep the previous one".
  EXPECT_EQ(hexEncode(hmacSha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(hexEncode(std::string_view("\x00\x7f\xff", 3)), "007fff");
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace berth::aws
