#include "common/random.h"

#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(RandomTest, SizesAndShapes) {
  EXPECT_EQ(randomBytes(0).size(), 0u);
  EXPECT_EQ(randomBytes(16).size(), 16u);
  std::string a = randomHex(16), b = randomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  std::string uuid = randomUuid();
  ASSERT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
  EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos);
  std::string digits = randomDigits(19);
  ASSERT_EQ(digits.size(), 19u);
  EXPECT_NE(digits[0], '0');
  EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos);
}

TEST(RandomTest, BelowCoversTheRangeAndStaysInIt) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    uint64_t v = randomBelow(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(randomBelow(0), 0u);
}

TEST(RandomTest, UuidsDifferAcrossFork) {
  (void)randomUuid();  // seed this thread's generator before the fork
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string child = randomUuid();
    ssize_t n = write(fds[1], child.data(), child.size());
    _exit(n == static_cast<ssize_t>(child.size()) ? 0 : 1);
  }
  std::string parent = randomUuid();
  char buf[36];
  ASSERT_EQ(read(fds[0], buf, sizeof buf), 36);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_NE(parent, std::string(buf, 36));
  std::set<std::string> many;
  for (int i = 0; i < 10000; ++i) many.insert(randomUuid());
  EXPECT_EQ(many.size(), 10000u);
}

}  // namespace
}  // namespace berth
