#include "image/image_store.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "image/oci_layout.h"
#include "layer_fixture.h"

namespace berth::image {
namespace {

using namespace testing;

constexpr const char* kAmd64Config = R"({"architecture":"amd64","os":"linux","config":{
  "Entrypoint":["/bin/server"],"Cmd":["-p","8000"],"Env":["PATH=/bin","MODE=prod"],"WorkingDir":"/srv",
  "User":"1000:1000","ExposedPorts":{"8000/tcp":{},"53/udp":{}},"StopSignal":"SIGQUIT",
  "Healthcheck":{"Test":["CMD-SHELL","wget -q localhost:8000/health"],"Interval":5000000000,"Retries":3},
  "Labels":{"team":"web"}},"rootfs":{"type":"layers","diff_ids":[%DIFFS%]}})";

// Writes a multi-layer image into `layout`, behind an index with an arm64
// decoy, tagged `tag`. Returns the image manifest's digest.
std::string writeImage(OciLayout& layout, const std::vector<std::vector<TarEntry>>& layers, const std::string& tag) {
  EXPECT_TRUE(layout.create());
  std::string diffs, layer_descs;
  for (const auto& entries : layers) {
    std::string gz = makeTar(entries, Compression::kGzip);
    std::string digest = *layout.putBlob(gz);
    if (!diffs.empty()) diffs += ",", layer_descs += ",";
    diffs += "\"" + digestOf(makeTar(entries, Compression::kNone)) + "\"";
    layer_descs += R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + digest +
                   R"(","size":)" + std::to_string(gz.size()) + "}";
  }
  std::string config = kAmd64Config;
  config.replace(config.find("%DIFFS%"), 7, diffs);
  std::string config_digest = *layout.putBlob(config);
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                         config_digest + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)" +
                         layer_descs + "]}";
  std::string manifest_digest = *layout.putBlob(manifest);
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
                      std::string(64, 'b') + R"(","size":10,"platform":{"architecture":"arm64","os":"linux"}},)"
                      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + manifest_digest +
                      R"(","size":)" + std::to_string(manifest.size()) +
                      R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  std::string index_digest = *layout.putBlob(index);
  EXPECT_TRUE(layout.addManifest(Descriptor{std::string(media::kOciIndex), index_digest,
                                            static_cast<int64_t>(index.size()), std::nullopt, {}},
                                 tag));
  return manifest_digest;
}

UnpackOptions options() {
  UnpackOptions o;
  if (geteuid() != 0) {
    o.whiteouts = WhiteoutMode::kApply;
    o.preserve_ownership = false;
  }
  return o;
}

const std::vector<std::vector<TarEntry>> kTwoLayers = {
    {dir("bin"), file("bin/server", "v1", 0755), dir("etc"), file("etc/old.conf", "old"), dir("srv"),
     file("srv/a", "a")},
    {file("bin/server", "v2", 0755), file("etc/.wh.old.conf", ""), file("srv/.wh..wh..opq", ""),
     file("srv/b", "b")}};

TEST(ImageStoreTest, PullsThroughAnIndexAndReturnsTheConfig) {
  ScratchDir d;
  OciLayout layout(d.path() / "layout");
  std::string manifest_digest = writeImage(layout, kTwoLayers, "1.0");
  FakeMounter mounter;
  ImageStore store(d.path() / "data", layout, layout, mounter, options());
  ASSERT_TRUE(store.open());
  auto image = store.pull("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->manifest_digest, manifest_digest);
  EXPECT_FALSE(image->index_digest.empty());
  const ImageConfig& c = image->config;
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/bin/server"}));
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"-p", "8000"}));
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/bin", "MODE=prod"}));
  EXPECT_EQ(c.working_dir, "/srv");
  EXPECT_EQ(c.user, "1000:1000");
  EXPECT_EQ(c.exposed_ports, (std::vector<std::string>{"53/udp", "8000/tcp"}));
  EXPECT_EQ(c.stop_signal, "SIGQUIT");
  ASSERT_TRUE(c.healthcheck);
  EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "wget -q localhost:8000/health"}));
  EXPECT_EQ(c.healthcheck->interval_ns, 5000000000);
  EXPECT_EQ(c.healthcheck->retries, 3);
  EXPECT_EQ(c.labels.at("team"), "web");
  ASSERT_EQ(image->layer_dirs.size(), 2u);

  auto rootfs = store.createRootfs("task-1", *image);
  ASSERT_TRUE(rootfs) << rootfs.error().message;
  EXPECT_EQ(*rootfs, d.path() / "data/tasks/task-1/rootfs/merged");
  ASSERT_EQ(mounter.mounted.size(), 1u);
  const OverlaySpec& spec = mounter.mounted[0];
  EXPECT_EQ(spec.lower_dirs, (std::vector<std::filesystem::path>{image->layer_dirs[1], image->layer_dirs[0]}));
  EXPECT_EQ(spec.upper_dir, d.path() / "data/tasks/task-1/rootfs/upper");
  EXPECT_EQ(overlayMountData(spec), "lowerdir=" + image->layer_dirs[1].string() + ":" +
                                        image->layer_dirs[0].string() + ",upperdir=" + spec.upper_dir.string() +
                                        ",workdir=" + spec.work_dir.string());
  ASSERT_TRUE(store.removeRootfs("task-1"));
  ASSERT_TRUE(store.removeRootfs("task-1"));  // idempotent
  EXPECT_TRUE(mounter.mounted.empty());
  EXPECT_FALSE(std::filesystem::exists(d.path() / "data/tasks/task-1/rootfs"));

  // A second pull of the same image reuses the layers.
  ASSERT_TRUE(store.pull("localhost:4566/app@" + manifest_digest));
  EXPECT_EQ(store.layers().unpackCount(), 2u);
}

TEST(ImageStoreTest, UnknownAndExternalImagesCannotBePulled) {
  ScratchDir d;
  OciLayout layout(d.path() / "layout");
  writeImage(layout, kTwoLayers, "busybox:latest");
  FakeMounter mounter;
  ImageStore store(d.path() / "data", layout, layout, mounter, options());
  ASSERT_TRUE(store.open());
  auto missing = store.pull("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().aws_type, "CannotPullContainerError");
  EXPECT_EQ(missing.error().message,
            "pull image manifest has been retried 5 time(s): failed to resolve ref "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:nope: "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:nope: not found");
  auto external = store.pull("nginx:1.25");
  ASSERT_FALSE(external);
  EXPECT_EQ(external.error().aws_type, "CannotPullContainerError");
  EXPECT_NE(external.error().message.find("registry-1.docker.io"), std::string::npos);
  // A loaded docker-style image resolves.
  EXPECT_TRUE(store.pull("busybox")) << "loaded image";
  EXPECT_FALSE(store.pull("Not A Reference"));
}

TEST(ImageStoreTest, ROOT_MountsATwoLayerImageWithAWhiteout) {
  SKIP_UNLESS_ROOT();
  for (bool fs_api : {false, true}) {
    ScratchDir d;
    OciLayout layout(d.path() / "layout");
    writeImage(layout, kTwoLayers, "1.0");
    KernelMounter mounter(fs_api);
    ImageStore store(d.path() / "data", layout, layout, mounter);
    ASSERT_TRUE(store.open());
    auto image = store.pull("localhost:4566/app:1.0");
    ASSERT_TRUE(image) << image.error().message;
    auto rootfs = store.createRootfs("t1", *image);
    if (!rootfs && rootfs.error().sys_errno == EPERM) {
      std::printf("SKIPPED: overlay mounts are not permitted here: %s\n", rootfs.error().message.c_str());
      GTEST_SKIP() << rootfs.error().message;
    }
    ASSERT_TRUE(rootfs) << rootfs.error().message;
    EXPECT_EQ(listTree(*rootfs), (std::vector<std::string>{"bin/", "bin/server", "etc/", "srv/", "srv/b"}));
    EXPECT_EQ(slurp(*rootfs / "bin/server"), "v2");
    // Writes land in the task's upper dir, never in a layer.
    { FILE* f = fopen((*rootfs / "srv/new").c_str(), "w"); ASSERT_TRUE(f); fclose(f); }
    EXPECT_TRUE(std::filesystem::exists(d.path() / "data/tasks/t1/rootfs/upper/srv/new"));
    EXPECT_FALSE(std::filesystem::exists(image->layer_dirs[1] / "srv/new"));
    ASSERT_TRUE(store.removeRootfs("t1"));
    EXPECT_FALSE(std::filesystem::exists(d.path() / "data/tasks/t1/rootfs"));
    EXPECT_TRUE(std::filesystem::exists(image->layer_dirs[0] / "srv/a"));
  }
}

TEST(ImageStoreTest, ROOT_ManyLayersFitThroughTheFdMountApi) {
  SKIP_UNLESS_ROOT();
  ScratchDir d;
  std::vector<std::vector<TarEntry>> layers;
  for (int i = 0; i < 60; ++i) layers.push_back({file("layer" + std::to_string(i), std::to_string(i))});
  OciLayout layout(d.path() / "layout");
  writeImage(layout, layers, "many");
  KernelMounter mounter;
  ImageStore store(d.path() / "data", layout, layout, mounter);
  ASSERT_TRUE(store.open());
  auto image = store.pull("localhost:4566/app:many");
  ASSERT_TRUE(image) << image.error().message;
  OverlaySpec probe;
  probe.lower_dirs = image->layer_dirs;
  ASSERT_GT(overlayMountData(probe).size(), 4096u);  // too long for mount(2)
  auto rootfs = store.createRootfs("t2", *image);
  ASSERT_TRUE(rootfs) << rootfs.error().message;
  EXPECT_EQ(slurp(*rootfs / "layer0"), "0");
  EXPECT_EQ(slurp(*rootfs / "layer59"), "59");
  ASSERT_TRUE(store.removeRootfs("t2"));
}

}  // namespace
}  // namespace berth::image
