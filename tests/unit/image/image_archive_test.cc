#include "image/image_archive.h"

#include <fstream>

#include <gtest/gtest.h>

#include "image/digest.h"
#include "image/manifest.h"
#include "layer_fixture.h"

namespace berth::image {
namespace {

using namespace testing;

std::string layerTar() { return makeTar({dir("bin"), file("bin/hello", "hi\n", 0755)}, Compression::kNone); }

std::string configFor(const std::vector<std::string>& diff_ids) {
  std::string ids;
  for (const auto& d : diff_ids) ids += (ids.empty() ? "\"" : ",\"") + d + "\"";
  return R"({"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/hello"]},"rootfs":{"type":"layers","diff_ids":[)" +
         ids + "]}}";
}

class ImageArchiveTest : public ::testing::Test {
 protected:
  // Writes `entries` as a tar and extracts and reads it.
  Result<ImageArchive> load(const std::vector<TarEntry>& entries, Compression c = Compression::kNone) {
    std::filesystem::path file = dir_.path() / ("archive" + std::to_string(++n_));
    std::ofstream(file, std::ios::binary) << makeTar(entries, c);
    std::filesystem::path scratch = dir_.path() / ("scratch" + std::to_string(n_));
    std::filesystem::create_directories(scratch);
    auto files = extractImageArchive(file, scratch);
    if (!files) return std::unexpected(files.error());
    return readImageArchive(*files);
  }

  ScratchDir dir_;
  int n_ = 0;
};

TEST_F(ImageArchiveTest, ReadsAnOciLayout) {
  std::string layer = layerTar();
  std::string config = configFor({digestOf(layer)});
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      digestOf(config) + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + digestOf(layer) +
      R"(","size":)" + std::to_string(layer.size()) + "}]}";
  std::string index =
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      digestOf(manifest) + R"(","size":)" + std::to_string(manifest.size()) +
      R"(,"annotations":{"org.opencontainers.image.ref.name":"busybox:1.36"}}]})";
  auto blob = [](const std::string& b) { return file("blobs/sha256/" + digestOf(b).substr(7), b); };
  auto archive = load({file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"), file("index.json", index), dir("blobs"),
                       blob(layer), blob(config), blob(manifest)});
  ASSERT_TRUE(archive) << archive.error().message;
  EXPECT_EQ(archive->format, ImageArchive::Format::kOciLayout);
  ASSERT_EQ(archive->images.size(), 1u);
  EXPECT_EQ(archive->images[0].names, (std::vector<std::string>{"busybox:1.36"}));
  ASSERT_EQ(archive->images[0].manifests.size(), 1u);
  EXPECT_EQ(archive->images[0].manifests[0].digest, digestOf(manifest));
  EXPECT_EQ(archive->images[0].manifests[0].blobs, (std::vector<std::string>{digestOf(config), digestOf(layer)}));
  EXPECT_EQ(archive->blobs.size(), 2u);

  // Through a nested index (skopeo --all): the children come first.
  std::string nested =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      digestOf(manifest) + R"(","size":)" + std::to_string(manifest.size()) +
      R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  std::string top =
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" +
      digestOf(nested) + R"(","size":)" + std::to_string(nested.size()) +
      R"(,"annotations":{"io.containerd.image.name":"docker.io/library/busybox:1.36"}}]})";
  auto multi = load(
      {file("oci-layout", "{}"), file("index.json", top), blob(layer), blob(config), blob(manifest), blob(nested)});
  ASSERT_TRUE(multi) << multi.error().message;
  ASSERT_EQ(multi->images[0].manifests.size(), 2u);
  EXPECT_EQ(multi->images[0].manifests[0].digest, digestOf(manifest));
  EXPECT_EQ(multi->images[0].manifests[1].digest, digestOf(nested));
  EXPECT_EQ(multi->images[0].manifests[1].media_type, media::kOciIndex);
  EXPECT_EQ(multi->images[0].names, (std::vector<std::string>{"docker.io/library/busybox:1.36"}));

  // A blob whose content does not match its name is refused.
  auto bad = load(
      {file("oci-layout", "{}"), file("index.json", index), file("blobs/sha256/" + digestOf(layer).substr(7), "x")});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("does not match its digest"), std::string::npos);
  // A manifest whose layer is missing is refused.
  auto missing = load({file("oci-layout", "{}"), file("index.json", index), blob(config), blob(manifest)});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("is not in the archive"), std::string::npos);
}

TEST_F(ImageArchiveTest, ReadsADockerSaveWithLinkedLayers) {
  std::string layer = layerTar();
  std::string config = configFor({digestOf(layer), digestOf(layer)});
  std::string manifest_json = R"([{"Config":"cfg.json","RepoTags":["web:2"],"Layers":["a/layer.tar","b/layer.tar"]}])";
  auto archive = load({file("manifest.json", manifest_json), file("cfg.json", config), dir("a"),
                       file("a/layer.tar", layer), dir("b"), symlink("b/layer.tar", "../a/layer.tar")},
                      Compression::kGzip);
  ASSERT_TRUE(archive) << archive.error().message;
  EXPECT_EQ(archive->format, ImageArchive::Format::kDockerSave);
  ASSERT_EQ(archive->images.size(), 1u);
  EXPECT_EQ(archive->images[0].names, (std::vector<std::string>{"web:2"}));
  const ArchiveManifest& m = archive->images[0].manifests[0];
  EXPECT_EQ(m.media_type, media::kOciManifest);
  EXPECT_EQ(m.digest, digestOf(m.bytes));
  auto parsed = parseManifest(m.bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->config.digest, digestOf(config));
  ASSERT_EQ(parsed->layers.size(), 2u);
  EXPECT_EQ(parsed->layers[0].media_type, media::kOciLayer);
  EXPECT_EQ(parsed->layers[1].digest, digestOf(layer));  // uncompressed: the blob digest is the diffID

  // diff_ids that do not match the layer tars are refused.
  auto wrong = load({file("manifest.json", R"([{"Config":"c.json","Layers":["l.tar"]}])"),
                     file("c.json", configFor({digestOf("other")})), file("l.tar", layer)});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("diff_id"), std::string::npos);
  // A hard link is an alias too.
  auto linked = load({file("manifest.json", R"([{"Config":"c.json","Layers":["l2.tar"]}])"),
                      file("c.json", configFor({digestOf(layer)})), file("l.tar", layer), hardlink("l2.tar", "l.tar")});
  EXPECT_TRUE(linked) << linked.error().message;
}

TEST_F(ImageArchiveTest, RefusesPathEscapes) {
  std::string mj = R"([{"Config":"c.json","Layers":[]}])";
  for (const TarEntry& evil :
       {file("../evil", "x"), file("a/../../evil", "x"), file("/etc/evil", "x"), symlink("link", "/etc/passwd"),
        symlink("a/link", "../../etc/passwd"), hardlink("h", "../outside")}) {
    auto r = load({file("manifest.json", mj), evil});
    ASSERT_FALSE(r) << evil.path;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  // Nothing landed beside the scratch directories.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    std::string n = e.path().filename();
    EXPECT_TRUE(n.starts_with("archive") || n.starts_with("scratch")) << n;
  }
  // Names never become paths: "../x" in a config name is refused, not followed.
  auto r = load({file("manifest.json", R"([{"Config":"../c.json","Layers":[]}])")});
  ASSERT_FALSE(r);
}

TEST_F(ImageArchiveTest, RefusesWhatIsNoImageArchive) {
  EXPECT_FALSE(load({file("hello.txt", "hi")}));
  std::filesystem::path junk = dir_.path() / "junk";
  std::ofstream(junk) << "this is not a tar file at all, not even close";
  std::filesystem::create_directories(dir_.path() / "s");
  EXPECT_FALSE(extractImageArchive(junk, dir_.path() / "s"));
}

}  // namespace
}  // namespace berth::image
