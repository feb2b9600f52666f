// The task metadata / credentials endpoint over real loopback HTTP: every
// path's JSON shape, ECS's answers for unknown ids, and registrations
// changing while requests run.
#include "agent/endpoints/task_endpoint.h"

#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "agent/endpoints/launch_metadata.h"
#include "endpoint_fixtures.h"

namespace berth::agent::endpoints {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
using testing::exampleLaunch;
using testing::FakeStatsSource;

struct Reply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  bj::value json() const { return bj::parse(body); }
};

class TaskEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TaskEndpointServer>(io_, registry_, stats_, &credentials_, clock_);
    TaskEndpointOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    auto bound = server_->listen(options);
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = bound->port();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  // One GET on a fresh connection.
  Reply get(const std::string& target) {
    asio::io_context io;
    tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port_});
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, target, 11};
    req.set(beast::http::field::host, "169.254.170.2");
    beast::http::write(s, req);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(s, buffer, res);
    return {res.result_int(), std::string(res[beast::http::field::content_type]), res.body()};
  }

  std::map<std::string, std::string> registerExample(const std::string& task_id = "0123456789abcdef0123456789abcdef",
                                                     const std::string& ipv4 = "172.31.16.9") {
    LaunchExtras extras;
    extras.service_name = "web-svc";
    extras.task_tags = {{"env", "dev"}, {"owner", "me"}};
    auto ids = registry_.registerTask(metadataFromLaunch(exampleLaunch(task_id), extras));
    EXPECT_TRUE(ids);
    TaskEvent e;
    e.task_arn = exampleLaunch(task_id).task_arn;
    e.phase = TaskPhase::kRunning;
    e.at = clock_.now();
    e.private_ipv4 = ipv4;
    e.mac_address = "02:b7:ac:1f:10:09";
    e.pull_started_at = clock_.now();
    e.pull_stopped_at = clock_.now();
    e.containers = {{"app", "RUNNING", std::nullopt, "", "HEALTHY", "rt-app", "sha256:abc"},
                    {"sidecar", "RUNNING", std::nullopt, "", "", "rt-side", "sha256:def"}};
    EXPECT_TRUE(registry_.applyEvent(e));
    return ids ? *ids : std::map<std::string, std::string>{};
  }

  FakeClock clock_;
  TaskMetadataRegistry registry_;
  FakeStatsSource stats_;
  CredentialsStore credentials_;
  asio::io_context io_;
  std::unique_ptr<TaskEndpointServer> server_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

void expectString(const bj::object& o, std::string_view key) {
  ASSERT_TRUE(o.contains(key)) << key;
  EXPECT_TRUE(o.at(key).is_string()) << key;
}

void expectNumber(const bj::object& o, std::string_view key) {
  ASSERT_TRUE(o.contains(key)) << key;
  EXPECT_TRUE(o.at(key).is_number()) << key;
}

void expectContainerShape(const bj::object& c) {
  for (auto key : {"DockerId", "Name", "DockerName", "Image", "ImageID", "DesiredStatus", "KnownStatus", "CreatedAt",
                   "StartedAt", "Type", "ContainerARN", "Snapshotter"})
    expectString(c, key);
  ASSERT_TRUE(c.at("Labels").is_object());
  for (auto key : {"com.amazonaws.ecs.cluster", "com.amazonaws.ecs.container-name", "com.amazonaws.ecs.task-arn",
                   "com.amazonaws.ecs.task-definition-family", "com.amazonaws.ecs.task-definition-version"})
    expectString(c.at("Labels").as_object(), key);
  expectNumber(c.at("Limits").as_object(), "CPU");
  expectNumber(c.at("Limits").as_object(), "Memory");
  ASSERT_TRUE(c.at("Networks").is_array());
  const bj::object& n = c.at("Networks").as_array().at(0).as_object();
  EXPECT_EQ(n.at("NetworkMode").as_string(), "awsvpc");
  EXPECT_EQ(n.at("IPv4Addresses").as_array().at(0).as_string(), "172.31.16.9");
  expectNumber(n, "AttachmentIndex");
  for (auto key : {"MACAddress", "IPv4SubnetCIDRBlock", "PrivateDNSName", "SubnetGatewayIpv4Address"})
    expectString(n, key);
  EXPECT_TRUE(n.at("DomainNameServers").is_array());
  EXPECT_TRUE(n.at("DomainNameSearchList").is_array());
}

TEST_F(TaskEndpointTest, ContainerMetadata) {
  auto ids = registerExample();
  Reply r = get("/v4/" + ids["app"]);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  bj::object c = r.json().as_object();
  expectContainerShape(c);
  EXPECT_EQ(c.at("Name").as_string(), "app");
  EXPECT_EQ(c.at("ImageID").as_string(), "sha256:abc");
  EXPECT_EQ(c.at("Health").at("status").as_string(), "HEALTHY");
  EXPECT_EQ(c.at("LogDriver").as_string(), "awslogs");
  EXPECT_TRUE(c.at("LogOptions").is_object());
  EXPECT_FALSE(c.contains("ExitCode"));
  // A query string does not change the route; v3 is an alias.
  EXPECT_EQ(get("/v4/" + ids["app"] + "?x=1").status, 200u);
  EXPECT_EQ(get("/v3/" + ids["sidecar"]).json().at("Name").as_string(), "sidecar");
}

TEST_F(TaskEndpointTest, TaskMetadataWithAndWithoutTags) {
  auto ids = registerExample();
  for (std::string path : {"/task", "/taskWithTags"}) {
    Reply r = get("/v4/" + ids["sidecar"] + path);
    ASSERT_EQ(r.status, 200u) << r.body;
    bj::object t = r.json().as_object();
    for (auto key : {"Cluster", "TaskARN", "Family", "Revision", "DesiredStatus", "KnownStatus", "PullStartedAt",
                     "PullStoppedAt", "AvailabilityZone", "LaunchType", "ServiceName"})
      expectString(t, key);
    EXPECT_EQ(t.at("LaunchType").as_string(), "FARGATE");
    EXPECT_EQ(t.at("KnownStatus").as_string(), "RUNNING");
    EXPECT_EQ(t.at("Revision").as_string(), "3");
    expectNumber(t.at("Limits").as_object(), "CPU");
    expectNumber(t.at("Limits").as_object(), "Memory");
    EXPECT_DOUBLE_EQ(t.at("Limits").at("CPU").to_number<double>(), 0.5);
    expectNumber(t.at("ClockDrift").as_object(), "ClockErrorBound");
    expectString(t.at("ClockDrift").as_object(), "ReferenceTimestamp");
    expectString(t.at("ClockDrift").as_object(), "ClockSynchronizationStatus");
    expectNumber(t.at("EphemeralStorageMetrics").as_object(), "Utilized");
    expectNumber(t.at("EphemeralStorageMetrics").as_object(), "Reserved");
    ASSERT_EQ(t.at("Containers").as_array().size(), 2u);
    for (const auto& c : t.at("Containers").as_array()) expectContainerShape(c.as_object());
    if (path == "/task") {
      EXPECT_FALSE(t.contains("TaskTags"));
    } else {
      EXPECT_EQ(t.at("TaskTags").at("env").as_string(), "dev");
      EXPECT_EQ(t.at("TaskTags").at("owner").as_string(), "me");
    }
  }
}

TEST_F(TaskEndpointTest, ContainerAndTaskStats) {
  auto ids = registerExample();
  Reply first = get("/v4/" + ids["app"] + "/stats");
  ASSERT_EQ(first.status, 200u) << first.body;
  bj::object s1 = first.json().as_object();
  EXPECT_EQ(s1.at("preread").as_string(), "0001-01-01T00:00:00Z");
  clock_.advance(std::chrono::seconds(1));
  bj::object s = get("/v4/" + ids["app"] + "/stats").json().as_object();
  for (auto key : {"read", "preread", "name", "id"}) expectString(s, key);
  for (auto key : {"cpu_stats", "precpu_stats", "memory_stats", "pids_stats", "blkio_stats", "networks",
                   "network_rate_stats", "storage_stats"})
    EXPECT_TRUE(s.at(key).is_object()) << key;
  const bj::object& cpu = s.at("cpu_stats").as_object();
  expectNumber(cpu.at("cpu_usage").as_object(), "total_usage");
  expectNumber(cpu, "system_cpu_usage");
  expectNumber(cpu, "online_cpus");
  EXPECT_LT(s.at("precpu_stats").at("cpu_usage").at("total_usage").to_number<double>(),
            cpu.at("cpu_usage").at("total_usage").to_number<double>());
  for (auto key : {"usage", "max_usage", "limit"}) expectNumber(s.at("memory_stats").as_object(), key);
  expectNumber(s.at("pids_stats").as_object(), "current");
  expectNumber(s.at("networks").at("eth1").as_object(), "rx_bytes");
  expectNumber(s.at("networks").at("eth1").as_object(), "tx_bytes");
  // 1000 bytes more in one second.
  EXPECT_DOUBLE_EQ(s.at("network_rate_stats").at("rx_bytes_per_sec").to_number<double>(), 1000.0);
  EXPECT_EQ(s.at("name").as_string(), "app");

  stats_.setMissing("sidecar");
  Reply task = get("/v4/" + ids["app"] + "/task/stats");
  ASSERT_EQ(task.status, 200u) << task.body;
  bj::object all = task.json().as_object();
  ASSERT_EQ(all.size(), 2u);
  auto doc = registry_.lookup(ids["app"]);
  EXPECT_TRUE(all.at(doc->task->containers[0].docker_id).is_object());
  EXPECT_TRUE(all.at(doc->task->containers[1].docker_id).is_null());
  Reply missing = get("/v4/" + ids["sidecar"] + "/stats");
  EXPECT_EQ(missing.status, 500u);
  EXPECT_EQ(missing.json().as_string(), "Unable to get container stats for: " + doc->task->containers[1].docker_id);
}

TEST_F(TaskEndpointTest, UnknownIdsGetEcsAnswers) {
  struct Case {
    std::string path;
    unsigned status;
    std::string body;
  };
  const std::string kContainer =
      "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: bad";
  const std::string kTask = "unable to get task arn from request: unable to get task Arn from v3 endpoint ID: bad";
  std::vector<Case> cases = {
      {"/v4/bad", 404, "V4 container metadata handler: " + kContainer},
      {"/v4/bad/task", 404, "V4 task metadata handler: " + kTask},
      {"/v4/bad/taskWithTags", 404, "V4 task metadata handler: " + kTask},
      {"/v4/bad/stats", 404, "V4 container stats handler: " + kContainer},
      {"/v4/bad/task/stats", 404, "V4 task stats handler: " + kTask},
      {"/v3/bad", 500, "V3 container metadata handler: " + kContainer},
  };
  for (const auto& c : cases) {
    Reply r = get(c.path);
    EXPECT_EQ(r.status, c.status) << c.path;
    EXPECT_EQ(r.content_type, "application/json") << c.path;
    EXPECT_EQ(r.json().as_string(), c.body) << c.path;
  }
  Reply other = get("/v5/whatever");
  EXPECT_EQ(other.status, 404u);
  EXPECT_EQ(other.body, "404 page not found\n");
}

TEST_F(TaskEndpointTest, CredentialsPath) {
  Reply unknown = get("/v2/credentials/" + credentialsIdFor("key", "arn:aws:ecs:us-east-1:1:task/c/none"));
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.content_type, "application/json");
  EXPECT_EQ(
      unknown.body,
      R"({"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400})");
  Reply empty = get("/v2/credentials/");
  EXPECT_EQ(empty.status, 400u);
  EXPECT_EQ(empty.json().at("code").as_string(), "NoIdInRequest");
  EXPECT_EQ(empty.json().at("message").as_string(), "CredentialsV2Request: No Credential ID in the request");

  // This test's requests come from 127.0.0.1: the task at that address may
  // fetch its credentials; the one at another address may not fetch its own
  // from here.
  std::string mine = "11111111111111111111111111111111", theirs = "22222222222222222222222222222222";
  registerExample(mine, "127.0.0.1");
  registerExample(theirs, "172.31.16.10");
  std::string mine_arn = exampleLaunch(mine).task_arn, theirs_arn = exampleLaunch(theirs).task_arn;
  std::string id = credentialsIdFor("key", mine_arn);
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id, credentialsIdFor("key", mine_arn));
  EXPECT_NE(id, credentialsIdFor("other key", mine_arn));
  EXPECT_EQ(id.find(mine), std::string::npos);
  EXPECT_EQ(credentialsRelativeUri(id), "/v2/credentials/" + id);
  credentials_.put(id, RoleCredentials{mine_arn, "arn:aws:iam::123456789012:role/app", "ASIAEXAMPLE", "secret", "token",
                                       WallTime{std::chrono::seconds(1767225600)}});
  std::string their_id = credentialsIdFor("key", theirs_arn);
  credentials_.put(their_id, RoleCredentials{theirs_arn, "arn:aws:iam::123456789012:role/app", "ASIAOTHER", "secret",
                                             "token", WallTime{std::chrono::seconds(1767225600)}});
  Reply ok = get(credentialsRelativeUri(id));
  ASSERT_EQ(ok.status, 200u);
  bj::object c = ok.json().as_object();
  EXPECT_EQ(c.at("RoleArn").as_string(), "arn:aws:iam::123456789012:role/app");
  EXPECT_EQ(c.at("AccessKeyId").as_string(), "ASIAEXAMPLE");
  EXPECT_EQ(c.at("Expiration").as_string(), "2026-01-01T00:00:00Z");
  Reply stolen = get(credentialsRelativeUri(their_id));
  EXPECT_EQ(stolen.status, 400u);
  EXPECT_EQ(stolen.json().at("code").as_string(), "InvalidIdInRequest");
  credentials_.remove(id);
  EXPECT_EQ(get(credentialsRelativeUri(id)).status, 400u);
}

TEST_F(TaskEndpointTest, RegistrationsChangeWhileRequestsRun) {
  auto stable = registerExample("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  std::atomic<int> clients_left{3};
  std::atomic<int> churned{0};
  std::mutex mu;
  std::string churning_id;  // the churned task's current endpoint id
  std::thread churn([&] {
    while (clients_left.load() > 0) {
      TaskMetadata t = metadataFromLaunch(exampleLaunch("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
      auto ids = registry_.registerTask(t);
      ASSERT_TRUE(ids);
      {
        std::lock_guard lock(mu);
        churning_id = ids->at("app");
      }
      ASSERT_TRUE(registry_.update(t.task_arn, [](TaskMetadata& m) { m.known_status = "RUNNING"; }));
      registry_.unregisterTask(t.task_arn);
      churned.fetch_add(1);
    }
  });
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&] {
      for (int n = 0; n < 60; ++n) {
        const char* suffix = n % 3 == 0 ? "" : n % 3 == 1 ? "/task" : "/task/stats";
        if (get("/v4/" + stable["app"] + suffix).status != 200u) failures.fetch_add(1);
        std::string id;
        {
          std::lock_guard lock(mu);
          id = churning_id;
        }
        // The churned task comes and goes: either answer is right, nothing else.
        unsigned status = get("/v4/" + id + suffix).status;
        if (status != 200u && status != 404u) failures.fetch_add(1);
      }
      clients_left.fetch_sub(1);
    });
  for (auto& t : clients) t.join();
  churn.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(churned.load(), 0);
  EXPECT_EQ(registry_.taskCount(), 1u);
}

}  // namespace
}  // namespace berth::agent::endpoints
