// The metadata registry and the document built from a TaskLaunch: ids,
// copy-on-write updates, TaskEvent mapping, and the rendered JSON's shape.
#include "agent/endpoints/task_metadata.h"

#include <regex>

#include <gtest/gtest.h>

#include "agent/endpoints/launch_metadata.h"
#include "agent/endpoints/metadata_json.h"
#include "endpoint_fixtures.h"

namespace berth::agent::endpoints {
namespace {

namespace bj = boost::json;
using testing::exampleLaunch;

TEST(LaunchMetadataTest, BuildsTaskDocumentFromTheTaskDefinition) {
  LaunchExtras extras;
  extras.service_name = "web-svc";
  extras.task_tags = {{"env", "dev"}};
  extras.container_arns = {{"app", "arn:aws:ecs:us-west-2:123456789012:container/default/x/app-uuid"}};
  TaskMetadata t = metadataFromLaunch(exampleLaunch(), extras);

  EXPECT_EQ(t.cluster, "arn:aws:ecs:us-west-2:123456789012:cluster/default");
  EXPECT_EQ(t.family, "web");
  EXPECT_EQ(t.revision, "3");
  EXPECT_EQ(t.service_name, "web-svc");
  ASSERT_TRUE(t.limit_cpu_vcpus);
  EXPECT_DOUBLE_EQ(*t.limit_cpu_vcpus, 0.5);
  EXPECT_EQ(t.limit_memory_mib, 1024);
  EXPECT_EQ(t.ephemeral_storage_reserved_mib, 20 * 1024);
  ASSERT_EQ(t.containers.size(), 2u);

  const ContainerMetadata& app = t.containers[0];
  EXPECT_TRUE(std::regex_match(app.docker_id, std::regex("0123456789abcdef0123456789abcdef-[0-9]{10}")));
  EXPECT_EQ(app.docker_name, "app");
  EXPECT_EQ(app.limit_cpu, 256);
  EXPECT_EQ(app.limit_memory_mib, 512);
  EXPECT_EQ(app.labels.at("com.amazonaws.ecs.cluster"), t.cluster);
  EXPECT_EQ(app.labels.at("com.amazonaws.ecs.container-name"), "app");
  EXPECT_EQ(app.labels.at("com.amazonaws.ecs.task-arn"), t.task_arn);
  EXPECT_EQ(app.labels.at("com.amazonaws.ecs.task-definition-family"), "web");
  EXPECT_EQ(app.labels.at("com.amazonaws.ecs.task-definition-version"), "3");
  EXPECT_EQ(app.labels.at("team"), "web");
  EXPECT_EQ(app.container_arn, "arn:aws:ecs:us-west-2:123456789012:container/default/x/app-uuid");
  EXPECT_EQ(app.log_driver, "awslogs");
  EXPECT_EQ(app.log_options.at("awslogs-stream"), "ecs/app/0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(app.log_options.contains("awslogs-stream-prefix"));
  EXPECT_TRUE(app.has_health_check);
  ASSERT_EQ(app.networks.size(), 1u);
  EXPECT_EQ(app.networks[0].ipv4_subnet_cidr_block, "172.31.16.0/20");
  EXPECT_EQ(app.networks[0].subnet_gateway_ipv4_address, "172.31.16.1/20");
  EXPECT_EQ(app.networks[0].domain_name_servers, std::vector<std::string>{"172.31.16.2"});
  EXPECT_EQ(app.networks[0].domain_name_search_list, std::vector<std::string>{"us-west-2.compute.internal"});

  const ContainerMetadata& sidecar = t.containers[1];
  EXPECT_EQ(sidecar.limit_memory_mib, 64);  // from containerOverrides
  EXPECT_FALSE(sidecar.has_health_check);
  EXPECT_TRUE(sidecar.container_arn.starts_with(
      "arn:aws:ecs:us-west-2:123456789012:container/default/0123456789abcdef0123456789abcdef/"));
}

TEST(LaunchMetadataTest, TaskOverridesWinOverTheDefinition) {
  TaskLaunch l = exampleLaunch();
  l.overrides["cpu"] = "1024";
  l.overrides["memory"] = "2048";
  l.overrides["ephemeralStorage"] = bj::object{{"sizeInGiB", 30}};
  TaskMetadata t = metadataFromLaunch(l);
  EXPECT_DOUBLE_EQ(*t.limit_cpu_vcpus, 1.0);
  EXPECT_EQ(t.limit_memory_mib, 2048);
  EXPECT_EQ(t.ephemeral_storage_reserved_mib, 30 * 1024);
}

TEST(LaunchMetadataTest, DnsNamesFollowTheRegion) {
  EXPECT_EQ(privateDnsName("172.31.0.5", "us-west-2"), "ip-172-31-0-5.us-west-2.compute.internal");
  EXPECT_EQ(privateDnsName("10.0.0.9", "us-east-1"), "ip-10-0-0-9.ec2.internal");
  EXPECT_EQ(regionOfArn("arn:aws:ecs:eu-west-1:1:task/c/x"), "eu-west-1");
  EXPECT_EQ(regionOfArn("garbage"), "");
}

TEST(TaskMetadataRegistryTest, AssignsUnguessableEndpointIdsAndKeepsGivenOnes) {
  TaskMetadataRegistry registry;
  TaskMetadata t = metadataFromLaunch(exampleLaunch());
  t.containers[1].endpoint_id = "kept-id-0001";
  auto ids = registry.registerTask(t);
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_TRUE(
      std::regex_match(ids->at("app"), std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")));
  EXPECT_EQ(ids->at("sidecar"), "kept-id-0001");
  EXPECT_EQ(metadataUriV4(ids->at("app")), "http://169.254.170.2/v4/" + ids->at("app"));

  auto view = registry.lookup(ids->at("sidecar"));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->container().name, "sidecar");
  EXPECT_FALSE(registry.lookup("kept-id-0002"));

  // The same task twice, or an id in use, is refused.
  EXPECT_EQ(registry.registerTask(t).error().code, ErrorCode::kAlreadyExists);
  TaskMetadata other = metadataFromLaunch(exampleLaunch("fedcba9876543210fedcba9876543210"));
  other.containers[0].endpoint_id = "kept-id-0001";
  EXPECT_EQ(registry.registerTask(other).error().code, ErrorCode::kAlreadyExists);
  other.containers[0].endpoint_id = "bad/id";
  EXPECT_EQ(registry.registerTask(other).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry.taskCount(), 1u);

  registry.unregisterTask(t.task_arn);
  registry.unregisterTask(t.task_arn);  // idempotent
  EXPECT_FALSE(registry.lookup(ids->at("app")));
  EXPECT_EQ(registry.taskCount(), 0u);
}

TEST(TaskMetadataRegistryTest, SnapshotsAreImmutableAcrossUpdates) {
  TaskMetadataRegistry registry;
  TaskMetadata t = metadataFromLaunch(exampleLaunch());
  auto ids = registry.registerTask(t);
  ASSERT_TRUE(ids);
  auto before = registry.lookup(ids->at("app"));
  ASSERT_TRUE(registry.update(t.task_arn, [](TaskMetadata& m) {
    m.known_status = "RUNNING";
    m.containers[0].endpoint_id = "hijacked-id";  // undone by the registry
  }));
  EXPECT_EQ(before->task->known_status, "PENDING");
  auto after = registry.lookup(ids->at("app"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->task->known_status, "RUNNING");
  EXPECT_FALSE(registry.lookup("hijacked-id"));
  EXPECT_EQ(registry.update("arn:nope", [](TaskMetadata&) {}).error().code, ErrorCode::kNotFound);
}

TEST(TaskMetadataRegistryTest, AppliesAgentEvents) {
  TaskMetadataRegistry registry;
  TaskMetadata t = metadataFromLaunch(exampleLaunch());
  ASSERT_TRUE(registry.registerTask(t));
  FakeClock clock;

  TaskEvent e;
  e.task_arn = t.task_arn;
  e.phase = TaskPhase::kRunning;
  e.at = clock.now();
  e.private_ipv4 = "172.31.16.9";
  e.mac_address = "02:b7:ac:1f:10:09";
  e.pull_started_at = clock.now() - std::chrono::seconds(2);
  e.pull_stopped_at = clock.now() - std::chrono::seconds(1);
  e.containers = {{"app", "RUNNING", std::nullopt, "", "HEALTHY", "rt-app", "sha256:abc"},
                  {"sidecar", "RUNNING", std::nullopt, "", "UNKNOWN", "rt-side", "sha256:def"}};
  ASSERT_TRUE(registry.applyEvent(e));

  auto doc = registry.task(t.task_arn);
  EXPECT_EQ(doc->known_status, "RUNNING");
  EXPECT_EQ(doc->desired_status, "RUNNING");
  EXPECT_EQ(doc->pull_started_at, e.pull_started_at);
  const ContainerMetadata& app = doc->containers[0];
  EXPECT_EQ(app.known_status, "RUNNING");
  EXPECT_EQ(app.image_id, "sha256:abc");
  EXPECT_EQ(app.started_at, e.at);
  EXPECT_EQ(app.created_at, e.at);
  EXPECT_EQ(app.health.status, "HEALTHY");
  EXPECT_EQ(app.networks[0].ipv4_addresses, std::vector<std::string>{"172.31.16.9"});
  EXPECT_EQ(app.networks[0].mac_address, "02:b7:ac:1f:10:09");
  EXPECT_EQ(app.networks[0].private_dns_name, "ip-172-31-16-9.us-west-2.compute.internal");

  clock.advance(std::chrono::seconds(5));
  e.phase = TaskPhase::kStopped;
  e.at = clock.now();
  e.containers = {{"app", "STOPPED", 137, "OutOfMemoryError", "UNHEALTHY", "rt-app", ""},
                  {"sidecar", "STOPPED", 0, "", "", "rt-side", ""}};
  ASSERT_TRUE(registry.applyEvent(e));
  doc = registry.task(t.task_arn);
  EXPECT_EQ(doc->known_status, "STOPPED");
  EXPECT_EQ(doc->desired_status, "STOPPED");
  EXPECT_EQ(doc->execution_stopped_at, e.at);
  EXPECT_EQ(doc->containers[0].exit_code, 137);
  EXPECT_EQ(doc->containers[0].finished_at, e.at);
  EXPECT_EQ(doc->containers[0].started_at, e.at - std::chrono::seconds(5));  // first transition kept
  EXPECT_EQ(doc->containers[0].image_id, "sha256:abc");                      // an empty digest changes nothing
  EXPECT_EQ(doc->containers[1].desired_status, "STOPPED");

  TaskEvent unknown;
  unknown.task_arn = "arn:aws:ecs:us-west-2:1:task/default/none";
  EXPECT_EQ(registry.applyEvent(unknown).error().code, ErrorCode::kNotFound);
}

TEST(TaskMetadataRegistryTest, StatsHistoryIsPerContainerAndDroppedWithTheTask) {
  TaskMetadataRegistry registry;
  TaskMetadata t = metadataFromLaunch(exampleLaunch());
  ASSERT_TRUE(registry.registerTask(t));
  ContainerStatsSample a;
  a.pids_current = 1;
  EXPECT_FALSE(registry.exchangeStatsSample(t.task_arn, "app", a));
  a.pids_current = 2;
  auto prev = registry.exchangeStatsSample(t.task_arn, "app", a);
  ASSERT_TRUE(prev);
  EXPECT_EQ(prev->pids_current, 1u);
  EXPECT_FALSE(registry.exchangeStatsSample(t.task_arn, "sidecar", a));
  registry.unregisterTask(t.task_arn);
  EXPECT_FALSE(registry.exchangeStatsSample(t.task_arn, "app", a));
  ASSERT_TRUE(registry.registerTask(t));
  EXPECT_FALSE(registry.exchangeStatsSample(t.task_arn, "app", a));  // history gone
}

TEST(MetadataJsonTest, GoTimeTrimsTheFraction) {
  WallTime t{std::chrono::seconds(1601599386) + std::chrono::microseconds(202610)};
  EXPECT_EQ(goTime(t), "2020-10-02T00:43:06.20261Z");
  EXPECT_EQ(goTime(WallTime{std::chrono::seconds(1601599386)}), "2020-10-02T00:43:06Z");
}

TEST(MetadataJsonTest, ContainerOmitsUnsetMembersAsEcsDoes) {
  TaskMetadata t = metadataFromLaunch(exampleLaunch());
  bj::object side = renderContainer(t.containers[1]);
  EXPECT_FALSE(side.contains("ExitCode"));
  EXPECT_FALSE(side.contains("StartedAt"));
  EXPECT_FALSE(side.contains("Health"));
  EXPECT_FALSE(side.contains("LogDriver"));
  EXPECT_EQ(side.at("Limits").at("Memory").as_int64(), 64);
  EXPECT_EQ(side.at("Type").as_string(), "NORMAL");
  bj::object app = renderContainer(t.containers[0]);
  EXPECT_EQ(app.at("Health").at("status").as_string(), "UNKNOWN");
  EXPECT_EQ(app.at("LogOptions").at("awslogs-group").as_string(), "/ecs/web");
}

}  // namespace
}  // namespace berth::agent::endpoints
