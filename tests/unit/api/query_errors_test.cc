// How the front door writes errors for the Query services (IAM, STS): the
// model's error codes and statuses, AccessDenied as 403, and the signature
// errors under their Query names.
#include <string>

#include <gtest/gtest.h>

#include "api/front_door.h"
#include "aws/model.h"

namespace berth::api {
namespace {

struct Wire {
  unsigned status;
  std::string body;
};

Wire write(std::string_view model_id, aws::Protocol protocol, Error e) {
  const aws::ServiceModel* model = aws::ServiceModel::byId(model_id);
  EXPECT_NE(model, nullptr) << model_id;
  http::Response r = errorResponse(protocol, model, e, "req-1");
  return {r.result_int(), r.body()};
}

TEST(QueryErrorsTest, ModelledErrorsUseTheirCodeAndStatus) {
  Wire w = write("iam", aws::Protocol::kQuery,
                 Error{ErrorCode::kNotFound, "The role with name x cannot be found.", "NoSuchEntityException", 0});
  EXPECT_EQ(w.status, 404u);
  EXPECT_NE(w.body.find("<Code>NoSuchEntity</Code>"), std::string::npos) << w.body;
  EXPECT_NE(w.body.find("<Type>Sender</Type>"), std::string::npos);
  w = write("iam", aws::Protocol::kQuery,
            Error{ErrorCode::kFailedPrecondition, "Cannot delete", "DeleteConflictException", 0});
  EXPECT_EQ(w.status, 409u);
  EXPECT_NE(w.body.find("<Code>DeleteConflict</Code>"), std::string::npos);
  w = write("iam", aws::Protocol::kQuery, Error{ErrorCode::kInvalidArgument, "bad", "ValidationError", 0});
  EXPECT_EQ(w.status, 400u);
  EXPECT_NE(w.body.find("<Code>ValidationError</Code>"), std::string::npos);
}

TEST(QueryErrorsTest, AccessDeniedIs403) {
  Wire w = write("sts", aws::Protocol::kQuery, Error{ErrorCode::kPermissionDenied, "User: x", "AccessDenied", 0});
  EXPECT_EQ(w.status, 403u);
  EXPECT_NE(w.body.find("<Code>AccessDenied</Code>"), std::string::npos);
  w = write("iam", aws::Protocol::kQuery, Error{ErrorCode::kPermissionDenied, "User: x", "AccessDeniedException", 0});
  EXPECT_EQ(w.status, 403u);
  EXPECT_NE(w.body.find("<Code>AccessDenied</Code>"), std::string::npos);
}

TEST(QueryErrorsTest, SignatureErrorsUseQueryNames) {
  Wire w = write("sts", aws::Protocol::kQuery,
                 Error{ErrorCode::kUnauthenticated, "The security token included in the request is expired",
                       "ExpiredTokenException", 0});
  EXPECT_EQ(w.status, 403u);
  EXPECT_NE(w.body.find("<Code>ExpiredToken</Code>"), std::string::npos) << w.body;
  w = write("iam", aws::Protocol::kQuery,
            Error{ErrorCode::kUnauthenticated, "The security token included in the request is invalid.",
                  "UnrecognizedClientException", 0});
  EXPECT_EQ(w.status, 403u);
  EXPECT_NE(w.body.find("<Code>InvalidClientTokenId</Code>"), std::string::npos);
  // A JSON service answers 400 ExpiredTokenException.
  w = write("ecs", aws::Protocol::kJson,
            Error{ErrorCode::kUnauthenticated, "The security token included in the request is expired",
                  "ExpiredTokenException", 0});
  EXPECT_EQ(w.status, 400u);
  EXPECT_NE(w.body.find("ExpiredTokenException"), std::string::npos);
}

}  // namespace
}  // namespace berth::api
