"""IAM and STS through the aws CLI v2 and boto3 against berthd --agent fake.

- The seed's roles: the task execution role with AWS's managed
  AmazonECSTaskExecutionRolePolicy attached, and a task role trusted by
  ecs-tasks.amazonaws.com with an inline policy (ssm:GetParameter* on
  parameter/durableai/dev/*, kms:Decrypt on one key). Documents come back
  URL-encoded on the wire and decoded by the clients.
- Managed policies: versions (at most 5), the default version, attachment
  counts, AWS managed policies listed by Scope=AWS and not deletable.
- Conflicts and bad input: DeleteConflict, MalformedPolicyDocument,
  LimitExceeded for documents over IAM's sizes; nothing changes on failure.
- Users and access keys: GetCallerIdentity with a user's key; at most two
  keys; an inactive or deleted key is refused as InvalidClientTokenId.
- STS: AssumeRole allowed by identity and trust policy, refused by either
  with STS's AccessDenied wording; the session's credentials work, a
  tampered or missing session token is refused; GetSessionToken; sessions
  survive a restart. (Expiry is tested on a fake clock in
  tests/unit/control/sts_test.cc: the harness has no clock control.)

Every response is checked against botocore's model (conformance.py, and
berthd --check-responses).
"""

import json
import unittest

from berth_harness import ACCOUNT, BerthdTestCase

TRUST_ECS_TASKS = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TASK_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
         "Resource": "arn:aws:ssm:*:*:parameter/durableai/dev/*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN},
    ],
}
EXEC_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def trust_for(*arns):
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": list(arns)}, "Action": "sts:AssumeRole"}],
    })


def allow(action, resource="*"):
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


class IamTest(BerthdTestCase):

    @classmethod
    def setUpClassState(cls):
        cls.iam = cls.berthd.client("iam")
        cls.sts = cls.berthd.client("sts")
        # Without botocore's own checks, so that berthd's are seen.
        cls.iam_unchecked = cls.berthd.client("iam", parameter_validation=False)
        cls.sts_unchecked = cls.berthd.client("sts", parameter_validation=False)

    def client_with(self, service, key, secret, token=None, validate=True):
        import boto3
        from botocore.config import Config
        import conformance
        session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                        aws_session_token=token, region_name="us-east-1")
        client = session.client(service, endpoint_url=self.berthd.endpoint,
                                config=Config(retries={"total_max_attempts": 1}, proxies={},
                                              parameter_validation=validate))
        conformance.install(client)
        self.addCleanup(client.close)
        return client

    def new_user(self, name, policy=None):
        self.iam.create_user(UserName=name)
        if policy:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return key

    # ------------------------------------------------------------------ roles
    def test_seed_roles_with_the_cli(self):
        d = self.berthd
        role = d.aws("iam", "create-role", "--role-name", "ecsTaskExecutionRole",
                     "--assume-role-policy-document", TRUST_ECS_TASKS)["Role"]
        self.assertEqual(role["Arn"], f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole")
        self.assertRegex(role["RoleId"], r"^AROA[A-Z0-9]{17}$")
        self.assertEqual(role["AssumeRolePolicyDocument"], json.loads(TRUST_ECS_TASKS))
        d.aws("iam", "attach-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-arn", EXEC_POLICY_ARN)
        attached = d.aws("iam", "list-attached-role-policies", "--role-name", "ecsTaskExecutionRole")
        self.assertEqual(attached["AttachedPolicies"],
                         [{"PolicyName": "AmazonECSTaskExecutionRolePolicy", "PolicyArn": EXEC_POLICY_ARN}])
        policy = d.aws("iam", "get-policy", "--policy-arn", EXEC_POLICY_ARN)["Policy"]
        self.assertEqual(policy["Path"], "/service-role/")
        self.assertGreaterEqual(policy["AttachmentCount"], 1)
        version = d.aws("iam", "get-policy-version", "--policy-arn", EXEC_POLICY_ARN,
                        "--version-id", policy["DefaultVersionId"])["PolicyVersion"]
        actions = version["Document"]["Statement"][0]["Action"]
        self.assertIn("ecr:GetAuthorizationToken", actions)
        self.assertIn("logs:PutLogEvents", actions)
        entities = d.aws("iam", "list-entities-for-policy", "--policy-arn", EXEC_POLICY_ARN)
        self.assertIn("ecsTaskExecutionRole", [r["RoleName"] for r in entities["PolicyRoles"]])

        d.aws("iam", "create-role", "--role-name", "durableai-task", "--path", "/app/",
              "--assume-role-policy-document", TRUST_ECS_TASKS, "--description", "the app's task role",
              "--tags", "Key=app,Value=durableai")
        d.aws("iam", "put-role-policy", "--role-name", "durableai-task", "--policy-name", "secrets",
              "--policy-document", json.dumps(TASK_POLICY))
        got = d.aws("iam", "get-role-policy", "--role-name", "durableai-task", "--policy-name", "secrets")
        self.assertEqual(got["PolicyDocument"], TASK_POLICY)
        self.assertEqual(d.aws("iam", "list-role-policies", "--role-name", "durableai-task")["PolicyNames"],
                         ["secrets"])
        role = d.aws("iam", "get-role", "--role-name", "durableai-task")["Role"]
        self.assertEqual(role["Arn"], f"arn:aws:iam::{ACCOUNT}:role/app/durableai-task")
        self.assertEqual(role["Tags"], [{"Key": "app", "Value": "durableai"}])
        self.assertEqual(role["Description"], "the app's task role")
        names = [r["RoleName"] for r in d.aws("iam", "list-roles", "--path-prefix", "/app/")["Roles"]]
        self.assertEqual(names, ["durableai-task"])

    def test_role_updates_tags_and_pagination(self):
        for i in range(5):
            self.iam.create_role(RoleName=f"page-{i}", AssumeRolePolicyDocument=TRUST_ECS_TASKS, Path="/page/")
        seen, marker = [], None
        while True:
            kwargs = {"PathPrefix": "/page/", "MaxItems": 2}
            if marker:
                kwargs["Marker"] = marker
            out = self.iam.list_roles(**kwargs)
            seen += [r["RoleName"] for r in out["Roles"]]
            if not out["IsTruncated"]:
                break
            marker = out["Marker"]
        self.assertEqual(seen, [f"page-{i}" for i in range(5)])
        self.iam.update_role(RoleName="page-0", MaxSessionDuration=7200, Description="longer")
        role = self.iam.get_role(RoleName="page-0")["Role"]
        self.assertEqual((role["MaxSessionDuration"], role["Description"]), (7200, "longer"))
        err = self.assertAwsError("ValidationError", self.iam_unchecked.update_role, RoleName="page-0",
                                  MaxSessionDuration=60)
        self.assertIn("Member must have value greater than or equal to 3600", err["Error"]["Message"])
        self.iam.tag_role(RoleName="page-1", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.iam.untag_role(RoleName="page-1", TagKeys=["a"])
        self.assertEqual(self.iam.list_role_tags(RoleName="page-1")["Tags"], [{"Key": "b", "Value": "2"}])
        err = self.assertAwsError("EntityAlreadyExists", self.iam.create_role, RoleName="PAGE-1",
                                  AssumeRolePolicyDocument=TRUST_ECS_TASKS)
        self.assertEqual(err["Error"]["Message"], "Role with name PAGE-1 already exists.")
        err = self.assertAwsError("NoSuchEntity", self.iam.get_role, RoleName="missing")
        self.assertEqual(err["Error"]["Message"], "The role with name missing cannot be found.")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.iam.update_assume_role_policy(RoleName="page-2", PolicyDocument=trust_for(f"arn:aws:iam::{ACCOUNT}:root"))
        doc = self.iam.get_role(RoleName="page-2")["Role"]["AssumeRolePolicyDocument"]
        self.assertEqual(doc["Statement"][0]["Principal"]["AWS"], [f"arn:aws:iam::{ACCOUNT}:root"])

    def test_delete_conflicts(self):
        self.iam.create_role(RoleName="conflicted", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
        self.iam.put_role_policy(RoleName="conflicted", PolicyName="inline", PolicyDocument=allow("s3:*"))
        self.iam.attach_role_policy(RoleName="conflicted", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        err = self.assertAwsError("DeleteConflict", self.iam.delete_role, RoleName="conflicted")
        self.assertEqual(err["Error"]["Message"], "Cannot delete entity, must detach all policies first.")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.iam.detach_role_policy(RoleName="conflicted", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        err = self.assertAwsError("DeleteConflict", self.iam.delete_role, RoleName="conflicted")
        self.assertEqual(err["Error"]["Message"], "Cannot delete entity, must delete policies first.")
        self.iam.delete_role_policy(RoleName="conflicted", PolicyName="inline")
        self.iam.delete_role(RoleName="conflicted")
        self.assertAwsError("NoSuchEntity", self.iam.get_role, RoleName="conflicted")

        arn = self.iam.create_policy(PolicyName="attached-one", PolicyDocument=allow("s3:*"))["Policy"]["Arn"]
        self.iam.create_role(RoleName="holder", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
        self.iam.attach_role_policy(RoleName="holder", PolicyArn=arn)
        err = self.assertAwsError("DeleteConflict", self.iam.delete_policy, PolicyArn=arn)
        self.assertEqual(err["Error"]["Message"], "Cannot delete a policy attached to entities.")
        self.iam.detach_role_policy(RoleName="holder", PolicyArn=arn)
        self.iam.delete_policy(PolicyArn=arn)
        self.assertAwsError("NoSuchEntity", self.iam.get_policy, PolicyArn=arn)

    # ------------------------------------------------------- managed policies
    def test_managed_policy_versions(self):
        iam = self.iam
        p = iam.create_policy(PolicyName="versioned", Path="/team/", PolicyDocument=allow("ecs:Describe*"),
                              Description="v", Tags=[{"Key": "k", "Value": "v"}])["Policy"]
        arn = p["Arn"]
        self.assertEqual(arn, f"arn:aws:iam::{ACCOUNT}:policy/team/versioned")
        self.assertRegex(p["PolicyId"], r"^ANPA[A-Z0-9]{17}$")
        self.assertEqual((p["DefaultVersionId"], p["AttachmentCount"]), ("v1", 0))
        for i in range(2, 6):
            v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow(f"ecs:List{i}"),
                                          SetAsDefault=(i == 3))["PolicyVersion"]
            self.assertEqual(v["VersionId"], f"v{i}")
        err = self.assertAwsError("LimitExceeded", iam.create_policy_version, PolicyArn=arn,
                                  PolicyDocument=allow("ecs:List6"))
        self.assertIn("up to 5 versions", err["Error"]["Message"])
        self.assertEqual(iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"], "v3")
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        self.assertEqual([v["VersionId"] for v in versions], ["v5", "v4", "v3", "v2", "v1"])
        self.assertEqual([v["VersionId"] for v in versions if v["IsDefaultVersion"]], ["v3"])
        doc = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]["Document"]
        self.assertEqual(doc["Statement"][0]["Action"], "ecs:List3")
        self.assertAwsError("DeleteConflict", iam.delete_policy_version, PolicyArn=arn, VersionId="v3")
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
        err = self.assertAwsError("DeleteConflict", iam.delete_policy, PolicyArn=arn)
        self.assertIn("more than one version", err["Error"]["Message"])
        for v in ("v1", "v2", "v3", "v4"):
            iam.delete_policy_version(PolicyArn=arn, VersionId=v)
        self.assertAwsError("NoSuchEntity", iam.get_policy_version, PolicyArn=arn, VersionId="v1")
        local = [x["PolicyName"] for x in iam.list_policies(Scope="Local")["Policies"]]
        self.assertIn("versioned", local)
        iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "k2", "Value": "v2"}])
        self.assertEqual(len(iam.list_policy_tags(PolicyArn=arn)["Tags"]), 2)
        iam.delete_policy(PolicyArn=arn)

    def test_aws_managed_policies(self):
        names = {p["PolicyName"]: p for p in self.iam.list_policies(Scope="AWS")["Policies"]}
        for name in ("AmazonECSTaskExecutionRolePolicy", "AdministratorAccess", "AmazonSSMReadOnlyAccess",
                     "AmazonEC2ContainerRegistryReadOnly", "CloudWatchLogsFullAccess"):
            self.assertIn(name, names)
        self.assertEqual(names["AdministratorAccess"]["Arn"], "arn:aws:iam::aws:policy/AdministratorAccess")
        doc = self.iam.get_policy_version(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess",
                                          VersionId="v1")["PolicyVersion"]["Document"]
        self.assertEqual(doc["Statement"][0], {"Effect": "Allow", "Action": "*", "Resource": "*"})
        self.assertAwsError("AccessDenied", self.iam.delete_policy,
                            PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        self.assertTrue(self.iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"))

    # ------------------------------------------------------------- bad input
    def test_malformed_and_oversized_documents_change_nothing(self):
        iam = self.iam
        err = self.assertAwsError("MalformedPolicyDocument", iam.create_role, RoleName="bad-trust",
                                  AssumeRolePolicyDocument="{not json")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertAwsError("NoSuchEntity", iam.get_role, RoleName="bad-trust")
        iam.create_role(RoleName="target", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
        with_principal = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
        self.assertAwsError("MalformedPolicyDocument", iam.put_role_policy, RoleName="target", PolicyName="p",
                            PolicyDocument=with_principal)
        self.assertEqual(iam.list_role_policies(RoleName="target")["PolicyNames"], [])
        big = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket/{'x' * 6200}"}]})
        err = self.assertAwsError("LimitExceeded", iam.create_policy, PolicyName="too-big", PolicyDocument=big)
        self.assertEqual(err["Error"]["Message"], "Cannot exceed quota for PolicySize: 6144")
        self.assertNotIn("too-big", [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]])
        mid = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket/{'x' * 6000}"}]})
        iam.put_role_policy(RoleName="target", PolicyName="a", PolicyDocument=mid)
        err = self.assertAwsError("LimitExceeded", iam.put_role_policy, RoleName="target", PolicyName="b",
                                  PolicyDocument=mid)
        self.assertEqual(err["Error"]["Message"], "Maximum policy size of 10240 bytes exceeded for role target")
        self.assertEqual(iam.list_role_policies(RoleName="target")["PolicyNames"], ["a"])
        long_trust = json.loads(trust_for(*[f"arn:aws:iam::{ACCOUNT}:user/u{i:04d}" for i in range(60)]))
        self.assertAwsError("LimitExceeded", iam.update_assume_role_policy, RoleName="target",
                            PolicyDocument=json.dumps(long_trust))
        err = self.assertAwsError("MalformedPolicyDocument", iam.create_role, RoleName="ghostly",
                                  AssumeRolePolicyDocument=trust_for(f"arn:aws:iam::{ACCOUNT}:user/ghost"))
        self.assertEqual(err["Error"]["Message"],
                         f'Invalid principal in policy: "AWS":"arn:aws:iam::{ACCOUNT}:user/ghost"')
        err = self.berthd.aws("iam", "create-role", "--role-name", "bad name!", "--assume-role-policy-document",
                              TRUST_ECS_TASKS, check=False)
        self.assertEqual(err.code, "ValidationError")

    # ------------------------------------------------------ users and keys
    def test_user_keys_and_caller_identity(self):
        iam = self.iam
        key = self.new_user("alice")
        self.assertRegex(key["AccessKeyId"], r"^AKIA[A-Z0-9]{16}$")
        self.assertEqual(len(key["SecretAccessKey"]), 40)
        user = iam.get_user(UserName="alice")["User"]
        self.assertRegex(user["UserId"], r"^AIDA[A-Z0-9]{17}$")
        sts = self.client_with("sts", key["AccessKeyId"], key["SecretAccessKey"])
        me = sts.get_caller_identity()
        self.assertEqual(me["Arn"], f"arn:aws:iam::{ACCOUNT}:user/alice")
        self.assertEqual(me["UserId"], user["UserId"])
        self.assertEqual(me["Account"], ACCOUNT)

        second = iam.create_access_key(UserName="alice")["AccessKey"]
        err = self.assertAwsError("LimitExceeded", iam.create_access_key, UserName="alice")
        self.assertEqual(err["Error"]["Message"], "Cannot exceed quota for AccessKeysPerUser: 2")
        listed = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
        self.assertEqual(sorted(k["AccessKeyId"] for k in listed),
                         sorted([key["AccessKeyId"], second["AccessKeyId"]]))

        iam.update_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"], Status="Inactive")
        err = self.assertAwsError("InvalidClientTokenId", sts.get_caller_identity)
        self.assertEqual(err["Error"]["Message"], "The security token included in the request is invalid.")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)
        iam.update_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"], Status="Active")
        self.assertEqual(sts.get_caller_identity()["Arn"], me["Arn"])
        err = self.berthd.aws("iam", "delete-user", "--user-name", "alice", check=False)
        self.assertEqual(err.code, "DeleteConflict")
        iam.delete_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"])
        self.assertAwsError("InvalidClientTokenId", sts.get_caller_identity)
        # A JSON service says the same as UnrecognizedClientException.
        ecs = self.client_with("ecs", key["AccessKeyId"], key["SecretAccessKey"])
        err = self.assertAwsError("UnrecognizedClientException", ecs.list_clusters)
        self.assertEqual(err["Error"]["Message"], "The security token included in the request is invalid.")
        iam.delete_access_key(UserName="alice", AccessKeyId=second["AccessKeyId"])
        iam.delete_user(UserName="alice")
        self.assertAwsError("NoSuchEntity", iam.get_user, UserName="alice")

    # ------------------------------------------------------------------ STS
    def test_assume_role_allowed_and_refused(self):
        iam = self.iam
        bob = self.new_user("bob", allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/*"))
        bob_arn = f"arn:aws:iam::{ACCOUNT}:user/bob"
        carol = self.new_user("carol")  # no identity policy
        carol_arn = f"arn:aws:iam::{ACCOUNT}:user/carol"
        role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=trust_for(bob_arn, carol_arn),
                               MaxSessionDuration=7200)["Role"]
        iam.put_role_policy(RoleName="deployer", PolicyName="ecs", PolicyDocument=allow("ecs:*"))
        iam.create_role(RoleName="untrusting", AssumeRolePolicyDocument=TRUST_ECS_TASKS)

        sts = self.client_with("sts", bob["AccessKeyId"], bob["SecretAccessKey"])
        out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="deploy-1", DurationSeconds=900)
        creds = out["Credentials"]
        self.assertRegex(creds["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        self.assertGreater(len(creds["SessionToken"]), 200)
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/deploy-1")
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], f"{role['RoleId']}:deploy-1")

        as_role = self.client_with("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        me = as_role.get_caller_identity()
        self.assertEqual(me["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/deploy-1")
        self.assertEqual(me["UserId"], f"{role['RoleId']}:deploy-1")
        self.assertAwsError("AccessDenied", as_role.get_session_token)

        tampered = creds["SessionToken"][:-4] + ("AAAA" if not creds["SessionToken"].endswith("AAAA") else "BBBB")
        bad = self.client_with("sts", creds["AccessKeyId"], creds["SecretAccessKey"], tampered)
        err = self.assertAwsError("InvalidClientTokenId", bad.get_caller_identity)
        self.assertEqual(err["Error"]["Message"], "The security token included in the request is invalid.")
        missing = self.client_with("sts", creds["AccessKeyId"], creds["SecretAccessKey"])
        self.assertAwsError("InvalidClientTokenId", missing.get_caller_identity)

        # The trust policy does not name bob.
        untrusting = f"arn:aws:iam::{ACCOUNT}:role/untrusting"
        err = self.assertAwsError("AccessDenied", sts.assume_role, RoleArn=untrusting, RoleSessionName="x1")
        self.assertEqual(err["Error"]["Message"],
                         f"User: {bob_arn} is not authorized to perform: sts:AssumeRole on resource: {untrusting}")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)
        # Trusted, but no identity policy allows carol to assume it.
        carol_sts = self.client_with("sts", carol["AccessKeyId"], carol["SecretAccessKey"])
        err = self.assertAwsError("AccessDenied", carol_sts.assume_role, RoleArn=role["Arn"], RoleSessionName="x2")
        self.assertTrue(err["Error"]["Message"].startswith(
            f"User: {carol_arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}"),
            err["Error"]["Message"])
        # A role that does not exist answers the same.
        self.assertAwsError("AccessDenied", sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nope",
                            RoleSessionName="x3")
        err = self.assertAwsError("ValidationError", sts.assume_role, RoleArn=role["Arn"], RoleSessionName="x4",
                                  DurationSeconds=7201)
        self.assertEqual(err["Error"]["Message"],
                         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        unchecked = self.client_with("sts", bob["AccessKeyId"], bob["SecretAccessKey"], validate=False)
        self.assertAwsError("ValidationError", unchecked.assume_role, RoleArn=role["Arn"], RoleSessionName="x5",
                            DurationSeconds=60)
        self.assertAwsError("MalformedPolicyDocument", sts.assume_role, RoleArn=role["Arn"],
                            RoleSessionName="x6", Policy="{oops")

        # Root may assume a role that trusts the account, without identity policies.
        iam.create_role(RoleName="account-trusting",
                        AssumeRolePolicyDocument=trust_for(f"arn:aws:iam::{ACCOUNT}:root"))
        out = self.sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/account-trusting",
                                   RoleSessionName="root-session", Tags=[{"Key": "team", "Value": "a"}])
        self.assertIn("PackedPolicySize", out)

    def test_get_session_token_with_the_cli(self):
        key = self.new_user("dave")
        env = self.berthd.env(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
                              AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
        creds = self.berthd.aws("sts", "get-session-token", "--duration-seconds", "900", env=env)["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        env2 = self.berthd.env(AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
                               AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                               AWS_SESSION_TOKEN=creds["SessionToken"],
                               AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
        me = self.berthd.aws("sts", "get-caller-identity", env=env2)
        self.assertEqual(me["Arn"], f"arn:aws:iam::{ACCOUNT}:user/dave")


class StsRestartTest(BerthdTestCase):
    start_class_daemon = False

    def test_sessions_and_keys_survive_a_restart(self):
        d = self.start_berthd()
        iam = d.client("iam")
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust_for(f"arn:aws:iam::{ACCOUNT}:root"))
        iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=allow("ecs:List*"))
        iam.create_user(UserName="u")
        key = iam.create_access_key(UserName="u")["AccessKey"]
        creds = d.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
                                            RoleSessionName="s1")["Credentials"]
        d.restart(kill=True)
        d.close_clients()
        import boto3
        for ak, sk, tok, arn in ((creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"],
                                  f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s1"),
                                 (key["AccessKeyId"], key["SecretAccessKey"], None,
                                  f"arn:aws:iam::{ACCOUNT}:user/u")):
            sts = boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token=tok,
                                        region_name="us-east-1").client("sts", endpoint_url=d.endpoint)
            self.assertEqual(sts.get_caller_identity()["Arn"], arn)
            sts.close()
        self.assertEqual(d.client("iam").get_role_policy(RoleName="r", PolicyName="p")["PolicyDocument"],
                         json.loads(allow("ecs:List*")))


if __name__ == "__main__":
    unittest.main()
