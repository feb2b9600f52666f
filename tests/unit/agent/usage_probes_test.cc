// UsageProbes: parsing on files that stand in for cgroupfs and sysfs, and
// (as root) a real task cgroup with a process burning CPU in it.
#include "agent/usage_probes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/runtime/cgroup.h"

namespace berth::agent {
namespace {

namespace fs = std::filesystem;

class UsageProbesFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-usage-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const fs::path& rel, const std::string& text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::trunc) << text;
  }

  fs::path dir_;
};

TEST_F(UsageProbesFilesTest, ReadsV1FilesAndNetworkFromTheHostSide) {
  write("cg/cpuacct.usage", "1500000000\n");
  write("cg/memory.usage_in_bytes", "104857600\n");
  write("cg/memory.stat", "cache 100\nrss 5\ninactive_file 7\ntotal_cache 4096\ntotal_inactive_file 4194304\n");
  write("net/bv1/statistics/rx_bytes", "300\n");
  write("net/bv1/statistics/tx_bytes", "7000\n");
  runtime::TaskUsageFiles files{dir_ / "cg/cpuacct.usage", false, dir_ / "cg/memory.usage_in_bytes",
                                dir_ / "cg/memory.stat", "total_inactive_file"};
  UsageProbes probes(dir_ / "net");
  ASSERT_TRUE(probes.add("arn:task/1", files, "bv1"));

  std::vector<TaskUsage> out;
  probes.sample(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].task_arn, "arn:task/1");
  EXPECT_EQ(out[0].cpu_ns, 1500000000u);
  EXPECT_EQ(out[0].memory_bytes, 104857600u - 4194304u);
  EXPECT_EQ(out[0].tx_bytes, 300u);   // the host's rx is what the task sent
  EXPECT_EQ(out[0].rx_bytes, 7000u);  // and its tx what the task received

  // Files are read anew at every sample.
  write("cg/cpuacct.usage", "2500000000\n");
  probes.sample(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].cpu_ns, 2500000000u);

  // memory.stat (page cache) is re-read within kMemoryStatEvery samples.
  write("cg/memory.stat", "total_inactive_file 0\n");
  for (int i = 0; i < kMemoryStatEvery; ++i) probes.sample(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].memory_bytes, 104857600u);

  probes.remove("arn:task/1");
  probes.sample(out);
  EXPECT_TRUE(out.empty());
}

TEST_F(UsageProbesFilesTest, ReadsV2FilesWithoutNetwork) {
  write("cg/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
  write("cg/memory.current", "8192\n");
  write("cg/memory.stat", "anon 4096\nfile 4096\nactive_file 1024\ninactive_file 3072\n");
  runtime::TaskCgroups cgroups(dir_, runtime::CgroupVersion::kV2, "cg");
  auto files = cgroups.usageFiles("");
  UsageProbes probes(dir_ / "net");
  ASSERT_TRUE(probes.add("t", files, ""));
  std::vector<TaskUsage> out;
  probes.sample(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].cpu_ns, 2500000u);
  EXPECT_EQ(out[0].memory_bytes, 8192u - 3072u);
  EXPECT_EQ(out[0].rx_bytes, 0u);
}

TEST_F(UsageProbesFilesTest, MissingCgroupFailsAdd) {
  runtime::TaskCgroups cgroups(dir_, runtime::CgroupVersion::kV1, "berth");
  UsageProbes probes(dir_ / "net");
  EXPECT_FALSE(probes.add("t", cgroups.usageFiles("nope"), ""));
  EXPECT_EQ(probes.size(), 0u);
}

// Joins `pid` to the task cgroup in every hierarchy it has.
void joinCgroup(const fs::path& root, runtime::CgroupVersion version, const std::string& rel, pid_t pid) {
  std::vector<fs::path> dirs;
  if (version == runtime::CgroupVersion::kV2) {
    dirs.push_back(root / rel);
  } else {
    for (const char* c : {"cpu", "cpuacct", "memory", "pids"})
      if (fs::exists(root / c / rel)) dirs.push_back(root / c / rel);
  }
  for (const auto& d : dirs) std::ofstream(d / "cgroup.procs") << pid << "\n";
}

TEST(UsageProbesRootTest, ROOT_SeesCpuAndMemoryOfAProcessInTheTaskCgroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "ROOT_ test: needs root (cgroups)";
  const fs::path root = "/sys/fs/cgroup";
  auto version = runtime::detectCgroupVersion(root);
  if (!version) GTEST_SKIP() << "ROOT_ test: " << version.error().message;
  std::string parent = "berth-usage-test-" + std::to_string(::getpid());
  runtime::TaskCgroups cgroups(root, *version, parent);
  ASSERT_TRUE(cgroups.create(runtime::TaskLimits{"task1", 0, 256, 0}));

  int go[2], done[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(done), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c;
    (void)!::read(go[0], &c, 1);  // wait until moved into the cgroup
    // 32 MiB of anonymous memory, touched, then 400 ms of CPU time (not
    // wall time: the machine may be busy).
    std::vector<char> memory(32 << 20, 1);
    volatile uint64_t spin = 0;
    timespec cpu{};
    do {
      for (int i = 0; i < 100000; ++i) spin = spin + memory[spin % memory.size()];
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    } while (cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000 < 400);
    (void)!::write(done[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  joinCgroup(root, *version, parent + "/task1", child);

  UsageProbes probes;
  ASSERT_TRUE(probes.add("arn:task1", cgroups.usageFiles("task1"), "lo"));
  std::vector<TaskUsage> out;
  probes.sample(out);
  ASSERT_EQ(out.size(), 1u);
  uint64_t cpu_before = out[0].cpu_ns, lo_before = out[0].tx_bytes;

  ASSERT_EQ(::write(go[1], "x", 1), 1);
  // A datagram over loopback: lo's host-side counters move by at least its size.
  int sock = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char payload[1000] = {};
  ::sendto(sock, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(sock);
  pollfd wait_done{done[0], POLLIN, 0};
  ASSERT_EQ(::poll(&wait_done, 1, 30000), 1) << "the child did not burn its CPU time within 30 s";

  probes.sample(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_GE(out[0].cpu_ns - cpu_before, 350'000'000u) << "the child's CPU time shows";
  EXPECT_GE(out[0].memory_bytes, 30u << 20) << "the child's anonymous memory shows";
  EXPECT_GE(out[0].tx_bytes - lo_before, 1000u);

  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  for (int fd : {go[0], go[1], done[0], done[1]}) ::close(fd);
  // Once the cgroup is gone the task drops out of the sample.
  for (int i = 0; i < 50 && !cgroups.remove("task1"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  probes.sample(out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(cgroups.removeParent());
}

}  // namespace
}  // namespace berth::agent
