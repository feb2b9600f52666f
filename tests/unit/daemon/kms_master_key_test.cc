// berthd's KMS master key file: created once with mode 0600, read back the
// same, refused when it is the wrong size or readable by others.
#include "daemon/kms_master_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

class KmsMasterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-kms-key-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(KmsMasterKeyTest, CreatedOnceWithMode0600) {
  auto file = dir_ / "kms-master.key";
  auto first = loadOrCreateKmsMasterKey(file);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = loadOrCreateKmsMasterKey(file);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()), 1);
}

TEST_F(KmsMasterKeyTest, RefusesAShortOrExposedKey) {
  auto file = dir_ / "kms-master.key";
  { std::ofstream(file) << "short"; }
  ::chmod(file.c_str(), 0600);
  EXPECT_FALSE(loadOrCreateKmsMasterKey(file));
  { std::ofstream(file, std::ios::trunc) << std::string(32, 'k'); }
  ::chmod(file.c_str(), 0644);
  auto exposed = loadOrCreateKmsMasterKey(file);
  ASSERT_FALSE(exposed);
  EXPECT_NE(exposed.error().message.find("readable by others"), std::string::npos);
  ::chmod(file.c_str(), 0600);
  EXPECT_EQ(loadOrCreateKmsMasterKey(file).value(), std::string(32, 'k'));
}

}  // namespace
}  // namespace berth::daemon
