// IAM on a memory store and a fake clock: roles, inline and managed
// policies, AWS managed policies, users and keys, IAM's limits and wording,
// persistence, commits that fail, and the identity snapshot.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "unit/control/iam_fixture.h"

namespace berth::iam {
namespace {

class IamTest : public IamFixture {};

TEST_F(IamTest, CreatesRolesAsIamDoes) {
  auto out = ok("CreateRole", {{"RoleName", "App"},
                               {"Path", "/svc/"},
                               {"AssumeRolePolicyDocument", kTrustEcsTasks},
                               {"Description", "d"},
                               {"MaxSessionDuration", 7200},
                               {"Tags", bj::array{bj::object{{"Key", "k"}, {"Value", "v"}}}}});
  const bj::object& role = out["Role"].as_object();
  EXPECT_EQ(json::stringOr(role, "Arn"), "arn:aws:iam::000000000000:role/svc/App");
  std::string id = json::stringOr(role, "RoleId");
  EXPECT_EQ(id.size(), 21u);
  EXPECT_TRUE(id.starts_with("AROA"));
  EXPECT_EQ(urlDecode(json::stringOr(role, "AssumeRolePolicyDocument")), kTrustEcsTasks);
  EXPECT_EQ(json::stringOr(role, "AssumeRolePolicyDocument").find('{'), std::string::npos);
  EXPECT_EQ(json::getInt(role, "MaxSessionDuration"), 7200);

  Error dup = err("CreateRole", {{"RoleName", "app"}, {"AssumeRolePolicyDocument", kTrustEcsTasks}});
  EXPECT_EQ(dup.aws_type, "EntityAlreadyExistsException");
  EXPECT_EQ(dup.message, "Role with name app already exists.");
  Error missing = err("GetRole", {{"RoleName", "nope"}});
  EXPECT_EQ(missing.aws_type, "NoSuchEntityException");
  EXPECT_EQ(missing.message, "The role with name nope cannot be found.");
  EXPECT_EQ(
      err("CreateRole", {{"RoleName", "x"}, {"AssumeRolePolicyDocument", kTrustEcsTasks}, {"MaxSessionDuration", 100}})
          .aws_type,
      "ValidationError");

  auto got = ok("GetRole", {{"RoleName", "APP"}});  // names are case-insensitive
  EXPECT_EQ(got["Role"].as_object()["Tags"].as_array().size(), 1u);
  ok("UpdateRole", {{"RoleName", "App"}, {"MaxSessionDuration", 3600}});
  EXPECT_EQ(json::getInt(ok("GetRole", {{"RoleName", "App"}})["Role"].as_object(), "MaxSessionDuration"), 3600);
}

TEST_F(IamTest, TrustPoliciesMustNameExistingPrincipals) {
  Error e = err("CreateRole",
                {{"RoleName", "r"}, {"AssumeRolePolicyDocument", trustFor("arn:aws:iam::000000000000:user/ghost")}});
  EXPECT_EQ(e.aws_type, "MalformedPolicyDocumentException");
  EXPECT_EQ(e.message, R"(Invalid principal in policy: "AWS":"arn:aws:iam::000000000000:user/ghost")");
  createUser("ghost");
  createRole("r", trustFor("arn:aws:iam::000000000000:user/ghost"));
  // Other accounts' principals cannot be checked, and are accepted.
  ok("UpdateAssumeRolePolicy", {{"RoleName", "r"}, {"PolicyDocument", trustFor("arn:aws:iam::111122223333:role/x")}});
  EXPECT_EQ(err("UpdateAssumeRolePolicy",
                {{"RoleName", "r"}, {"PolicyDocument", trustFor("arn:aws:iam::000000000000:role/nope")}})
                .aws_type,
            "MalformedPolicyDocumentException");
}

TEST_F(IamTest, ListsRolesByPathWithMarkers) {
  for (int i = 0; i < 5; ++i)
    ok("CreateRole", {{"RoleName", "r" + std::to_string(i)},
                      {"Path", i < 4 ? "/a/" : "/b/"},
                      {"AssumeRolePolicyDocument", kTrustEcsTasks}});
  std::vector<std::string> names;
  bj::object in{{"PathPrefix", "/a/"}, {"MaxItems", 3}};
  while (true) {
    auto page = ok("ListRoles", in);
    for (const auto& r : page["Roles"].as_array()) names.push_back(json::stringOr(r.as_object(), "RoleName"));
    if (!page["IsTruncated"].as_bool()) break;
    in["Marker"] = page["Marker"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"r0", "r1", "r2", "r3"}));
}

TEST_F(IamTest, InlinePoliciesHaveIamsSizeLimits) {
  createRole("r");
  std::string big = allowDoc("s3:GetObject", "arn:aws:s3:::b/" + std::string(6000, 'x'));
  ok("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "a"}, {"PolicyDocument", big}});
  ok("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "a"}, {"PolicyDocument", big}});  // replaces
  Error e = err("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "b"}, {"PolicyDocument", big}});
  EXPECT_EQ(e.aws_type, "LimitExceededException");
  EXPECT_EQ(e.message, "Maximum policy size of 10240 bytes exceeded for role r");
  auto got = ok("GetRolePolicy", {{"RoleName", "r"}, {"PolicyName", "a"}});
  EXPECT_EQ(urlDecode(json::stringOr(got, "PolicyDocument")), big);
  EXPECT_EQ(ok("ListRolePolicies", {{"RoleName", "r"}})["PolicyNames"].as_array().size(), 1u);

  ok("CreateUser", {{"UserName", "u"}});
  std::string mid = allowDoc("s3:GetObject", "arn:aws:s3:::b/" + std::string(1500, 'x'));
  ok("PutUserPolicy", {{"UserName", "u"}, {"PolicyName", "a"}, {"PolicyDocument", mid}});
  e = err("PutUserPolicy", {{"UserName", "u"}, {"PolicyName", "b"}, {"PolicyDocument", mid}});
  EXPECT_EQ(e.message, "Maximum policy size of 2048 bytes exceeded for user u");

  // Whitespace does not count.
  std::string spaced = allowDoc("s3:GetObject", "arn:aws:s3:::b/" + std::string(1800, 'y'));
  spaced.insert(1, std::string(5000, ' '));
  ok("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "spaced"}, {"PolicyDocument", spaced}});

  e = err("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "bad"}, {"PolicyDocument", "{nope"}});
  EXPECT_EQ(e.aws_type, "MalformedPolicyDocumentException");
  e = err("DeleteRolePolicy", {{"RoleName", "r"}, {"PolicyName", "zzz"}});
  EXPECT_EQ(e.message, "The role policy with name zzz cannot be found.");

  std::string long_trust = trustFor("arn:aws:iam::000000000000:user/" + std::string(2100, 'u'));
  e = err("UpdateAssumeRolePolicy", {{"RoleName", "r"}, {"PolicyDocument", long_trust}});
  EXPECT_EQ(e.message, "Cannot exceed quota for ACLSizePerRole: 2048");
}

TEST_F(IamTest, ManagedPolicyVersionsAttachmentsAndConflicts) {
  auto created = ok("CreatePolicy", {{"PolicyName", "p"}, {"PolicyDocument", allowDoc("ecs:List*")}});
  std::string arn = json::stringOr(created["Policy"].as_object(), "Arn");
  EXPECT_EQ(arn, "arn:aws:iam::000000000000:policy/p");
  EXPECT_EQ(err("CreatePolicy", {{"PolicyName", "P"}, {"PolicyDocument", allowDoc("ecs:List*")}}).message,
            "A policy called P already exists. Duplicate names are not allowed.");
  for (int i = 2; i <= 5; ++i)
    ok("CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", allowDoc("ecs:Describe*")}});
  Error e = err("CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", allowDoc("ecs:Describe*")}});
  EXPECT_EQ(e.aws_type, "LimitExceededException");
  EXPECT_EQ(err("DeletePolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v1"}}).message,
            "Cannot delete the default version of a policy.");
  ok("SetDefaultPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v4"}});
  auto v4 = ok("GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v4"}});
  EXPECT_TRUE(v4["PolicyVersion"].as_object()["IsDefaultVersion"].as_bool());
  EXPECT_EQ(urlDecode(json::stringOr(v4["PolicyVersion"].as_object(), "Document")), allowDoc("ecs:Describe*"));

  createRole("r");
  ok("AttachRolePolicy", {{"RoleName", "r"}, {"PolicyArn", arn}});
  EXPECT_EQ(json::getInt(ok("GetPolicy", {{"PolicyArn", arn}})["Policy"].as_object(), "AttachmentCount"), 1);
  EXPECT_EQ(err("DeletePolicy", {{"PolicyArn", arn}}).message, "Cannot delete a policy attached to entities.");
  EXPECT_EQ(err("DeleteRole", {{"RoleName", "r"}}).message, "Cannot delete entity, must detach all policies first.");
  auto entities = ok("ListEntitiesForPolicy", {{"PolicyArn", arn}});
  EXPECT_EQ(entities["PolicyRoles"].as_array().size(), 1u);
  ok("DetachRolePolicy", {{"RoleName", "r"}, {"PolicyArn", arn}});
  EXPECT_EQ(err("DetachRolePolicy", {{"RoleName", "r"}, {"PolicyArn", arn}}).aws_type, "NoSuchEntityException");
  EXPECT_EQ(err("DeletePolicy", {{"PolicyArn", arn}}).aws_type, "DeleteConflictException");  // versions
  for (std::string v : {"v1", "v2", "v3", "v5"}) ok("DeletePolicyVersion", {{"PolicyArn", arn}, {"VersionId", v}});
  ok("DeletePolicy", {{"PolicyArn", arn}});
  ok("DeleteRole", {{"RoleName", "r"}});
}

TEST_F(IamTest, AwsManagedPoliciesArePresentAndReadOnly) {
  auto listed = ok("ListPolicies", {{"Scope", "AWS"}});
  std::set<std::string> names;
  for (const auto& p : listed["Policies"].as_array()) names.insert(json::stringOr(p.as_object(), "PolicyName"));
  for (auto n : {"AmazonECSTaskExecutionRolePolicy", "AdministratorAccess", "AmazonSSMReadOnlyAccess",
                 "AmazonEC2ContainerRegistryReadOnly", "CloudWatchLogsFullAccess"})
    EXPECT_TRUE(names.contains(n)) << n;
  EXPECT_TRUE(ok("ListPolicies", {{"Scope", "Local"}})["Policies"].as_array().empty());
  std::string exec = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
  auto p = ok("GetPolicy", {{"PolicyArn", exec}});
  EXPECT_EQ(json::stringOr(p["Policy"].as_object(), "Path"), "/service-role/");
  EXPECT_EQ(err("DeletePolicy", {{"PolicyArn", exec}}).aws_type, "AccessDenied");
  EXPECT_EQ(err("CreatePolicyVersion", {{"PolicyArn", exec}, {"PolicyDocument", allowDoc("*")}}).aws_type,
            "AccessDenied");
  // The same id after a restart.
  std::string id = json::stringOr(p["Policy"].as_object(), "PolicyId");
  start();
  EXPECT_EQ(json::stringOr(ok("GetPolicy", {{"PolicyArn", exec}})["Policy"].as_object(), "PolicyId"), id);
}

TEST_F(IamTest, UsersAndAccessKeys) {
  std::string key = createUser("alice");
  EXPECT_TRUE(key.starts_with("AKIA"));
  EXPECT_EQ(key.size(), 20u);
  ok("CreateAccessKey", {{"UserName", "alice"}});
  Error e = err("CreateAccessKey", {{"UserName", "alice"}});
  EXPECT_EQ(e.message, "Cannot exceed quota for AccessKeysPerUser: 2");
  EXPECT_EQ(err("DeleteUser", {{"UserName", "alice"}}).message, "Cannot delete entity, must delete access keys first.");

  auto snap = iam_->identityView().snapshot();
  auto cred = snap->credential(key);
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->principal_arn, "arn:aws:iam::000000000000:user/alice");
  EXPECT_FALSE(cred->session_token);
  // The user's own key, without UserName.
  Caller alice = callerFor(key);
  EXPECT_EQ(json::stringOr(ok("GetUser", {}, &alice)["User"].as_object(), "UserName"), "alice");
  EXPECT_EQ(ok("ListAccessKeys", {}, &alice)["AccessKeyMetadata"].as_array().size(), 2u);

  ok("UpdateAccessKey", {{"UserName", "alice"}, {"AccessKeyId", key}, {"Status", "Inactive"}});
  EXPECT_FALSE(iam_->identityView().snapshot()->credential(key));
  EXPECT_TRUE(snap->credential(key)) << "an old snapshot never changes";
  ok("UpdateAccessKey", {{"UserName", "alice"}, {"AccessKeyId", key}, {"Status", "Active"}});
  ok("DeleteAccessKey", {{"UserName", "alice"}, {"AccessKeyId", key}});
  EXPECT_FALSE(iam_->identityView().snapshot()->credential(key));
  EXPECT_EQ(err("DeleteAccessKey", {{"UserName", "alice"}, {"AccessKeyId", key}}).message,
            "The Access Key with id " + key + " cannot be found.");
}

TEST_F(IamTest, WhatBerthLacksIsEmptyForExistingEntities) {
  createRole("r");
  ok("CreateUser", {{"UserName", "u"}});
  EXPECT_TRUE(ok("ListInstanceProfilesForRole", {{"RoleName", "r"}})["InstanceProfiles"].as_array().empty());
  EXPECT_EQ(err("ListInstanceProfilesForRole", {{"RoleName", "x"}}).aws_type, "NoSuchEntityException");
  EXPECT_TRUE(ok("ListGroupsForUser", {{"UserName", "u"}})["Groups"].as_array().empty());
  EXPECT_TRUE(ok("ListMFADevices", {{"UserName", "u"}})["MFADevices"].as_array().empty());
  EXPECT_EQ(err("GetLoginProfile", {{"UserName", "u"}}).message, "Login Profile for User u cannot be found.");
}

TEST_F(IamTest, UpdateUserRenamesAndMoves) {
  std::string key = createUser("old", allowDoc("ecs:List*"));
  ok("CreateUser", {{"UserName", "taken"}});
  EXPECT_EQ(err("UpdateUser", {{"UserName", "old"}, {"NewUserName", "TAKEN"}}).aws_type,
            "EntityAlreadyExistsException");
  ok("UpdateUser", {{"UserName", "old"}, {"NewUserName", "new"}, {"NewPath", "/team/"}});
  EXPECT_EQ(err("GetUser", {{"UserName", "old"}}).aws_type, "NoSuchEntityException");
  auto user = ok("GetUser", {{"UserName", "new"}})["User"].as_object();
  EXPECT_EQ(json::stringOr(user, "Arn"), "arn:aws:iam::000000000000:user/team/new");
  auto cred = iam_->identityView().snapshot()->credential(key);
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->principal_arn, "arn:aws:iam::000000000000:user/team/new");
  start();
  EXPECT_EQ(ok("ListUserPolicies", {{"UserName", "new"}})["PolicyNames"].as_array().size(), 1u);
  EXPECT_EQ(err("GetUser", {{"UserName", "old"}}).aws_type, "NoSuchEntityException");
}

TEST_F(IamTest, SnapshotCarriesPrincipalsPoliciesAndTags) {
  std::string key = createUser("bob", allowDoc("ecs:Describe*"));
  ok("AttachUserPolicy", {{"UserName", "bob"}, {"PolicyArn", "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"}});
  ok("TagUser", {{"UserName", "bob"}, {"Tags", bj::array{bj::object{{"Key", "team"}, {"Value", "blue"}}}}});
  auto info = iam_->identityView().snapshot()->principal("arn:aws:iam::000000000000:user/bob");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->policies.size(), 2u);
  EXPECT_EQ(info->tags.at("team"), "blue");
  RequestContext ctx;
  ctx.action = "ssm:GetParameter";
  ctx.resource = "arn:aws:ssm:us-east-1:000000000000:parameter/x";
  EXPECT_EQ(info->decide(ctx), Decision::kAllow);
  ctx.action = "ecs:RunTask";
  EXPECT_EQ(info->decide(ctx), Decision::kImplicitDeny);
  EXPECT_EQ(iam_->identityView().snapshot()->principalForKey(key)->arn, info->arn);
}

TEST_F(IamTest, StateSurvivesARestart) {
  std::string arn = createRole("kept");
  ok("PutRolePolicy", {{"RoleName", "kept"}, {"PolicyName", "p"}, {"PolicyDocument", allowDoc("ecs:*")}});
  ok("AttachRolePolicy", {{"RoleName", "kept"}, {"PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}});
  auto created = ok("CreatePolicy", {{"PolicyName", "mine"}, {"PolicyDocument", allowDoc("ecs:List*")}});
  std::string policy_arn = json::stringOr(created["Policy"].as_object(), "Arn");
  ok("CreatePolicyVersion", {{"PolicyArn", policy_arn}, {"PolicyDocument", allowDoc("ecs:*")}, {"SetAsDefault", true}});
  std::string key = createUser("carol");
  start();
  EXPECT_EQ(json::stringOr(ok("GetRole", {{"RoleName", "kept"}})["Role"].as_object(), "Arn"), arn);
  EXPECT_EQ(ok("ListAttachedRolePolicies", {{"RoleName", "kept"}})["AttachedPolicies"].as_array().size(), 1u);
  EXPECT_EQ(json::stringOr(ok("GetPolicy", {{"PolicyArn", policy_arn}})["Policy"].as_object(), "DefaultVersionId"),
            "v2");
  EXPECT_TRUE(iam_->identityView().snapshot()->credential(key));
  EXPECT_EQ(iam_->identityView().snapshot()->principal(arn)->policies.size(), 2u);
}

TEST_F(IamTest, NothingChangesWhenTheCommitFails) {
  createRole("r");
  std::string trusting = createRole("t", trustFor("arn:aws:iam::000000000000:root"));
  std::string key = createUser("u");
  uint64_t revision = iam_->identityView().revision();
  store_.failCommitsFrom(1);
  EXPECT_EQ(err("CreateRole", {{"RoleName", "r2"}, {"AssumeRolePolicyDocument", kTrustEcsTasks}}).code, ErrorCode::kIo);
  err("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "p"}, {"PolicyDocument", allowDoc("ecs:*")}});
  err("AttachRolePolicy", {{"RoleName", "r"}, {"PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}});
  err("DeleteRole", {{"RoleName", "r"}});
  err("CreatePolicy", {{"PolicyName", "p"}, {"PolicyDocument", allowDoc("ecs:*")}});
  err("UpdateAccessKey", {{"UserName", "u"}, {"AccessKeyId", key}, {"Status", "Inactive"}});
  err("AssumeRole", {{"RoleArn", trusting}, {"RoleSessionName", "s1"}});
  store_.clearFaults();
  EXPECT_EQ(iam_->identityView().revision(), revision);
  EXPECT_EQ(err("GetRole", {{"RoleName", "r2"}}).aws_type, "NoSuchEntityException");
  EXPECT_TRUE(ok("ListRolePolicies", {{"RoleName", "r"}})["PolicyNames"].as_array().empty());
  EXPECT_TRUE(ok("ListAttachedRolePolicies", {{"RoleName", "r"}})["AttachedPolicies"].as_array().empty());
  EXPECT_TRUE(ok("ListPolicies", {{"Scope", "Local"}})["Policies"].as_array().empty());
  EXPECT_TRUE(iam_->identityView().snapshot()->credential(key));
  EXPECT_EQ(iam_->sessionCount(), 0u);
}

}  // namespace
}  // namespace berth::iam
