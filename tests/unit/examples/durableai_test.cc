// The durableai example's helpers (examples/durableai/common/): HTTP message
// parsing, URLs, escaping, DNS packets, SHA-256, and its SigV4 signer, whose
// signatures berth's own verifier must accept.
#include <gtest/gtest.h>

#include "aws/crypto.h"
#include "aws/sigv4.h"
#include "aws_sign.h"
#include "dns.h"
#include "http.h"
#include "sha256.h"

namespace durableai {
namespace {

TEST(DurableaiHttpTest, ParsesARequestOnceItIsWhole) {
  std::string wire = "POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-A:  v \r\n\r\nhello";
  Request r;
  for (size_t n = 0; n < wire.size(); ++n)
    EXPECT_EQ(parseRequest(std::string_view(wire).substr(0, n), r).state, ParseState::kIncomplete) << n;
  ParseResult p = parseRequest(wire + "extra", r);
  ASSERT_EQ(p.state, ParseState::kComplete);
  EXPECT_EQ(p.consumed, wire.size());
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/x?y=1");
  EXPECT_EQ(r.path(), "/x");
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(findHeader(r.headers, "x-a"), "v");
  EXPECT_FALSE(findHeader(r.headers, "missing"));
}

TEST(DurableaiHttpTest, RefusesMalformedRequests) {
  Request r;
  for (std::string wire :
       {"GET /\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n", "GET / SPDY/3\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"})
    EXPECT_EQ(parseRequest(wire, r).state, ParseState::kInvalid) << wire;
  EXPECT_EQ(parseRequest(std::string(kMaxHeadSize + 10, 'a'), r).state, ParseState::kInvalid);
}

TEST(DurableaiHttpTest, ParsesResponsesFramedEachWay) {
  Response r;
  std::string sized = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(parseResponse(sized.substr(0, sized.size() - 1), false, r).state, ParseState::kIncomplete);
  EXPECT_EQ(parseResponse(sized.substr(0, sized.size() - 1), true, r).state, ParseState::kInvalid);
  ASSERT_EQ(parseResponse(sized, false, r).state, ParseState::kComplete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");

  std::string chunked =
      "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
  EXPECT_EQ(parseResponse(chunked.substr(0, chunked.size() - 2), false, r).state, ParseState::kIncomplete);
  ParseResult p = parseResponse(chunked, false, r);
  ASSERT_EQ(p.state, ParseState::kComplete);
  EXPECT_EQ(p.consumed, chunked.size());
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, "abcd");

  std::string until_close = "HTTP/1.0 404 Not Found\r\n\r\nnothing";
  EXPECT_EQ(parseResponse(until_close, false, r).state, ParseState::kIncomplete);
  ASSERT_EQ(parseResponse(until_close, true, r).state, ParseState::kComplete);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "nothing");

  EXPECT_EQ(parseResponse("HTTP/1.1 2000 OK\r\n\r\n", true, r).state, ParseState::kInvalid);
  EXPECT_EQ(parseResponse("HTTP/1.1 200 OK\r\n", true, r).state, ParseState::kInvalid);
  std::string bad_chunk;
  EXPECT_EQ(decodeChunked("zz\r\n", bad_chunk).state, ParseState::kInvalid);
  EXPECT_EQ(decodeChunked("1\r\nab\r\n", bad_chunk).state, ParseState::kInvalid);
}

TEST(DurableaiHttpTest, FormatsMessagesWithTheirLength) {
  EXPECT_EQ(formatRequest("POST", "/", "h:1", {{"A", "b"}, {"Content-Length", "99"}}, "xy"),
            "POST / HTTP/1.1\r\nHost: h:1\r\nA: b\r\nContent-Length: 2\r\n\r\nxy");
  EXPECT_EQ(formatRequest("GET", "/p", "h", {}, ""), "GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(formatResponse(Response{502, {{"Content-Type", "text/plain"}}, "no"}),
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nno");
}

TEST(DurableaiHttpTest, ParsesHttpUrls) {
  auto u = parseHttpUrl("http://backend.dev.local:8000/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "backend.dev.local");
  EXPECT_EQ(u->port, 8000);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority(), "backend.dev.local:8000");
  u = parseHttpUrl("HTTP://10.0.0.1?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/?x=1");
  EXPECT_EQ(u->authority(), "10.0.0.1");
  for (auto bad : {"https://a/", "http://", "http://a:0/", "http://a:70000/", "http://u@a/", "ftp://a"})
    EXPECT_FALSE(parseHttpUrl(bad)) << bad;
}

TEST(DurableaiHttpTest, Escapes) {
  EXPECT_EQ(jsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
  EXPECT_EQ(htmlEscape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
}

TEST(DurableaiDnsTest, ReadsNameserversFromResolvConf) {
  EXPECT_EQ(parseResolvConf("# c\nsearch dev.local\nnameserver 10.1.0.2 # vpc\nnameserver ::1\n"
                            "  nameserver\t8.8.8.8\r\noptions ndots:5\nnameserverx 1.1.1.1\n"),
            (std::vector<std::string>{"10.1.0.2", "8.8.8.8"}));
  EXPECT_TRUE(parseResolvConf("").empty());
}

TEST(DurableaiDnsTest, BuildsAQueries) {
  auto q = buildAQuery(0x1234, "backend.dev.local.");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                            "\x07"
                            "backend\x03"
                            "dev\x05"
                            "local\x00\x00\x01\x00\x01",
                            12 + 19 + 4));
  EXPECT_FALSE(buildAQuery(1, ""));
  EXPECT_FALSE(buildAQuery(1, "a..b"));
  EXPECT_FALSE(buildAQuery(1, std::string(64, 'a') + ".b"));
}

// A reply to buildAQuery(7, "web.x"): a CNAME to a.x, then a.x's A record,
// both naming their owner through compression pointers.
std::string reply(uint16_t flags) {
  std::string p("\x00\x07", 2);
  p += static_cast<char>(flags >> 8);
  p += static_cast<char>(flags & 0xFF);
  p += std::string("\x00\x01\x00\x02\x00\x00\x00\x00", 8);
  p += std::string("\x03web\x01x\x00\x00\x01\x00\x01", 11);                                  // question at 12
  p += std::string("\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x0a\x00\x04\x01\x61\xc0\x10", 16);  // CNAME a.x
  p += std::string("\xc0\x23\x00\x01\x00\x01\x00\x00\x00\x0a\x00\x04\x0a\x02\x00\x07", 16);  // a.x A 10.2.0.7
  return p;
}

TEST(DurableaiDnsTest, ParsesAnswersPastCnamesAndPointers) {
  auto a = parseAResponse(reply(0x8180), 7);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(*a, std::vector<std::string>{"10.2.0.7"});
  EXPECT_EQ(parseAResponse(reply(0x8183), 7).error(), "DNS NXDOMAIN");
  EXPECT_EQ(parseAResponse(reply(0x8180), 8).error(), "DNS reply to another query");
  EXPECT_FALSE(parseAResponse(reply(0x0100), 7));  // a query, not a reply
  std::string cut = reply(0x8180);
  for (size_t n = 0; n < cut.size(); ++n) EXPECT_FALSE(parseAResponse(cut.substr(0, n), 7)) << n;
  std::string loop = reply(0x8180);
  loop[28] = '\xc0';  // the CNAME's owner points at itself: still bounded
  loop[29] = '\x1c';
  (void)parseAResponse(loop, 7);
}

TEST(DurableaiSha256Test, MatchesOpenSsl) {
  for (size_t n : {0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 1000}) {
    std::string data(n, 'q');
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 7 + 3);
    EXPECT_EQ(hexLower(sha256(data)), berth::aws::sha256Hex(data)) << n;
    std::string key(n % 100, 'k');
    EXPECT_EQ(hexLower(hmacSha256(key, data)), berth::aws::hexEncode(berth::aws::hmacSha256(key, data))) << n;
  }
  EXPECT_EQ(hexLower(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(hexLower(hmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hexLower(hmacSha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(DurableaiSigV4Test, BerthsVerifierAcceptsTheSignature) {
  AwsCredentials creds{"ASIAEXAMPLE", "secret/key+1", "session-token"};
  std::time_t now = 1796680000;
  Headers headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", "AmazonSSM.GetParameter"}};
  std::string body = R"({"Name":"/durableai/greeting","WithDecryption":true})";
  Headers added = signAwsRequest("POST", "10.1.0.1:4566", "/", headers, body, "us-east-1", "ssm", creds, now);
  ASSERT_EQ(added.size(), 3u);
  EXPECT_EQ(added[0], (std::pair<std::string, std::string>{"X-Amz-Date", amzDate(now)}));
  EXPECT_EQ(added[1].second, "session-token");

  Headers all = headers;
  all.insert(all.end(), added.begin(), added.end());
  all.emplace_back("Host", "10.1.0.1:4566");
  berth::aws::SignedRequest request{"POST", "/", {}, body};
  for (const auto& [name, value] : all) request.headers.emplace_back(name, value);
  auto lookup = [&](std::string_view id) -> std::optional<berth::aws::Credential> {
    if (id != creds.access_key_id) return std::nullopt;
    return berth::aws::Credential{creds.secret_access_key, "000000000000", "arn:aws:sts::000000000000:x",
                                  creds.session_token, std::nullopt};
  };
  auto when = berth::WallTime(std::chrono::seconds(now));
  auto identity = berth::aws::verifySigV4(request, lookup, when, berth::aws::AuthMode::kSigV4, "000000000000");
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_EQ(identity->service, "ssm");
  EXPECT_EQ(identity->region, "us-east-1");

  // The same request with another body must not verify.
  request.body = R"({"Name":"/other","WithDecryption":true})";
  EXPECT_FALSE(berth::aws::verifySigV4(request, lookup, when, berth::aws::AuthMode::kSigV4, "000000000000"));
}

}  // namespace
}  // namespace durableai
