#include "agent/runtime/cgroup.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace berth::agent::runtime {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-cgroup-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(CgroupMathTest, CpuUnitsToCfsQuota) {
  EXPECT_EQ(cfsQuotaUs(1024), 100000);  // one core
  EXPECT_EQ(cfsQuotaUs(256), 25000);
  EXPECT_EQ(cfsQuotaUs(512), 50000);
  EXPECT_EQ(cfsQuotaUs(2048), 200000);
  EXPECT_EQ(cfsQuotaUs(16384), 1600000);
  EXPECT_EQ(cfsQuotaUs(1), 1000);  // the kernel's minimum quota
  EXPECT_EQ(cfsQuotaUs(0), std::nullopt);
  EXPECT_EQ(cfsQuotaUs(-5), std::nullopt);
}

TEST(CgroupMathTest, SharesAndWeights) {
  EXPECT_EQ(sharesToWeight(2), 1u);
  EXPECT_EQ(sharesToWeight(1024), 39u);
  EXPECT_EQ(sharesToWeight(262144), 10000u);
  EXPECT_EQ(sharesToWeight(0), 0u);
  EXPECT_EQ(clampShares(0), 0u);
  EXPECT_EQ(clampShares(1), 2u);
  EXPECT_EQ(clampShares(512), 512u);
  EXPECT_EQ(mibToBytes(6), 6 * 1024 * 1024);
}

TEST(CgroupTest, DetectsTheLayout) {
  TempDir v1, v2, none;
  fs::create_directories(v1.path() / "memory");
  put(v2.path() / "cgroup.controllers", "cpu memory pids\n");
  EXPECT_EQ(detectCgroupVersion(v1.path()).value(), CgroupVersion::kV1);
  EXPECT_EQ(detectCgroupVersion(v2.path()).value(), CgroupVersion::kV2);
  EXPECT_FALSE(detectCgroupVersion(none.path()).has_value());
}

TEST(CgroupTest, V1WritesLimitsPerController) {
  TempDir root;
  for (const char* c : {"cpu", "cpuacct", "memory", "pids", "devices"}) fs::create_directories(root.path() / c);
  TaskCgroups cg(root.path(), CgroupVersion::kV1, "berth");
  ASSERT_TRUE(cg.create({"t1", 512, 1024, 100}).has_value());
  EXPECT_EQ(slurp(root.path() / "cpu/berth/t1/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(slurp(root.path() / "cpu/berth/t1/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(slurp(root.path() / "memory/berth/t1/memory.limit_in_bytes"), std::to_string(1024LL << 20));
  EXPECT_EQ(slurp(root.path() / "pids/berth/t1/pids.max"), "100");
  EXPECT_TRUE(fs::is_directory(root.path() / "cpuacct/berth/t1"));
  EXPECT_FALSE(fs::exists(root.path() / "devices/berth/t1"));  // the OCI runtime creates those

  // Unlimited values.
  ASSERT_TRUE(cg.create({"t2", 0, 0, 0}).has_value());
  EXPECT_EQ(slurp(root.path() / "cpu/berth/t2/cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(slurp(root.path() / "memory/berth/t2/memory.limit_in_bytes"), "-1");
  EXPECT_EQ(slurp(root.path() / "pids/berth/t2/pids.max"), "max");

  EXPECT_EQ(cg.containerCgroupsPath("t1", "web"), "/berth/t1/web");
  EXPECT_EQ(cg.containerOomFile("t1", "web"), root.path() / "memory/berth/t1/web/memory.oom_control");
}

TEST(CgroupTest, V2WritesLimitsAndEnablesControllers) {
  TempDir root;
  put(root.path() / "cgroup.controllers", "cpu memory pids\n");
  TaskCgroups cg(root.path(), CgroupVersion::kV2, "berth");
  ASSERT_TRUE(cg.create({"t1", 2048, 4096, 0}).has_value());
  EXPECT_EQ(slurp(root.path() / "cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(slurp(root.path() / "berth/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(slurp(root.path() / "berth/t1/cpu.max"), "200000 100000");
  EXPECT_EQ(slurp(root.path() / "berth/t1/memory.max"), std::to_string(4096LL << 20));
  EXPECT_EQ(slurp(root.path() / "berth/t1/pids.max"), "max");
  EXPECT_EQ(cg.containerOomFile("t1", "web"), root.path() / "berth/t1/web/memory.events");

  ASSERT_TRUE(cg.create({"t2", 0, 0, 64}).has_value());
  EXPECT_EQ(slurp(root.path() / "berth/t2/cpu.max"), "max 100000");
  EXPECT_EQ(slurp(root.path() / "berth/t2/memory.max"), "max");
}

TEST(CgroupTest, RejectsBadTaskIds) {
  TempDir root;
  fs::create_directories(root.path() / "memory");
  TaskCgroups cg(root.path(), CgroupVersion::kV1, "berth");
  EXPECT_EQ(cg.create({"../x", 0, 0, 0}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(cg.create({"", 0, 0, 0}).error().code, ErrorCode::kInvalidArgument);
}

TEST(CgroupTest, StatsV1AndV2) {
  TempDir r1, r2;
  put(r1.path() / "cpuacct/berth/t/cpuacct.usage", "123456789\n");
  put(r1.path() / "memory/berth/t/memory.usage_in_bytes", "1048576\n");
  put(r1.path() / "memory/berth/t/memory.max_usage_in_bytes", "2097152\n");
  put(r1.path() / "memory/berth/t/memory.limit_in_bytes", "9223372036854771712\n");
  put(r1.path() / "pids/berth/t/pids.current", "3\n");
  auto s1 = TaskCgroups(r1.path(), CgroupVersion::kV1, "berth").stats("t").value();
  EXPECT_EQ(s1.cpu_usage_ns, 123456789u);
  EXPECT_EQ(s1.memory_usage_bytes, 1048576u);
  EXPECT_EQ(s1.memory_max_usage_bytes, 2097152u);
  EXPECT_EQ(s1.memory_limit_bytes, 0u);  // unlimited
  EXPECT_EQ(s1.pids_current, 3u);

  put(r2.path() / "berth/t/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  put(r2.path() / "berth/t/memory.current", "4096\n");
  put(r2.path() / "berth/t/memory.max", "8388608\n");
  auto s2 = TaskCgroups(r2.path(), CgroupVersion::kV2, "berth").stats("t").value();
  EXPECT_EQ(s2.cpu_usage_ns, 1500000u);
  EXPECT_EQ(s2.memory_usage_bytes, 4096u);
  EXPECT_EQ(s2.memory_limit_bytes, 8388608u);

  EXPECT_EQ(TaskCgroups(r2.path(), CgroupVersion::kV2, "berth").stats("nope").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace berth::agent::runtime
