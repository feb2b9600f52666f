#include "control/ecr/registry_source.h"

#include <unistd.h>

#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "image/image_builder.h"
#include "image/image_store.h"
#include "image/layer_builder.h"
#include "store/store.h"
#include "unit/image/layer_fixture.h"

namespace berth::ecr {
namespace {

namespace fx = image::testing;
using fx::Compression;
using fx::makeTar;

// An Ecr on a running control thread, over a scratch BlobStore: the daemon's
// wiring in miniature.
class RegistrySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blobs_ = std::move(*registry::BlobStore::open(dir_.path() / "blobs", clock_));
    ecr_ = std::make_unique<Ecr>(EcrConfig{}, *store_, clock_, *blobs_);
    ASSERT_TRUE(ecr_->load());
    control_thread_ = std::thread([this] { control_.run(); });
    source_ = std::make_unique<RegistrySource>(*ecr_, *blobs_, control_.get_executor());
  }
  void TearDown() override {
    guard_.reset();
    if (control_thread_.joinable()) control_thread_.join();
  }

  // Runs `fn` on the control thread (where Ecr lives) and waits.
  template <typename Fn>
  auto onControl(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(control_, [&task] { task(); });
    return result.get();
  }

  // Pushes a two-layer OCI image (one layer with a whiteout) under repo:tag
  // the way the registry does: blobs first, then the manifest.
  std::string push(const std::string& repo, const std::string& tag) {
    std::vector<std::vector<fx::TarEntry>> layers = {
        {fx::dir("bin"), fx::file("bin/app", "v1", 0755), fx::file("old", "x")},
        {fx::file("bin/app", "v2", 0755), fx::file(".wh.old", "")}};
    std::string layer_descs, diffs;
    for (const auto& entries : layers) {
      std::string gz = makeTar(entries, Compression::kGzip);
      std::string digest = *blobs_->put(gz);
      if (!diffs.empty()) diffs += ",", layer_descs += ",";
      diffs += "\"" + image::digestOf(makeTar(entries, Compression::kNone)) + "\"";
      layer_descs += R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + digest +
                     R"(","size":)" + std::to_string(gz.size()) + "}";
    }
    std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/app"]},)"
                         R"("rootfs":{"type":"layers","diff_ids":[)" +
                         diffs + "]}}";
    std::string config_digest = *blobs_->put(config);
    std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
        config_digest + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)" + layer_descs + "]}";
    auto parsed = registry::parseManifest(manifest, registry::kOciManifest);
    EXPECT_TRUE(parsed) << parsed.error().message;
    auto digest = onControl([&] { return ecr_->putManifest(repo, *parsed, manifest, tag, /*create_repo=*/true); });
    EXPECT_TRUE(digest) << digest.error().message;
    return *digest;
  }

  fx::ScratchDir dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  std::unique_ptr<registry::BlobStore> blobs_;
  std::unique_ptr<Ecr> ecr_;
  boost::asio::io_context control_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(control_);
  std::thread control_thread_;
  std::unique_ptr<RegistrySource> source_;
};

TEST_F(RegistrySourceTest, ServesManifestsByTagAndDigest) {
  std::string digest = push("team/app", "v1");
  auto by_tag = source_->getManifest("team/app", "v1");
  ASSERT_TRUE(by_tag) << by_tag.error().message;
  EXPECT_EQ(by_tag->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(image::digestOf(by_tag->bytes), digest);
  auto by_digest = source_->getManifest("team/app", digest);
  ASSERT_TRUE(by_digest);
  EXPECT_EQ(by_digest->bytes, by_tag->bytes);

  EXPECT_EQ(source_->getManifest("team/app", "v2").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(source_->getManifest("nope", "v1").error().code, ErrorCode::kNotFound);
}

TEST_F(RegistrySourceTest, StreamsBlobsOfExistingRepositories) {
  std::string data(300000, 'z');
  std::string digest = *blobs_->put(data);
  ASSERT_TRUE(onControl([&] { return ecr_->requireRepository("app", true); }));
  auto stream = source_->openBlob("app", digest);
  ASSERT_TRUE(stream) << stream.error().message;
  auto bytes = image::readAll(**stream, 1 << 20);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, data);
  EXPECT_EQ(source_->openBlob("app", "sha256:" + std::string(64, '0')).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(source_->openBlob("other", digest).error().code, ErrorCode::kNotFound);
}

TEST_F(RegistrySourceTest, RefusesCallsFromTheControlExecutor) {
  auto result = onControl([&] { return source_->getManifest("app", "v1"); });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(RegistrySourceTest, ImageStorePullsAndUnpacksAPushedImage) {
  std::string digest = push("web", "1.0");
  image::FakeMounter mounter;
  image::UnpackOptions options;
  if (geteuid() != 0) {
    options.whiteouts = image::WhiteoutMode::kApply;
    options.preserve_ownership = false;
  }
  image::ImageStore images(dir_.path() / "data", source_->manifests(), source_->blobs(), mounter, options);
  ASSERT_TRUE(images.open());
  auto pulled = images.pull("000000000000.dkr.ecr.us-east-1.amazonaws.com/web:1.0");
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->manifest_digest, digest);
  EXPECT_EQ(pulled->config.cmd, (std::vector<std::string>{"/bin/app"}));
  ASSERT_EQ(pulled->layer_dirs.size(), 2u);
  EXPECT_EQ(fx::slurp(pulled->layer_dirs[0] / "bin/app"), "v1");
  EXPECT_EQ(fx::slurp(pulled->layer_dirs[1] / "bin/app"), "v2");

  auto missing = images.pull("localhost:4566/web:2.0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().aws_type, "CannotPullContainerError");
}

// What `berth image build` makes (a reproducible layer from a directory,
// composed into an OCI image), pushed as the registry stores a push, comes
// back through RegistrySource and unpacks.
TEST_F(RegistrySourceTest, ImageStoreUnpacksABuiltImage) {
  std::filesystem::path root = dir_.path() / "rootfs";
  std::filesystem::create_directories(root / "www");
  std::ofstream(root / "www/health") << "ok\n";
  std::filesystem::path layer_file = dir_.path() / "layer.tar.gz";
  auto layer = image::buildLayerFromDirectory(root, layer_file);
  ASSERT_TRUE(layer) << layer.error().message;
  image::BuildOptions options;
  options.cmd = std::vector<std::string>{"/bin/httpd", "-f"};
  auto built = image::composeImage(nullptr, *layer, options);
  ASSERT_TRUE(built) << built.error().message;

  auto writer = blobs_->startWrite();
  ASSERT_TRUE(writer);
  std::ifstream in(layer_file, std::ios::binary);
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) ASSERT_TRUE((*writer)->write(std::string_view(buf, in.gcount())));
  ASSERT_TRUE((*writer)->commit(layer->digest));
  ASSERT_TRUE(blobs_->put(built->config_bytes));
  auto parsed = registry::parseManifest(built->manifest_bytes, registry::kOciManifest);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(onControl([&] { return ecr_->putManifest("backend", *parsed, built->manifest_bytes, "v1", true); }));

  image::FakeMounter mounter;
  image::UnpackOptions unpack;
  unpack.whiteouts = image::WhiteoutMode::kApply;
  unpack.preserve_ownership = geteuid() == 0;
  image::ImageStore images(dir_.path() / "data", source_->manifests(), source_->blobs(), mounter, unpack);
  ASSERT_TRUE(images.open());
  auto pulled = images.pull("localhost:4566/backend:v1");
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->manifest_digest, built->manifest.digest);
  EXPECT_EQ(pulled->config.cmd, (std::vector<std::string>{"/bin/httpd", "-f"}));
  ASSERT_EQ(pulled->layer_dirs.size(), 1u);
  EXPECT_EQ(fx::slurp(pulled->layer_dirs[0] / "www/health"), "ok\n");
}

}  // namespace
}  // namespace berth::ecr
