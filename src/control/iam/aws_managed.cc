#include "control/iam/aws_managed.h"

namespace berth::iam {
namespace {

constexpr AwsManagedPolicy kPolicies[] = {
    {"AdministratorAccess", "/", "Provides full access to AWS services and resources.", "v1", 1423247986, 1423247986,
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"},
    {"AmazonECSTaskExecutionRolePolicy", "/service-role/",
     "Provides access to other AWS service resources that are required to run Amazon ECS tasks", "v1", 1510858102,
     1510858102,
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken",)"
     R"("ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage",)"
     R"("logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]})"},
    {"AmazonSSMReadOnlyAccess", "/", "Provides read only access to Amazon SSM.", "v1", 1432921459, 1432921459,
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:Describe*","ssm:Get*","ssm:List*"],)"
     R"("Resource":"*"}]})"},
    {"AmazonEC2ContainerRegistryReadOnly", "/",
     "Provides read-only access to Amazon EC2 Container Registry repositories.", "v3", 1450717440, 1576011360,
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken",)"
     R"("ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:GetRepositoryPolicy",)"
     R"("ecr:DescribeRepositories","ecr:ListImages","ecr:DescribeImages","ecr:BatchGetImage",)"
     R"("ecr:GetLifecyclePolicy","ecr:GetLifecyclePolicyPreview","ecr:ListTagsForResource",)"
     R"("ecr:DescribeImageScanFindings"],"Resource":"*"}]})"},
    {"CloudWatchLogsFullAccess", "/", "Provides full access to CloudWatch Logs", "v8", 1423248000, 1770919200,
     R"({"Version":"2012-10-17","Statement":[{"Sid":"CloudWatchLogsFullAccess","Effect":"Allow","Action":["logs:*",)"
     R"("cloudwatch:GenerateQuery","cloudwatch:GenerateQueryResultsSummary",)"
     R"("observabilityadmin:GetS3TableIntegration","observabilityadmin:ListS3TableIntegrations",)"
     R"("observabilityadmin:ListTelemetryPipelines"],"Resource":"*"}]})"},
    {"CloudWatchLogsReadOnlyAccess", "/", "Provides read only access to CloudWatch Logs", "v8", 1423248000, 1764693240,
     R"({"Version":"2012-10-17","Statement":[{"Sid":"CloudWatchLogsReadOnlyAccess","Effect":"Allow","Action":[)"
     R"("logs:Describe*","logs:Get*","logs:List*","logs:StartQuery","logs:StopQuery","logs:TestMetricFilter",)"
     R"("logs:FilterLogEvents","logs:StartLiveTail","logs:StopLiveTail","cloudwatch:GenerateQuery",)"
     R"("cloudwatch:GenerateQueryResultsSummary","observabilityadmin:ListS3TableIntegrations",)"
     R"("observabilityadmin:GetS3TableIntegration","observabilityadmin:ListTelemetryPipelines"],"Resource":"*"}]})"},
    {"PowerUserAccess", "/",
     "Provides full access to AWS services and resources, but does not allow management of Users and groups.", "v12",
     1423247940, 1770919140,
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],)"
     R"("Resource":"*"},{"Effect":"Allow","Action":["account:GetAccountInformation",)"
     R"("account:GetGovCloudAccountInformation","account:GetPrimaryEmail","account:ListRegions",)"
     R"("iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles",)"
     R"("organizations:DescribeEffectivePolicy","organizations:DescribeOrganization"],"Resource":"*"}]})"},
    {"AWSLambdaBasicExecutionRole", "/service-role/", "Provides write permissions to CloudWatch Logs.", "v1",
     1428591780, 1428591780,
     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup",)"
     R"("logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]})"},
};

}  // namespace

std::span<const AwsManagedPolicy> awsManagedPolicies() { return kPolicies; }

}  // namespace berth::iam
