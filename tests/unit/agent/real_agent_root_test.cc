// RealAgent end to end on this kernel: a busybox image from an OCI layout,
// overlay rootfs, a task namespace on its own bridge, runc + berth-monitor,
// cgroups. Needs root, runc and /bin/busybox; skips visibly otherwise. Each
// test uses its own data dir, bridge (bt<hex>), VPC CIDR (a free 10.x/16),
// cgroup parent and veth prefix, and removes them.
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/thread_pool.hpp>

#include "agent/real_agent.h"
#include "agent/runtime/oci_runtime.h"
#include "common/json.h"
#include "common/random.h"
#include "image/digest.h"
#include "image/image_store.h"
#include "image/oci_layout.h"
#include "logs/log_store.h"
#include "unit/image/layer_fixture.h"

namespace berth::agent {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A 10.x.0.0/16 that no host route uses.
std::optional<net::Ipv4Prefix> pickFreeCidr() {
  std::string routes = readFile("/proc/net/route");
  for (int attempt = 0; attempt < 200; ++attempt) {
    uint32_t second = static_cast<uint32_t>(1 + randomBelow(254));
    net::Ipv4Prefix candidate{net::Ipv4Address{(10u << 24) | (second << 16)}, 16};
    // /proc/net/route prints addresses as little-endian hex words: 10.x.0.0 is 0000xx0A.
    std::string word = fmt::format("0000{:02X}0A", second);
    if (routes.find(word) == std::string::npos) return candidate;
  }
  return std::nullopt;
}

class RealAgentRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "ROOT_ test: needs root (netns, mounts, cgroups, runc)";
    if (::access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "ROOT_ test: needs /bin/busybox (busybox-static)";
    if (::access("/usr/sbin/runc", X_OK) != 0 && ::access("/usr/bin/runc", X_OK) != 0)
      GTEST_SKIP() << "ROOT_ test: needs runc";
    data_ = scratch_.path() / "data";
    std::string suffix = fmt::format("{:06x}", randomBelow(1u << 24));
    bridge_ = "bt" + suffix;
    parent_ = "berth-ratest-" + suffix;

    // The image: busybox and a few applets.
    image::OciLayout layout(scratch_.path() / "layout");
    ASSERT_TRUE(layout.create());
    using namespace image::testing;
    std::vector<TarEntry> entries = {dir("bin"), file("bin/busybox", readFile("/bin/busybox"), 0755), dir("etc"),
                                     dir("tmp")};
    for (const char* applet : {"sh", "sleep", "echo", "true", "printf"})
      entries.push_back(symlink(std::string("bin/") + applet, "busybox"));
    std::string gz = makeTar(entries, Compression::kGzip);
    std::string layer = *layout.putBlob(gz);
    std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},)"
                         R"("rootfs":{"type":"layers","diff_ids":[")" +
                         image::digestOf(makeTar(entries, Compression::kNone)) + R"("]}})";
    std::string config_digest = *layout.putBlob(config);
    std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
        config_digest + R"(","size":)" + std::to_string(config.size()) +
        R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + layer +
        R"(","size":)" + std::to_string(gz.size()) + "}]}";
    std::string manifest_digest = *layout.putBlob(manifest);
    ASSERT_TRUE(layout.addManifest(image::Descriptor{std::string(image::media::kOciManifest),
                                                     manifest_digest,
                                                     static_cast<int64_t>(manifest.size()),
                                                     std::nullopt,
                                                     {}},
                                   "1.0"));
    layout_ = std::make_unique<image::OciLayout>(scratch_.path() / "layout");
    images_ = std::make_unique<image::ImageStore>(data_, *layout_, *layout_, mounter_);
    ASSERT_TRUE(images_->open());

    auto netlink = net::MnlNetlink::open();
    ASSERT_TRUE(netlink) << netlink.error().message;
    netlink_ = std::move(*netlink);
    auto vpc = pickFreeCidr();
    ASSERT_TRUE(vpc);
    vpc_ = *vpc;
    ipam_ = std::make_unique<net::Ipam>(vpc_, ipam_store_);
    net::TaskNetworkConfig nc;
    nc.bridge = bridge_;
    nc.vpc = vpc_;
    nc.tasks_dir = data_ / "tasks";
    nc.veth_prefix = "bx";
    network_ = std::make_unique<net::TaskNetwork>(nc, *netlink_, netns_, *ipam_);
    auto bridge = network_->setUpBridge();
    ASSERT_TRUE(bridge) << bridge.error().message;

    runtime::RuntimeOptions ro;
    ro.data_dir = data_;
    ro.cgroup_parent = parent_;
    auto rt = runtime::makeOciRuntime(ro);
    ASSERT_TRUE(rt) << rt.error().message;
    runtime_ = std::move(*rt);

    auto store = logs::LogStore::open(
        logs::LogStoreOptions{.dir = scratch_.path() / "logs", .clock = &SystemClock::instance(), .sync = false});
    ASSERT_TRUE(store) << store.error().message;
    log_store_ = std::move(*store);

    RealAgentConfig config_;
    config_.data_dir = data_;
    config_.timer_period = 20ms;
    RealAgentDeps deps{SystemClock::instance(), *images_, mounter_, *network_, *runtime_, pool_.get_executor()};
    deps.logs = log_store_.get();
    agent_ = std::make_unique<RealAgent>(config_, deps, [this](TaskEvent e) {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
      cv_.notify_all();
    });
  }

  void TearDown() override {
    pool_.stop();
    pool_.join();
    agent_.reset();
    log_store_.reset();
    if (auto* oci = dynamic_cast<runtime::OciRuntime*>(runtime_.get())) (void)oci->cgroups().removeParent();
    runtime_.reset();
    if (network_) (void)network_->removeBridge();
  }

  // The first event of `id` in `phase`.
  std::optional<TaskEvent> waitFor(const std::string& id, TaskPhase phase, std::chrono::seconds timeout = 60s) {
    std::unique_lock lock(mu_);
    std::optional<TaskEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_)
        if (e.task_arn.ends_with("/" + id) && e.phase == phase) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }
  std::string lastReason() {
    std::lock_guard lock(mu_);
    return events_.empty() ? "no events" : events_.back().stopped_reason;
  }

  TaskLaunch launchOf(const std::string& id, bj::object container) {
    TaskLaunch l;
    l.task_id = id;
    l.task_arn = "arn:aws:ecs:us-east-1:123456789012:task/default/" + id;
    l.task_definition = bj::object{{"cpu", "256"}, {"memory", "512"}, {"containerDefinitions", bj::array{container}}};
    l.subnet_cidr = net::Ipv4Prefix{vpc_.network(), 20}.toString();
    return l;
  }

  image::testing::ScratchDir scratch_;
  fs::path data_;
  std::string bridge_, parent_;
  net::Ipv4Prefix vpc_;
  image::KernelMounter mounter_;
  std::unique_ptr<image::OciLayout> layout_;
  std::unique_ptr<image::ImageStore> images_;
  std::unique_ptr<net::Netlink> netlink_;
  net::LinuxNetns netns_;
  net::MemoryIpamStore ipam_store_;
  std::unique_ptr<net::Ipam> ipam_;
  std::unique_ptr<net::TaskNetwork> network_;
  std::unique_ptr<runtime::ContainerRuntime> runtime_;
  std::unique_ptr<logs::LogStore> log_store_;
  boost::asio::thread_pool pool_{2};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TaskEvent> events_;
  std::unique_ptr<RealAgent> agent_;
};

TEST_F(RealAgentRootTest, ROOT_BusyboxTaskRunsAndStopsWithSigkillAfterStopTimeoutLeavingNothingBehind) {
  std::string id = fmt::format("{:032x}", randomBelow(uint64_t{1} << 62));
  bj::object app{{"name", "app"},
                 {"image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/busybox:1.0"},
                 {"essential", true},
                 {"entryPoint", bj::array{"/bin/sleep"}},
                 {"command", bj::array{"1000"}},
                 {"stopTimeout", 2}};
  agent_->launch(launchOf(id, app));
  auto running = waitFor(id, TaskPhase::kRunning);
  ASSERT_TRUE(running) << lastReason();
  EXPECT_FALSE(running->private_ipv4.empty());
  EXPECT_EQ(running->containers[0].last_status, "RUNNING");
  EXPECT_EQ(readFile(data_ / "tasks" / id / "etc/hosts").find(running->private_ipv4) != std::string::npos, true);
  // A RUNNING task is sampled (its probe is registered before the event).
  std::vector<TaskUsage> usage;
  agent_->sampleUsage(usage);
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].task_arn, running->task_arn);
  EXPECT_GT(usage[0].cpu_ns, 0u);
  EXPECT_GT(usage[0].memory_bytes, 0u);

  // sleep as pid 1 ignores SIGTERM: SIGKILL after the 2 s stopTimeout.
  auto t0 = std::chrono::steady_clock::now();
  agent_->stop("arn:aws:ecs:us-east-1:123456789012:task/default/" + id, StopRequest{"UserInitiated", "bye"});
  auto stopped = waitFor(id, TaskPhase::kStopped, 30s);
  ASSERT_TRUE(stopped);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(stopped->containers[0].exit_code, 137);
  EXPECT_EQ(stopped->stop_code, "UserInitiated");
  agent_->sampleUsage(usage);
  EXPECT_TRUE(usage.empty()) << "a stopped task is no longer sampled";

  EXPECT_TRUE(ipam_->leases().empty());
  EXPECT_EQ(readFile("/proc/self/mountinfo").find(data_.string()), std::string::npos) << "no mount left";
  EXPECT_FALSE(fs::exists(data_ / "tasks" / id / "netns"));
  EXPECT_FALSE(fs::exists(data_ / "tasks" / id / "rootfs"));
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup"))
    EXPECT_FALSE(fs::exists(h.path() / parent_ / id)) << h.path();
}

TEST_F(RealAgentRootTest, ROOT_EssentialExitCodeAndMissingImage) {
  std::string id = fmt::format("{:032x}", randomBelow(uint64_t{1} << 62));
  bj::object app{{"name", "app"},
                 {"image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/busybox:1.0"},
                 {"command", bj::array{"-c", "exit 7"}},
                 {"entryPoint", bj::array{"/bin/sh"}}};
  agent_->launch(launchOf(id, app));
  auto stopped = waitFor(id, TaskPhase::kStopped);
  ASSERT_TRUE(stopped) << lastReason();
  EXPECT_EQ(stopped->stop_code, "EssentialContainerExited");
  EXPECT_EQ(stopped->containers[0].exit_code, 7);

  std::string id2 = fmt::format("{:032x}", randomBelow(uint64_t{1} << 62));
  app["image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/busybox:missing";
  agent_->launch(launchOf(id2, app));
  auto failed = waitFor(id2, TaskPhase::kStopped);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->task_arn, "arn:aws:ecs:us-east-1:123456789012:task/default/" + id2);
  EXPECT_EQ(failed->stop_code, "TaskFailedToStart");
  EXPECT_EQ(failed->stopped_reason.rfind("CannotPullContainerError: ", 0), 0u) << failed->stopped_reason;
  EXPECT_TRUE(ipam_->leases().empty());
}

TEST_F(RealAgentRootTest, ROOT_StartFailureIsCannotStartContainerErrorAndCleansUp) {
  std::string id = fmt::format("{:032x}", randomBelow(uint64_t{1} << 62));
  bj::object app{{"name", "app"},
                 {"image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/busybox:1.0"},
                 {"entryPoint", bj::array{"/bin/no-such-binary"}}};
  agent_->launch(launchOf(id, app));
  auto stopped = waitFor(id, TaskPhase::kStopped);
  ASSERT_TRUE(stopped) << lastReason();
  EXPECT_EQ(stopped->stop_code, "TaskFailedToStart");
  EXPECT_EQ(stopped->stopped_reason.rfind("CannotStartContainerError: ", 0), 0u) << stopped->stopped_reason;
  EXPECT_TRUE(ipam_->leases().empty());
  EXPECT_EQ(readFile("/proc/self/mountinfo").find(data_.string()), std::string::npos) << "no mount left";
  EXPECT_FALSE(fs::exists(data_ / "tasks" / id / "rootfs"));
}

TEST_F(RealAgentRootTest, ROOT_AwslogsShipsARealContainersOutputBeforeStopped) {
  std::string id = fmt::format("{:032x}", randomBelow(uint64_t{1} << 62));
  bj::object app{{"name", "app"},
                 {"image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/busybox:1.0"},
                 {"entryPoint", bj::array{"/bin/sh", "-c"}},
                 {"command", bj::array{"echo hello; echo oops >&2; printf 'no newline, '; sleep 0.2; "
                                       "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done"}},
                 {"logConfiguration", bj::object{{"logDriver", "awslogs"},
                                                 {"options", bj::object{{"awslogs-group", "/ecs/root-test"},
                                                                        {"awslogs-region", "us-east-1"},
                                                                        {"awslogs-stream-prefix", "ecs"},
                                                                        {"awslogs-create-group", "true"},
                                                                        {"mode", "blocking"}}}}}};
  agent_->launch(launchOf(id, app));
  auto stopped = waitFor(id, TaskPhase::kStopped);
  ASSERT_TRUE(stopped) << lastReason();
  EXPECT_EQ(stopped->containers[0].exit_code, 0);
  // STOPPED comes after the last line is stored.
  std::vector<std::string> out, err;
  logs::ReadQuery q;
  q.group = "/ecs/root-test";
  q.streams = {"ecs/app/" + id};
  for (;;) {
    auto page = log_store_->read(q);
    ASSERT_TRUE(page) << page.error().message;
    for (const auto& e : page->events) (e.message == "oops" ? err : out).push_back(e.message);
    if (page->exhausted || !page->last) break;
    q.after = page->last;
  }
  EXPECT_EQ(err, std::vector<std::string>{"oops"});
  ASSERT_EQ(out.size(), 2001u);  // hello, the joined line 0, lines 1-1999
  EXPECT_EQ(out[0], "hello");
  EXPECT_EQ(out[1], "no newline, line 0") << "a partial line joins its continuation";
  for (int i = 1; i < 2000; ++i) ASSERT_EQ(out[i + 1], fmt::format("line {}", i));
  // Right after STOPPED is reported (emitted first: a crash in between
  // reports it twice rather than never).
  for (int i = 0; i < 2000 && fs::exists(data_ / "tasks" / id); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(fs::exists(data_ / "tasks" / id));
}

}  // namespace
}  // namespace berth::agent
