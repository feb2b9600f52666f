#include "iam/policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "iam/condition.h"

namespace berth::iam {
namespace {

std::shared_ptr<const Policy> mustParse(std::string_view json, PolicyKind kind = PolicyKind::kIdentity) {
  auto p = Policy::parse(json, kind);
  EXPECT_TRUE(p.has_value()) << json << "\n-> " << (p ? "" : p.error().message);
  return p ? *p : nullptr;
}

// The reason IAM would give, after checking that it is a MalformedPolicyDocument.
std::string parseError(std::string_view json, PolicyKind kind = PolicyKind::kIdentity) {
  auto p = Policy::parse(json, kind);
  if (p) return "(parsed)";
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(p.error().aws_type, "MalformedPolicyDocument");
  return p.error().message;
}

RequestContext request(std::string action, std::string resource = "*") {
  RequestContext r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.principal_arn = "arn:aws:iam::000000000000:user/alice";
  r.principal_account = "000000000000";
  return r;
}

// One identity statement with a condition block, evaluated against `r`.
Effect withCondition(std::string_view condition, const RequestContext& r) {
  std::string json = R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*",
                         "Condition":)" +
                     std::string(condition) + "}}";
  auto p = mustParse(json);
  return p ? p->evaluate(r) : Effect::kNone;
}

bool conditionHolds(std::string_view condition, const RequestContext& r) {
  return withCondition(condition, r) == Effect::kAllow;
}

constexpr std::string_view kMalformed = "Syntax errors in policy.";
constexpr std::string_view kVendor = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

// --- validation --------------------------------------------------------------

TEST(PolicyParse, AcceptsTheUsualShapes) {
  auto p = mustParse(R"({"Version":"2012-10-17","Id":"x","Statement":[
      {"Sid":"A","Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"},
      {"Sid":"B","Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:ecs:*:*:cluster/prod"]}]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind(), PolicyKind::kIdentity);
  // A single statement object, and the old version.
  mustParse(R"({"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})");
  mustParse(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})");
}

TEST(PolicyParse, BadJsonIsASyntaxError) {
  EXPECT_EQ(parseError(""), kMalformed);
  EXPECT_EQ(parseError("{"), kMalformed);
  EXPECT_EQ(parseError("[]"), kMalformed);
  EXPECT_EQ(parseError("\"Statement\""), kMalformed);
  EXPECT_EQ(parseError(R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},]})"), kMalformed);
}

TEST(PolicyParse, GrammarErrorsAreSyntaxErrors) {
  const char* cases[] = {
      // top level
      R"({"Version":"2012-10-17"})",
      R"({"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})",
      R"({"Version":20121017,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})",
      R"({"Id":5,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})",
      R"({"Statements":{"Effect":"Allow","Action":"*","Resource":"*"}})",
      R"({"Statement":[]})",
      R"({"Statement":"Allow"})",
      R"({"Statement":["x"]})",
      // statement fields
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Actions":"x"}})",
      R"({"Statement":{"Action":"*","Resource":"*"}})",
      R"({"Statement":{"Effect":true,"Action":"*","Resource":"*"}})",
      R"({"Statement":{"Effect":"Permit","Action":"*","Resource":"*"}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}})",
      R"({"Statement":{"Effect":"Allow","Action":{"a":"b"},"Resource":"*"}})",
      R"({"Statement":{"Effect":"Allow","Action":["ecs:A",7],"Resource":"*"}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":7}})",
      R"({"Statement":{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}})",
      // conditions
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":"x"}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:a":"b"}}}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:a":null}}}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:a":[{}]}}}})",
      R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSomeValues:StringEquals":{"aws:a":"b"}}}})",
  };
  for (const char* json : cases) EXPECT_EQ(parseError(json), kMalformed) << json;
}

TEST(PolicyParse, EffectIsCaseSensitiveAsIamsLegacyParser) {
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"allow","Action":"*","Resource":"*"}})"),
            "The policy failed legacy parsing");
}

TEST(PolicyParse, UnknownOperatorWithNothingUnderItIsAccepted) {
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Whatever":{}}}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("ecs:RunTask")), Effect::kAllow);
}

TEST(PolicyParse, ActionsAndResourcesAreRequired) {
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Resource":"*"}})"), "Policy statement must contain actions.");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}})"),
            "Policy statement must contain actions.");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"*"}})"), "Policy statement must contain resources.");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"*","NotResource":[]}})"),
            "Policy statement must contain resources.");
  // Trust policies need actions too.
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Principal":"*"}})", PolicyKind::kTrust),
            "Policy statement must contain actions.");
}

TEST(PolicyParse, ActionsNeedAVendor) {
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"RunTask","Resource":"*"}})"), kVendor);
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"","Resource":"*"}})"), kVendor);
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":":RunTask","Resource":"*"}})"), kVendor);
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":["ecs:A","b"],"Resource":"*"}})"), kVendor);
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"ecs:Run:Task","Resource":"*"}})"),
            "Actions/Condition can contain only one colon.");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"e cs:RunTask","Resource":"*"}})"),
            "Vendor e cs is not valid");
  // Condition keys too.
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*",
                                        "Condition":{"StringEquals":{"username":"a"}}}})"),
            kVendor);
}

TEST(PolicyParse, ResourcesMustBeArnsOrStar) {
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"my-bucket"}})"),
            "Resource my-bucket must be in ARN format or \"*\".");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"*","NotResource":["*","x"]}})"),
            "Resource x must be in ARN format or \"*\".");
}

TEST(PolicyParse, ErrorsComeInIamsOrder) {
  // Resources are checked before action prefixes; existence before format.
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"RunTask","Resource":"bucket"}})"),
            "Resource bucket must be in ARN format or \"*\".");
  EXPECT_EQ(parseError(R"({"Statement":[{"Effect":"Allow","Action":"RunTask","Resource":"*"},
                                       {"Effect":"Allow","Resource":"*"}]})"),
            "Policy statement must contain actions.");
  // Grammar errors anywhere come first, conditions included.
  EXPECT_EQ(parseError(R"({"Statement":[{"Effect":"Allow","Resource":"*"},
                                       {"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Nope":{"a:b":"c"}}}]})"),
            kMalformed);
  EXPECT_EQ(parseError(R"({"Statement":[{"Effect":"allow","Action":"x","Resource":"*"},
                                       {"Effect":"Allow","Action":"*","Resource":"*","Bogus":1}]})"),
            kMalformed);
}

TEST(PolicyParse, SidsMustBeUnique) {
  EXPECT_EQ(parseError(R"({"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},
                                       {"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]})"),
            "Statement IDs (SID) in a single policy must be unique.");
  // Empty Sids are not ids.
  mustParse(R"({"Statement":[{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"},
                             {"Sid":"","Effect":"Deny","Action":"*","Resource":"*"}]})");
}

TEST(PolicyParse, IdentityPoliciesHaveNoPrincipal) {
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}})"),
            "Policy document should not specify a principal.");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}})"),
            "Policy document should not specify a principal.");
}

TEST(PolicyParse, TrustPoliciesNeedAPrincipalAndNoResource) {
  mustParse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]})",
            PolicyKind::kTrust);
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}})", PolicyKind::kTrust),
            "Missing required field Principal");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}})",
                       PolicyKind::kTrust),
            "Has prohibited field Resource");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole",
                                        "NotResource":"*"}})",
                       PolicyKind::kTrust),
            "Has prohibited field NotResource");
}

TEST(PolicyParse, ResourcePoliciesNeedBoth) {
  mustParse(R"({"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},
                             "Action":"kms:*","Resource":"*"}})",
            PolicyKind::kResource);
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}})", PolicyKind::kResource),
            "Missing required field Principal");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*"}})", PolicyKind::kResource),
            "Policy statement must contain resources.");
}

TEST(PolicyParse, InvalidPrincipals) {
  auto trust = [](std::string_view principal) {
    return parseError(R"({"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":)" +
                          std::string(principal) + "}}",
                      PolicyKind::kTrust);
  };
  EXPECT_EQ(trust(R"({"AWS":"alice"})"), "Invalid principal in policy: \"AWS\":\"alice\"");
  EXPECT_EQ(trust(R"({"AWS":"arn:aws:iam::12345:root"})"), "Invalid principal in policy: \"AWS\":\"arn:aws:iam::12345:root\"");
  EXPECT_EQ(trust(R"({"AWS":["123456789012","arn:aws:s3:::bucket"]})"),
            "Invalid principal in policy: \"AWS\":\"arn:aws:s3:::bucket\"");
  EXPECT_EQ(trust(R"({"Service":""})"), "Invalid principal in policy: \"Service\":\"\"");
  EXPECT_EQ(trust(R"({"AWS":"arn:aws:iam::000000000000:role/*"})"),
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::000000000000:role/*\"");
  EXPECT_EQ(trust(R"({"Users":"x"})"), "Invalid principal in policy: \"Users\"");
  EXPECT_EQ(trust(R"("alice")"), "Invalid principal in policy: \"alice\"");
  EXPECT_EQ(trust(R"({})"), "Invalid principal in policy: {}");
  EXPECT_EQ(trust(R"({"AWS":7})"), kMalformed);
  EXPECT_EQ(trust(R"({"AWS":[]})"), kMalformed);
  EXPECT_EQ(trust(R"(["*"])"), kMalformed);
}

TEST(PolicyParse, DatesIamCannotReadFailLegacyParsing) {
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*",
                                        "Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}})"),
            "The policy failed legacy parsing");
  EXPECT_EQ(parseError(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*",
                                        "Condition":{"DateLessThan":{"aws:CurrentTime":"2026-13-01"}}}})"),
            "The policy failed legacy parsing");
}

// --- actions and resources ----------------------------------------------------

TEST(PolicyEvaluate, ActionsMatchCaseInsensitivelyWithWildcards) {
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","Action":["ECS:describe*","logs:Put?ogEvents"],"Resource":"*"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("ecs:DescribeTasks")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("Ecs:DESCRIBECLUSTERS")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("logs:PutLogEvents")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("logs:PutLLogEvents")), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("ecs:RunTask")), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("ecsx:DescribeTasks")), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("ec:DescribeTasks")), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("DescribeTasks")), Effect::kNone);
}

TEST(PolicyEvaluate, LongActionNamesMatchToo) {
  // Names too long to lower on the stack take the case-folding path.
  std::string name(300, 'X');
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","Action":"ecs:xx*x","Resource":"*"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("ECS:" + name)), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("ECS:" + name + "y")), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("ECR:" + name)), Effect::kNone);
}

TEST(PolicyEvaluate, StarAloneMatchesEveryAction) {
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("iam:CreateUser")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("weird")), Effect::kAllow);
}

TEST(PolicyEvaluate, NotActionAppliesToEverythingElse) {
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","NotAction":["iam:*","sts:Assume*"],"Resource":"*"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("ecs:RunTask")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("sts:GetCallerIdentity")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("iam:CreateUser")), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("sts:AssumeRole")), Effect::kNone);
}

TEST(PolicyEvaluate, ResourcesAreCaseSensitiveGlobs) {
  auto p = mustParse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter*",
      "Resource":["arn:aws:ssm:us-east-1:000000000000:parameter/durableai/dev/*",
                  "arn:aws:ecs:*:000000000000:cluster/dev-?"]}})");
  ASSERT_TRUE(p);
  auto param = [](std::string name) { return "arn:aws:ssm:us-east-1:000000000000:parameter" + name; };
  EXPECT_EQ(p->evaluate(request("ssm:GetParameter", param("/durableai/dev/db-url"))), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("ssm:GetParameters", param("/durableai/dev/a/b/c"))), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("ssm:GetParameter", param("/durableai/prod/db-url"))), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("ssm:GetParameter", param("/DurableAI/dev/db-url"))), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("ssm:GetParameter", "arn:aws:ecs:eu-west-1:000000000000:cluster/dev-1")),
            Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("ssm:GetParameter", "arn:aws:ecs:eu-west-1:000000000000:cluster/dev-12")),
            Effect::kNone);
  EXPECT_EQ(p->evaluate(request("ssm:GetParameter", "*")), Effect::kNone);
}

TEST(PolicyEvaluate, WildcardBacktracking) {
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*a*b*c"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("s3:GetObject", "arn:aws:s3:::b/xaxbxc")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("s3:GetObject", "arn:aws:s3:::b/abcabc")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("s3:GetObject", "arn:aws:s3:::b/aaabbbccc")), Effect::kAllow);
  EXPECT_EQ(p->evaluate(request("s3:GetObject", "arn:aws:s3:::b/cba")), Effect::kNone);
  EXPECT_EQ(p->evaluate(request("s3:GetObject", "arn:aws:s3:::b/abcx")), Effect::kNone);
}

TEST(PolicyEvaluate, NotResource) {
  auto p = mustParse(R"({"Statement":{"Effect":"Deny","Action":"ecs:*",
                                      "NotResource":"arn:aws:ecs:*:*:cluster/dev"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("ecs:DeleteCluster", "arn:aws:ecs:us-east-1:1:cluster/prod")), Effect::kDeny);
  EXPECT_EQ(p->evaluate(request("ecs:DeleteCluster", "arn:aws:ecs:us-east-1:1:cluster/dev")), Effect::kNone);
}

TEST(PolicyEvaluate, DenyBeatsAllowInOnePolicyAndAcrossPolicies) {
  auto p = mustParse(R"({"Statement":[
      {"Effect":"Allow","Action":"ecs:*","Resource":"*"},
      {"Effect":"Deny","Action":"ecs:RunTask","Resource":"*"}]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(request("ecs:RunTask")), Effect::kDeny);
  EXPECT_EQ(p->evaluate(request("ecs:StopTask")), Effect::kAllow);

  auto allow = mustParse(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})");
  auto deny = mustParse(R"({"Statement":{"Effect":"Deny","Action":"iam:*","Resource":"*"}})");
  auto describe = mustParse(R"({"Statement":{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}})");
  const Policy* both[] = {allow.get(), deny.get()};
  EXPECT_EQ(evaluate(both, request("iam:CreateUser")), Decision::kExplicitDeny);
  EXPECT_EQ(evaluate(both, request("ecs:RunTask")), Decision::kAllow);
  const Policy* only_describe[] = {describe.get()};
  EXPECT_EQ(evaluate(only_describe, request("ecs:DescribeTasks")), Decision::kAllow);
  EXPECT_EQ(evaluate(only_describe, request("ecs:RunTask")), Decision::kImplicitDeny);
  EXPECT_EQ(evaluate({}, request("ecs:RunTask")), Decision::kImplicitDeny);
}

// AWS's managed AmazonECSTaskExecutionRolePolicy, as AWS publishes it.
constexpr std::string_view kEcsTaskExecutionRolePolicy = R"({
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents"
            ],
            "Resource": "*"
        }
    ]
})";

TEST(PolicyEvaluate, AmazonEcsTaskExecutionRolePolicy) {
  auto p = mustParse(kEcsTaskExecutionRolePolicy);
  ASSERT_TRUE(p);
  const Policy* policies[] = {p.get()};
  EXPECT_EQ(evaluate(policies, request("ecr:GetAuthorizationToken")), Decision::kAllow);
  EXPECT_EQ(evaluate(policies, request("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:000000000000:repository/web")),
            Decision::kAllow);
  EXPECT_EQ(evaluate(policies, request("logs:PutLogEvents",
                                       "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:log-stream:a")),
            Decision::kAllow);
  EXPECT_EQ(evaluate(policies, request("logs:CreateLogGroup")), Decision::kImplicitDeny);
  EXPECT_EQ(evaluate(policies, request("ssm:GetParameter", "arn:aws:ssm:us-east-1:000000000000:parameter/x")),
            Decision::kImplicitDeny);
}

// --- policy variables --------------------------------------------------------

TEST(PolicyEvaluate, PolicyVariablesInResources) {
  auto p = mustParse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter",
      "Resource":"arn:aws:ssm:*:*:parameter/home/${aws:username}/*"}})");
  ASSERT_TRUE(p);
  auto r = request("ssm:GetParameter", "arn:aws:ssm:us-east-1:0:parameter/home/alice/key");
  EXPECT_EQ(p->evaluate(r), Effect::kNone);  // no aws:username in the request
  r.setKey("aws:username", {"alice"});
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
  r.setKey("aws:username", {"bob"});
  EXPECT_EQ(p->evaluate(r), Effect::kNone);
  // A value is literal: a `*` in it is no wildcard.
  r.setKey("aws:username", {"*"});
  EXPECT_EQ(p->evaluate(r), Effect::kNone);
}

TEST(PolicyEvaluate, PolicyVariablesNeedVersion2012) {
  auto old = mustParse(R"({"Statement":{"Effect":"Allow","Action":"s3:*",
                                        "Resource":"arn:aws:s3:::b/${aws:username}"}})");
  ASSERT_TRUE(old);
  auto r = request("s3:GetObject", "arn:aws:s3:::b/alice");
  r.setKey("aws:username", {"alice"});
  EXPECT_EQ(old->evaluate(r), Effect::kNone);
  r.resource = "arn:aws:s3:::b/${aws:username}";
  EXPECT_EQ(old->evaluate(r), Effect::kAllow);
}

TEST(PolicyEvaluate, VersionMayFollowStatement) {
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"},
                         "Version":"2012-10-17"})");
  ASSERT_TRUE(p);
  auto r = request("s3:GetObject", "arn:aws:s3:::b/alice");
  r.setKey("aws:username", {"alice"});
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
}

TEST(PolicyEvaluate, SpecialCharactersTagsAndDefaults) {
  auto p = mustParse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":[
      "arn:aws:s3:::lit/${*}${?}${$}",
      "arn:aws:s3:::team/${aws:PrincipalTag/Team}/*",
      "arn:aws:s3:::dept/${aws:PrincipalTag/dept, 'shared'}"]}})");
  ASSERT_TRUE(p);
  auto r = request("s3:GetObject", "arn:aws:s3:::lit/*?$");
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
  r.resource = "arn:aws:s3:::lit/ab$";
  EXPECT_EQ(p->evaluate(r), Effect::kNone);
  r.resource = "arn:aws:s3:::team/red/x";
  EXPECT_EQ(p->evaluate(r), Effect::kNone);
  r.setKey("aws:PrincipalTag/team", {"red"});
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
  r.resource = "arn:aws:s3:::dept/shared";
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
  r.setKey("aws:principaltag/dept", {"eng"});
  EXPECT_EQ(p->evaluate(r), Effect::kNone);
  r.resource = "arn:aws:s3:::dept/eng";
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
}

TEST(PolicyEvaluate, PolicyVariablesInConditionValues) {
  auto r = request("ecs:RunTask");
  r.setKey("aws:username", {"alice"});
  r.setKey("aws:ResourceTag/owner", {"alice"});
  EXPECT_TRUE(conditionHolds(R"({"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}})", r));
  r.setKey("aws:ResourceTag/owner", {"bob"});
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}})", r));
}

// --- conditions ---------------------------------------------------------------

TEST(PolicyCondition, StringOperators) {
  auto r = request("ecs:RunTask");
  r.setKey("aws:RequestedRegion", {"us-east-1"});
  EXPECT_TRUE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"us-east-1"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringEquals":{"AWS:REQUESTEDREGION":["eu-west-1","us-east-1"]}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"US-EAST-1"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"us-*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringEqualsIgnoreCase":{"aws:RequestedRegion":"US-EAST-1"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringNotEqualsIgnoreCase":{"aws:RequestedRegion":"US-EAST-1"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringLike":{"aws:RequestedRegion":"us-*-?"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringLike":{"aws:RequestedRegion":"eu-*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringNotLike":{"aws:RequestedRegion":"eu-*"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringNotLike":{"aws:RequestedRegion":["eu-*","us-*"]}})", r));
  // Negated operators with several values hold when none matches.
  EXPECT_TRUE(conditionHolds(R"({"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","ap-south-1"]}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}})", r));
}

TEST(PolicyCondition, MissingKeys) {
  auto r = request("ecs:RunTask");
  // Positive operators are false, negated ones true.
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"us-east-1"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringLike":{"aws:RequestedRegion":"*"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"NumericLessThan":{"kms:X":"5"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"Bool":{"aws:SecureTransport":"false"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringNotLike":{"aws:RequestedRegion":"*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ArnNotLike":{"aws:SourceArn":"arn:*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", r));
  // IfExists: a missing key holds; a present one is tested.
  EXPECT_TRUE(conditionHolds(R"({"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringNotEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}})", r));
  r.setKey("aws:RequestedRegion", {"eu-west-1"});
  EXPECT_FALSE(conditionHolds(R"({"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringNotEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}})", r));
  // An empty value list is a missing key.
  r.setKey("aws:RequestedRegion", {});
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"eu-west-1"}})", r));
}

TEST(PolicyCondition, NullTestsPresence) {
  auto r = request("ecs:RunTask");
  EXPECT_TRUE(conditionHolds(R"({"Null":{"aws:TokenIssueTime":"true"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"Null":{"aws:TokenIssueTime":"false"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"Null":{"aws:TokenIssueTime":true}})", r));  // a JSON boolean
  r.setKey("aws:TokenIssueTime", {"2026-01-01T00:00:00Z"});
  EXPECT_FALSE(conditionHolds(R"({"Null":{"aws:TokenIssueTime":"true"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"Null":{"aws:TokenIssueTime":"false"}})", r));
}

TEST(PolicyCondition, NumericOperators) {
  auto r = request("ecs:RunTask");
  r.setKey("ecs:count", {"10"});
  EXPECT_TRUE(conditionHolds(R"({"NumericEquals":{"ecs:count":"10"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NumericEquals":{"ecs:count":10}})", r));  // a JSON number
  EXPECT_TRUE(conditionHolds(R"({"NumericEquals":{"ecs:count":"10.0"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"NumericNotEquals":{"ecs:count":"10"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NumericNotEquals":{"ecs:count":"11"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NumericLessThan":{"ecs:count":"11"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"NumericLessThan":{"ecs:count":"10"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NumericLessThanEquals":{"ecs:count":"10"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NumericGreaterThan":{"ecs:count":"9.5"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"NumericGreaterThan":{"ecs:count":"10"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NumericGreaterThanEquals":{"ecs:count":"-3"}})", r));
  // A request value that is not a number matches nothing.
  r.setKey("ecs:count", {"ten"});
  EXPECT_FALSE(conditionHolds(R"({"NumericEquals":{"ecs:count":"10"}})", r));
  r.setKey("ecs:count", {"inf"});
  EXPECT_FALSE(conditionHolds(R"({"NumericGreaterThan":{"ecs:count":"10"}})", r));
}

TEST(PolicyCondition, DateOperators) {
  auto r = request("ecs:RunTask");
  r.setKey("aws:CurrentTime", {"2026-12-07T17:00:00Z"});
  EXPECT_TRUE(conditionHolds(R"({"DateLessThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"DateGreaterThan":{"aws:CurrentTime":"2026-12-31"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"DateGreaterThan":{"aws:CurrentTime":"2026-12-07"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"DateEquals":{"aws:CurrentTime":"2026-12-07T18:00:00+01:00"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"DateEquals":{"aws:CurrentTime":"2026-12-07T17:00:00.000Z"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"DateNotEquals":{"aws:CurrentTime":"2026-12-07T17:00:00Z"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"DateLessThanEquals":{"aws:CurrentTime":"2026-12-07T17:00:00Z"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"DateGreaterThanEquals":{"aws:CurrentTime":"2026-12-07T17:00:00Z"}})", r));
  // Epoch seconds on either side: 2026-12-07T17:00:00Z is 1796662800.
  EXPECT_TRUE(conditionHolds(R"({"DateEquals":{"aws:CurrentTime":"1796662800"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"DateEquals":{"aws:CurrentTime":1796662800}})", r));
  r.setKey("aws:EpochTime", {"1796662800"});
  EXPECT_TRUE(conditionHolds(R"({"DateEquals":{"aws:EpochTime":"2026-12-07T17:00:00Z"}})", r));
}

TEST(PolicyCondition, ParseTime) {
  int64_t ms = 0;
  ASSERT_TRUE(parseTime("1970-01-01T00:00:00Z", &ms));
  EXPECT_EQ(ms, 0);
  ASSERT_TRUE(parseTime("2000-03-01", &ms));
  EXPECT_EQ(ms, 951868800000);
  ASSERT_TRUE(parseTime("2000-02-29T12:30:15.250Z", &ms));
  EXPECT_EQ(ms, 951827415250);
  ASSERT_TRUE(parseTime("2000-02-29T12:30:15-0130", &ms));
  EXPECT_EQ(ms, 951827415000 + 90 * 60 * 1000);
  ASSERT_TRUE(parseTime("42", &ms));
  EXPECT_EQ(ms, 42000);
  for (const char* bad : {"", "2000-1-1", "2000-01-01T", "2000-01-01T25:00:00Z", "2000-01-01X",
                          "2000-01-01T00:00:00Zjunk", "-5", "99999999999999999999"}) {
    EXPECT_FALSE(parseTime(bad, &ms)) << bad;
  }
}

TEST(PolicyCondition, BoolAndBinary) {
  auto r = request("ecs:RunTask");
  r.setKey("aws:SecureTransport", {"true"});
  r.setKey("s3:blob", {"QmluYXJ5"});
  EXPECT_TRUE(conditionHolds(R"({"Bool":{"aws:SecureTransport":"true"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"Bool":{"aws:SecureTransport":true}})", r));
  EXPECT_TRUE(conditionHolds(R"({"Bool":{"aws:SecureTransport":"TRUE"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"Bool":{"aws:SecureTransport":false}})", r));
  EXPECT_TRUE(conditionHolds(R"({"BinaryEquals":{"s3:blob":"QmluYXJ5"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"BinaryEquals":{"s3:blob":"QmluYXJ6"}})", r));
}

TEST(PolicyCondition, IpAddresses) {
  auto r = request("ecs:RunTask");
  r.setKey("aws:SourceIp", {"10.1.2.3"});
  EXPECT_TRUE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.2.0/23"]}})", r));
  EXPECT_TRUE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"10.1.2.3"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"10.1.2.4/32"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"11.0.0.0/8"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"::/0"}})", r));  // another family
  EXPECT_TRUE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"NotIpAddress":{"aws:SourceIp":"192.168.0.0/16"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/9"}})", r));
  r.setKey("aws:SourceIp", {"2001:db8::17"});
  EXPECT_TRUE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"2001:db9::/32"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"2001:db8::10/124"}})", r));
  r.setKey("aws:SourceIp", {"not-an-ip"});
  EXPECT_FALSE(conditionHolds(R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})", r));
  IpRange range;
  EXPECT_FALSE(parseIpRange("10.0.0.0/33", &range));
  EXPECT_FALSE(parseIpRange("10.0.0/8", &range));
  EXPECT_TRUE(parseIpRange("::1", &range));
  EXPECT_EQ(range.prefix, 128);
}

TEST(PolicyCondition, ArnOperatorsMatchEachPart) {
  auto r = request("ecs:RunTask");
  r.setKey("aws:SourceArn", {"arn:aws:ecs:us-east-1:000000000000:service/dev/web"});
  EXPECT_TRUE(conditionHolds(R"({"ArnEquals":{"aws:SourceArn":"arn:aws:ecs:us-east-1:000000000000:service/dev/web"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ArnLike":{"aws:SourceArn":"arn:aws:ecs:*:000000000000:service/dev/*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ArnEquals":{"aws:SourceArn":"arn:aws:ecs:*:*:*"}})", r));
  // `*` in one part does not run into the next.
  EXPECT_FALSE(conditionHolds(R"({"ArnLike":{"aws:SourceArn":"arn:aws:*:000000000000:service/dev/web"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:111111111111:*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ArnNotLike":{"aws:SourceArn":"arn:aws:ecs:*:111111111111:*"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"ArnNotEquals":{"aws:SourceArn":"arn:aws:ecs:*:000000000000:*"}})", r));
  // A value with fewer parts has its last part matched against the rest.
  EXPECT_TRUE(conditionHolds(R"({"ArnLike":{"aws:SourceArn":"arn:*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ArnLike":{"aws:SourceArn":"arn:aws:ecs:*"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"ArnLike":{"aws:SourceArn":"arn:aws:ecs"}})", r));
  r.setKey("aws:SourceArn", {"not-an-arn"});
  EXPECT_FALSE(conditionHolds(R"({"ArnLike":{"aws:SourceArn":"arn:*:*:*:*:*"}})", r));
}

TEST(PolicyCondition, PrincipalKeysFallBackToTheCaller) {
  auto r = request("ecs:RunTask");
  EXPECT_TRUE(conditionHolds(R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::000000000000:user/*"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"StringEquals":{"aws:PrincipalAccount":"000000000000"}})", r));
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:PrincipalAccount":"111111111111"}})", r));
  EXPECT_TRUE(conditionHolds(R"({"Null":{"aws:PrincipalServiceName":"true"}})", r));
  r.principal_service = "ecs-tasks.amazonaws.com";
  EXPECT_TRUE(conditionHolds(R"({"StringEquals":{"aws:PrincipalServiceName":"ecs-tasks.amazonaws.com"}})", r));
  // A key set explicitly wins over the fallback.
  r.setKey("aws:PrincipalAccount", {"222222222222"});
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:PrincipalAccount":"000000000000"}})", r));
}

TEST(PolicyCondition, SetQualifiers) {
  auto r = request("ecs:TagResource");
  r.setKey("aws:TagKeys", {"env", "team"});
  EXPECT_TRUE(conditionHolds(R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env","team","cost"]}})", r));
  EXPECT_FALSE(conditionHolds(R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}})", r));
  EXPECT_FALSE(conditionHolds(R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["cost"]}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ForAllValues:StringLike":{"aws:TagKeys":["e*","t*"]}})", r));
  // Negated: every (any) request value matches none of the policy's.
  EXPECT_TRUE(conditionHolds(R"({"ForAllValues:StringNotEquals":{"aws:TagKeys":["cost"]}})", r));
  EXPECT_FALSE(conditionHolds(R"({"ForAllValues:StringNotEquals":{"aws:TagKeys":["env"]}})", r));
  EXPECT_TRUE(conditionHolds(R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}})", r));
  EXPECT_FALSE(conditionHolds(R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env","team"]}})", r));
  // A missing key: ForAllValues holds (vacuously), ForAnyValue does not.
  auto bare = request("ecs:TagResource");
  EXPECT_TRUE(conditionHolds(R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}})", bare));
  EXPECT_FALSE(conditionHolds(R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}})", bare));
  EXPECT_TRUE(conditionHolds(R"({"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["env"]}})", bare));
}

TEST(PolicyCondition, OperatorsAndKeysAllMustHold) {
  auto r = request("ecs:RunTask");
  r.setKey("aws:RequestedRegion", {"us-east-1"});
  r.setKey("aws:SecureTransport", {"true"});
  EXPECT_TRUE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"us-east-1"},
                                 "Bool":{"aws:SecureTransport":"true"}})",
                             r));
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"us-east-1"},
                                  "Bool":{"aws:SecureTransport":"false"}})",
                              r));
  EXPECT_FALSE(conditionHolds(R"({"StringEquals":{"aws:RequestedRegion":"us-east-1","aws:Other":"x"}})", r));
}

TEST(PolicyCondition, ConditionedDenyBeatsAllow) {
  auto p = mustParse(R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"ssm:*","Resource":"*"},
      {"Effect":"Deny","Action":"ssm:GetParameter*","Resource":"*",
       "Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}}]})");
  ASSERT_TRUE(p);
  auto r = request("ssm:GetParameter");
  EXPECT_EQ(p->evaluate(r), Effect::kDeny);  // missing key: the negated operator holds
  r.setKey("aws:RequestedRegion", {"us-east-1"});
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
  r.setKey("aws:RequestedRegion", {"eu-west-1"});
  EXPECT_EQ(p->evaluate(r), Effect::kDeny);
}

// --- principals (trust and resource policies) ---------------------------------

RequestContext caller(std::string arn, std::string account, std::string service = "") {
  RequestContext r;
  r.action = "sts:AssumeRole";
  r.resource = "arn:aws:iam::000000000000:role/target";
  r.principal_arn = std::move(arn);
  r.principal_account = std::move(account);
  r.principal_service = std::move(service);
  return r;
}

Effect trust(std::string_view principal, const RequestContext& r, std::string_view element = "Principal") {
  auto p = mustParse(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole",")" +
                         std::string(element) + "\":" + std::string(principal) + "}}",
                     PolicyKind::kTrust);
  return p ? p->evaluate(r) : Effect::kNone;
}

TEST(PolicyPrincipal, Anyone) {
  auto r = caller("arn:aws:iam::111111111111:user/eve", "111111111111");
  EXPECT_EQ(trust(R"("*")", r), Effect::kAllow);
  EXPECT_EQ(trust(R"({"AWS":"*"})", r), Effect::kAllow);
  EXPECT_EQ(trust(R"({"AWS":["123456789012","*"]})", r), Effect::kAllow);
}

TEST(PolicyPrincipal, Accounts) {
  auto alice = caller("arn:aws:iam::000000000000:user/alice", "000000000000");
  auto eve = caller("arn:aws:iam::111111111111:user/eve", "111111111111");
  for (const char* p : {R"({"AWS":"000000000000"})", R"({"AWS":"arn:aws:iam::000000000000:root"})"}) {
    EXPECT_EQ(trust(p, alice), Effect::kAllow) << p;
    EXPECT_EQ(trust(p, eve), Effect::kNone) << p;
  }
}

TEST(PolicyPrincipal, UsersExactly) {
  auto p = R"({"AWS":"arn:aws:iam::000000000000:user/alice"})";
  EXPECT_EQ(trust(p, caller("arn:aws:iam::000000000000:user/alice", "000000000000")), Effect::kAllow);
  EXPECT_EQ(trust(p, caller("arn:aws:iam::000000000000:user/alice2", "000000000000")), Effect::kNone);
  EXPECT_EQ(trust(p, caller("arn:aws:iam::000000000000:user/bob", "000000000000")), Effect::kNone);
}

TEST(PolicyPrincipal, RolesMatchTheirSessions) {
  auto p = R"({"AWS":"arn:aws:iam::000000000000:role/service-role/deployer"})";
  EXPECT_EQ(trust(p, caller("arn:aws:iam::000000000000:role/service-role/deployer", "000000000000")), Effect::kAllow);
  EXPECT_EQ(trust(p, caller("arn:aws:sts::000000000000:assumed-role/deployer/ci-42", "000000000000")), Effect::kAllow);
  EXPECT_EQ(trust(p, caller("arn:aws:sts::000000000000:assumed-role/deployer2/ci-42", "000000000000")), Effect::kNone);
  EXPECT_EQ(trust(p, caller("arn:aws:sts::111111111111:assumed-role/deployer/ci-42", "111111111111")), Effect::kNone);
  EXPECT_EQ(trust(p, caller("arn:aws:iam::000000000000:user/deployer", "000000000000")), Effect::kNone);
  // A session ARN as the principal names that session only.
  auto session = R"({"AWS":"arn:aws:sts::000000000000:assumed-role/deployer/ci-42"})";
  EXPECT_EQ(trust(session, caller("arn:aws:sts::000000000000:assumed-role/deployer/ci-42", "000000000000")),
            Effect::kAllow);
  EXPECT_EQ(trust(session, caller("arn:aws:sts::000000000000:assumed-role/deployer/ci-43", "000000000000")),
            Effect::kNone);
}

TEST(PolicyPrincipal, Services) {
  auto p = R"({"Service":["ecs-tasks.amazonaws.com","ec2.amazonaws.com"]})";
  EXPECT_EQ(trust(p, caller("", "", "ecs-tasks.amazonaws.com")), Effect::kAllow);
  EXPECT_EQ(trust(p, caller("", "", "lambda.amazonaws.com")), Effect::kNone);
  EXPECT_EQ(trust(p, caller("arn:aws:iam::000000000000:user/alice", "000000000000")), Effect::kNone);
}

TEST(PolicyPrincipal, FederatedAndCanonicalUsersNeverMatch) {
  auto r = caller("arn:aws:iam::000000000000:user/alice", "000000000000");
  EXPECT_EQ(trust(R"({"Federated":"cognito-identity.amazonaws.com"})", r), Effect::kNone);
  EXPECT_EQ(trust(R"({"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"})", r),
            Effect::kNone);
}

TEST(PolicyPrincipal, NotPrincipalInverts) {
  auto alice = caller("arn:aws:iam::000000000000:user/alice", "000000000000");
  auto bob = caller("arn:aws:iam::000000000000:user/bob", "000000000000");
  auto p = R"({"AWS":"arn:aws:iam::000000000000:user/alice"})";
  EXPECT_EQ(trust(p, alice, "NotPrincipal"), Effect::kNone);
  EXPECT_EQ(trust(p, bob, "NotPrincipal"), Effect::kAllow);
}

TEST(PolicyPrincipal, TrustPolicyForEcsTasks) {
  auto p = mustParse(R"({"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow",
      "Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole",
      "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:*:000000000000:*"}}}]})",
                     PolicyKind::kTrust);
  ASSERT_TRUE(p);
  auto r = caller("", "", "ecs-tasks.amazonaws.com");
  EXPECT_EQ(p->evaluate(r), Effect::kNone);  // no aws:SourceArn
  r.setKey("aws:SourceArn", {"arn:aws:ecs:us-east-1:000000000000:task/dev/abc"});
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
  r.action = "sts:TagSession";
  EXPECT_EQ(p->evaluate(r), Effect::kNone);
}

TEST(PolicyPrincipal, KmsKeyPolicy) {
  // The default key policy: the account's IAM policies decide.
  auto p = mustParse(R"({"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions",
      "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"}]})",
                     PolicyKind::kResource);
  ASSERT_TRUE(p);
  auto r = caller("arn:aws:sts::000000000000:assumed-role/task/abc", "000000000000");
  r.action = "kms:Decrypt";
  r.resource = "arn:aws:kms:us-east-1:000000000000:key/1234";
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
  r.principal_account = "111111111111";
  EXPECT_EQ(p->evaluate(r), Effect::kNone);
}

// Identity policies ignore the caller fields: attachment decides who.
TEST(PolicyPrincipal, IdentityPoliciesIgnoreTheCaller) {
  auto p = mustParse(R"({"Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->evaluate(caller("", "")), Effect::kNone);  // sts:AssumeRole
  auto r = caller("", "");
  r.action = "ecs:ListClusters";
  EXPECT_EQ(p->evaluate(r), Effect::kAllow);
}

TEST(IamRequestContext, KeysAreCaseInsensitive) {
  RequestContext r;
  r.setKey("AWS:PrincipalTag/Team", {"red"});
  ASSERT_NE(r.key("aws:principaltag/team"), nullptr);
  EXPECT_EQ(r.key("aws:principaltag/team")->at(0), "red");
  EXPECT_EQ(r.key("aws:principaltag/other"), nullptr);
}

TEST(RequestContextTest, KeysFallBackToTheParentAndLocalOnesWin) {
  RequestContext shared;
  shared.setKey("aws:RequestedRegion", {"us-east-1"});
  shared.setKey("aws:username", {"alice"});
  RequestContext call;
  call.parent = &shared;
  call.setKey("aws:username", {"bob"});
  ASSERT_NE(call.key("aws:requestedregion"), nullptr);
  EXPECT_EQ(*call.key("aws:requestedregion"), std::vector<std::string>{"us-east-1"});
  EXPECT_EQ(*call.key("aws:username"), std::vector<std::string>{"bob"});
  EXPECT_EQ(call.key("aws:sourceip"), nullptr);

  auto p = Policy::parse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",
    "Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]})",
                         PolicyKind::kIdentity);
  ASSERT_TRUE(p) << p.error().message;
  call.action = "s3:GetObject";
  call.resource = "arn:aws:s3:::b/bob/x";
  EXPECT_EQ((*p)->evaluate(call), Effect::kAllow);
  shared.setKey("aws:RequestedRegion", {"eu-west-1"});
  EXPECT_EQ((*p)->evaluate(call), Effect::kNone);
}

}  // namespace
}  // namespace berth::iam
