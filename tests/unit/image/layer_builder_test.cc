#include "image/layer_builder.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "image/image_builder.h"
#include "image/image_store.h"
#include "image/oci_layout.h"
#include "layer_fixture.h"

namespace berth::image {
namespace {

using namespace testing;

void writeFile(const std::filesystem::path& p, const std::string& s, int mode = 0644) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << s;
  chmod(p.c_str(), mode);
}

void makeTree(const std::filesystem::path& root) {
  writeFile(root / "bin/server", "#!/bin/sh\necho hi\n", 0755);
  writeFile(root / "etc/app.conf", "port=8000\n");
  writeFile(root / std::string(150, 'n') / "long", "long names need pax");
  std::filesystem::create_symlink("server", root / "bin/alias");
  std::filesystem::create_hard_link(root / "bin/server", root / "bin/server2");
}

TEST(LayerBuilderTest, SameTreeSameDigestTwice) {
  ScratchDir a, b;
  makeTree(a.path() / "src");
  auto first = buildLayerFromDirectory(a.path() / "src", a.path() / "layer1.tgz");
  ASSERT_TRUE(first) << first.error().message;
  // A copy made later (other inodes, mtimes, creation order) gives the same bytes.
  makeTree(b.path() / "src");
  utimensat(AT_FDCWD, (b.path() / "src/etc/app.conf").c_str(), nullptr, 0);
  auto second = buildLayerFromDirectory(b.path() / "src", b.path() / "layer2.tgz");
  ASSERT_TRUE(second);
  EXPECT_EQ(first->digest, second->digest);
  EXPECT_EQ(first->diff_id, second->diff_id);
  EXPECT_EQ(first->digest, digestOf(slurp(a.path() / "layer1.tgz")));
  EXPECT_EQ(first->size, static_cast<int64_t>(slurp(a.path() / "layer1.tgz").size()));

  BuildOptions o;
  o.entrypoint = std::vector<std::string>{"/bin/server"};
  o.ports = {"8000"};
  o.env = {"MODE=dev"};
  auto img1 = composeImage(nullptr, *first, o);
  auto img2 = composeImage(nullptr, *second, o);
  ASSERT_TRUE(img1 && img2);
  EXPECT_EQ(img1->manifest.digest, img2->manifest.digest);
}

TEST(LayerBuilderTest, BuiltImageResolvesAndUnpacks) {
  ScratchDir d;
  makeTree(d.path() / "src");
  auto layer = buildLayerFromDirectory(d.path() / "src", d.path() / "layer.tgz");
  ASSERT_TRUE(layer);
  OciLayout layout(d.path() / "out");
  ASSERT_TRUE(layout.create());
  BuildOptions o;
  o.cmd = std::vector<std::string>{"-p", "8000"};
  o.workdir = "/srv";
  auto img = composeImage(nullptr, *layer, o);
  ASSERT_TRUE(img);
  ASSERT_TRUE(layout.putBlobFile(d.path() / "layer.tgz", layer->digest));
  ASSERT_TRUE(layout.putBlob(img->config_bytes));
  ASSERT_TRUE(layout.putBlob(img->manifest_bytes));
  ASSERT_TRUE(layout.addManifest(img->manifest, "v1"));

  FakeMounter mounter;
  UnpackOptions uo;
  if (geteuid() != 0) uo.preserve_ownership = false;
  ImageStore store(d.path() / "data", layout, layout, mounter, uo);
  ASSERT_TRUE(store.open());
  auto image = store.pull("localhost:4566/app:v1");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->config.cmd, (std::vector<std::string>{"-p", "8000"}));
  EXPECT_EQ(image->config.working_dir, "/srv");
  EXPECT_EQ(image->config.env.front().substr(0, 5), "PATH=");
  ASSERT_EQ(image->layer_dirs.size(), 1u);
  const auto& root = image->layer_dirs[0];
  EXPECT_EQ(slurp(root / "etc/app.conf"), "port=8000\n");
  EXPECT_EQ(std::filesystem::read_symlink(root / "bin/alias"), "server");
  EXPECT_EQ(slurp(root / std::string(150, 'n') / "long"), "long names need pax");
  struct stat s1, s2;
  ASSERT_EQ(stat((root / "bin/server").c_str(), &s1), 0);
  ASSERT_EQ(stat((root / "bin/server2").c_str(), &s2), 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
  EXPECT_EQ(s1.st_mode & 0777, 0755u);
  EXPECT_EQ(s1.st_mtime, 0);

  // On top of a base: layers and diff_ids append, Entrypoint resets Cmd.
  auto base = resolveImage(layout, layout, "app", "v1");
  ASSERT_TRUE(base);
  BuildOptions top;
  top.entrypoint = std::vector<std::string>{"/bin/sh", "-c"};
  auto stacked = composeImage(&*base, *layer, top);
  ASSERT_TRUE(stacked);
  EXPECT_EQ(stacked->layers.size(), 2u);
  auto cfg = parseImageConfig(stacked->config_bytes);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->diff_ids.size(), 2u);
  EXPECT_TRUE(cfg->cmd.empty());
  EXPECT_EQ(cfg->working_dir, "/srv");
}

}  // namespace
}  // namespace berth::image
