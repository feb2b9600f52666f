// The seed's stack file rendered into the resources the engine applies:
// names, the requests' shapes, references and what autoscaling changes.
#include "stack/render.h"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "common/json.h"
#include "stack/stack_file.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

std::map<std::string, ResourceSpec> renderExample(std::string_view env) {
  std::string path =
      std::string(getenv("BERTH_SOURCE_DIR") ? getenv("BERTH_SOURCE_DIR") : ".") + "/examples/durableai/berth.yaml";
  auto file = loadStackFile(path);
  EXPECT_TRUE(file) << (file ? "" : file.error().message);
  if (!file) return {};
  auto resolved = resolve(*file, env, "123456789012");
  EXPECT_TRUE(resolved);
  std::map<std::string, ResourceSpec> out;
  for (auto& spec : render(*resolved, {"123456789012"})) out[spec.address()] = spec;
  return out;
}

TEST(StackRenderTest, DevIsTheSeedsDevEnvironment) {
  auto r = renderExample("dev");
  ASSERT_EQ(r.size(), 15u);
  EXPECT_EQ(r["ecs_cluster.main"].properties["clusterName"], "durableai-dev-cluster");
  EXPECT_EQ(r["ecs_cluster.main"].properties["containerInsights"], "disabled");
  EXPECT_EQ(r["log_group.backend"].properties["logGroupName"], "/ecs/durableai-dev/backend");
  EXPECT_EQ(r["log_group.backend"].properties["retentionInDays"], 7);
  EXPECT_EQ(r["sd_namespace.main"].properties["Name"], "dev.local");

  const bj::object& td = r["ecs_task_definition.backend"].properties;
  EXPECT_EQ(td.at("family"), "durableai-dev-backend");
  EXPECT_EQ(td.at("cpu"), "256");
  EXPECT_EQ(td.at("memory"), "512");
  EXPECT_EQ(td.at("executionRoleArn"), "${iam_role.execution.arn}");
  EXPECT_EQ(td.at("taskRoleArn"), "${iam_role.backend-task.arn}");
  const bj::object& c = td.at("containerDefinitions").as_array()[0].as_object();
  EXPECT_EQ(c.at("image"), "123456789012.dkr.ecr.us-east-1.amazonaws.com/durableai/backend:latest");
  EXPECT_EQ(c.at("healthCheck").at("command").as_array()[1],
            "wget -q -O /dev/null http://localhost:8000/health || exit 1");
  EXPECT_EQ(c.at("logConfiguration").at("options").at("awslogs-group"), "/ecs/durableai-dev/backend");

  const ResourceSpec& svc = r["ecs_service.backend"];
  EXPECT_EQ(svc.properties.at("serviceName"), "durableai-dev-backend");  // the seed's name
  EXPECT_EQ(r["sd_service.backend"].properties["Name"], "backend");       // backend.dev.local
  EXPECT_EQ(svc.properties.at("capacityProviderStrategy").as_array()[0].at("capacityProvider"), "FARGATE_SPOT");
  EXPECT_EQ(svc.properties.at("deploymentConfiguration").at("deploymentCircuitBreaker"),
            (bj::object{{"enable", true}, {"rollback", true}}));
  EXPECT_EQ(svc.properties.at("serviceRegistries").as_array()[0].at("registryArn"), "${sd_service.backend.arn}");
  EXPECT_TRUE(svc.ignore_changes.empty());  // no autoscaling in dev
  // The seed's fallback to on-demand: berth's tag on the Spot service.
  EXPECT_TRUE(std::ranges::count(svc.properties.at("tags").as_array(),
                                 bj::value(bj::object{{"key", "berth:spot-fallback"}, {"value", "FARGATE"}})));
  EXPECT_FALSE(r.contains("scalable_target.backend"));

  // The least-privilege task role: one action on one parameter.
  const bj::object& policy = r["iam_role.backend-task"].properties.at("InlinePolicies").at("backend").as_object();
  const bj::object& st = policy.at("Statement").as_array()[0].as_object();
  EXPECT_EQ(st.at("Action"), (bj::array{"ssm:GetParameter"}));
  EXPECT_EQ(st.at("Resource"), (bj::array{"arn:aws:ssm:us-east-1:123456789012:parameter/durableai/dev/greeting"}));
}

TEST(StackRenderTest, ProdScalesTheBackendOnCpuAndLeavesItsCountToAutoscaling) {
  auto r = renderExample("prod");
  EXPECT_EQ(r["ecs_cluster.main"].properties["containerInsights"], "enabled");
  EXPECT_EQ(r["log_group.backend"].properties["retentionInDays"], 30);
  const ResourceSpec& svc = r["ecs_service.backend"];
  EXPECT_EQ(svc.properties.at("desiredCount"), 2);
  EXPECT_EQ(svc.ignore_changes, (std::vector<std::string>{"desiredCount"}));
  // Prod runs on FARGATE: the Spot fallback tag has no place there.
  for (const auto& tag : svc.properties.at("tags").as_array()) EXPECT_NE(tag.at("key"), "berth:spot-fallback");
  const bj::object& target = r["scalable_target.backend"].properties;
  EXPECT_EQ(target.at("ResourceId"), "service/durableai-prod-cluster/durableai-prod-backend");
  EXPECT_EQ(target.at("MinCapacity"), 1);
  EXPECT_EQ(target.at("MaxCapacity"), 4);
  const bj::object& config =
      r["scaling_policy.backend-cpu"].properties.at("TargetTrackingScalingPolicyConfiguration").as_object();
  EXPECT_EQ(config.at("TargetValue"), 60.0);
  EXPECT_EQ(config.at("ScaleOutCooldown"), 120);
  EXPECT_EQ(config.at("ScaleInCooldown"), 300);
  EXPECT_EQ(config.at("PredefinedMetricSpecification").at("PredefinedMetricType"), "ECSServiceAverageCPUUtilization");
}

TEST(StackRenderTest, NamesAndTargets) {
  Environment env;
  env.project = "p";
  env.name = "dev";
  env.region = "eu-west-1";
  EXPECT_EQ(imageUri(env, "p/api", {"1"}), "1.dkr.ecr.eu-west-1.amazonaws.com/p/api:latest");
  EXPECT_EQ(imageUri(env, "p/api:v2", {"1"}), "1.dkr.ecr.eu-west-1.amazonaws.com/p/api:v2");
  EXPECT_EQ(imageUri(env, "public.ecr.aws/nginx/nginx:1.27", {"1"}), "public.ecr.aws/nginx/nginx:1.27");
  EXPECT_EQ(imageUri(env, "localhost:5000/x", {"1"}), "localhost:5000/x");
  EXPECT_EQ(resourceName("/durableai/dev/greeting"), "durableai-dev-greeting");
  Service s;
  s.name = "api";
  s.autoscaling = Autoscaling{60, std::nullopt, 1, 4, 300, 300};
  env.services.push_back(s);
  EXPECT_EQ(targetAddresses(env, "service.api"),
            (std::vector<std::string>{"ecs_service.api", "ecs_task_definition.api", "sd_service.api",
                                      "scalable_target.api", "scaling_policy.api-cpu"}));
  EXPECT_EQ(targetAddresses(env, "log_group.api"), (std::vector<std::string>{"log_group.api"}));
}

}  // namespace
}  // namespace berth::stack
