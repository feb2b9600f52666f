// The content store: atomic installs, digest checks, concurrent writers of
// the same content, pins and garbage collection.
#include "registry/blob_store.h"

#include <filesystem>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

namespace fs = std::filesystem;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("berth-blobs-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto s = BlobStore::open(root_, SystemClock::instance());
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(root_); }

  size_t blobCount() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_ / "sha256")) ++n;
    return n;
  }

  fs::path root_;
  std::unique_ptr<BlobStore> store_;
};

TEST(DigestTest, ShapeIsChecked) {
  EXPECT_TRUE(isDigest(digestOf("x")));
  EXPECT_FALSE(isDigest("sha256:abc"));
  EXPECT_FALSE(isDigest("sha512:" + std::string(64, 'a')));
  EXPECT_FALSE(isDigest("sha256:" + std::string(64, 'A')));
  EXPECT_EQ(digestOf(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(BlobStoreTest, StreamedWriteCommitsUnderItsDigest) {
  auto w = store_->startWrite();
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write("hello "));
  ASSERT_TRUE((*w)->write("world"));
  std::string digest = digestOf("hello world");
  EXPECT_EQ((*w)->digest(), digest);
  EXPECT_FALSE(store_->exists(digest));  // not visible before commit
  auto committed = (*w)->commit(digest);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_TRUE(store_->exists(digest));
  EXPECT_EQ(*store_->size(digest), 11u);
  auto reader = store_->openBlob(digest);
  ASSERT_TRUE(reader);
  EXPECT_EQ(*(*reader)->read(6, 100), "world");
  EXPECT_EQ(store_->tempFileCount(), 0u);
}

TEST_F(BlobStoreTest, DigestMismatchLeavesNothing) {
  auto w = store_->startWrite();
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write("content"));
  auto committed = (*w)->commit(digestOf("other"));
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error().aws_type, "DIGEST_INVALID");
  EXPECT_FALSE(store_->exists(digestOf("other")));
  EXPECT_FALSE(store_->exists(digestOf("content")));
  w->reset();
  EXPECT_EQ(store_->tempFileCount(), 0u);
  EXPECT_EQ(blobCount(), 0u);
}

TEST_F(BlobStoreTest, AbandonedWriteIsNeverVisible) {
  {
    auto w = store_->startWrite();
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(std::string(100000, 'x')));
    EXPECT_EQ(store_->tempFileCount(), 1u);
  }
  EXPECT_EQ(store_->tempFileCount(), 0u);
  EXPECT_EQ(blobCount(), 0u);
}

TEST_F(BlobStoreTest, ReopenRemovesTempFilesOfACrashedRun) {
  auto w = store_->startWrite();
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write("partial"));
  // As if berthd died here: a new store on the same directory.
  auto again = BlobStore::open(root_, SystemClock::instance());
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->tempFileCount(), 0u);
  EXPECT_EQ(blobCount(), 0u);
}

TEST_F(BlobStoreTest, ConcurrentWritersOfTheSameContent) {
  std::string data(1 << 20, 'z');
  std::string digest = digestOf(data);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      auto w = store_->startWrite();
      if (!w) return;
      for (size_t off = 0; off < data.size(); off += 65536)
        if (!(*w)->write(std::string_view(data).substr(off, 65536))) return;
      if ((*w)->commit(digest)) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(*store_->size(digest), data.size());
  EXPECT_EQ(*store_->readAll(digest, 2 << 20), data);
  EXPECT_EQ(store_->tempFileCount(), 0u);
  EXPECT_EQ(blobCount(), 1u);
}

TEST_F(BlobStoreTest, GarbageCollectionKeepsReferencedPinnedAndYoungBlobs) {
  std::string a = *store_->put("a"), b = *store_->put("b"), c = *store_->put("c"), d = *store_->put("d");
  store_->pin(c);
  // A long grace period keeps every fresh blob.
  auto young = store_->collectGarbage({a}, std::chrono::hours(1));
  ASSERT_TRUE(young);
  EXPECT_EQ(young->removed, 0u);
  auto stats = store_->collectGarbage({a}, std::chrono::seconds(0));
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->removed, 2u);
  EXPECT_TRUE(store_->exists(a));   // referenced
  EXPECT_FALSE(store_->exists(b));
  EXPECT_TRUE(store_->exists(c));   // pinned
  EXPECT_FALSE(store_->exists(d));
  EXPECT_FALSE(store_->remove(c));  // pinned blobs cannot be removed
  store_->unpin(c);
  EXPECT_TRUE(store_->collectGarbage({a}, std::chrono::seconds(0)));
  EXPECT_FALSE(store_->exists(c));
}

TEST_F(BlobStoreTest, OpenReaderSurvivesCollection) {
  std::string digest = *store_->put("still readable");
  auto reader = store_->openBlob(digest);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(store_->collectGarbage({}, std::chrono::seconds(0)));
  EXPECT_FALSE(store_->exists(digest));
  EXPECT_EQ(*(*reader)->read(0, 100), "still readable");
}

TEST_F(BlobStoreTest, UnknownBlobs) {
  EXPECT_FALSE(store_->exists("sha256:zz"));
  auto r = store_->openBlob(digestOf("nope"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().aws_type, "BLOB_UNKNOWN");
  EXPECT_FALSE(store_->size("../../etc/passwd"));
}

}  // namespace
}  // namespace berth::registry
