// The Terraform export: the files it writes for the seed's stack, the
// resources in them, placeholders turned into references, and HCL's string
// escapes (tests/integration/test_export.py parses the same output with a
// real HCL parser).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "stack/export.h"
#include "stack/hcl.h"
#include "stack/stack_file.h"

namespace berth::stack {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

StackFile example() {
  std::string path =
      std::string(getenv("BERTH_SOURCE_DIR") ? getenv("BERTH_SOURCE_DIR") : ".") + "/examples/durableai/berth.yaml";
  auto file = loadStackFile(path);
  EXPECT_TRUE(file) << (file ? "" : file.error().message);
  return file ? *file : StackFile{};
}

std::map<std::string, std::string> exported(const StackFile& file, const std::vector<std::string>& envs = {}) {
  auto files = exportTerraform(file, envs);
  EXPECT_TRUE(files) << (files ? "" : files.error().message);
  std::map<std::string, std::string> out;
  if (files)
    for (const auto& f : *files) out[f.path] = f.content;
  return out;
}

std::vector<std::string> paths(const StackFile& file, const std::vector<std::string>& envs) {
  std::vector<std::string> out;
  auto files = exportTerraform(file, envs);
  EXPECT_TRUE(files) << (files ? "" : files.error().message);
  if (files)
    for (const auto& f : *files) out.push_back(f.path);
  return out;
}

TEST(TerraformExportTest, WritesTheModuleAndOneTfvarsPerEnvironment) {
  StackFile file = example();
  EXPECT_THAT(paths(file, {}), ElementsAre("main.tf", "variables.tf", "outputs.tf", "environments/dev.tfvars",
                                           "environments/prod.tfvars"));
  EXPECT_THAT(paths(file, {"prod", "prod"}),
              ElementsAre("main.tf", "variables.tf", "outputs.tf", "environments/prod.tfvars"));
  // The module is the same whichever environments are written.
  EXPECT_EQ(exported(file, {"prod"})["main.tf"], exported(file)["main.tf"]);
}

TEST(TerraformExportTest, UnknownEnvironmentIsNotFound) {
  auto files = exportTerraform(example(), {"dev", "staging"});
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(files.error().message, HasSubstr("staging"));
}

TEST(TerraformExportTest, MainHasTheSeedsResources) {
  std::string main = exported(example())["main.tf"];
  for (std::string_view block : {
           R"(resource "aws_ecs_cluster" "main" {)",
           R"(resource "aws_ecs_cluster_capacity_providers" "main" {)",
           R"(resource "aws_ecs_service" "backend" {)",
           R"(resource "aws_ecs_service" "frontend" {)",
           R"(resource "aws_ecs_task_definition" "backend" {)",
           R"(resource "aws_cloudwatch_log_group" "frontend" {)",
           R"(resource "aws_iam_role" "execution" {)",
           R"(resource "aws_iam_role_policy_attachment" "execution" {)",
           R"(resource "aws_iam_role" "backend_task" {)",
           R"(resource "aws_iam_role_policy" "backend_task" {)",
           R"(resource "aws_ecr_repository" "durableai_backend" {)",
           R"(resource "aws_ssm_parameter" "parameters" {)",
           R"(resource "aws_service_discovery_private_dns_namespace" "main" {)",
           R"(resource "aws_service_discovery_service" "backend" {)",
           R"(resource "aws_appautoscaling_target" "backend" {)",
           R"(resource "aws_appautoscaling_policy" "backend_cpu" {)",
           R"(resource "aws_security_group" "tasks" {)",
           R"(data "aws_caller_identity" "current" {})",
           R"(provider "aws" {)",
       })
    EXPECT_THAT(main, HasSubstr(block));
  // No environment sets a memory target: no memory policy.
  EXPECT_THAT(main, Not(HasSubstr("backend_memory")));
  // The frontend has no task role policy.
  EXPECT_THAT(main, Not(HasSubstr("frontend_task")));
  EXPECT_THAT(main, HasSubstr("version = \"~> 5.0\""));
  EXPECT_THAT(main, HasSubstr("count              = var.backend.autoscaling == null ? 0 : 1"));
  EXPECT_THAT(main, HasSubstr("try(var.backend.autoscaling.cpu_target, null) == null ? 0 : 1"));
  EXPECT_THAT(main, HasSubstr("ignore_changes = [desired_count]"));
}

TEST(TerraformExportTest, PlaceholdersBecomeReferences) {
  std::string main = exported(example())["main.tf"];
  EXPECT_THAT(main, HasSubstr("\"arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/"
                              "durableai/${var.environment}/greeting\""));
  EXPECT_THAT(main, HasSubstr("name              = \"/ecs/${var.project}-${var.environment}/backend\""));
  EXPECT_THAT(main, HasSubstr("family                   = \"${var.project}-${var.environment}-backend\""));
  EXPECT_THAT(main, HasSubstr("name               = \"${var.project}-${var.environment}-execution\""));
  EXPECT_THAT(main, HasSubstr("replace(var.backend.image, \"$${account}\", "
                              "data.aws_caller_identity.current.account_id)"));
  EXPECT_THAT(main, Not(HasSubstr("${env}")));
  EXPECT_THAT(main, Not(HasSubstr("durableai-dev")));
}

TEST(TerraformExportTest, TfvarsHoldEachEnvironmentsValues) {
  auto files = exported(example());
  const std::string& dev = files["environments/dev.tfvars"];
  const std::string& prod = files["environments/prod.tfvars"];
  EXPECT_THAT(dev, HasSubstr("environment        = \"dev\""));
  EXPECT_THAT(dev, HasSubstr("log_retention_days = 7\n"));
  EXPECT_THAT(prod, HasSubstr("log_retention_days = 30\n"));
  EXPECT_THAT(dev, HasSubstr("capacity_provider = \"FARGATE_SPOT\""));
  EXPECT_THAT(dev, HasSubstr("autoscaling = null"));
  EXPECT_THAT(prod, HasSubstr("cpu_target         = 60\n"));
  EXPECT_THAT(prod, HasSubstr("\"/durableai/prod/greeting\" = {"));
  // The account survives as a literal placeholder the module replaces.
  EXPECT_THAT(
      prod, HasSubstr("image             = \"$${account}.dkr.ecr.us-east-1.amazonaws.com/durableai/backend:latest\""));
  EXPECT_THAT(dev, HasSubstr("# vpc_id     = "));
  EXPECT_THAT(dev, Not(HasSubstr("\nvpc_id")));
  EXPECT_THAT(files["variables.tf"], HasSubstr("sensitive = true"));
}

TEST(TerraformExportTest, StringsAreEscaped) {
  auto file = parseStackFile(
      "project: demo\n"
      "services:\n"
      "  web:\n"
      "    image: demo/web\n"
      "    port: 80\n"
      "    environment:\n"
      "      ODD: 'a\\b \"q\" %{x} $x ${env}'\n"
      "environments:\n"
      "  dev:\n",
      "f.yaml");
  ASSERT_TRUE(file) << file.error().message;
  auto files = exported(*file);
  EXPECT_THAT(files["environments/dev.tfvars"], HasSubstr(R"(ODD = "a\\b \"q\" %%{x} $x dev")"));
  // No parameters, none secret.
  EXPECT_THAT(files["variables.tf"], Not(HasSubstr("sensitive")));
  EXPECT_THAT(files["main.tf"], Not(HasSubstr("aws_ssm_parameter")));
}

TEST(TerraformHclTest, Escape) {
  EXPECT_EQ(hcl::escape("plain"), "plain");
  EXPECT_EQ(hcl::escape("a\\b"), "a\\\\b");
  EXPECT_EQ(hcl::escape("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(hcl::escape("1\n2\r\t"), "1\\n2\\r\\t");
  EXPECT_EQ(hcl::escape("${x} %{if} $ % $x %y"), "$${x} %%{if} $ % $x %y");
  EXPECT_EQ(hcl::escape(std::string_view("\x01\x7f", 2)), "\\u0001\\u007F");
  EXPECT_EQ(hcl::escape("héllo"), "héllo");
  EXPECT_EQ(hcl::quote("${account}"), "\"$${account}\"");
}

TEST(TerraformHclTest, IdentifiersAndKeys) {
  EXPECT_EQ(hcl::identifier("backend"), "backend");
  EXPECT_EQ(hcl::identifier("durableai/backend"), "durableai_backend");
  EXPECT_EQ(hcl::identifier("my-svc.v2"), "my-svc_v2");
  EXPECT_EQ(hcl::identifier("9lives"), "_9lives");
  EXPECT_EQ(hcl::identifier(""), "_");
  EXPECT_EQ(hcl::objectKey("APP_ENV"), "APP_ENV");
  EXPECT_EQ(hcl::objectKey("awslogs-group"), "\"awslogs-group\"");
  EXPECT_EQ(hcl::objectKey("/a/b"), "\"/a/b\"");
  EXPECT_EQ(hcl::objectKey("null"), "\"null\"");
}

TEST(TerraformHclTest, LayoutIsTerraformFmts) {
  hcl::Body inner;
  inner.attribute("a", hcl::Value::number(1));
  hcl::Body body;
  body.attribute("name", hcl::Value::string("x"));
  body.attribute("long_name", hcl::Value::list({hcl::Value::string("a"), hcl::Value::boolean(true)}));
  body.attribute("map", hcl::Value::object({{"k", hcl::Value::null()}, {"key-2", hcl::Value::number(2.5)}}));
  body.attribute("after", hcl::Value::expr("var.x"));
  body.block("nested", {}, std::move(inner));
  hcl::Body top;
  top.block("resource", {"aws_thing", "main"}, std::move(body));
  top.block("data", {"aws_caller_identity", "current"}, hcl::Body());
  EXPECT_EQ(top.render(),
            "resource \"aws_thing\" \"main\" {\n"
            "  name      = \"x\"\n"
            "  long_name = [\"a\", true]\n"
            "  map       = {\n"
            "    k       = null\n"
            "    \"key-2\" = 2.5\n"
            "  }\n"
            "  after = var.x\n"
            "\n"
            "  nested {\n"
            "    a = 1\n"
            "  }\n"
            "}\n"
            "\n"
            "data \"aws_caller_identity\" \"current\" {}\n");
}

}  // namespace
}  // namespace berth::stack
