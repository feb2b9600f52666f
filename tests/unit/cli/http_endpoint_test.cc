// parseEndpoint's schemes and default ports, and the Host authority that
// SigV4 signs.
#include <gtest/gtest.h>

#include "cli/http_client.h"

namespace berth::cli {
namespace {

TEST(EndpointTest, HttpsDefaultsToPort443) {
  auto e = parseEndpoint("https://ecs.us-east-1.amazonaws.com");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "ecs.us-east-1.amazonaws.com");
  EXPECT_EQ(e->port, "443");
  // As botocore signs it and AWS expects it: no default port.
  EXPECT_EQ(e->authority(), "ecs.us-east-1.amazonaws.com");
  EXPECT_EQ(e->url(), "https://ecs.us-east-1.amazonaws.com");
}

TEST(EndpointTest, KeepsExplicitPortsInTheAuthority) {
  auto berthd = parseEndpoint("http://127.0.0.1:4566/");
  ASSERT_TRUE(berthd);
  EXPECT_FALSE(berthd->tls);
  EXPECT_EQ(berthd->authority(), "127.0.0.1:4566");
  EXPECT_EQ(parseEndpoint("https://localhost:8443")->authority(), "localhost:8443");
  // The other scheme's default port is not a default.
  EXPECT_EQ(parseEndpoint("https://localhost:80")->authority(), "localhost:80");
  EXPECT_EQ(parseEndpoint("http://localhost:443")->authority(), "localhost:443");
  EXPECT_EQ(parseEndpoint("http://localhost")->authority(), "localhost");
  EXPECT_EQ(parseEndpoint("https://localhost:443")->authority(), "localhost");
}

TEST(EndpointTest, BracketsIpv6Literals) {
  auto e = parseEndpoint("https://[::1]:8443");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->authority(), "[::1]:8443");
  EXPECT_EQ(parseEndpoint("https://[::1]")->port, "443");
}

TEST(EndpointTest, RefusesOtherSchemesClearly) {
  for (const char* url : {"ftp://host", "127.0.0.1:4566", "HTTPS//x", "aws", "tls://host:1"}) {
    auto e = parseEndpoint(url);
    ASSERT_FALSE(e) << url;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error().message.find("expected http://HOST:PORT or https://HOST[:PORT]"), std::string::npos)
        << e.error().message;
  }
  auto bad_port = parseEndpoint("https://host:port");
  ASSERT_FALSE(bad_port);
  EXPECT_NE(bad_port.error().message.find("expected https://HOST:PORT"), std::string::npos);
  EXPECT_FALSE(parseEndpoint("https://"));
  EXPECT_FALSE(parseEndpoint("https://host:"));
}

}  // namespace
}  // namespace berth::cli
