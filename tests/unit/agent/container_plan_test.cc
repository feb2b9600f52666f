// Spec generation: Docker's argv rules, the environment's precedence, ECS's
// defaults and bounds, dependsOn ordering.
#include "agent/container_plan.h"

#include <csignal>

#include <gtest/gtest.h>

#include "common/json.h"

namespace berth::agent {
namespace {

namespace bj = boost::json;

bj::object definition(bj::array containers) {
  return bj::object{{"cpu", "512"}, {"memory", "1024"}, {"containerDefinitions", std::move(containers)}};
}

image::ImageConfig imageConfig() {
  image::ImageConfig c;
  c.entrypoint = {"/entry"};
  c.cmd = {"serve", "--port", "80"};
  c.env = {"PATH=/usr/bin", "MODE=image", "KEEP=1"};
  c.working_dir = "/app";
  c.user = "nobody";
  return c;
}

TEST(ContainerPlanTest, ArgvFollowsDockersOverrideRules) {
  image::ImageConfig image = imageConfig();
  ContainerPlan plan;
  EXPECT_EQ(containerArgv(plan, image), (std::vector<std::string>{"/entry", "serve", "--port", "80"}));
  plan.command = std::vector<std::string>{"worker"};
  EXPECT_EQ(containerArgv(plan, image), (std::vector<std::string>{"/entry", "worker"}));
  plan.command.reset();
  plan.entry_point = std::vector<std::string>{"/bin/sh", "-c"};
  EXPECT_EQ(containerArgv(plan, image), (std::vector<std::string>{"/bin/sh", "-c"}))
      << "an entryPoint override resets the image's Cmd";
  plan.command = std::vector<std::string>{"echo hi"};
  EXPECT_EQ(containerArgv(plan, image), (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
}

TEST(ContainerPlanTest, RunTaskOverridesReplaceCommandAndAddEnvironment) {
  bj::object def{{"name", "app"},
                 {"image", "app:1"},
                 {"command", bj::array{"serve"}},
                 {"environment", bj::array{bj::object{{"name", "MODE"}, {"value", "def"}},
                                           bj::object{{"name", "AWS_REGION"}, {"value", "eu-west-1"}}}}};
  bj::object overrides{{"containerOverrides",
                        bj::array{bj::object{{"name", "app"},
                                             {"command", bj::array{"migrate"}},
                                             {"environment", bj::array{bj::object{{"name", "EXTRA"}, {"value", "x"}}}},
                                             {"memory", 256}}}},
                       {"cpu", "1024"},
                       {"taskRoleArn", "arn:aws:iam::123456789012:role/app"}};
  auto plan = planTask(definition(bj::array{def}), overrides);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->cpu_units, 1024);
  EXPECT_EQ(plan->memory_mib, 1024);
  const ContainerPlan& c = plan->containers[0];
  EXPECT_EQ(c.command, (std::vector<std::string>{"migrate"}));
  EXPECT_EQ(c.memory_mib, 256);

  ASSERT_TRUE(plan->has_task_role);
  TaskContext ctx{"abc", "us-east-1", "", "169.254.170.2", "0f6e-id"};
  auto env = containerEnv(c, imageConfig(), ctx);
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/usr/bin", "MODE=def", "KEEP=1", "AWS_REGION=eu-west-1",
                                           "AWS_DEFAULT_REGION=us-east-1", "AWS_EXECUTION_ENV=AWS_ECS_FARGATE",
                                           "EXTRA=x", "ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/abc-app",
                                           "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/abc-app",
                                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/0f6e-id"}));
}

TEST(ContainerPlanTest, DefaultsAndBoundsAreAwsS) {
  bj::object def{{"name", "app"},
                 {"image", "app:1"},
                 {"stopTimeout", 500},
                 {"readonlyRootFilesystem", true},
                 {"user", "1000"},
                 {"workingDirectory", "/w"},
                 {"linuxParameters", bj::object{{"initProcessEnabled", true}}},
                 {"ulimits", bj::array{bj::object{{"name", "nproc"}, {"softLimit", 10}, {"hardLimit", 20}}}},
                 {"healthCheck", bj::object{{"command", bj::array{"CMD", "/check", "-v"}}, {"interval", 1}}}};
  auto plan = planTask(definition(bj::array{def}), {});
  ASSERT_TRUE(plan);
  const ContainerPlan& c = plan->containers[0];
  EXPECT_TRUE(c.essential);
  EXPECT_EQ(c.stop_timeout, std::chrono::seconds(120));
  ASSERT_TRUE(c.health_check);
  EXPECT_EQ(c.health_check->interval, std::chrono::seconds(5));
  EXPECT_EQ(c.health_check->timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.health_check->retries, 3);
  EXPECT_EQ(c.health_check->start_period, std::chrono::seconds(0));
  EXPECT_EQ(c.health_check->argv(), (std::vector<std::string>{"/check", "-v"}));
  ASSERT_EQ(c.ulimits.size(), 2u);
  EXPECT_EQ(c.ulimits[1].name, "nofile");
  EXPECT_EQ(c.ulimits[1].soft, 65535u);

  runtime::ContainerConfig config = containerConfig(c, imageConfig(), TaskContext{"abc", "us-east-1"});
  EXPECT_EQ(config.runtime_id, "abc-app");
  EXPECT_EQ(config.cwd, "/w");
  EXPECT_EQ(config.user, "1000");
  EXPECT_TRUE(config.read_only_rootfs);
  EXPECT_TRUE(config.init_process_enabled);
  for (const auto& e : config.env) EXPECT_FALSE(e.starts_with("AWS_CONTAINER_CREDENTIALS")) << "no task role";

  bj::object plain{{"name", "app"}, {"image", "app:1"}};
  EXPECT_EQ(planTask(definition(bj::array{plain}), {})->containers[0].stop_timeout, std::chrono::seconds(30));
}

TEST(ContainerPlanTest, StartOrderPutsDependenciesFirstAndRejectsCycles) {
  auto dep = [](const char* name, const char* on) {
    return bj::object{{"name", name},
                      {"image", "x"},
                      {"dependsOn", bj::array{bj::object{{"containerName", on}, {"condition", "START"}}}}};
  };
  bj::object base{{"name", "db"}, {"image", "x"}};
  auto plan = planTask(definition(bj::array{dep("web", "api"), dep("api", "db"), base}), {});
  ASSERT_TRUE(plan);
  EXPECT_EQ(startOrder(*plan), (std::vector<size_t>{2, 1, 0}));
  EXPECT_FALSE(planTask(definition(bj::array{dep("a", "b"), dep("b", "a")}), {}));
  EXPECT_FALSE(planTask(definition(bj::array{dep("a", "zzz")}), {}));
  EXPECT_FALSE(planTask(definition(bj::array{}), {}));
}

TEST(ContainerPlanTest, StopSignalsParseLikeDockers) {
  EXPECT_EQ(parseStopSignal("SIGQUIT"), SIGQUIT);
  EXPECT_EQ(parseStopSignal("quit"), SIGQUIT);
  EXPECT_EQ(parseStopSignal("2"), 2);
  EXPECT_EQ(parseStopSignal(""), SIGTERM);
  EXPECT_EQ(parseStopSignal("SIGNOPE"), SIGTERM);
}

TEST(ContainerPlanTest, CmdShellHealthCheckRunsThroughTheShell) {
  HealthCheckSpec spec;
  spec.command = {"CMD-SHELL", "curl -f http://localhost/ || exit 1"};
  EXPECT_EQ(spec.argv(), (std::vector<std::string>{"/bin/sh", "-c", "curl -f http://localhost/ || exit 1"}));
}

}  // namespace
}  // namespace berth::agent
