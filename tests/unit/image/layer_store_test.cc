#include "image/layer_store.h"

#include <thread>

#include <gtest/gtest.h>

#include "layer_fixture.h"

namespace berth::image {
namespace {

using namespace testing;

// Blobs from memory; counts opens and can slow reads down to widen races.
class MemoryBlobs : public BlobSource {
 public:
  std::string add(std::string bytes) {
    std::string d = digestOf(bytes);
    std::lock_guard lock(mu_);
    blobs_[d] = std::move(bytes);
    return d;
  }
  void put(const std::string& digest, std::string bytes) {
    std::lock_guard lock(mu_);
    blobs_[digest] = std::move(bytes);
  }
  Result<std::unique_ptr<ByteStream>> openBlob(std::string_view, std::string_view digest) override {
    std::lock_guard lock(mu_);
    auto it = blobs_.find(std::string(digest));
    if (it == blobs_.end()) return fail(ErrorCode::kNotFound, "no blob");
    ++opens;
    return std::make_unique<StringByteStream>(it->second);
  }
  std::atomic<int> opens{0};

 private:
  std::mutex mu_;
  std::map<std::string, std::string> blobs_;
};

UnpackOptions options() {
  UnpackOptions o;
  if (geteuid() != 0) {
    o.whiteouts = WhiteoutMode::kApply;
    o.preserve_ownership = false;
  }
  return o;
}

LayerRef refFor(const std::string& layer) {
  std::string plain;  // diffID: the uncompressed tar; recompute by unpacking once in memory
  return LayerRef{Descriptor{"application/vnd.oci.image.layer.v1.tar+gzip", digestOf(layer),
                             static_cast<int64_t>(layer.size()), std::nullopt, {}},
                  ""};
}

struct Layer {
  std::string gz;
  LayerRef ref;
};

Layer makeLayer(const std::vector<TarEntry>& entries) {
  Layer l{makeTar(entries, Compression::kGzip), {}};
  l.ref = refFor(l.gz);
  l.ref.diff_id = digestOf(makeTar(entries, Compression::kNone));
  return l;
}

// Only the verified layer directories, and empty scratch space.
void expectOnlyLayers(const std::filesystem::path& layers, std::vector<std::string> want) {
  std::vector<std::string> got;
  for (const auto& e : std::filesystem::directory_iterator(layers)) {
    std::string n = e.path().filename().string();
    if (n == ".locks") continue;
    if (n == ".tmp") {
      EXPECT_TRUE(std::filesystem::is_empty(e.path())) << "scratch left in .tmp";
      continue;
    }
    got.push_back(n);
  }
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST(LayerStoreTest, UnpacksOnceAndReuses) {
  ScratchDir d;
  MemoryBlobs blobs;
  Layer l = makeLayer({file("hello", "world")});
  blobs.add(l.gz);
  LayerStore store(d.path() / "layers", options());
  ASSERT_TRUE(store.open());
  auto p = store.ensure(l.ref, blobs, "repo");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p, d.path() / "layers" / l.ref.diff_id.substr(7));
  EXPECT_EQ(slurp(*p / "hello"), "world");
  ASSERT_TRUE(store.ensure(l.ref, blobs, "repo"));
  EXPECT_EQ(store.unpackCount(), 1u);
  EXPECT_EQ(blobs.opens.load(), 1);
}

TEST(LayerStoreTest, ConcurrentEnsureOfOneDiffIdUnpacksOnce) {
  ScratchDir d;
  MemoryBlobs blobs;
  std::vector<TarEntry> entries;
  for (int i = 0; i < 300; ++i) entries.push_back(file("f" + std::to_string(i), std::string(4096, 'a' + i % 26)));
  Layer l = makeLayer(entries);
  blobs.add(l.gz);
  LayerStore store(d.path() / "layers", options());
  ASSERT_TRUE(store.open());
  // A second LayerStore on the same directory stands for another process.
  LayerStore other(d.path() / "layers", options());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto p = (i % 2 ? other : store).ensure(l.ref, blobs, "repo");
      if (p && slurp(*p / "f299") == std::string(4096, 'a' + 299 % 26)) ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(store.unpackCount() + other.unpackCount(), 1u);
  EXPECT_EQ(blobs.opens.load(), 1);
  expectOnlyLayers(d.path() / "layers", {l.ref.diff_id.substr(7)});
}

TEST(LayerStoreTest, DigestMismatchLeavesNothing) {
  ScratchDir d;
  MemoryBlobs blobs;
  Layer l = makeLayer({file("a", "1")});
  Layer evil = makeLayer({file("a", "2")});
  blobs.put(l.ref.blob.digest, evil.gz);  // the registry serves other bytes under the digest
  LayerStore store(d.path() / "layers", options());
  ASSERT_TRUE(store.open());
  auto p = store.ensure(l.ref, blobs, "repo");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("digest mismatch"), std::string::npos) << p.error().message;
  expectOnlyLayers(d.path() / "layers", {});
}

TEST(LayerStoreTest, DiffIdMismatchLeavesNothing) {
  ScratchDir d;
  MemoryBlobs blobs;
  Layer l = makeLayer({file("a", "1")});
  blobs.add(l.gz);
  l.ref.diff_id = digestOf("something else");
  LayerStore store(d.path() / "layers", options());
  ASSERT_TRUE(store.open());
  auto p = store.ensure(l.ref, blobs, "repo");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("diffID mismatch"), std::string::npos) << p.error().message;
  expectOnlyLayers(d.path() / "layers", {});
}

TEST(LayerStoreTest, RefusedLayerLeavesNothing) {
  ScratchDir d;
  for (auto entries : std::vector<std::vector<TarEntry>>{
           {file("ok", "1"), file("../escape", "x")},
           {file("ok", "1"), symlink("l", "/"), file("l/tmp/x", "x")},
           {file("ok", "1"), TarEntry{TarEntry::kCharDev, "dev/mem", {}, 0600}}}) {
    MemoryBlobs blobs;
    Layer l = makeLayer(entries);
    blobs.add(l.gz);
    LayerStore store(d.path() / "layers", options());
    ASSERT_TRUE(store.open());
    auto p = store.ensure(l.ref, blobs, "repo");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, ErrorCode::kPermissionDenied) << p.error().message;
    expectOnlyLayers(d.path() / "layers", {});
  }
}

TEST(LayerStoreTest, OpenRemovesScratchLeftByACrash) {
  ScratchDir d;
  std::filesystem::create_directories(d.path() / "layers/.tmp/abc/partial");
  LayerStore store(d.path() / "layers", options());
  ASSERT_TRUE(store.open());
  EXPECT_TRUE(std::filesystem::is_empty(d.path() / "layers/.tmp"));
}

}  // namespace
}  // namespace berth::image
