#include <gtest/gtest.h>

#include "cli/berthd_session.h"
#include "cli/ecr_client.h"
#include "cli/http_client.h"

namespace berth::cli {
namespace {

TEST(RegistryTargetTest, MapsReferencesToRepositories) {
  auto plain = registryTarget("backend:v1");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->repository, "backend");
  EXPECT_EQ(plain->tag, "v1");
  auto local = registryTarget("localhost:4566/team/web:2");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->repository, "team/web");
  EXPECT_EQ(local->tag, "2");
  auto ecr = registryTarget("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app");
  ASSERT_TRUE(ecr);
  EXPECT_EQ(ecr->repository, "app");
  EXPECT_EQ(ecr->tag, "latest");
  EXPECT_EQ(ecr->region, "eu-west-1");
  auto external = registryTarget("quay.io/org/tool:1.0");
  ASSERT_TRUE(external);
  EXPECT_EQ(external->repository, "quay.io/org/tool");
  EXPECT_EQ(registryTarget("docker.io/library/busybox:1.36")->repository, "busybox");
  EXPECT_FALSE(registryTarget("Bad Name"));
}

TEST(HttpClientTest, ParsesEndpoints) {
  auto e = parseEndpoint("http://127.0.0.1:4566");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "4566");
  EXPECT_EQ(e->authority(), "127.0.0.1:4566");
  EXPECT_EQ(parseEndpoint("http://localhost/")->port, "80");
  EXPECT_EQ(parseEndpoint("http://[::1]:8080")->host, "::1");
  EXPECT_FALSE(parseEndpoint("127.0.0.1:4566"));
  EXPECT_FALSE(parseEndpoint("http://host:port"));
}

TEST(EcrClientTest, ParsesSharedCredentials) {
  std::string text =
      "# berthd\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = s1\n\n"
      "[default]\naws_access_key_id=AKIADEFAULT\n aws_secret_access_key = s2 \naws_session_token=tok\n";
  auto d = parseSharedCredentials(text, "default");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->access_key_id, "AKIADEFAULT");
  EXPECT_EQ(d->secret_access_key, "s2");
  EXPECT_EQ(d->session_token, "tok");
  EXPECT_EQ(parseSharedCredentials(text, "other")->secret_access_key, "s1");
  EXPECT_FALSE(parseSharedCredentials(text, "missing"));
  EXPECT_FALSE(parseSharedCredentials("[default]\naws_access_key_id=A\n", "default"));
}

}  // namespace
}  // namespace berth::cli
