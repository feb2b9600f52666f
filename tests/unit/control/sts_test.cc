// STS on a memory store and a fake clock: GetCallerIdentity, AssumeRole
// (identity and trust policies, durations, session policies), GetSessionToken,
// berthd's service sessions, and the credentials on use: SigV4 through the
// identity snapshot, expiry, tampered tokens, persistence and pruning.
#include <string>

#include <gtest/gtest.h>

#include "aws/sigv4.h"
#include "unit/control/iam_fixture.h"

namespace berth::iam {
namespace {

using namespace std::chrono_literals;

class StsTest : public IamFixture {
 protected:
  struct Creds {
    std::string key, secret, token;
  };
  static Creds credsOf(const bj::object& out) {
    const bj::object& c = out.at("Credentials").as_object();
    return {json::stringOr(c, "AccessKeyId"), json::stringOr(c, "SecretAccessKey"), json::stringOr(c, "SessionToken")};
  }

  // A GetCallerIdentity request signed with `c` (and `token`) at the fake
  // clock's now, verified against the current snapshot.
  Result<aws::VerifiedIdentity> callWith(const std::string& key, const std::string& secret,
                                         std::optional<std::string> token) {
    aws::SigningInput in;
    in.method = "POST";
    in.host = "127.0.0.1:4566";
    in.path = "/";
    in.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    in.body = "Action=GetCallerIdentity&Version=2011-06-15";
    in.region = "us-east-1";
    in.service = "sts";
    in.access_key_id = key;
    in.secret_access_key = secret;
    in.session_token = token;
    in.now = clock_.now();
    std::vector<std::pair<std::string, std::string>> headers{{"Host", in.host}};
    for (const auto& h : in.headers) headers.push_back(h);
    for (auto& h : aws::signRequest(in)) headers.push_back(std::move(h));
    aws::SignedRequest r;
    r.method = in.method;
    r.target = in.path;
    r.body = in.body;
    for (const auto& [n, v] : headers) r.headers.emplace_back(n, v);
    auto snap = iam_->identityView().snapshot();
    aws::CredentialLookup lookup = [snap](std::string_view k) { return snap->credential(k); };
    return aws::verifySigV4(r, lookup, clock_.now(), aws::AuthMode::kSigV4, kAccount);
  }
};

TEST_F(StsTest, GetCallerIdentityForRootUsersAndRoles) {
  auto me = ok("GetCallerIdentity", {});
  EXPECT_EQ(json::stringOr(me, "Arn"), "arn:aws:iam::000000000000:root");
  EXPECT_EQ(json::stringOr(me, "UserId"), "000000000000");
  EXPECT_EQ(json::stringOr(me, "Account"), "000000000000");

  std::string key = createUser("alice");
  Caller alice = callerFor(key);
  me = ok("GetCallerIdentity", {}, &alice);
  EXPECT_EQ(json::stringOr(me, "Arn"), "arn:aws:iam::000000000000:user/alice");
  EXPECT_TRUE(json::stringOr(me, "UserId").starts_with("AIDA"));

  std::string role = createRole("deployer", trustFor("arn:aws:iam::000000000000:root"));
  auto out = ok("AssumeRole", {{"RoleArn", role}, {"RoleSessionName", "s-1"}});
  Caller session = callerFor(credsOf(out).key);
  me = ok("GetCallerIdentity", {}, &session);
  EXPECT_EQ(json::stringOr(me, "Arn"), "arn:aws:sts::000000000000:assumed-role/deployer/s-1");
  auto got = ok("GetRole", {{"RoleName", "deployer"}});
  std::string role_id = json::stringOr(got["Role"].as_object(), "RoleId");
  EXPECT_TRUE(got["Role"].as_object()["RoleLastUsed"].as_object().contains("LastUsedDate"));
  EXPECT_EQ(json::stringOr(me, "UserId"), role_id + ":s-1");
}

TEST_F(StsTest, AssumeRoleNeedsIdentityPolicyAndTrust) {
  std::string bob_key = createUser("bob", allowDoc("sts:AssumeRole", "arn:aws:iam::000000000000:role/*"));
  std::string carol_key = createUser("carol");
  std::string bob_arn = "arn:aws:iam::000000000000:user/bob";
  std::string trusted = createRole("trusted", trustFor("arn:aws:iam::000000000000:root"));
  std::string untrusting = createRole("untrusting");  // trusts ecs-tasks only
  Caller bob = callerFor(bob_key);
  Caller carol = callerFor(carol_key);

  auto out = ok("AssumeRole", {{"RoleArn", trusted}, {"RoleSessionName", "bb"}}, &bob);
  Creds c = credsOf(out);
  EXPECT_TRUE(c.key.starts_with("ASIA"));
  EXPECT_EQ(c.key.size(), 20u);
  EXPECT_EQ(c.secret.size(), 40u);
  EXPECT_GT(c.token.size(), 300u);
  EXPECT_EQ(json::stringOr(out["AssumedRoleUser"].as_object(), "Arn"),
            "arn:aws:sts::000000000000:assumed-role/trusted/bb");

  Error e = err("AssumeRole", {{"RoleArn", untrusting}, {"RoleSessionName", "bb"}}, &bob);
  EXPECT_EQ(e.aws_type, "AccessDenied");
  EXPECT_EQ(e.message, "User: " + bob_arn + " is not authorized to perform: sts:AssumeRole on resource: " + untrusting);
  e = err("AssumeRole", {{"RoleArn", trusted}, {"RoleSessionName", "cc"}}, &carol);
  EXPECT_EQ(e.message,
            "User: arn:aws:iam::000000000000:user/carol is not authorized to perform: sts:AssumeRole on "
            "resource: " +
                trusted);
  EXPECT_EQ(
      err("AssumeRole", {{"RoleArn", "arn:aws:iam::000000000000:role/none"}, {"RoleSessionName", "bb"}}, &bob).aws_type,
      "AccessDenied");
  EXPECT_EQ(
      err("AssumeRole", {{"RoleArn", trusted}, {"RoleSessionName", "bb"}, {"DurationSeconds", 3601}}, &bob).message,
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  EXPECT_EQ(
      err("AssumeRole", {{"RoleArn", trusted}, {"RoleSessionName", "bb"}, {"DurationSeconds", 899}}, &bob).aws_type,
      "ValidationError");
  EXPECT_EQ(err("AssumeRole", {{"RoleArn", trusted}, {"RoleSessionName", "bad name"}}, &bob).aws_type,
            "ValidationError");
  // An explicit Deny in bob's policies wins.
  ok("PutUserPolicy", {{"UserName", "bob"},
                       {"PolicyName", "deny"},
                       {"PolicyDocument", R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny",)"
                                          R"("Action":"sts:AssumeRole","Resource":"*"}]})"}});
  EXPECT_EQ(err("AssumeRole", {{"RoleArn", trusted}, {"RoleSessionName", "bb"}}, &bob).aws_type, "AccessDenied");
}

TEST_F(StsTest, SessionsCarryTheRolesPoliciesAndTheSessionPolicy) {
  std::string role = createRole("task", trustFor("arn:aws:iam::000000000000:root"));
  ok("PutRolePolicy", {{"RoleName", "task"},
                       {"PolicyName", "p"},
                       {"PolicyDocument", allowDoc("ssm:GetParameter*", "arn:aws:ssm:*:*:parameter/durableai/dev/*")}});
  auto out = ok("AssumeRole", {{"RoleArn", role},
                               {"RoleSessionName", "narrow"},
                               {"Policy", allowDoc("ssm:GetParameter", "arn:aws:ssm:*:*:parameter/durableai/dev/a")},
                               {"Tags", bj::array{bj::object{{"Key", "team"}, {"Value", "x"}}}}});
  EXPECT_TRUE(out.contains("PackedPolicySize"));
  auto wide = ok("AssumeRole", {{"RoleArn", role}, {"RoleSessionName", "wide"}});
  auto snap = iam_->identityView().snapshot();
  auto narrow_info = snap->principalForKey(credsOf(out).key);
  auto wide_info = snap->principalForKey(credsOf(wide).key);
  ASSERT_TRUE(narrow_info && wide_info);
  EXPECT_EQ(narrow_info->kind, PrincipalInfo::Kind::kAssumedRole);
  EXPECT_EQ(narrow_info->role_arn, role);
  EXPECT_EQ(narrow_info->tags.at("team"), "x");
  RequestContext ctx;
  ctx.action = "ssm:GetParameter";
  ctx.resource = "arn:aws:ssm:us-east-1:000000000000:parameter/durableai/dev/b";
  EXPECT_EQ(wide_info->decide(ctx), Decision::kAllow);
  EXPECT_EQ(narrow_info->decide(ctx), Decision::kImplicitDeny);
  ctx.resource = "arn:aws:ssm:us-east-1:000000000000:parameter/durableai/dev/a";
  EXPECT_EQ(narrow_info->decide(ctx), Decision::kAllow);
  ctx.resource = "arn:aws:ssm:us-east-1:000000000000:parameter/durableai/prod/a";
  EXPECT_EQ(wide_info->decide(ctx), Decision::kImplicitDeny);

  // Role chaining is limited to an hour, and GetSessionToken refuses sessions.
  Caller session = callerFor(credsOf(wide).key);
  ok("PutRolePolicy", {{"RoleName", "task"}, {"PolicyName", "chain"}, {"PolicyDocument", allowDoc("sts:AssumeRole")}});
  ok("UpdateRole", {{"RoleName", "task"}, {"MaxSessionDuration", 7200}});
  EXPECT_EQ(
      err("AssumeRole", {{"RoleArn", role}, {"RoleSessionName", "cc"}, {"DurationSeconds", 7200}}, &session).aws_type,
      "ValidationError");
  EXPECT_EQ(err("GetSessionToken", {}, &session).message, "Cannot call GetSessionToken with session credentials");
}

TEST_F(StsTest, CredentialsWorkUntilTheyExpire) {
  std::string role = createRole("r", trustFor("arn:aws:iam::000000000000:root"));
  Creds c = credsOf(ok("AssumeRole", {{"RoleArn", role}, {"RoleSessionName", "s1"}, {"DurationSeconds", 900}}));
  auto id = callWith(c.key, c.secret, c.token);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->principal_arn, "arn:aws:sts::000000000000:assumed-role/r/s1");

  std::string tampered = c.token;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  auto bad = callWith(c.key, c.secret, tampered);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().aws_type, aws::kUnrecognizedClientException);
  EXPECT_EQ(bad.error().message, "The security token included in the request is invalid.");
  EXPECT_EQ(aws::sigv4QueryErrorCode(bad.error().aws_type), "InvalidClientTokenId");
  EXPECT_FALSE(callWith(c.key, c.secret, std::nullopt));

  clock_.advance(899s);
  EXPECT_TRUE(callWith(c.key, c.secret, c.token));
  clock_.advance(1s);
  auto expired = callWith(c.key, c.secret, c.token);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().aws_type, aws::kExpiredTokenException);
  EXPECT_EQ(expired.error().message, "The security token included in the request is expired");
  EXPECT_EQ(aws::sigv4QueryErrorCode(expired.error().aws_type), "ExpiredToken");

  // Pruned a day after expiry: then the key is simply unknown.
  iam_->tick();
  EXPECT_EQ(iam_->sessionCount(), 1u);
  clock_.advance(24h + 1s);
  iam_->tick();
  EXPECT_EQ(iam_->sessionCount(), 0u);
  EXPECT_EQ(callWith(c.key, c.secret, c.token).error().aws_type, aws::kUnrecognizedClientException);
}

TEST_F(StsTest, SessionsSurviveARestart) {
  std::string role = createRole("r", trustFor("arn:aws:iam::000000000000:root"));
  ok("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "p"}, {"PolicyDocument", allowDoc("ecs:*")}});
  Creds c =
      credsOf(ok("AssumeRole", {{"RoleArn", role}, {"RoleSessionName", "s1"}, {"Policy", allowDoc("ecs:List*")}}));
  start();
  ASSERT_TRUE(callWith(c.key, c.secret, c.token));
  auto info = iam_->identityView().snapshot()->principalForKey(c.key);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->policies.size(), 1u);
  EXPECT_EQ(info->session_policies.size(), 1u);
}

TEST_F(StsTest, GetSessionTokenForUsersAndRoot) {
  std::string key = createUser("dave", allowDoc("ecs:Describe*"));
  Caller dave = callerFor(key);
  Creds c = credsOf(ok("GetSessionToken", {{"DurationSeconds", 900}}, &dave));
  auto id = callWith(c.key, c.secret, c.token);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->principal_arn, "arn:aws:iam::000000000000:user/dave");
  auto info = iam_->identityView().snapshot()->principalForKey(c.key);
  EXPECT_EQ(info->kind, PrincipalInfo::Kind::kUserSession);
  EXPECT_EQ(info->policies.size(), 1u);

  auto root_out = ok("GetSessionToken", {{"DurationSeconds", 7200}});
  // Root's sessions last at most an hour.
  EXPECT_EQ(json::find(root_out["Credentials"].as_object(), "Expiration")->to_number<double>(),
            static_cast<double>(static_cast<int64_t>(clock_.epochSeconds())) + 3600);
}

TEST_F(StsTest, ServiceSessionsNeedTheServiceInTheTrustPolicy) {
  std::string task_role = createRole("task");  // trusts ecs-tasks.amazonaws.com
  std::string other = createRole("other", trustFor("arn:aws:iam::000000000000:root"));
  auto creds = iam_->assumeRoleForService(task_role, "ecs-tasks.amazonaws.com", "task-123", 6h);
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_TRUE(creds->access_key_id.starts_with("ASIA"));
  EXPECT_EQ(creds->assumed_role_arn, "arn:aws:sts::000000000000:assumed-role/task/task-123");
  // Clamped to the role's MaxSessionDuration.
  EXPECT_EQ(creds->expiration, clock_.now() + 3600s);
  EXPECT_TRUE(callWith(creds->access_key_id, creds->secret_access_key, creds->session_token));
  auto refused = iam_->assumeRoleForService(other, "ecs-tasks.amazonaws.com", "task-123", 1h);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().aws_type, "AccessDenied");
  EXPECT_FALSE(iam_->assumeRoleForService(task_role, "lambda.amazonaws.com", "x1", 1h));
  iam_->revokeSession(creds->access_key_id);
  EXPECT_FALSE(callWith(creds->access_key_id, creds->secret_access_key, creds->session_token));
}

TEST_F(StsTest, ServiceTrustPoliciesSeeTheSourceArnAndAccount) {
  std::string guarded = createRole("guarded", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{
      "ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:000000000000:task/dev/*"},
      "StringEquals":{"aws:SourceAccount":"000000000000"}}}]})");
  EXPECT_TRUE(iam_->assumeRoleForService(guarded, "ecs-tasks.amazonaws.com", "t1", 1h,
                                         "arn:aws:ecs:us-east-1:000000000000:task/dev/t1"));
  EXPECT_FALSE(iam_->assumeRoleForService(guarded, "ecs-tasks.amazonaws.com", "t2", 1h,
                                          "arn:aws:ecs:us-east-1:000000000000:task/prod/t2"));
  EXPECT_FALSE(iam_->assumeRoleForService(guarded, "ecs-tasks.amazonaws.com", "t3", 1h,
                                          "arn:aws:ecs:us-east-1:111111111111:task/dev/t3"));
  EXPECT_FALSE(iam_->assumeRoleForService(guarded, "ecs-tasks.amazonaws.com", "t4", 1h));
}

}  // namespace
}  // namespace berth::iam
