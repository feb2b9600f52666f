// RealAgent on fakes: FakeContainerRuntime, an ImageStore over an OciLayout
// built in the test (FakeMounter), TaskNetwork on FakeNetlink/FakeNetnsOps,
// a FakeClock, and an io_context the test drives by hand (drain()), so the
// whole lifecycle runs on the test's thread, deterministically.
#pragma once

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "agent/network/fake_netlink.h"
#include "agent/network/task_network.h"
#include "agent/real_agent.h"
#include "agent/runtime/fake_runtime.h"
#include "common/json.h"
#include "image/digest.h"
#include "image/image_store.h"
#include "image/oci_layout.h"
#include "unit/image/layer_fixture.h"

namespace berth::agent::testing {

namespace bj = boost::json;
using image::testing::ScratchDir;

inline constexpr const char* kAppImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0";
inline constexpr const char* kPlainImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/plain:2.0";
inline constexpr const char* kTaskArnPrefix = "arn:aws:ecs:us-east-1:123456789012:task/default/";

// Writes a one-layer image tagged `tag` with the given config section.
inline std::string writeImage(image::OciLayout& layout, const std::string& tag, const std::string& config_section) {
  using namespace image::testing;
  EXPECT_TRUE(layout.create());
  std::vector<TarEntry> entries = {dir("bin"), file("bin/server", "x", 0755), dir("etc")};
  std::string gz = makeTar(entries, Compression::kGzip);
  std::string layer_digest = *layout.putBlob(gz);
  std::string config = R"({"architecture":"amd64","os":"linux","config":)" + config_section +
                       R"(,"rootfs":{"type":"layers","diff_ids":[")" +
                       image::digestOf(makeTar(entries, Compression::kNone)) + R"("]}})";
  std::string config_digest = *layout.putBlob(config);
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      config_digest + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + layer_digest +
      R"(","size":)" + std::to_string(gz.size()) + "}]}";
  std::string manifest_digest = *layout.putBlob(manifest);
  EXPECT_TRUE(layout.addManifest(image::Descriptor{std::string(image::media::kOciManifest),
                                                   manifest_digest,
                                                   static_cast<int64_t>(manifest.size()),
                                                   std::nullopt,
                                                   {}},
                                 tag));
  return manifest_digest;
}

inline bj::object containerDef(const std::string& name, const std::string& image, bool essential = true) {
  return bj::object{{"name", name}, {"image", image}, {"essential", essential}, {"cpu", 0}};
}

inline bj::object taskDefinition(bj::array containers) {
  return bj::object{{"family", "web"},
                    {"taskDefinitionArn", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"},
                    {"cpu", "256"},
                    {"memory", "512"},
                    {"networkMode", "awsvpc"},
                    {"containerDefinitions", std::move(containers)}};
}

class RealAgentTest : public ::testing::Test {
 protected:
  RealAgentTest()
      : host_(kernel_),
        netns_(kernel_),
        ipam_(net::Ipv4Prefix::parseNetwork("172.31.0.0/16").value(), ipam_store_),
        runtime_(clock_) {
    data_ = scratch_.path() / "data";
    image::OciLayout layout(scratch_.path() / "layout");
    app_digest_ = writeImage(layout, "1.0",
                             R"({"Entrypoint":["/bin/server"],"Cmd":["-p","8000"],"Env":["PATH=/bin","MODE=prod"],)"
                             R"("WorkingDir":"/srv","User":"1000:1000","StopSignal":"SIGQUIT"})");
    plain_digest_ = writeImage(layout, "2.0", R"({"Cmd":["/bin/server"]})");
    layout_ = std::make_unique<image::OciLayout>(scratch_.path() / "layout");
    image::UnpackOptions unpack;
    if (geteuid() != 0) {
      unpack.whiteouts = image::WhiteoutMode::kApply;
      unpack.preserve_ownership = false;
    }
    images_ = std::make_unique<image::ImageStore>(data_, *layout_, *layout_, mounter_, unpack);
    EXPECT_TRUE(images_->open());
    net::TaskNetworkConfig nc;
    nc.tasks_dir = data_ / "tasks";
    nc.subnets = {net::Ipv4Prefix::parseNetwork("172.31.0.0/20").value()};
    network_ = std::make_unique<net::TaskNetwork>(nc, host_, netns_, ipam_);
    EXPECT_TRUE(network_->setUpBridge());
    agent_ = makeAgent();
  }

  ~RealAgentTest() override {
    drain();
    agent_.reset();
  }

  std::unique_ptr<RealAgent> makeAgent(endpoints::TaskMetadataRegistry* metadata = nullptr) {
    RealAgentConfig config;
    config.data_dir = data_;
    config.region = "us-east-1";
    config.endpoint_url = "http://172.31.0.1:4566";
    config.timer_period = std::chrono::milliseconds(0);
    RealAgentDeps deps{clock_, *images_, mounter_, *network_, runtime_, io_.get_executor(), metadata};
    return std::make_unique<RealAgent>(config, deps, [this](TaskEvent e) { events_.push_back(std::move(e)); });
  }

  // Runs every handler that is ready, including those they post.
  void drain() {
    io_.restart();
    io_.poll();
  }
  void advance(std::chrono::seconds by) {
    clock_.advance(by);
    agent_->runTimers();
    drain();
  }

  TaskLaunch launchOf(const std::string& id, bj::array containers) {
    TaskLaunch l;
    l.task_id = id;
    l.task_arn = kTaskArnPrefix + id;
    l.cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/default";
    l.task_definition = taskDefinition(std::move(containers));
    l.subnet_id = "subnet-0001";
    l.subnet_cidr = "172.31.0.0/20";
    l.availability_zone = "us-east-1a";
    l.capacity_provider = "FARGATE";
    return l;
  }
  void launch(const std::string& id, bj::array containers) {
    agent_->launch(launchOf(id, std::move(containers)));
    drain();
  }

  std::vector<std::string> phases() const {
    std::vector<std::string> out;
    for (const auto& e : events_) out.push_back(taskPhaseName(e.phase));
    return out;
  }
  const TaskEvent& last() const { return events_.back(); }
  const ContainerState* container(const TaskEvent& e, const std::string& name) const {
    for (const auto& c : e.containers)
      if (c.name == name) return &c;
    return nullptr;
  }
  static runtime::ContainerRef ref(const std::string& task, const std::string& name) { return {task, name}; }

  ScratchDir scratch_;
  std::filesystem::path data_;
  FakeClock clock_;
  boost::asio::io_context io_;
  net::FakeKernel kernel_;
  net::FakeNetlink host_;
  net::FakeNetnsOps netns_;
  net::MemoryIpamStore ipam_store_;
  net::Ipam ipam_;
  image::FakeMounter mounter_;
  std::unique_ptr<image::OciLayout> layout_;
  std::unique_ptr<image::ImageStore> images_;
  std::unique_ptr<net::TaskNetwork> network_;
  runtime::FakeContainerRuntime runtime_;
  std::string app_digest_, plain_digest_;
  std::vector<TaskEvent> events_;
  std::unique_ptr<RealAgent> agent_;
};

}  // namespace berth::agent::testing
