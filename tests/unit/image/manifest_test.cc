#include "image/manifest.h"

#include <gtest/gtest.h>

#include "image/digest.h"
#include "image/image_builder.h"

namespace berth::image {
namespace {

std::string d(char c) { return "sha256:" + std::string(64, c); }

TEST(ImageManifestTest, KindsAndPlatformSelection) {
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + d('a') + R"(","size":1,"platform":{"architecture":"arm","os":"linux","variant":"v7"}},
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + d('b') + R"(","size":1,"platform":{"architecture":"amd64","os":"linux"}},
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + d('c') + R"(","size":1,"platform":{"architecture":"amd64","os":"windows"}}]})";
  EXPECT_EQ(*manifestKind(index), ManifestKind::kIndex);
  auto idx = parseIndex(index);
  ASSERT_TRUE(idx);
  EXPECT_EQ(selectPlatform(*idx)->digest, d('b'));
  EXPECT_FALSE(selectPlatform(*idx, Platform{"linux", "s390x", ""}));

  std::string manifest = R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                         d('c') + R"(","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" +
                         d('e') + R"(","size":3}]})";
  EXPECT_EQ(*manifestKind(manifest), ManifestKind::kImage);
  auto m = parseManifest(manifest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->layers.size(), 1u);
  EXPECT_TRUE(isSupportedLayerType(m->layers[0].media_type));
}

TEST(ImageManifestTest, RefusesMalformed) {
  EXPECT_FALSE(manifestKind("not json"));
  EXPECT_FALSE(manifestKind(R"({"schemaVersion":1,"fsLayers":[]})"));
  EXPECT_FALSE(parseManifest(R"({"schemaVersion":2,"config":{"digest":"sha256:12","size":1},"layers":[]})"));
  EXPECT_FALSE(parseManifest(R"({"schemaVersion":2,"config":{"digest":")" + d('a') + R"(","size":-1},"layers":[]})"));
  EXPECT_FALSE(manifestKind(std::string(kMaxManifestBytes + 1, ' ')));
  EXPECT_FALSE(parseImageConfig(R"({"rootfs":{"diff_ids":["nope"]}})"));
}

TEST(ImageManifestTest, BuildArgsAndPorts) {
  EXPECT_EQ(*parseArgs(R"(["-f","-p","8000"])"), (std::vector<std::string>{"-f", "-p", "8000"}));
  EXPECT_EQ(*parseArgs("/bin/server"), (std::vector<std::string>{"/bin/server"}));
  EXPECT_TRUE(parseArgs("")->empty());
  EXPECT_FALSE(parseArgs("[1,2]"));
  EXPECT_EQ(*normalizePort("8000"), "8000/tcp");
  EXPECT_EQ(*normalizePort("53/udp"), "53/udp");
  EXPECT_FALSE(normalizePort("0"));
  EXPECT_FALSE(normalizePort("80/http"));
}

}  // namespace
}  // namespace berth::image
