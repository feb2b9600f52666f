// The registry's URL space.
#include "api/registry/routes.h"

#include <gtest/gtest.h>

namespace berth::api::registry {
namespace {

TEST(RegistryRoutesTest, Endpoints) {
  auto r = parseRoute("/v2/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoint, Endpoint::kBase);
  EXPECT_EQ(parseRoute("/v2")->endpoint, Endpoint::kBase);
  EXPECT_EQ(parseRoute("/v2/_catalog?n=10")->endpoint, Endpoint::kCatalog);
  EXPECT_EQ(parseRoute("/v2/_catalog?n=10")->param("n"), "10");

  r = parseRoute("/v2/team/app/manifests/latest");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoint, Endpoint::kManifest);
  EXPECT_EQ(r->name, "team/app");
  EXPECT_EQ(r->reference, "latest");

  r = parseRoute("/v2/a/b/c/blobs/sha256:abc");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoint, Endpoint::kBlob);
  EXPECT_EQ(r->name, "a/b/c");
  EXPECT_EQ(r->reference, "sha256:abc");

  r = parseRoute("/v2/app/blobs/uploads/?mount=sha256%3Aabc&from=other%2Frepo");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoint, Endpoint::kUploadStart);
  EXPECT_EQ(r->name, "app");
  EXPECT_EQ(r->param("mount"), "sha256:abc");
  EXPECT_EQ(r->param("from"), "other/repo");
  EXPECT_EQ(parseRoute("/v2/app/blobs/uploads")->endpoint, Endpoint::kUploadStart);

  r = parseRoute("/v2/app/blobs/uploads/0d3c?digest=sha256:1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoint, Endpoint::kUpload);
  EXPECT_EQ(r->reference, "0d3c");
  EXPECT_EQ(r->param("digest"), "sha256:1");

  r = parseRoute("/v2/ns/app/tags/list?n=2&last=a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoint, Endpoint::kTags);
  EXPECT_EQ(r->name, "ns/app");
  EXPECT_EQ(r->param("last"), "a");
}

TEST(RegistryRoutesTest, RepositoriesNamedLikeEndpoints) {
  // The last marker wins: a repository may be called "blobs" or "manifests".
  auto r = parseRoute("/v2/manifests/blobs/manifests/v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoint, Endpoint::kManifest);
  EXPECT_EQ(r->name, "manifests/blobs");
}

TEST(RegistryRoutesTest, NotRegistryUrls) {
  EXPECT_FALSE(parseRoute("/v3/"));
  EXPECT_FALSE(parseRoute("/v2/app"));
  EXPECT_FALSE(parseRoute("/v2/app/manifests/"));
  EXPECT_FALSE(parseRoute("/v2/app/manifests/a/b"));
  EXPECT_FALSE(parseRoute("/v2//manifests/x"));
  EXPECT_TRUE(isRegistryTarget("/v2/"));
  EXPECT_TRUE(isRegistryTarget("/v2"));
  EXPECT_FALSE(isRegistryTarget("/v20/"));
  EXPECT_FALSE(isRegistryTarget("/"));
}

}  // namespace
}  // namespace berth::api::registry
