#include "control/ecs/task_definition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::ecs {
namespace {

namespace json = boost::json;

TaskDefinitionContext context() {
  return {"us-east-1", "123456789012", 3, 1767225600.5, "arn:aws:iam::123456789012:user/dev"};
}

json::object parse(std::string_view text) { return json::parse(text).as_object(); }

// The smallest valid Fargate definition; tests change one thing in it.
json::object fargate() {
  return parse(R"({
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
    "containerDefinitions": [{"name": "app", "image": "nginx:1.25"}]
  })");
}

// The smallest valid EC2 (bridge mode) definition.
json::object ec2() {
  return parse(R"({
    "family": "web",
    "containerDefinitions": [{"name": "app", "image": "nginx:1.25", "memory": 128}]
  })");
}

json::object& container(json::object& request, size_t i = 0) {
  return request["containerDefinitions"].as_array()[i].as_object();
}

json::object& addContainer(json::object& request, std::string_view name) {
  json::object c;
  c["name"] = name;
  c["image"] = "busybox";
  request["containerDefinitions"].as_array().push_back(std::move(c));
  return request["containerDefinitions"].as_array().back().as_object();
}

::testing::AssertionResult failsWith(const json::object& request, std::string_view message,
                                     std::string_view type = "ClientException") {
  auto result = buildTaskDefinition(request, context());
  if (result) return ::testing::AssertionFailure() << "succeeded: " << json::serialize(*result);
  const Error& e = result.error();
  if (e.message != message || e.aws_type != type || e.code != ErrorCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "failed with " << e.aws_type << ": " << e.message;
  }
  return ::testing::AssertionSuccess();
}

// The taskDefinition of a request that must succeed.
json::object build(const json::object& request) {
  auto result = buildTaskDefinition(request, context());
  EXPECT_TRUE(result) << result.error().aws_type << ": " << result.error().message;
  if (!result) return {};
  return result->at("taskDefinition").as_object();
}

std::vector<std::string> attributeNames(const json::object& td) {
  std::vector<std::string> names;
  for (const json::value& a : td.at("requiresAttributes").as_array()) {
    names.emplace_back(a.at("name").as_string());
  }
  return names;
}

// ---------------------------------------------------------------------------
// The seed's definitions (../shared/seed): backend and frontend on Fargate.

constexpr std::string_view kBackend = R"({
  "family": "durableai-dev-backend",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "executionRoleArn": "arn:aws:iam::123456789012:role/durableai-dev-ecs-task-execution",
  "taskRoleArn": "arn:aws:iam::123456789012:role/durableai-dev-ecs-task",
  "containerDefinitions": [{
    "name": "backend",
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/durableai-backend:latest",
    "essential": true,
    "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
    "environment": [{"name": "ENVIRONMENT", "value": "dev"}, {"name": "PORT", "value": "8000"}],
    "secrets": [
      {"name": "DATABASE_URL",
       "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/durableai/dev/database_url"},
      {"name": "OPENAI_API_KEY", "valueFrom": "/durableai/dev/openai_api_key"}
    ],
    "healthCheck": {
      "command": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
      "startPeriod": 60
    },
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": {
        "awslogs-group": "/ecs/durableai-dev/backend",
        "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "ecs"
      }
    }
  }],
  "tags": [{"key": "Environment", "value": "dev"}, {"key": "Project", "value": "durableai"}]
})";

constexpr std::string_view kBackendDescribed = R"({
  "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/durableai-dev-backend:3",
  "containerDefinitions": [{
    "name": "backend",
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/durableai-backend:latest",
    "cpu": 0,
    "portMappings": [{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}],
    "essential": true,
    "environment": [{"name": "ENVIRONMENT", "value": "dev"}, {"name": "PORT", "value": "8000"}],
    "mountPoints": [],
    "volumesFrom": [],
    "secrets": [
      {"name": "DATABASE_URL",
       "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/durableai/dev/database_url"},
      {"name": "OPENAI_API_KEY", "valueFrom": "/durableai/dev/openai_api_key"}
    ],
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": {
        "awslogs-group": "/ecs/durableai-dev/backend",
        "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "ecs"
      }
    },
    "healthCheck": {
      "command": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
      "interval": 30,
      "timeout": 5,
      "retries": 3,
      "startPeriod": 60
    }
  }],
  "family": "durableai-dev-backend",
  "taskRoleArn": "arn:aws:iam::123456789012:role/durableai-dev-ecs-task",
  "executionRoleArn": "arn:aws:iam::123456789012:role/durableai-dev-ecs-task-execution",
  "networkMode": "awsvpc",
  "revision": 3,
  "volumes": [],
  "status": "ACTIVE",
  "requiresAttributes": [
    {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
    {"name": "ecs.capability.execution-role-awslogs"},
    {"name": "com.amazonaws.ecs.capability.ecr-auth"},
    {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.19"},
    {"name": "com.amazonaws.ecs.capability.task-iam-role"},
    {"name": "ecs.capability.container-health-check"},
    {"name": "ecs.capability.execution-role-ecr-pull"},
    {"name": "ecs.capability.secrets.ssm.environment-variables"},
    {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"},
    {"name": "ecs.capability.task-eni"},
    {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.29"}
  ],
  "placementConstraints": [],
  "compatibilities": ["EC2", "FARGATE", "MANAGED_INSTANCES"],
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "registeredAt": 1767225600.5,
  "registeredBy": "arn:aws:iam::123456789012:user/dev"
})";

constexpr std::string_view kFrontend = R"({
  "family": "durableai-dev-frontend",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "0.25 vCPU",
  "memory": "0.5 GB",
  "executionRoleArn": "durableai-dev-ecs-task-execution",
  "containerDefinitions": [{
    "name": "frontend",
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/durableai-frontend:latest",
    "portMappings": [{"containerPort": 3000}],
    "environment": [{"name": "BACKEND_URL", "value": "http://backend.dev.local:8000"}],
    "healthCheck": {
      "command": ["CMD-SHELL", "curl -f http://localhost:3000/ || exit 1"],
      "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 60
    },
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": {
        "awslogs-group": "/ecs/durableai-dev/frontend",
        "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "ecs"
      }
    }
  }]
})";

TEST(TaskDefinitionTest, SeedBackendIsDescribedAsEcsDoes) {
  auto result = buildTaskDefinition(parse(kBackend), context());
  ASSERT_TRUE(result) << result.error().message;
  const json::object& td = result->at("taskDefinition").as_object();
  EXPECT_EQ(json::value(td), json::parse(kBackendDescribed)) << json::serialize(td);
  // Order matters to the eye and to ECS's output; check it separately.
  EXPECT_EQ(json::value(td.at("requiresAttributes")), json::parse(kBackendDescribed).at("requiresAttributes"));
  EXPECT_EQ(json::value(result->at("tags")),
            json::parse(R"([{"key": "Environment", "value": "dev"}, {"key": "Project", "value": "durableai"}])"));
  EXPECT_FALSE(td.contains("tags"));
}

TEST(TaskDefinitionTest, SeedFrontendNormalisesSizesRolesAndPorts) {
  json::object td = build(parse(kFrontend));
  EXPECT_EQ(td.at("cpu"), "256");
  EXPECT_EQ(td.at("memory"), "512");
  EXPECT_EQ(td.at("executionRoleArn"), "arn:aws:iam::123456789012:role/durableai-dev-ecs-task-execution");
  EXPECT_FALSE(td.contains("taskRoleArn"));
  const json::object& c = td.at("containerDefinitions").as_array()[0].as_object();
  EXPECT_EQ(json::value(c.at("portMappings")),
            json::parse(R"([{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}])"));
  EXPECT_EQ(c.at("healthCheck").at("command").as_array()[1], "curl -f http://localhost:3000/ || exit 1");
  EXPECT_EQ(c.at("logConfiguration").at("options").at("awslogs-group"), "/ecs/durableai-dev/frontend");
  auto result = buildTaskDefinition(parse(kFrontend), context());
  ASSERT_TRUE(result);
  EXPECT_EQ(json::value(result->at("tags")), json::array());
}

// ---------------------------------------------------------------------------
// Normalised output

TEST(TaskDefinitionTest, OutputCarriesArnRevisionStatusAndRegistration) {
  json::object td = build(fargate());
  EXPECT_EQ(td.at("taskDefinitionArn"), "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3");
  EXPECT_EQ(td.at("revision"), 3);
  EXPECT_EQ(td.at("status"), "ACTIVE");
  EXPECT_EQ(td.at("registeredAt"), 1767225600.5);
  EXPECT_EQ(td.at("registeredBy"), "arn:aws:iam::123456789012:user/dev");
  EXPECT_EQ(json::value(td.at("volumes")), json::array());
  EXPECT_EQ(json::value(td.at("placementConstraints")), json::array());
}

TEST(TaskDefinitionTest, OutputKeepsBotocoreMemberOrder) {
  json::object request = fargate();
  request["taskRoleArn"] = "arn:aws:iam::123456789012:role/task";
  json::object td = build(request);
  std::vector<std::string> keys;
  for (const auto& kv : td) keys.emplace_back(kv.key());
  std::vector<std::string> expected = {"taskDefinitionArn",
                                       "containerDefinitions",
                                       "family",
                                       "taskRoleArn",
                                       "executionRoleArn",
                                       "networkMode",
                                       "revision",
                                       "volumes",
                                       "status",
                                       "requiresAttributes",
                                       "placementConstraints",
                                       "compatibilities",
                                       "requiresCompatibilities",
                                       "cpu",
                                       "memory",
                                       "registeredAt",
                                       "registeredBy"};
  EXPECT_EQ(keys, expected);
  std::vector<std::string> container_keys;
  for (const auto& kv : td.at("containerDefinitions").as_array()[0].as_object()) {
    container_keys.emplace_back(kv.key());
  }
  std::vector<std::string> expected_container = {"name",      "image",       "cpu",         "portMappings",
                                                 "essential", "environment", "mountPoints", "volumesFrom"};
  EXPECT_EQ(container_keys, expected_container);
}

TEST(TaskDefinitionTest, ContainerDefaultsAreFilledIn) {
  json::object td = build(fargate());
  EXPECT_EQ(json::value(td.at("containerDefinitions").as_array()[0]), json::parse(R"({
    "name": "app", "image": "nginx:1.25", "cpu": 0, "portMappings": [], "essential": true,
    "environment": [], "mountPoints": [], "volumesFrom": []})"));
}

TEST(TaskDefinitionTest, UnknownMembersAreDropped) {
  json::object request = fargate();
  request["bogus"] = 1;
  container(request)["alsoBogus"] = "x";
  json::object td = build(request);
  EXPECT_FALSE(td.contains("bogus"));
  EXPECT_FALSE(td.at("containerDefinitions").as_array()[0].as_object().contains("alsoBogus"));
}

TEST(TaskDefinitionTest, NullMembersCountAsAbsent) {
  json::object request = fargate();
  container(request)["memory"] = nullptr;
  container(request)["portMappings"] = nullptr;
  request["volumes"] = nullptr;
  json::object td = build(request);
  EXPECT_FALSE(td.at("containerDefinitions").as_array()[0].as_object().contains("memory"));
}

TEST(TaskDefinitionTest, RoleNamesExpandToArns) {
  json::object request = fargate();
  request["taskRoleArn"] = "app-role";
  request["executionRoleArn"] = "service-role/exec";
  json::object td = build(request);
  EXPECT_EQ(td.at("taskRoleArn"), "arn:aws:iam::123456789012:role/app-role");
  EXPECT_EQ(td.at("executionRoleArn"), "arn:aws:iam::123456789012:role/service-role/exec");
}

TEST(TaskDefinitionTest, BridgeModeHostPortDefaultsToZero) {
  json::object request = ec2();
  container(request)["portMappings"] =
      json::parse(R"([{"containerPort": 80}, {"containerPort": 81, "hostPort": 8081}])");
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("containerDefinitions").at(0).at("portMappings")), json::parse(R"([
    {"containerPort": 80, "hostPort": 0, "protocol": "tcp"},
    {"containerPort": 81, "hostPort": 8081, "protocol": "tcp"}])"));
  EXPECT_FALSE(td.contains("networkMode"));
}

TEST(TaskDefinitionTest, PortMappingExtrasArePreserved) {
  json::object request = fargate();
  container(request)["portMappings"] = json::parse(
      R"([{"containerPort": 8000, "name": "api", "appProtocol": "http"}, {"containerPortRange": "9000-9010"}])");
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("containerDefinitions").at(0).at("portMappings")), json::parse(R"([
    {"containerPort": 8000, "hostPort": 8000, "protocol": "tcp", "name": "api", "appProtocol": "http"},
    {"protocol": "tcp", "containerPortRange": "9000-9010"}])"));
}

TEST(TaskDefinitionTest, HealthCheckDefaultsAreFilledIn) {
  json::object request = fargate();
  container(request)["healthCheck"] = json::parse(R"({"command": ["CMD", "/bin/check"]})");
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("containerDefinitions").at(0).at("healthCheck")),
            json::parse(R"({"command": ["CMD", "/bin/check"], "interval": 30, "timeout": 5, "retries": 3})"));
}

TEST(TaskDefinitionTest, VolumeWithoutConfigurationIsAHostVolume) {
  json::object request = fargate();
  request["volumes"] = json::parse(R"([{"name": "scratch"}, {"name": "ebs", "configuredAtLaunch": true}])");
  container(request)["mountPoints"] = json::parse(R"([{"sourceVolume": "scratch", "containerPath": "/tmp/s"}])");
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("volumes")),
            json::parse(R"([{"name": "scratch", "host": {}}, {"name": "ebs", "configuredAtLaunch": true}])"));
}

TEST(TaskDefinitionTest, OptionalTaskMembersAreEchoed) {
  json::object request = fargate();
  request["runtimePlatform"] = json::parse(R"({"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"})");
  request["ephemeralStorage"] = json::parse(R"({"sizeInGiB": 30})");
  request["pidMode"] = "task";
  request["enableFaultInjection"] = false;
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("runtimePlatform")), request.at("runtimePlatform"));
  EXPECT_EQ(json::value(td.at("ephemeralStorage")), json::parse(R"({"sizeInGiB": 30})"));
  EXPECT_EQ(td.at("pidMode"), "task");
  EXPECT_EQ(td.at("enableFaultInjection"), false);
}

// ---------------------------------------------------------------------------
// Compatibilities and requiresAttributes

TEST(TaskDefinitionTest, AwsvpcDefinitionQualifyingForFargateListsAll) {
  json::object request = fargate();
  request.erase("requiresCompatibilities");
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("compatibilities")), json::parse(R"(["EC2", "FARGATE", "MANAGED_INSTANCES"])"));
  EXPECT_FALSE(td.contains("requiresCompatibilities"));
}

TEST(TaskDefinitionTest, BridgeDefinitionIsEc2Only) {
  json::object td = build(ec2());
  EXPECT_EQ(json::value(td.at("compatibilities")), json::parse(R"(["EC2"])"));
}

TEST(TaskDefinitionTest, FargateIncompatibleFeatureDropsFargate) {
  json::object request = fargate();
  request["requiresCompatibilities"] = json::parse(R"(["EC2"])");
  container(request)["stopTimeout"] = 300;  // beyond Fargate's 120
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("compatibilities")), json::parse(R"(["EC2", "MANAGED_INSTANCES"])"));
  request = fargate();
  request["requiresCompatibilities"] = json::parse(R"(["EC2"])");
  request["memory"] = "717";  // not a Fargate size
  td = build(request);
  EXPECT_EQ(json::value(td.at("compatibilities")), json::parse(R"(["EC2", "MANAGED_INSTANCES"])"));
}

TEST(TaskDefinitionTest, MinimalFargateAttributes) {
  json::object request = fargate();
  request.erase("executionRoleArn");
  EXPECT_EQ(
      attributeNames(build(request)),
      (std::vector<std::string>{"com.amazonaws.ecs.capability.docker-remote-api.1.18", "ecs.capability.task-eni"}));
}

TEST(TaskDefinitionTest, FeatureAttributes) {
  json::object request = fargate();
  request["volumes"] = json::parse(R"([{"name": "data", "efsVolumeConfiguration": {
      "fileSystemId": "fs-1", "transitEncryption": "ENABLED",
      "authorizationConfig": {"iam": "ENABLED"}}}])");
  json::object& c = container(request);
  c["memoryReservation"] = 128;
  c["secrets"] =
      json::parse(R"([{"name": "A", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a"}])");
  c["environmentFiles"] = json::parse(R"([{"type": "s3", "value": "arn:aws:s3:::bucket/app.env"}])");
  c["logConfiguration"] = json::parse(R"({"logDriver": "awslogs", "options": {"awslogs-group": "g",
      "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}})");
  addContainer(request, "init")["essential"] = false;  // invalidates c
  container(request)["dependsOn"] = json::parse(R"([{"containerName": "init", "condition": "SUCCESS"}])");
  EXPECT_EQ(
      attributeNames(build(request)),
      (std::vector<std::string>{
          "com.amazonaws.ecs.capability.logging-driver.awslogs", "ecs.capability.execution-role-awslogs",
          "ecs.capability.efsAuth", "com.amazonaws.ecs.capability.docker-remote-api.1.19", "ecs.capability.efs",
          "com.amazonaws.ecs.capability.docker-remote-api.1.28", "com.amazonaws.ecs.capability.docker-remote-api.1.21",
          "ecs.capability.secrets.asm.environment-variables", "ecs.capability.env-files.s3",
          "com.amazonaws.ecs.capability.docker-remote-api.1.25", "com.amazonaws.ecs.capability.docker-remote-api.1.18",
          "ecs.capability.task-eni", "com.amazonaws.ecs.capability.docker-remote-api.1.29",
          "ecs.capability.container-ordering"}));
}

// ---------------------------------------------------------------------------
// Size strings and the Fargate table

TEST(TaskDefinitionTest, ParseCpu) {
  EXPECT_EQ(parseCpu("256"), 256);
  EXPECT_EQ(parseCpu("0.25 vCPU"), 256);
  EXPECT_EQ(parseCpu("1 vcpu"), 1024);
  EXPECT_EQ(parseCpu("2vCPU"), 2048);
  EXPECT_EQ(parseCpu(" 4 vCPUs "), 4096);
  EXPECT_EQ(parseCpu("128"), 128);
  for (std::string_view bad : {"", "abc", "64", "-256", "0.1 vCPU", "1e3", "256 MiB", "1.5.2", ".5 vCPU", "300 vCPU",
                               "99999999999999999999999"}) {
    auto r = parseCpu(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message, "Invalid 'cpu' setting for task.");
    EXPECT_EQ(r.error().aws_type, "ClientException");
  }
}

TEST(TaskDefinitionTest, ParseMemory) {
  EXPECT_EQ(parseMemoryMiB("512"), 512);
  EXPECT_EQ(parseMemoryMiB("0.5 GB"), 512);
  EXPECT_EQ(parseMemoryMiB("1 GB"), 1024);
  EXPECT_EQ(parseMemoryMiB("2GiB"), 2048);
  EXPECT_EQ(parseMemoryMiB("512 MiB"), 512);
  EXPECT_EQ(parseMemoryMiB("3072mb"), 3072);
  for (std::string_view bad : {"", "x", "5", "0.3 GB", "1 TB", "-512", "512 vCPU"}) {
    auto r = parseMemoryMiB(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message, "Invalid 'memory' setting for task.");
  }
}

TEST(TaskDefinitionTest, FargateTable) {
  EXPECT_TRUE(isValidFargateCpuMemory(256, 512));
  EXPECT_TRUE(isValidFargateCpuMemory(256, 2048));
  EXPECT_FALSE(isValidFargateCpuMemory(256, 3072));
  EXPECT_FALSE(isValidFargateCpuMemory(512, 512));
  EXPECT_TRUE(isValidFargateCpuMemory(512, 4096));
  EXPECT_TRUE(isValidFargateCpuMemory(1024, 3072));
  EXPECT_FALSE(isValidFargateCpuMemory(1024, 1024));
  EXPECT_TRUE(isValidFargateCpuMemory(2048, 16384));
  EXPECT_TRUE(isValidFargateCpuMemory(4096, 30720));
  EXPECT_FALSE(isValidFargateCpuMemory(4096, 31744));
  EXPECT_TRUE(isValidFargateCpuMemory(8192, 20480));
  EXPECT_FALSE(isValidFargateCpuMemory(8192, 17408));
  EXPECT_TRUE(isValidFargateCpuMemory(16384, 122880));
  EXPECT_FALSE(isValidFargateCpuMemory(16384, 36864));
  EXPECT_FALSE(isValidFargateCpuMemory(300, 512));
}

// ---------------------------------------------------------------------------
// Family and container list

TEST(TaskDefinitionTest, Family) {
  json::object request = fargate();
  request.erase("family");
  EXPECT_TRUE(failsWith(request, "Family can not be blank."));
  request["family"] = "";
  EXPECT_TRUE(failsWith(request, "Family can not be blank."));
  request["family"] = "web.app";
  EXPECT_TRUE(failsWith(request, "Family contains invalid characters."));
  request["family"] = std::string(256, 'a');
  EXPECT_TRUE(failsWith(request, "Family cannot be longer than 255 characters."));
  request["family"] = std::string(255, 'a');
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  EXPECT_TRUE(validateFamily("durableai-dev_backend-2"));
  EXPECT_FALSE(validateFamily("a b"));
}

TEST(TaskDefinitionTest, ContainerList) {
  json::object request = fargate();
  request.erase("containerDefinitions");
  EXPECT_TRUE(failsWith(request, "Container list cannot be empty."));
  request["containerDefinitions"] = json::array();
  EXPECT_TRUE(failsWith(request, "Container list cannot be empty."));
  request = fargate();
  for (int i = 1; i < 11; ++i) addContainer(request, "c" + std::to_string(i))["essential"] = false;
  EXPECT_TRUE(failsWith(request, "A task definition can have at most 10 containers."));
}

TEST(TaskDefinitionTest, ContainerNameAndImage) {
  json::object request = fargate();
  container(request).erase("name");
  EXPECT_TRUE(failsWith(request, "Container.name should not be null or empty."));
  container(request)["name"] = "my app";
  EXPECT_TRUE(failsWith(request, "Container.name contains invalid characters."));
  container(request)["name"] = std::string(256, 'a');
  EXPECT_TRUE(failsWith(request, "Container.name cannot be longer than 255 characters."));
  container(request)["name"] = "app";
  container(request)["image"] = "";
  EXPECT_TRUE(failsWith(request, "Container.image should not be null or empty."));
  container(request).erase("image");
  EXPECT_TRUE(failsWith(request, "Container.image should not be null or empty."));
  request = fargate();
  addContainer(request, "app");
  EXPECT_TRUE(failsWith(request, "Container names must be unique within a task definition."));
}

TEST(TaskDefinitionTest, EssentialDefaultsToTrueAndOneIsRequired) {
  json::object request = fargate();
  container(request)["essential"] = false;
  EXPECT_TRUE(failsWith(request, "Task definition doesn't have any essential container."));
  addContainer(request, "other");  // essential by default
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

// ---------------------------------------------------------------------------
// Memory and cpu

TEST(TaskDefinitionTest, ContainerMemoryRules) {
  json::object request = ec2();
  container(request).erase("memory");
  EXPECT_TRUE(failsWith(
      request,
      "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."));
  container(request)["memoryReservation"] = 64;
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  container(request)["memory"] = 32;
  EXPECT_TRUE(failsWith(
      request, "Invalid setting for container 'app'. 'memory' must be greater than or equal to 'memoryReservation'."));
  container(request)["memory"] = 4;
  EXPECT_TRUE(failsWith(request, "Invalid 'memory' setting for container 'app'."));
  container(request)["memory"] = 128;
  container(request)["cpu"] = -1;
  EXPECT_TRUE(failsWith(request, "Invalid 'cpu' setting for container 'app'."));
}

TEST(TaskDefinitionTest, MemoryCheckComesBeforeFargateTaskSize) {
  json::object request = fargate();
  request.erase("cpu");
  request.erase("memory");
  EXPECT_TRUE(failsWith(
      request,
      "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."));
}

TEST(TaskDefinitionTest, ContainerResourcesWithinTask) {
  json::object request = fargate();
  container(request)["memory"] = 1024;
  EXPECT_TRUE(failsWith(request, "The 'memory' setting for container 'app' is greater than for the task."));
  container(request).erase("memory");
  container(request)["memoryReservation"] = 600;
  EXPECT_TRUE(failsWith(request, "The 'memoryReservation' setting for container 'app' is greater than for the task."));
  container(request)["memoryReservation"] = 300;
  addContainer(request, "side")["memory"] = 300;
  EXPECT_TRUE(failsWith(
      request,
      "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'."));
  request = fargate();
  container(request)["cpu"] = 200;
  addContainer(request, "side")["cpu"] = 100;
  EXPECT_TRUE(
      failsWith(request, "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."));
  container(request)["cpu"] = 156;
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, TaskSizeStrings) {
  json::object request = fargate();
  request["cpu"] = "quarter";
  EXPECT_TRUE(failsWith(request, "Invalid 'cpu' setting for task."));
  request["cpu"] = "256";
  request["memory"] = "lots";
  EXPECT_TRUE(failsWith(request, "Invalid 'memory' setting for task."));
}

// ---------------------------------------------------------------------------
// Fargate

TEST(TaskDefinitionTest, FargateNeedsAwsvpcAndTaskSize) {
  json::object request = fargate();
  request["networkMode"] = "bridge";
  EXPECT_TRUE(failsWith(request, "Fargate only supports network mode \u2018awsvpc\u2019."));
  request.erase("networkMode");
  EXPECT_TRUE(failsWith(request, "Fargate only supports network mode \u2018awsvpc\u2019."));
  request = fargate();
  container(request)["memory"] = 256;
  request.erase("cpu");
  EXPECT_TRUE(failsWith(request, "Fargate requires that 'cpu' be defined at the task level."));
  request["cpu"] = "256";
  request.erase("memory");
  EXPECT_TRUE(failsWith(request, "Fargate requires that 'memory' be defined at the task level."));
  request["memory"] = "3 GB";
  EXPECT_TRUE(failsWith(request,
                        "No Fargate configuration exists for given values: 256 CPU, 3072 memory. See the Amazon ECS "
                        "documentation for the valid values."));
}

TEST(TaskDefinitionTest, WindowsOnFargateNeedsOneVcpu) {
  json::object request = fargate();
  request["runtimePlatform"] = json::parse(R"({"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"})");
  request["cpu"] = "512";
  request["memory"] = "2048";
  EXPECT_TRUE(failsWith(request,
                        "No Fargate configuration exists for given values: 512 CPU, 2048 memory. See the Amazon ECS "
                        "documentation for the valid values."));
  request["cpu"] = "1024";
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, FargateRejectsHostFeatures) {
  struct Case {
    const char* member;
    const char* value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"privileged", "true",
       "Fargate requires that the \u2018privileged\u2019 setting be \u2018false\u2019 at the container level."},
      {"linuxParameters", R"({"devices": [{"hostPath": "/dev/fuse"}]})",
       "Fargate compatible task definitions do not support devices"},
      {"linuxParameters", R"({"sharedMemorySize": 64})",
       "Fargate compatible task definitions do not support sharedMemorySize"},
      {"linuxParameters", R"({"tmpfs": [{"containerPath": "/run", "size": 64}]})",
       "Fargate compatible task definitions do not support tmpfs"},
      {"linuxParameters", R"({"maxSwap": 0})", "Fargate compatible task definitions do not support maxSwap"},
      {"linuxParameters", R"({"swappiness": 10})", "Fargate compatible task definitions do not support swappiness"},
      {"linuxParameters", R"({"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}})",
       "NET_ADMIN is not allowed on Fargate."},
      {"dockerSecurityOptions", R"(["no-new-privileges"])",
       "Fargate compatible task definitions do not support dockerSecurityOptions"},
      {"resourceRequirements", R"([{"type": "GPU", "value": "1"}])",
       "Tasks using the Fargate launch type do not support GPU resource requirements."},
      {"image", R"("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1")", nullptr},
      {"stopTimeout", "121", "The 'stopTimeout' setting for container 'app' must be between 2 and 120 on Fargate."},
      {"stopTimeout", "1", "The 'stopTimeout' setting for container 'app' must be between 2 and 120 on Fargate."},
      {"startTimeout", "121", "The 'startTimeout' setting for container 'app' must be between 2 and 120 on Fargate."},
  };
  for (const Case& c : cases) {
    json::object request = fargate();
    container(request)[c.member] = json::parse(c.value);
    if (c.message == nullptr) {
      EXPECT_TRUE(buildTaskDefinition(request, context())) << c.member;  // has an execution role
      continue;
    }
    EXPECT_TRUE(failsWith(request, c.message)) << c.member << " " << c.value;
    // The same definition is fine on EC2, and is then not Fargate-compatible.
    request["requiresCompatibilities"] = json::parse(R"(["EC2"])");
    container(request)["memory"] = 256;
    auto ok = buildTaskDefinition(request, context());
    ASSERT_TRUE(ok) << c.member << ": " << ok.error().message;
    EXPECT_EQ(json::value(ok->at("taskDefinition").at("compatibilities")),
              json::parse(R"(["EC2", "MANAGED_INSTANCES"])"))
        << c.member;
  }
}

TEST(TaskDefinitionTest, FargateAllowsSysPtraceAndInitProcess) {
  json::object request = fargate();
  container(request)["linuxParameters"] =
      json::parse(R"({"capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL"]}, "initProcessEnabled": true})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, FargateEcrImageNeedsExecutionRole) {
  json::object request = fargate();
  request.erase("executionRoleArn");
  container(request)["image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1";
  EXPECT_TRUE(failsWith(request, "Fargate requires task definition to have execution role ARN to support ECR images."));
}

TEST(TaskDefinitionTest, FargateTaskLevelRules) {
  json::object request = fargate();
  request["placementConstraints"] = json::parse(R"([{"type": "memberOf", "expression": "attribute:x == y"}])");
  EXPECT_TRUE(failsWith(request, "Fargate compatible task definitions do not support constraints"));
  request = fargate();
  request["ipcMode"] = "task";
  EXPECT_TRUE(failsWith(request, "Fargate compatible task definitions do not support ipcMode"));
  request = fargate();
  request["pidMode"] = "host";
  EXPECT_TRUE(failsWith(
      request,
      "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'."));
  request["pidMode"] = "task";
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  request = fargate();
  request["volumes"] = json::parse(R"([{"name": "d", "dockerVolumeConfiguration": {"scope": "task"}}])");
  EXPECT_TRUE(failsWith(request, "Fargate compatible task definitions do not support dockerVolumeConfiguration"));
  request["volumes"] = json::parse(R"([{"name": "d", "host": {"sourcePath": "/var/data"}}])");
  EXPECT_TRUE(failsWith(request, "Fargate compatible task definitions do not support sourcePath"));
  request["volumes"] = json::parse(R"([{"name": "d", "host": {}}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, InferenceAcceleratorsAreRetired) {
  json::object request = ec2();
  request["inferenceAccelerators"] = json::parse(R"([{"deviceName": "d", "deviceType": "eia2.medium"}])");
  EXPECT_TRUE(failsWith(request, "Unsupported field 'inferenceAccelerators'."));
}

// ---------------------------------------------------------------------------
// Network mode and ports

TEST(TaskDefinitionTest, AwsvpcRejectsPerContainerNetworking) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"links", "Links are not supported when networkMode=awsvpc."},
      {"hostname", "hostname is not supported on container when networkMode=awsvpc."},
      {"disableNetworking", "Disable Networking is not supported on container when networkMode=awsvpc."},
      {"dnsServers", "DNS servers are not supported on container when networkMode=awsvpc."},
      {"dnsSearchDomains", "DNS search domains are not supported on container when networkMode=awsvpc."},
      {"extraHosts", "Extra hosts are not supported on container when networkMode=awsvpc."},
  };
  const std::map<std::string, json::value> values = {
      {"links", json::parse(R"(["db"])")},
      {"hostname", "web"},
      {"disableNetworking", true},
      {"dnsServers", json::parse(R"(["10.0.0.2"])")},
      {"dnsSearchDomains", json::parse(R"(["corp"])")},
      {"extraHosts", json::parse(R"([{"hostname": "db", "ipAddress": "10.0.0.3"}])")},
  };
  for (const auto& [member, message] : cases) {
    json::object request = fargate();
    container(request)[member] = values.at(member);
    EXPECT_TRUE(failsWith(request, message)) << member;
  }
  json::object request = ec2();
  addContainer(request, "db")["memory"] = 128;
  container(request)["links"] = json::parse(R"(["db:database"])");
  container(request)["hostname"] = "web";
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  request["networkMode"] = "host";
  EXPECT_TRUE(failsWith(request, "Links are not supported when networkMode=host."));
}

TEST(TaskDefinitionTest, HostPortMustMatchInAwsvpcAndHostModes) {
  json::object request = fargate();
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 8000, "hostPort": 80}])");
  EXPECT_TRUE(
      failsWith(request, "When networkMode=awsvpc, the host ports and container ports in port mappings must match."));
  request = ec2();
  request["networkMode"] = "host";
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 8000, "hostPort": 80}])");
  EXPECT_TRUE(
      failsWith(request, "When networkMode=host, the host ports and container ports in port mappings must match."));
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 8000, "hostPort": 8000}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  // hostPort 0 means "not given": ECS stores the container port.
  request = fargate();
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 8000, "hostPort": 0}])");
  json::object td = build(request);
  EXPECT_EQ(td.at("containerDefinitions").at(0).at("portMappings").at(0).at("hostPort"), 8000);
}

TEST(TaskDefinitionTest, PortMappingValues) {
  json::object request = fargate();
  container(request)["portMappings"] = json::parse(R"([{"hostPort": 8000}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'containerPort' setting for container 'app'."));
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 70000}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'containerPort' setting for container 'app'."));
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 0}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'containerPort' setting for container 'app'."));
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 80, "protocol": "sctp"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'protocol' setting for container 'app'."));
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 80, "appProtocol": "ftp"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'appProtocol' setting for container 'app'."));
  request = ec2();
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 80, "hostPort": 70000}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'hostPort' setting for container 'app'."));
  request["networkMode"] = "none";
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 80}])");
  EXPECT_TRUE(failsWith(request, "Port mappings are not supported when networkMode=none."));
}

TEST(TaskDefinitionTest, DuplicatePorts) {
  json::object request = fargate();
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 8000}])");
  addContainer(request, "side")["portMappings"] = json::parse(R"([{"containerPort": 8000}])");
  EXPECT_TRUE(failsWith(request, "TCP container port '8000' is used multiple times in task when networkMode=awsvpc."));
  // The same number on tcp and udp is two ports.
  container(request, 1)["portMappings"] = json::parse(R"([{"containerPort": 8000, "protocol": "udp"}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  container(request, 1)["portMappings"] = json::parse(R"([{"containerPortRange": "7990-8010"}])");
  EXPECT_TRUE(failsWith(request, "TCP container port '8000' is used multiple times in task when networkMode=awsvpc."));
  request = ec2();
  container(request)["portMappings"] = json::parse(R"([{"containerPort": 80, "hostPort": 3000}])");
  addContainer(request, "b")["portMappings"] = json::parse(R"([{"containerPort": 81, "hostPort": 3000}])");
  container(request, 1)["memory"] = 64;
  EXPECT_TRUE(failsWith(request, "TCP host port '3000' is mapped multiple times in task."));
  // Dynamic host ports (0) never collide.
  container(request, 0)["portMappings"] = json::parse(R"([{"containerPort": 80}])");
  container(request, 1)["portMappings"] = json::parse(R"([{"containerPort": 80}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, PortMappingNamesAreUniqueInAwsvpc) {
  json::object request = fargate();
  container(request)["portMappings"] =
      json::parse(R"([{"containerPort": 80, "name": "web"}, {"containerPort": 81, "name": "web"}])");
  EXPECT_TRUE(failsWith(request, "When networkMode=awsvpc, port mapping name is already used"));
}

TEST(TaskDefinitionTest, PortRanges) {
  json::object request = fargate();
  container(request)["portMappings"] = json::parse(R"([{"containerPortRange": "9010-9000"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'containerPortRange' setting for container 'app'."));
  container(request)["portMappings"] = json::parse(R"([{"containerPortRange": "9000"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'containerPortRange' setting for container 'app'."));
  container(request)["portMappings"] = json::parse(R"([{"containerPortRange": "0-10"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'containerPortRange' setting for container 'app'."));
  container(request)["portMappings"] = json::parse(R"([{"containerPortRange": "9000-9010", "containerPort": 9000}])");
  EXPECT_TRUE(
      failsWith(request, "Invalid port mapping for container 'app', cannot specify both single port and port range."));
  json::array many;
  for (int i = 0; i < 101; ++i) {
    json::object m;
    m["containerPortRange"] = std::to_string(1000 + i * 10) + "-" + std::to_string(1005 + i * 10);
    many.push_back(std::move(m));
  }
  container(request)["portMappings"] = many;
  EXPECT_TRUE(
      failsWith(request, "Invalid port mapping for container 'app', a container can have at most 100 port ranges."));
}

// ---------------------------------------------------------------------------
// Health checks

TEST(TaskDefinitionTest, HealthCheckRanges) {
  struct Case {
    const char* member;
    int value;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"interval", 301,
       "Health check interval must be less than or equal to the maximum allowed value 300 for container 'app'"},
      {"interval", 4,
       "Health check interval must be greater than or equal to the minimum allowed value 5 for container 'app'"},
      {"timeout", 61,
       "Health check timeout must be less than or equal to the maximum allowed value 60 for container 'app'"},
      {"timeout", 1,
       "Health check timeout must be greater than or equal to the minimum allowed value 2 for container 'app'"},
      {"retries", 11,
       "Health check retries must be less than or equal to the maximum allowed value 10 for container 'app'"},
      {"retries", 0,
       "Health check retries must be greater than or equal to the minimum allowed value 1 for container 'app'"},
      {"startPeriod", 301,
       "Health check startPeriod must be less than or equal to the maximum allowed value 300 for container 'app'"},
      {"startPeriod", -1,
       "Health check startPeriod must be greater than or equal to the minimum allowed value 0 for container 'app'"},
  };
  for (const Case& c : cases) {
    json::object request = fargate();
    json::object check = json::parse(R"({"command": ["CMD-SHELL", "true"]})").as_object();
    check[c.member] = c.value;
    container(request)["healthCheck"] = check;
    EXPECT_TRUE(failsWith(request, c.message)) << c.member << "=" << c.value;
  }
  json::object request = fargate();
  container(request)["healthCheck"] =
      json::parse(R"({"command": ["CMD", "true"], "interval": 5, "timeout": 60, "retries": 10, "startPeriod": 0})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, HealthCheckCommand) {
  json::object request = fargate();
  container(request)["healthCheck"] = json::parse(R"({"command": []})");
  EXPECT_TRUE(failsWith(request, "Health check command should not be empty for container 'app'"));
  // ECS does not insist on CMD / CMD-SHELL at registration (aws-cdk#34389).
  for (const char* command : {R"(["CMD-SHELL", "curl -f http://localhost/"])", R"(["CMD", "/check"])", R"(["NONE"])",
                              R"(["/healthcheck"])"}) {
    json::object check;
    check["command"] = json::parse(command);
    container(request)["healthCheck"] = check;
    EXPECT_TRUE(buildTaskDefinition(request, context())) << command;
  }
}

// ---------------------------------------------------------------------------
// Dependencies

TEST(TaskDefinitionTest, Dependencies) {
  json::object request = fargate();
  container(request)["dependsOn"] = json::parse(R"([{"containerName": "nope", "condition": "START"}])");
  EXPECT_TRUE(failsWith(request, "Cannot depend on container + 'nope' because it does not exist"));

  addContainer(request, "init");
  container(request)["dependsOn"] = json::parse(R"([{"containerName": "init", "condition": "COMPLETE"}])");
  EXPECT_TRUE(
      failsWith(request, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"));
  container(request)["dependsOn"] = json::parse(R"([{"containerName": "init", "condition": "SUCCESS"}])");
  EXPECT_TRUE(
      failsWith(request, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"));
  container(request, 1)["essential"] = false;
  EXPECT_TRUE(buildTaskDefinition(request, context()));

  container(request)["dependsOn"] = json::parse(R"([{"containerName": "init", "condition": "HEALTHY"}])");
  EXPECT_TRUE(failsWith(request, "A dependency container with HEALTHY condition must have health check configured"));
  container(request, 1)["healthCheck"] = json::parse(R"({"command": ["CMD", "true"]})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));

  container(request)["dependsOn"] = json::parse(R"([{"containerName": "init", "condition": "READY"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'dependsOn' setting for container 'app'."));
  container(request)["dependsOn"] = json::parse(R"([{"containerName": "init"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'dependsOn' setting for container 'app'."));
}

TEST(TaskDefinitionTest, DependencyCycles) {
  json::object request = fargate();
  addContainer(request, "b");
  addContainer(request, "c");
  container(request, 0)["dependsOn"] = json::parse(R"([{"containerName": "b", "condition": "START"}])");
  container(request, 1)["dependsOn"] = json::parse(R"([{"containerName": "c", "condition": "START"}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  container(request, 2)["dependsOn"] = json::parse(R"([{"containerName": "app", "condition": "START"}])");
  auto r = buildTaskDefinition(request, context());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().aws_type, "ClientException");
  EXPECT_NE(r.error().message.find("dependency cycle"), std::string::npos);
  request = fargate();
  container(request)["dependsOn"] = json::parse(R"([{"containerName": "app", "condition": "START"}])");
  EXPECT_TRUE(failsWith(request, "Invalid container dependencies: a dependency cycle involves container 'app'."));
}

TEST(TaskDefinitionTest, TimeoutsOnEc2) {
  json::object request = ec2();
  container(request)["stopTimeout"] = 600;
  container(request)["startTimeout"] = 600;
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  container(request)["stopTimeout"] = -1;
  EXPECT_TRUE(failsWith(request, "Invalid 'stopTimeout' setting for container 'app'."));
}

// ---------------------------------------------------------------------------
// Logging

TEST(TaskDefinitionTest, LogDriver) {
  json::object request = ec2();
  container(request)["logConfiguration"] = json::parse(R"({"logDriver": "loki"})");
  EXPECT_TRUE(failsWith(request, "Invalid 'logDriver' setting for container 'app'."));
  container(request)["logConfiguration"] = json::parse(R"({"logDriver": "json-file"})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  request = fargate();
  container(request)["logConfiguration"] = json::parse(R"({"logDriver": "json-file"})");
  EXPECT_TRUE(failsWith(request, "json-file is not a valid log driver. Must be one of [awslogs,splunk,awsfirelens]"));
}

TEST(TaskDefinitionTest, AwslogsOptions) {
  json::object request = ec2();
  container(request)["logConfiguration"] = json::parse(R"({"logDriver": "awslogs"})");
  EXPECT_TRUE(failsWith(request, "Log driver awslogs requires options: awslogs-region, awslogs-group"));
  container(request)["logConfiguration"] =
      json::parse(R"({"logDriver": "awslogs", "options": {"awslogs-region": "us-east-1"}})");
  EXPECT_TRUE(failsWith(request, "Log driver awslogs requires options: awslogs-group"));
  container(request)["logConfiguration"] =
      json::parse(R"({"logDriver": "awslogs", "options": {"awslogs-group": "g"}})");
  EXPECT_TRUE(failsWith(request, "Log driver awslogs requires options: awslogs-region"));
  // On EC2 neither a prefix nor an execution role is required.
  container(request)["logConfiguration"] =
      json::parse(R"({"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "us-east-1"}})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  container(request)["logConfiguration"].as_object()["options"].as_object()["awslogs-create-group"] = "yes";
  EXPECT_TRUE(failsWith(
      request,
      "Invalid value 'yes' for log option 'awslogs-create-group' in container 'app'. Valid values are true, false."));
}

TEST(TaskDefinitionTest, AwslogsOnFargate) {
  json::object request = fargate();
  container(request)["logConfiguration"] =
      json::parse(R"({"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "us-east-1"}})");
  EXPECT_TRUE(failsWith(
      request,
      "Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs."));
  container(request)["logConfiguration"].as_object()["options"].as_object()["awslogs-stream-prefix"] = "ecs";
  request.erase("executionRoleArn");
  EXPECT_TRUE(
      failsWith(request, "Fargate requires task definition to have execution role ARN to support log driver awslogs."));
}

TEST(TaskDefinitionTest, LogDeliveryMode) {
  json::object request = ec2();
  container(request)["logConfiguration"] = json::parse(
      R"({"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "r", "mode": "async"}})");
  EXPECT_TRUE(failsWith(
      request,
      "Invalid value 'async' for log option 'mode' in container 'app'. Valid values are blocking, non-blocking."));
  auto& options = container(request)["logConfiguration"].as_object()["options"].as_object();
  options["mode"] = "non-blocking";
  options["max-buffer-size"] = "lots";
  EXPECT_TRUE(failsWith(request, "Invalid value 'lots' for log option 'max-buffer-size' in container 'app'."));
  options["max-buffer-size"] = "25m";
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, FirelensNeedsARouter) {
  json::object request = fargate();
  container(request)["logConfiguration"] =
      json::parse(R"({"logDriver": "awsfirelens", "options": {"Name": "cloudwatch"}})");
  EXPECT_TRUE(failsWith(
      request,
      "When awsfirelens log driver is specified in log configuration, a firelens configuration object must be "
      "configured in one of the containers."));
  addContainer(request, "log_router")["firelensConfiguration"] = json::parse(R"({"type": "fluentbit"})");
  json::object td = build(request);
  std::vector<std::string> names = attributeNames(td);
  EXPECT_NE(std::find(names.begin(), names.end(), "ecs.capability.firelens.fluentbit"), names.end());
}

// ---------------------------------------------------------------------------
// Secrets, environment

TEST(TaskDefinitionTest, SecretsNeedAnExecutionRole) {
  json::object request = fargate();
  request.erase("executionRoleArn");
  container(request)["secrets"] = json::parse(R"([{"name": "A", "valueFrom": "/a"}])");
  EXPECT_TRUE(failsWith(
      request, "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."));
  request = ec2();
  container(request)["logConfiguration"] = json::parse(
      R"({"logDriver": "splunk", "options": {"splunk-url": "https://s"}, "secretOptions": [{"name": "splunk-token", "valueFrom": "/t"}]})");
  EXPECT_TRUE(failsWith(
      request, "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."));
}

TEST(TaskDefinitionTest, SecretMembers) {
  json::object request = fargate();
  container(request)["secrets"] = json::parse(R"([{"valueFrom": "/a"}])");
  EXPECT_TRUE(failsWith(request, "Container.secrets.name should not be null or empty."));
  container(request)["secrets"] = json::parse(R"([{"name": "A"}])");
  EXPECT_TRUE(failsWith(request, "Container.secrets.valueFrom should not be null or empty."));
  container(request)["secrets"] =
      json::parse(R"([{"name": "A", "valueFrom": "arn:aws:ssm:us-east-1:210987654321:parameter/a"}])");
  EXPECT_TRUE(failsWith(
      request,
      "The Systems Manager parameter ARN has a different account ID than the current account. The current "
      "account ID is 123456789012 and the ARN account ID is 210987654321. Cross-account access for ARNs is not "
      "currently supported."));
  // Secrets Manager ARNs of other accounts are allowed (cross-account secrets).
  container(request)["secrets"] =
      json::parse(R"([{"name": "A", "valueFrom": "arn:aws:secretsmanager:us-east-1:210987654321:secret:a"}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, DuplicateEnvironmentNamesAreAccepted) {
  json::object request = fargate();
  container(request)["environment"] = json::parse(R"([{"name": "A", "value": "1"}, {"name": "A", "value": "2"}])");
  json::object td = build(request);
  EXPECT_EQ(td.at("containerDefinitions").at(0).at("environment").as_array().size(), 2u);
}

TEST(TaskDefinitionTest, EnvironmentFiles) {
  json::object request = fargate();
  container(request)["environmentFiles"] = json::parse(R"([{"type": "s3", "value": "bucket/app.env"}])");
  EXPECT_TRUE(failsWith(request, "Invalid arn syntax."));
  container(request)["environmentFiles"] =
      json::parse(R"([{"type": "s3", "value": "arn:aws:ssm:us-east-1:1:parameter/x"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'environmentFiles' setting for container 'app'."));
  container(request)["environmentFiles"] = json::parse(R"([{"type": "http", "value": "arn:aws:s3:::b/app.env"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'environmentFiles' setting for container 'app'."));
  json::array files;
  for (int i = 0; i < 11; ++i) files.push_back(json::parse(R"({"type": "s3", "value": "arn:aws:s3:::b/app.env"})"));
  container(request)["environmentFiles"] = files;
  EXPECT_TRUE(
      failsWith(request, "The maximum number of environment files was exceeded. Specify ten or less and try again."));
  files.pop_back();
  container(request)["environmentFiles"] = files;
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

// ---------------------------------------------------------------------------
// Task-level members

TEST(TaskDefinitionTest, TaskLevelEnums) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"networkMode", R"("nat")"},
      {"requiresCompatibilities", R"(["LAMBDA"])"},
      {"pidMode", R"("container")"},
      {"ipcMode", R"("shareable")"},
      {"runtimePlatform", R"({"cpuArchitecture": "RISCV"})"},
      {"runtimePlatform", R"({"operatingSystemFamily": "MACOS"})"},
  };
  for (const auto& [member, value] : cases) {
    json::object request = ec2();
    request[member] = json::parse(value);
    EXPECT_TRUE(failsWith(request, std::string("Invalid '") + member + "' setting for task.")) << member;
  }
}

TEST(TaskDefinitionTest, EphemeralStorage) {
  json::object request = fargate();
  request["ephemeralStorage"] = json::parse(R"({"sizeInGiB": 20})");
  EXPECT_TRUE(failsWith(request, "EphemeralStorage size should be at least 21"));
  request["ephemeralStorage"] = json::parse(R"({"sizeInGiB": 201})");
  EXPECT_TRUE(failsWith(request, "EphemeralStorage size should be at most 200"));
  request["ephemeralStorage"] = json::parse(R"({"sizeInGiB": 200})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  request = ec2();
  request["requiresCompatibilities"] = json::parse(R"(["EC2"])");
  request["ephemeralStorage"] = json::parse(R"({"sizeInGiB": 50})");
  EXPECT_TRUE(failsWith(request, "Tasks using the EC2 launch type do not support EphemeralStorage."));
}

TEST(TaskDefinitionTest, PlacementConstraints) {
  json::object request = ec2();
  request["placementConstraints"] = json::parse(R"([{"type": "distinctInstance"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'placementConstraints' setting for task."));
  request["placementConstraints"] =
      json::parse(R"([{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}])");
  json::object td = build(request);
  EXPECT_EQ(td.at("placementConstraints").as_array().size(), 1u);
}

TEST(TaskDefinitionTest, ProxyConfiguration) {
  json::object request = ec2();
  request["proxyConfiguration"] = json::parse(R"({"containerName": "envoy"})");
  EXPECT_TRUE(failsWith(request, "APPMESH proxy configuration is only supported in networkMode=awsvpc"));
  request = fargate();
  request["proxyConfiguration"] = json::parse(R"({"containerName": "envoy"})");
  EXPECT_TRUE(failsWith(request, "Proxy container [envoy] does not exist."));
  addContainer(request, "envoy");
  EXPECT_TRUE(failsWith(request, "Ingress port not found"));
  request["proxyConfiguration"] = json::parse(R"({"type": "APPMESH", "containerName": "envoy", "properties": [
      {"name": "ProxyIngressPort", "value": "15000"}, {"name": "ProxyEgressPort", "value": "15001"},
      {"name": "AppPorts", "value": "8000"}, {"name": "IgnoredUID", "value": "1337"}]})");
  json::object td = build(request);
  EXPECT_EQ(td.at("proxyConfiguration").at("type"), "APPMESH");
  std::vector<std::string> names = attributeNames(td);
  EXPECT_NE(std::find(names.begin(), names.end(), "ecs.capability.aws-appmesh"), names.end());
}

// ---------------------------------------------------------------------------
// Volumes

TEST(TaskDefinitionTest, VolumeNamesAndMounts) {
  json::object request = fargate();
  request["volumes"] = json::parse(R"([{"name": "data"}, {"name": "data"}])");
  EXPECT_TRUE(failsWith(request, "Volume names must be unique within a task definition."));
  request["volumes"] = json::parse(R"([{"host": {}}])");
  EXPECT_TRUE(failsWith(request, "Volume.name should not be null or empty."));
  request["volumes"] = json::parse(R"([{"name": "my data"}])");
  EXPECT_TRUE(failsWith(request, "Volume.name contains invalid characters."));
  request["volumes"] = json::parse(R"([{"name": "data"}])");
  container(request)["mountPoints"] = json::parse(R"([{"sourceVolume": "nope", "containerPath": "/d"}])");
  EXPECT_TRUE(failsWith(request, "Unknown volume 'nope'."));
  container(request)["mountPoints"] = json::parse(R"([{"sourceVolume": "data"}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'mountPoints' setting for container 'app'."));
  container(request)["mountPoints"] =
      json::parse(R"([{"sourceVolume": "data", "containerPath": "/d", "readOnly": true}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  container(request)["volumesFrom"] = json::parse(R"([{"sourceContainer": "ghost"}])");
  EXPECT_TRUE(failsWith(request, "Unknown container 'ghost'."));
}

TEST(TaskDefinitionTest, VolumeConfigurations) {
  json::object request = fargate();
  request["volumes"] =
      json::parse(R"([{"name": "d", "host": {}, "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}])");
  EXPECT_TRUE(failsWith(request, "Invalid volume 'd': a volume can have only one volume configuration."));
  request["volumes"] = json::parse(R"([{"name": "d", "efsVolumeConfiguration": {}}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'volumes' setting for task."));
  request["volumes"] = json::parse(R"([{"name": "d", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
      "authorizationConfig": {"iam": "ENABLED"}}}])");
  EXPECT_TRUE(failsWith(request, "EFS IAM authorization requires TransitEncryption to be enabled."));
  request["volumes"] = json::parse(R"([{"name": "d", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
      "transitEncryptionPort": 2049}}])");
  EXPECT_TRUE(failsWith(request, "TransitEncryptionPort requires that TransitEncryption is enabled."));
  request["volumes"] = json::parse(R"([{"name": "d", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
      "rootDirectory": "/data", "transitEncryption": "ENABLED", "authorizationConfig": {"accessPointId": "fsap-1"}}}])");
  EXPECT_TRUE(failsWith(
      request, "When using an EFS access point, the root directory must either be set to \"/\" or be omitted."));
  request = ec2();
  request["volumes"] =
      json::parse(R"([{"name": "d", "dockerVolumeConfiguration": {"scope": "task", "autoprovision": true}}])");
  EXPECT_TRUE(failsWith(request, "Invalid volume 'd': autoprovision is only supported when scope is shared."));
  request["volumes"] = json::parse(
      R"([{"name": "d", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local"}}])");
  json::object td = build(request);
  EXPECT_EQ(json::value(td.at("volumes")), request.at("volumes"));
}

// ---------------------------------------------------------------------------
// Other container members

TEST(TaskDefinitionTest, Ulimits) {
  json::object request = fargate();
  container(request)["ulimits"] = json::parse(R"([{"name": "files", "softLimit": 1, "hardLimit": 2}])");
  EXPECT_TRUE(failsWith(request, "Invalid 'ulimits' setting for container 'app'."));
  container(request)["ulimits"] = json::parse(R"([{"name": "nofile", "softLimit": 4096, "hardLimit": 1024}])");
  EXPECT_TRUE(failsWith(request,
                        "Invalid 'ulimits' setting for container 'app'. The soft limit of 'nofile' cannot be greater "
                        "than its hard limit."));
  container(request)["ulimits"] = json::parse(R"([{"name": "nofile", "softLimit": 65535, "hardLimit": 65535}])");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, LinuxParametersOnEc2) {
  json::object request = ec2();
  container(request)["linuxParameters"] = json::parse(R"({"swappiness": 101})");
  EXPECT_TRUE(failsWith(request, "Invalid 'swappiness' setting for container 'app'."));
  container(request)["linuxParameters"] = json::parse(R"({"tmpfs": [{"containerPath": "/run"}]})");
  EXPECT_TRUE(failsWith(request, "Invalid 'tmpfs' setting for container 'app'."));
  container(request)["linuxParameters"] =
      json::parse(R"({"devices": [{"hostPath": "/dev/fuse", "permissions": ["execute"]}]})");
  EXPECT_TRUE(failsWith(request, "Invalid 'devices' setting for container 'app'."));
  container(request)["linuxParameters"] = json::parse(
      R"({"devices": [{"hostPath": "/dev/fuse", "permissions": ["read", "write"]}], "sharedMemorySize": 64, "maxSwap": 0})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, RestartPolicy) {
  json::object request = fargate();
  container(request)["restartPolicy"] = json::parse(R"({"enabled": true, "restartAttemptPeriod": 30})");
  EXPECT_TRUE(
      failsWith(request, "The 'restartAttemptPeriod' setting for container 'app' must be between 60 and 1800."));
  container(request)["restartPolicy"] = json::parse(R"({"restartAttemptPeriod": 300})");
  EXPECT_TRUE(failsWith(request, "Invalid 'restartPolicy' setting for container 'app'."));
  container(request)["restartPolicy"] =
      json::parse(R"({"enabled": true, "ignoredExitCodes": [0, 137], "restartAttemptPeriod": 300})");
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

TEST(TaskDefinitionTest, PrivilegedIsFineOnEc2) {
  json::object request = ec2();
  container(request)["privileged"] = true;
  EXPECT_TRUE(buildTaskDefinition(request, context()));
}

// ---------------------------------------------------------------------------
// Tags

TEST(TaskDefinitionTest, Tags) {
  json::object request = fargate();
  json::array tags;
  for (int i = 0; i < 51; ++i) {
    json::object t;
    t["key"] = "k" + std::to_string(i);
    t["value"] = "v";
    tags.push_back(std::move(t));
  }
  request["tags"] = tags;
  EXPECT_TRUE(failsWith(request, "The number of tags cannot exceed 50.", "InvalidParameterException"));
  tags.pop_back();
  request["tags"] = tags;
  auto ok = buildTaskDefinition(request, context());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("tags").as_array().size(), 50u);

  request["tags"] = json::parse(R"([{"key": "", "value": "v"}])");
  EXPECT_TRUE(failsWith(request, "Tag keys must be at least 1 character long.", "InvalidParameterException"));
  request["tags"] = json::array{json::object{{"key", std::string(129, 'k')}}};
  EXPECT_TRUE(failsWith(request, "Tag key '" + std::string(129, 'k') + "' is longer than 128 characters.",
                        "InvalidParameterException"));
  request["tags"] = json::array{json::object{{"key", "k"}, {"value", std::string(257, 'v')}}};
  EXPECT_TRUE(failsWith(request, "Tag value for key 'k' is longer than 256 characters.", "InvalidParameterException"));
  // Limits count characters, not bytes: 256 two-byte characters are fine.
  std::string wide;
  for (int i = 0; i < 256; ++i) wide += "\u00e9";
  request["tags"] = json::array{json::object{{"key", "k"}, {"value", wide}}};
  EXPECT_TRUE(buildTaskDefinition(request, context()));
  for (const char* key : {"aws:cloudformation:stack-name", "AWS:x", "Aws:y"}) {
    request["tags"] = json::array{json::object{{"key", key}, {"value", "v"}}};
    EXPECT_TRUE(failsWith(
        request,
        std::string("Tag key '") + key + "' is not valid. Tag keys starting with 'aws:' are reserved for AWS use.",
        "InvalidParameterException"))
        << key;
  }
  request["tags"] = json::parse(R"([{"key": "empty-value"}])");
  ok = buildTaskDefinition(request, context());
  ASSERT_TRUE(ok);
  EXPECT_EQ(json::value(ok->at("tags")), json::parse(R"([{"key": "empty-value"}])"));
}

// ---------------------------------------------------------------------------
// Limits and malformed input

TEST(TaskDefinitionTest, DefinitionSizeLimit) {
  json::object request = fargate();
  json::array env;
  for (int i = 0; i < 700; ++i) {
    json::object kv;
    kv["name"] = "VARIABLE_" + std::to_string(i);
    kv["value"] = std::string(80, 'x');
    env.push_back(std::move(kv));
  }
  container(request)["environment"] = env;
  size_t bytes = json::serialize(request).size();
  ASSERT_GT(bytes, 65536u);
  EXPECT_TRUE(
      failsWith(request, "Actual length: '" + std::to_string(bytes) + "'. Max allowed length is '65536' bytes."));
}

TEST(TaskDefinitionTest, WrongJsonTypesAreClientErrors) {
  const std::vector<std::pair<std::string, const char*>> cases = {
      {"family", "42"},
      {"containerDefinitions", R"({"name": "app"})"},
      {"cpu", "256"},
  };
  for (const auto& [member, value] : cases) {
    json::object request = fargate();
    request[member] = json::parse(value);
    EXPECT_TRUE(failsWith(request, "Invalid type for parameter " + member + ".")) << member;
  }
  json::object request = fargate();
  container(request)["memory"] = "512";
  EXPECT_TRUE(failsWith(request, "Invalid type for parameter containerDefinitions[0].memory."));
  container(request)["memory"] = 1.5;
  EXPECT_TRUE(failsWith(request, "Invalid type for parameter containerDefinitions[0].memory."));
  container(request)["memory"] = int64_t{1} << 40;
  EXPECT_TRUE(failsWith(request, "Invalid type for parameter containerDefinitions[0].memory."));
  request = fargate();
  container(request)["portMappings"] = json::parse(R"([8000])");
  EXPECT_TRUE(failsWith(request, "Invalid type for parameter containerDefinitions[0].portMappings[0]."));
  request = fargate();
  container(request)["logConfiguration"] = json::parse(R"({"logDriver": "awslogs", "options": {"awslogs-group": 7}})");
  EXPECT_TRUE(
      failsWith(request, "Invalid type for parameter containerDefinitions[0].logConfiguration.options.awslogs-group."));
}

}  // namespace
}  // namespace berth::ecs
