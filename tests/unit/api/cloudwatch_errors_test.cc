// How the front door writes CloudWatch's errors: the model's shape name as
// __type in JSON 1.0 with the Query code in x-amzn-query-error (the model
// is awsQueryCompatible, and new SDKs report that code), and the Query code
// and status in XML.
#include <string>

#include <gtest/gtest.h>

#include "api/front_door.h"
#include "aws/model.h"
#include "control/cloudwatch/errors.h"

namespace berth::api {
namespace {

http::Response write(aws::Protocol protocol, const Error& e) {
  const aws::ServiceModel* model = aws::ServiceModel::byId("monitoring");
  EXPECT_NE(model, nullptr);
  return errorResponse(protocol, model, e, "req-1");
}

TEST(CloudWatchWireErrorsTest, JsonCarriesTheQueryCode) {
  http::Response r = write(aws::Protocol::kJson, cloudwatch::invalidParameterValue("bad").error());
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_NE(r.body().find(R"("__type":"InvalidParameterValueException")"), std::string::npos) << r.body();
  EXPECT_EQ(r["x-amzn-query-error"], "InvalidParameterValue;Sender");
  r = write(aws::Protocol::kJson, cloudwatch::alarmNotFound("gone").error());
  EXPECT_EQ(r.result_int(), 404u);
  EXPECT_EQ(r["x-amzn-query-error"], "ResourceNotFound;Sender");
  r = write(aws::Protocol::kJson, cloudwatch::missingParameter("x").error());
  EXPECT_EQ(r["x-amzn-query-error"], "MissingParameter;Sender");
}

TEST(CloudWatchWireErrorsTest, QueryUsesTheCode) {
  http::Response r = write(aws::Protocol::kQuery, cloudwatch::invalidParameterCombination("both").error());
  EXPECT_EQ(r.result_int(), 400u);
  EXPECT_NE(r.body().find("<Code>InvalidParameterCombination</Code>"), std::string::npos) << r.body();
  r = write(aws::Protocol::kQuery, cloudwatch::limitExceeded("many").error());
  EXPECT_NE(r.body().find("<Code>LimitExceeded</Code>"), std::string::npos) << r.body();
}

TEST(CloudWatchWireErrorsTest, OtherJsonServicesHaveNoQueryHeader) {
  const aws::ServiceModel* ecs = aws::ServiceModel::byId("ecs");
  http::Response r =
      errorResponse(aws::Protocol::kJson, ecs, Error{ErrorCode::kNotFound, "x", "ClusterNotFoundException"}, "req-1");
  EXPECT_EQ(r.find("x-amzn-query-error"), r.end());
}

}  // namespace
}  // namespace berth::api
