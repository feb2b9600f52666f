#include "api/authorization.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

namespace bj = boost::json;

IamRequest describe(std::string_view service, std::string_view operation, std::string_view input) {
  const aws::ServiceModel* model = aws::ServiceModel::byId(service);
  EXPECT_NE(model, nullptr) << service;
  const aws::OperationModel* op = model->operation(operation);
  EXPECT_NE(op, nullptr) << operation;
  return describeIamRequest(*model, *op, bj::parse(input).as_object(), "eu-west-1", "123456789012");
}

TEST(AuthorizationTest, EcsActionsNameTheirResourcesAndCluster) {
  auto run = describe("ecs", "RunTask", R"({"cluster":"prod","taskDefinition":"web:3"})");
  EXPECT_EQ(run.action, "ecs:RunTask");
  EXPECT_EQ(run.resources, std::vector<std::string>{"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"});
  ASSERT_EQ(run.keys.size(), 1u);
  EXPECT_EQ(run.keys[0].first, "ecs:cluster");
  EXPECT_EQ(run.keys[0].second, "arn:aws:ecs:eu-west-1:123456789012:cluster/prod");
  // A family alone: any revision's ARN.
  EXPECT_EQ(describe("ecs", "RunTask", R"({"taskDefinition":"web"})").resources[0],
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:*");

  auto services = describe("ecs", "DescribeServices", R"({"services":["a","arn:aws:ecs:x:1:service/c/b"]})");
  EXPECT_EQ(services.resources, (std::vector<std::string>{"arn:aws:ecs:eu-west-1:123456789012:service/default/a",
                                                          "arn:aws:ecs:x:1:service/c/b"}));
  auto stop =
      describe("ecs", "StopTask", R"({"cluster":"arn:aws:ecs:eu-west-1:123456789012:cluster/dev","task":"abc"})");
  EXPECT_EQ(stop.resources[0], "arn:aws:ecs:eu-west-1:123456789012:task/dev/abc");
  EXPECT_EQ(describe("ecs", "ListTasks", "{}").resources[0], "arn:aws:ecs:eu-west-1:123456789012:cluster/default");
  EXPECT_EQ(describe("ecs", "CreateCluster", R"({"clusterName":"x"})").resources[0],
            "arn:aws:ecs:eu-west-1:123456789012:cluster/x");
  EXPECT_EQ(describe("ecs", "RegisterTaskDefinition", R"({"family":"x","containerDefinitions":[]})").resources[0], "*");
  EXPECT_EQ(describe("ecs", "TagResource", R"({"resourceArn":"arn:aws:ecs:a:b:cluster/q","tags":[]})").resources[0],
            "arn:aws:ecs:a:b:cluster/q");
}

TEST(AuthorizationTest, LogsEcrSsmIamAndStsResources) {
  EXPECT_EQ(describe("logs", "PutLogEvents", R"({"logGroupName":"/ecs/x","logStreamName":"s/1","logEvents":[]})")
                .resources[0],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/x:log-stream:s/1");
  EXPECT_EQ(describe("logs", "CreateLogGroup", R"({"logGroupName":"/ecs/x"})").resources[0],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/x");
  EXPECT_EQ(describe("logs", "DescribeLogGroups", "{}").resources[0], "*");
  EXPECT_EQ(describe("ecr", "BatchGetImage", R"({"repositoryName":"app","imageIds":[]})").resources[0],
            "arn:aws:ecr:eu-west-1:123456789012:repository/app");
  EXPECT_EQ(describe("ecr", "GetAuthorizationToken", "{}").resources[0], "*");

  EXPECT_EQ(describe("ssm", "GetParameter", R"({"Name":"/durableai/dev/db-url:3"})").resources[0],
            "arn:aws:ssm:eu-west-1:123456789012:parameter/durableai/dev/db-url");
  EXPECT_EQ(describe("ssm", "GetParameter", R"({"Name":"arn:aws:ssm:eu-west-1:123456789012:parameter/x/y:label"})")
                .resources[0],
            "arn:aws:ssm:eu-west-1:123456789012:parameter/x/y");
  auto many = describe("ssm", "GetParameters", R"({"Names":["a","/b/c"]})");
  EXPECT_EQ(many.resources, (std::vector<std::string>{"arn:aws:ssm:eu-west-1:123456789012:parameter/a",
                                                      "arn:aws:ssm:eu-west-1:123456789012:parameter/b/c"}));
  EXPECT_EQ(describe("ssm", "GetParametersByPath", R"({"Path":"/durableai/dev/"})").resources[0],
            "arn:aws:ssm:eu-west-1:123456789012:parameter/durableai/dev");

  auto attach = describe("iam", "AttachRolePolicy", R"({"RoleName":"r","PolicyArn":"arn:aws:iam::aws:policy/P"})");
  EXPECT_EQ(attach.action, "iam:AttachRolePolicy");
  EXPECT_EQ(attach.resources,
            (std::vector<std::string>{"arn:aws:iam::aws:policy/P", "arn:aws:iam::123456789012:role/r"}));
  EXPECT_EQ(describe("iam", "ListRoles", "{}").resources[0], "*");
  EXPECT_EQ(describe("sts", "AssumeRole", R"({"RoleArn":"arn:aws:iam::1:role/x","RoleSessionName":"s"})").resources[0],
            "arn:aws:iam::1:role/x");
}

TEST(AuthorizationTest, KmsKeyOperationsAreLeftToKmsAndCloudWatchUsesItsOwnPrefix) {
  EXPECT_TRUE(describe("kms", "Encrypt", R"({"KeyId":"alias/app","Plaintext":"eA=="})").deferred);
  EXPECT_TRUE(describe("kms", "Decrypt", R"({"CiphertextBlob":"eA=="})").deferred);
  EXPECT_FALSE(describe("kms", "ListKeys", "{}").deferred);
  EXPECT_FALSE(describe("ecs", "ListClusters", "{}").deferred);
  EXPECT_EQ(describe("monitoring", "ListMetrics", "{}").action, "cloudwatch:ListMetrics");
}

}  // namespace
}  // namespace berth::api
