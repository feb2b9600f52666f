// Manifest parsing and validation: the four kinds, and what is refused.
#include "registry/manifest.h"

#include <gtest/gtest.h>

#include "registry/blob_store.h"

namespace berth::registry {
namespace {

std::string d(char c) { return "sha256:" + std::string(64, c); }

std::string imageManifest(std::string_view media_type = kOciManifest) {
  return R"({"schemaVersion":2,"mediaType":")" + std::string(media_type) +
         R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + d('a') +
         R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + d('b') +
         R"(","size":100},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + d('c') +
         R"(","size":1000}]})";
}

TEST(RegistryManifestTest, OciImageManifest) {
  std::string body = imageManifest();
  auto m = parseManifest(body, kOciManifest);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->media_type, kOciManifest);
  EXPECT_EQ(m->digest, digestOf(body));
  EXPECT_EQ(m->config.digest, d('a'));
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->image_size, 1110);
  EXPECT_EQ(m->blobDigests(), (std::vector<std::string>{d('a'), d('b'), d('c')}));
  EXPECT_FALSE(m->isIndex());
  EXPECT_TRUE(m->artifact_type.empty());
}

TEST(RegistryManifestTest, MediaTypeFromBodyWhenContentTypeIsGeneric) {
  auto m = parseManifest(imageManifest(kDockerManifest), "application/json; charset=utf-8");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->media_type, kDockerManifest);
}

TEST(RegistryManifestTest, ContentTypeMustMatchMediaType) {
  auto m = parseManifest(imageManifest(kDockerManifest), kOciManifest);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().aws_type, "MANIFEST_INVALID");
}

TEST(RegistryManifestTest, Indexes) {
  std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(kDockerManifestList) +
                     R"(","manifests":[{"mediaType":")" + std::string(kDockerManifest) + R"(","digest":")" + d('e') +
                     R"(","size":500,"platform":{"architecture":"amd64","os":"linux"}}]})";
  auto m = parseManifest(body, "");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->isIndex());
  ASSERT_EQ(m->manifests.size(), 1u);
  EXPECT_EQ(m->manifests[0].digest, d('e'));
  EXPECT_TRUE(m->blobDigests().empty());
  // An OCI index without mediaType is recognised by its shape.
  auto oci = parseManifest(R"({"schemaVersion":2,"manifests":[]})", "");
  ASSERT_TRUE(oci);
  EXPECT_EQ(oci->media_type, kOciIndex);
}

TEST(RegistryManifestTest, ArtifactsKeepTheirConfigMediaType) {
  std::string body = R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":")" +
                     d('a') + R"(","size":1},"layers":[]})";
  auto m = parseManifest(body, kOciManifest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->artifact_type, "application/vnd.cncf.helm.config.v1+json");
}

TEST(RegistryManifestTest, RefusesBadInput) {
  auto code = [](std::string_view body, std::string_view type = "") {
    auto m = parseManifest(body, type);
    return m ? std::string("ok") : m.error().aws_type;
  };
  EXPECT_EQ(code("not json"), "MANIFEST_INVALID");
  EXPECT_EQ(code("[]"), "MANIFEST_INVALID");
  EXPECT_EQ(code(R"({"schemaVersion":3,"layers":[]})"), "MANIFEST_INVALID");
  EXPECT_EQ(code(R"({"schemaVersion":1,"fsLayers":[]})"), "UNSUPPORTED");
  EXPECT_EQ(code(imageManifest(), "application/vnd.example.unknown+json"), "UNSUPPORTED");
  EXPECT_EQ(code(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:abc","size":1},"layers":[]})"),
            "DIGEST_INVALID");
  EXPECT_EQ(code(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"md5:abc","size":1},"layers":[]})"),
            "UNSUPPORTED");
  EXPECT_EQ(code(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + d('a') + R"(","size":-1},"layers":[]})"),
            "MANIFEST_INVALID");
  EXPECT_EQ(code(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + d('a') + R"(","size":1}})"),
            "MANIFEST_INVALID");
  EXPECT_EQ(code(std::string(kMaxManifestSize + 1, ' ')), "SIZE_INVALID");
}

}  // namespace
}  // namespace berth::registry
