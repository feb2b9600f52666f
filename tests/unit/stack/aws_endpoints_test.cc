// AWS mode's endpoint map (stack::awsServiceEndpoint), checked against
// botocore's endpoints.json for the aws partition.
#include <gtest/gtest.h>

#include "stack/aws_api.h"

namespace berth::stack {
namespace {

TEST(AwsServiceEndpointTest, RegionalServices) {
  struct Case {
    const char* service;
    const char* host;
  };
  for (auto [service, host] :
       {Case{"ecs", "ecs.eu-west-1.amazonaws.com"}, Case{"ecr", "api.ecr.eu-west-1.amazonaws.com"},
        Case{"logs", "logs.eu-west-1.amazonaws.com"}, Case{"ssm", "ssm.eu-west-1.amazonaws.com"},
        Case{"servicediscovery", "servicediscovery.eu-west-1.amazonaws.com"},
        Case{"application-autoscaling", "application-autoscaling.eu-west-1.amazonaws.com"},
        Case{"monitoring", "monitoring.eu-west-1.amazonaws.com"}, Case{"sts", "sts.eu-west-1.amazonaws.com"},
        Case{"ec2", "ec2.eu-west-1.amazonaws.com"}}) {
    auto e = awsServiceEndpoint(service, "eu-west-1");
    ASSERT_TRUE(e) << service << ": " << e.error().message;
    EXPECT_EQ(e->endpoint.host, host) << service;
    EXPECT_EQ(e->endpoint.port, "443");
    EXPECT_TRUE(e->endpoint.tls);
    EXPECT_EQ(e->endpoint.authority(), host);
    EXPECT_EQ(e->signing_region, "eu-west-1") << service;
  }
}

TEST(AwsServiceEndpointTest, IamIsGlobalAndSignedForUsEast1) {
  auto e = awsServiceEndpoint("iam", "ap-southeast-2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->endpoint.url(), "https://iam.amazonaws.com");
  EXPECT_EQ(e->signing_region, "us-east-1");
  EXPECT_EQ(signingRegion("iam", "eu-west-1"), "us-east-1");
  EXPECT_EQ(signingRegion("ecs", "eu-west-1"), "eu-west-1");
}

TEST(AwsServiceEndpointTest, RefusesUnknownServicesRegionsAndPartitions) {
  EXPECT_FALSE(awsServiceEndpoint("s3", "us-east-1"));
  EXPECT_FALSE(awsServiceEndpoint("ecs", ""));
  EXPECT_FALSE(awsServiceEndpoint("ecs", "evil.example.com/"));
  EXPECT_FALSE(awsServiceEndpoint("ecs", "EU-WEST-1"));
  auto china = awsServiceEndpoint("ecs", "cn-north-1");
  ASSERT_FALSE(china);
  EXPECT_NE(china.error().message.find("only the aws partition"), std::string::npos);
  EXPECT_FALSE(awsServiceEndpoint("iam", "us-gov-west-1"));
}

}  // namespace
}  // namespace berth::stack
