#include "daemon/iam_authorizer.h"

#include <gtest/gtest.h>

#include "control/iam/iam.h"
#include "store/store.h"

namespace berth::daemon {
namespace {

namespace bj = boost::json;

constexpr std::string_view kAccount = "000000000000";

class IamAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(iam_.load()); }

  bj::object call(std::string_view op, const bj::object& input) {
    iam::Caller root{"arn:aws:iam::000000000000:root", std::string(kAccount), "AKIAROOT", {}};
    auto out = iam_.invoke(op, input, root);
    EXPECT_TRUE(out) << op << ": " << (out ? "" : out.error().message);
    return out && out->is_object() ? out->as_object() : bj::object{};
  }

  // A user with `policy` inline and its access key's identity.
  aws::VerifiedIdentity user(const std::string& name, const std::string& policy) {
    call("CreateUser", {{"UserName", name}, {"Tags", bj::array{bj::object{{"Key", "team"}, {"Value", "blue"}}}}});
    call("PutUserPolicy", {{"UserName", name}, {"PolicyName", "p"}, {"PolicyDocument", policy}});
    bj::object key = call("CreateAccessKey", {{"UserName", name}});
    const bj::object& k = key.at("AccessKey").as_object();
    return aws::VerifiedIdentity{std::string(k.at("AccessKeyId").as_string()), std::string(kAccount),
                                 "arn:aws:iam::000000000000:user/" + name, "us-east-1", "ecs"};
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  FakeClock clock_;
  iam::Iam iam_{iam::IamConfig{std::string(kAccount)}, *store_, clock_};
  IamAuthorizer authorizer_{iam_.identityView(), "AKIAROOT", clock_};
};

TEST_F(IamAuthorizerTest, RootIsNeverChecked) {
  aws::VerifiedIdentity root{"AKIAROOT", std::string(kAccount), "arn:aws:iam::000000000000:root", "us-east-1", "ecs"};
  EXPECT_FALSE(authorizer_.forCaller(root, "us-east-1").check);
}

TEST_F(IamAuthorizerTest, DescribeOnlyUserIsRefusedWithAwsWording) {
  auto alice = user("alice", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"},
    {"Effect":"Deny","Action":"ecs:DescribeTasks","Resource":"arn:aws:ecs:*:*:task/secret/*"}]})");
  api::PermissionCheck check = authorizer_.forCaller(alice, "us-east-1").check;
  ASSERT_TRUE(check);
  EXPECT_TRUE(check("ecs:DescribeServices", "arn:aws:ecs:us-east-1:000000000000:service/c/s", {}));

  auto run = check("ecs:RunTask", "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1", {});
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(run.error().message,
            "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: ecs:RunTask on resource: "
            "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1 because no identity-based policy allows the "
            "ecs:RunTask action");

  auto denied = check("ecs:DescribeTasks", "arn:aws:ecs:us-east-1:000000000000:task/secret/abc", {});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().message,
            "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: ecs:DescribeTasks on resource: "
            "arn:aws:ecs:us-east-1:000000000000:task/secret/abc with an explicit deny in an identity-based policy");
}

TEST_F(IamAuthorizerTest, GlobalAndServiceConditionKeys) {
  auto bob = user("bob", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ecs:RunTask","Resource":"*",
     "Condition":{"ArnEquals":{"ecs:cluster":"arn:aws:ecs:us-east-1:000000000000:cluster/dev"},
                  "StringEquals":{"aws:RequestedRegion":"us-east-1","aws:PrincipalTag/team":"blue",
                                  "aws:username":"bob"}}}]})");
  api::PermissionCheck check = authorizer_.forCaller(bob, "us-east-1").check;
  ASSERT_TRUE(check);
  api::ServiceKeys dev{{"ecs:cluster", "arn:aws:ecs:us-east-1:000000000000:cluster/dev"}};
  api::ServiceKeys prod{{"ecs:cluster", "arn:aws:ecs:us-east-1:000000000000:cluster/prod"}};
  EXPECT_TRUE(check("ecs:RunTask", "*", dev));
  EXPECT_FALSE(check("ecs:RunTask", "*", prod));
  EXPECT_FALSE(check("ecs:RunTask", "*", {}));  // no cluster key: ArnEquals cannot hold
  EXPECT_FALSE(authorizer_.forCaller(bob, "eu-west-1").check("ecs:RunTask", "*", dev));
}

TEST_F(IamAuthorizerTest, ADeletedKeyIsRefusedAndChangesApplyToTheNextCall) {
  auto carol = user("carol", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ecs:List*","Resource":"*"}]})");
  EXPECT_TRUE(authorizer_.forCaller(carol, "us-east-1").check("ecs:ListTasks", "*", {}));
  call("PutUserPolicy",
       {{"UserName", "carol"}, {"PolicyName", "p"}, {"PolicyDocument", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Deny","Action":"ecs:*","Resource":"*"}]})"}});
  EXPECT_FALSE(authorizer_.forCaller(carol, "us-east-1").check("ecs:ListTasks", "*", {}));
  call("DeleteAccessKey", {{"UserName", "carol"}, {"AccessKeyId", carol.access_key_id}});
  api::PermissionCheck gone = authorizer_.forCaller(carol, "us-east-1").check;
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone("ecs:ListTasks", "*", {}));
}

TEST_F(IamAuthorizerTest, PoliciesOnResourceTagsAskForThemAndUseThem) {
  auto dave = user("dave", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ecs:StopTask","Resource":"*"},
    {"Effect":"Deny","Action":"ecs:StopTask","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}]})");
  api::CallerCheck who = authorizer_.forCaller(dave, "us-east-1");
  EXPECT_TRUE(who.needs_resource_tags);
  EXPECT_TRUE(
      who.check("ecs:StopTask", "arn:aws:ecs:us-east-1:000000000000:task/c/1", {{"aws:ResourceTag/env", "dev"}}));
  EXPECT_FALSE(
      who.check("ecs:StopTask", "arn:aws:ecs:us-east-1:000000000000:task/c/1", {{"aws:ResourceTag/env", "prod"}}));
  auto erin =
      user("erin", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]})");
  EXPECT_FALSE(authorizer_.forCaller(erin, "us-east-1").needs_resource_tags);
}

TEST_F(IamAuthorizerTest, TimeConditionsSeeEachCallsTimeAndSharedKeysFollowChanges) {
  auto frank = user("frank", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ecs:ListTasks","Resource":"*",
     "Condition":{"DateLessThan":{"aws:CurrentTime":"2026-06-01T00:00:00Z"}}}]})");
  EXPECT_TRUE(authorizer_.forCaller(frank, "us-east-1").check("ecs:ListTasks", "*", {}));
  clock_.advance(std::chrono::hours(24 * 200));  // FakeClock starts at 2026-01-01
  EXPECT_FALSE(authorizer_.forCaller(frank, "us-east-1").check("ecs:ListTasks", "*", {}));

  // Principal tags are among the shared keys: a new tag is seen at once.
  auto grace = user("grace", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ecs:ListTasks","Resource":"*",
     "Condition":{"StringEquals":{"aws:PrincipalTag/team":"green"}}}]})");
  EXPECT_FALSE(authorizer_.forCaller(grace, "us-east-1").check("ecs:ListTasks", "*", {}));
  call("TagUser", {{"UserName", "grace"}, {"Tags", bj::array{bj::object{{"Key", "team"}, {"Value", "green"}}}}});
  EXPECT_TRUE(authorizer_.forCaller(grace, "us-east-1").check("ecs:ListTasks", "*", {}));
}

}  // namespace
}  // namespace berth::daemon
