// The resource engine against a running berthd (or any endpoint speaking
// the AWS protocols). Skipped unless BERTH_TEST_ENDPOINT (berthd's URL) and
// BERTH_TEST_DATA_DIR (its data dir, for the root credentials) are set:
//
//   build/bin/berthd --agent fake --data-dir /tmp/x --listen 127.0.0.1:0 &
//   export BERTH_TEST_ENDPOINT=$(cat /tmp/x/endpoint) BERTH_TEST_DATA_DIR=/tmp/x
//   build/bin/berth_unit_tests --gtest_filter='StackEngineLive*'
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cli/ecr_client.h"
#include "common/json.h"
#include "stack/aws_api.h"
#include "stack/engine.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

ResourceSpec spec(std::string type, std::string name, std::string_view props, std::vector<std::string> deps = {}) {
  auto doc = json::parse(props);
  EXPECT_TRUE(doc && doc->is_object()) << props;
  return ResourceSpec{std::move(type), std::move(name), doc ? doc->as_object() : bj::object{}, std::move(deps), {}};
}

std::vector<ResourceSpec> smallStack(std::string_view memory, std::string_view discovery_name = "app") {
  std::vector<ResourceSpec> s;
  s.push_back(spec(
      "ecs_cluster", "main",
      R"({"clusterName":"eng-live","containerInsights":"enabled","capacityProviders":["FARGATE","FARGATE_SPOT"]})"));
  s.push_back(spec("log_group", "app", R"({"logGroupName":"/berth/eng-live/app","retentionInDays":7})"));
  s.push_back(spec("iam_role", "execution", R"({"RoleName":"eng-live-execution",
    "AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]},
    "InlinePolicies":{"secrets":{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":["ssm:GetParameters"],"Resource":"*"}]}},
    "ManagedPolicyArns":["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]})"));
  s.push_back(
      spec("ssm_parameter", "secret", R"({"Name":"/eng-live/secret","Type":"SecureString","Value":"hunter2"})"));
  s.push_back(spec("ecr_repository", "app", R"({"repositoryName":"eng-live/app","imageTagMutability":"MUTABLE"})"));
  s.push_back(spec("sd_namespace", "ns", R"({"Name":"eng-live.local"})"));
  s.push_back(spec("sd_service", "app",
                   fmt::format(R"({{"Name":"{}","NamespaceId":"${{sd_namespace.ns.id}}"}})", discovery_name)));
  s.push_back(spec("ecs_task_definition", "app",
                   fmt::format(R"({{"family":"eng-live-app","cpu":"256","memory":"{}",
    "networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"executionRoleArn":"${{iam_role.execution.arn}}",
    "containerDefinitions":[{{"name":"app","image":"${{ecr_repository.app.uri}}:latest","essential":true,
      "portMappings":[{{"containerPort":80}}],"environment":[{{"name":"A","value":"1"}}],
      "secrets":[{{"name":"SECRET","valueFrom":"${{ssm_parameter.secret.arn}}"}}],
      "logConfiguration":{{"logDriver":"awslogs","options":{{"awslogs-group":"${{log_group.app.name}}",
        "awslogs-region":"us-east-1","awslogs-stream-prefix":"app"}}}}}}]}})",
                               memory)));
  ResourceSpec service = spec("ecs_service", "app", R"({"serviceName":"app","cluster":"${ecs_cluster.main.name}",
    "taskDefinition":"${ecs_task_definition.app.arn}","desiredCount":1,
    "capacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1,"base":0}],
    "tags":[{"key":"Project","value":"eng-live"}],"propagateTags":"SERVICE",
    "deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true,"rollback":true},
      "maximumPercent":200,"minimumHealthyPercent":100},
    "serviceRegistries":[{"registryArn":"${sd_service.app.arn}"}]})");
  service.ignore_changes = {"desiredCount"};
  s.push_back(std::move(service));
  s.push_back(spec("scalable_target", "app", R"({"ServiceNamespace":"ecs",
    "ResourceId":"service/${ecs_cluster.main.name}/${ecs_service.app.name}",
    "ScalableDimension":"ecs:service:DesiredCount","MinCapacity":1,"MaxCapacity":3})"));
  s.push_back(spec("scaling_policy", "cpu", R"({"PolicyName":"eng-live-cpu","ServiceNamespace":"ecs",
    "ResourceId":"service/${ecs_cluster.main.name}/${ecs_service.app.name}",
    "ScalableDimension":"ecs:service:DesiredCount","PolicyType":"TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration":{"TargetValue":60.0,
      "PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"},
      "ScaleInCooldown":60,"ScaleOutCooldown":60}})",
                   {"scalable_target.app"}));
  return s;
}

TEST(StackEngineLiveTest, ApplyPlanUpdateDestroy) {
  const char* endpoint = std::getenv("BERTH_TEST_ENDPOINT");
  const char* data_dir = std::getenv("BERTH_TEST_DATA_DIR");
  if (!endpoint || !*endpoint || !data_dir || !*data_dir)
    GTEST_SKIP() << "set BERTH_TEST_ENDPOINT and BERTH_TEST_DATA_DIR to run against a berthd "
                    "(berthd --agent fake --data-dir DIR --listen 127.0.0.1:0)";
  auto ep = cli::parseEndpoint(endpoint);
  ASSERT_TRUE(ep) << ep.error().message;
  HttpAwsApi api(*ep, cli::findCredentials(data_dir), "us-east-1");
  std::filesystem::path state =
      std::filesystem::temp_directory_path() / ("berth-engine-live-" + std::to_string(::getpid()) + ".json");
  std::filesystem::remove(state);
  Engine engine(api, state.string());
  auto progress = [](const std::string& a, Action act, std::string_view phase) {
    std::printf("  %s %s %s\n", actionName(act), a.c_str(), std::string(phase).c_str());
  };

  std::vector<ResourceSpec> desired = smallStack("512");
  auto plan = engine.plan(desired);
  ASSERT_TRUE(plan) << plan.error().message;
  std::printf("%s", renderPlan(*plan, false).c_str());
  EXPECT_EQ(plan->count(Action::kCreate), 11);
  auto applied = engine.apply(*plan, desired, progress);
  ASSERT_TRUE(applied) << applied.error().message;

  auto again = engine.plan(desired);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty()) << renderPlan(*again, false);

  desired = smallStack("1024");
  auto update = engine.plan(desired);
  ASSERT_TRUE(update) << update.error().message;
  std::printf("%s", renderPlan(*update, false).c_str());
  EXPECT_EQ(update->count(Action::kUpdate), 2);  // the task definition, and the service's revision
  EXPECT_EQ(update->count(Action::kCreate) + update->count(Action::kReplace) + update->count(Action::kDelete), 0);
  for (const auto& c : update->changes) {
    if (c.address == "ecs_task_definition.app") {
      ASSERT_EQ(c.attributes.size(), 1u);
      EXPECT_EQ(c.attributes[0].path, "memory");
    } else if (c.address == "ecs_service.app") {
      ASSERT_EQ(c.attributes.size(), 1u);
      EXPECT_EQ(c.attributes[0].path, "taskDefinition");
    } else {
      EXPECT_EQ(c.action, Action::kNoop) << c.address;
    }
  }
  applied = engine.apply(*update, desired, progress);
  ASSERT_TRUE(applied) << applied.error().message;
  auto settled = engine.plan(desired);
  ASSERT_TRUE(settled) << settled.error().message;
  EXPECT_TRUE(settled->empty()) << renderPlan(*settled, false);
  auto latest = api.json("ecs", "DescribeTaskDefinition", {{"taskDefinition", "eng-live-app"}});
  ASSERT_TRUE(latest) << latest.error().message;
  std::string latest_arn = json::stringOr(latest->at("taskDefinition").as_object(), "taskDefinitionArn");
  EXPECT_EQ(json::stringOr(latest->at("taskDefinition").as_object(), "memory"), "1024");
  auto svc = api.json("ecs", "DescribeServices", {{"cluster", "eng-live"}, {"services", bj::array{bj::value("app")}}});
  ASSERT_TRUE(svc) << svc.error().message;
  EXPECT_EQ(json::stringOr(svc->at("services").as_array()[0].as_object(), "taskDefinition"), latest_arn);

  // Tags go through TagResource, not UpdateService.
  for (auto& r : desired)
    if (r.address() == "ecs_service.app")
      r.properties["tags"] = bj::array{bj::object{{"key", "Project"}, {"value", "eng-live-2"}}};
  auto retag = engine.plan(desired);
  ASSERT_TRUE(retag) << retag.error().message;
  ASSERT_EQ(retag->count(Action::kUpdate), 1) << renderPlan(*retag, false);
  applied = engine.apply(*retag, desired, progress);
  ASSERT_TRUE(applied) << applied.error().message;
  settled = engine.plan(desired);
  ASSERT_TRUE(settled) << settled.error().message;
  EXPECT_TRUE(settled->empty()) << renderPlan(*settled, false);

  // A replacement cascades to what refers to the replaced resource's outputs;
  // dependents are deleted first and created last.
  desired = smallStack("1024", "app2");
  auto replace = engine.plan(desired);
  ASSERT_TRUE(replace) << replace.error().message;
  std::printf("%s", renderPlan(*replace, false).c_str());
  EXPECT_EQ(replace->count(Action::kReplace), 2);  // sd_service, and ecs_service for its serviceRegistries
  applied = engine.apply(*replace, desired, progress);
  ASSERT_TRUE(applied) << applied.error().message;
  settled = engine.plan(desired);
  ASSERT_TRUE(settled) << settled.error().message;
  EXPECT_TRUE(settled->empty()) << renderPlan(*settled, false);

  auto destroy = engine.planDestroy();
  ASSERT_TRUE(destroy) << destroy.error().message;
  std::printf("%s", renderPlan(*destroy, false).c_str());
  EXPECT_EQ(destroy->count(Action::kDelete), 11);
  applied = engine.apply(*destroy, {}, progress);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(engine.managed()->empty());
  auto gone = engine.plan(desired);
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(gone->count(Action::kCreate), 11) << renderPlan(*gone, false);
  std::filesystem::remove(state);
}

}  // namespace
}  // namespace berth::stack
