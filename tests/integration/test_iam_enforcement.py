"""IAM enforced on every call to berthd by a principal other than root, with
the aws CLI and boto3 (berthd --agent fake):

- a user with only ecs:Describe* describes and cannot RunTask, with AWS's
  AccessDeniedException wording, also through the aws CLI;
- an explicit Deny beats an Allow; NotAction; a condition on
  aws:RequestedRegion and one on ecs:cluster;
- iam:PassRole when a task definition names roles and when it is run;
- IAM's own API answers AccessDenied (Query protocol, HTTP 403);
- a policy change applies to the next call, and a deleted key stops working.

Every response is checked against botocore's model (conformance.py, and
berthd --check-responses).
"""

import json
import unittest

import boto3
import botocore.config
import botocore.exceptions

import conformance
from berth_harness import ACCOUNT, REGION, BerthdTestCase

IMAGE = "public.ecr.aws/docker/library/busybox"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class IamEnforcementTest(BerthdTestCase):

    @classmethod
    def setUpClassState(cls):
        cls.iam = cls.berthd.client("iam")
        cls.ecs = cls.berthd.client("ecs")
        cls.ecs.create_cluster(clusterName="dev")
        cls.ecs.create_cluster(clusterName="prod")
        subnets = cls.berthd.client("ec2").describe_subnets()["Subnets"]
        cls.network = {"awsvpcConfiguration": {"subnets": [sorted(s["SubnetId"] for s in subnets)[0]]}}
        cls.ecs.register_task_definition(family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                         cpu="256", memory="512",
                                         containerDefinitions=[{"name": "app", "image": IMAGE}])
        trust = policy({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "sts:AssumeRole"})
        cls.exec_role = cls.iam.create_role(RoleName="ecsTaskExecutionRole",
                                            AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    # ------------------------------------------------------------ helpers
    def user(self, name, *statements):
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def client_as(self, keys, service, region=REGION):
        session = boto3.session.Session(aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                                        region_name=region)
        client = session.client(service, endpoint_url=self.berthd.endpoint, config=botocore.config.Config(
            retries={"total_max_attempts": 1}, proxies={}))
        conformance.install(client)
        self.addCleanup(client.close)
        return client

    def denied(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            fn(**kwargs)
        return ctx.exception.response

    # ------------------------------------------------------------ tests
    def test_describe_only_user_can_describe_and_cannot_run_tasks(self):
        keys = self.user("viewer", {"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"})
        ecs = self.client_as(keys, "ecs")
        self.assertEqual(ecs.describe_clusters(clusters=["dev"])["clusters"][0]["clusterName"], "dev")
        r = self.denied(ecs.run_task, cluster="dev", taskDefinition="web:1", launchType="FARGATE",
                        networkConfiguration=self.network)
        self.assertEqual(r["Error"]["Code"], "AccessDeniedException")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(r["Error"]["Message"],
                         f"User: arn:aws:iam::{ACCOUNT}:user/viewer is not authorized to perform: ecs:RunTask on "
                         f"resource: arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:1 because no identity-based "
                         "policy allows the ecs:RunTask action")
        self.assertEqual(self.ecs.list_tasks(cluster="dev")["taskArns"], [])

        # The aws CLI, as the seed's users run it.
        env = self.berthd.env(AWS_ACCESS_KEY_ID=keys[0], AWS_SECRET_ACCESS_KEY=keys[1])
        out = self.berthd.aws("ecs", "describe-clusters", "--clusters", "dev", env=env)
        self.assertEqual(out["clusters"][0]["status"], "ACTIVE")
        err = self.berthd.aws("ecs", "list-clusters", check=False, env=env)
        self.assertNotEqual(err.returncode, 0)
        self.assertIn("AccessDeniedException", err.stderr)
        self.assertIn("ecs:ListClusters on resource: *", err.stderr)

    def test_explicit_deny_not_action_and_conditions(self):
        keys = self.user(
            "operator",
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": REGION}}},
            {"Effect": "Deny", "Action": "ecs:DeleteCluster", "Resource": "*"},
            {"Effect": "Deny", "Action": "ecs:RunTask", "Resource": "*",
             "Condition": {"ArnNotEquals": {"ecs:cluster": f"arn:aws:ecs:*:{ACCOUNT}:cluster/dev"}}})
        ecs = self.client_as(keys, "ecs")
        self.assertIn("clusterArns", ecs.list_clusters())
        r = self.denied(ecs.delete_cluster, cluster="prod")
        self.assertTrue(r["Error"]["Message"].endswith("with an explicit deny in an identity-based policy"))
        self.assertEqual(self.ecs.describe_clusters(clusters=["prod"])["clusters"][0]["status"], "ACTIVE")

        # ecs:cluster: dev may run tasks, prod may not.
        ran = ecs.run_task(cluster="dev", taskDefinition="web", launchType="FARGATE",
                           networkConfiguration=self.network)
        self.assertEqual(ran["failures"], [])
        self.denied(ecs.run_task, cluster="prod", taskDefinition="web", launchType="FARGATE",
                    networkConfiguration=self.network)

        # NotAction "iam:*": IAM answers in its own (Query) form, 403 AccessDenied.
        r = self.denied(self.client_as(keys, "iam").list_roles)
        self.assertEqual(r["Error"]["Code"], "AccessDenied")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertIn("iam:ListRoles", r["Error"]["Message"])

        # aws:RequestedRegion: the same user in another region is refused.
        r = self.denied(self.client_as(keys, "ecs", region="eu-west-1").list_clusters)
        self.assertEqual(r["Error"]["Code"], "AccessDeniedException")

    def test_pass_role_is_needed_to_register_and_run_with_roles(self):
        keys = self.user("deployer", {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"})
        ecs = self.client_as(keys, "ecs")
        td = dict(family="withrole", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                  memory="512", executionRoleArn=self.exec_role,
                  containerDefinitions=[{"name": "app", "image": IMAGE}])
        r = self.denied(ecs.register_task_definition, **td)
        self.assertEqual(r["Error"]["Message"],
                         f"User: arn:aws:iam::{ACCOUNT}:user/deployer is not authorized to perform: iam:PassRole on "
                         f"resource: {self.exec_role} because no identity-based policy allows the iam:PassRole action")
        # Registered by root, the definition still cannot be run by the user.
        self.ecs.register_task_definition(**td)
        self.denied(ecs.run_task, cluster="dev", taskDefinition="withrole", launchType="FARGATE",
                    networkConfiguration=self.network)
        self.denied(ecs.create_service, cluster="dev", serviceName="withrole", taskDefinition="withrole",
                    desiredCount=0, launchType="FARGATE", networkConfiguration=self.network)

        self.iam.put_user_policy(UserName="deployer", PolicyName="pass", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": self.exec_role}))
        self.assertEqual(ecs.register_task_definition(**td)["taskDefinition"]["revision"], 2)
        ran = ecs.run_task(cluster="dev", taskDefinition="withrole", launchType="FARGATE",
                           networkConfiguration=self.network)
        self.assertEqual(ran["failures"], [])

    def test_resource_tags_in_conditions(self):
        keys = self.user(
            "tagged",
            {"Effect": "Allow", "Action": ["ecs:RunTask", "ecs:StopTask", "ecs:TagResource"], "Resource": "*"},
            {"Effect": "Deny", "Action": "ecs:StopTask", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}},
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}})
        ecs = self.client_as(keys, "ecs")
        arns = {}
        for env in ("dev", "prod"):
            run = ecs.run_task(cluster="dev", taskDefinition="web", launchType="FARGATE",
                               networkConfiguration=self.network, tags=[{"key": "env", "value": env}])
            arns[env] = run["tasks"][0]["taskArn"]
        ecs.stop_task(cluster="dev", task=arns["dev"])
        r = self.denied(ecs.stop_task, cluster="dev", task=arns["prod"])
        self.assertTrue(r["Error"]["Message"].endswith("with an explicit deny in an identity-based policy"))

        ssm = self.berthd.client("ssm")
        ssm.put_parameter(Name="/team/blue", Type="String", Value="b", Tags=[{"Key": "team", "Value": "blue"}])
        ssm.put_parameter(Name="/team/red", Type="String", Value="r", Tags=[{"Key": "team", "Value": "red"}])
        as_user = self.client_as(keys, "ssm")
        self.assertEqual(as_user.get_parameter(Name="/team/blue")["Parameter"]["Value"], "b")
        r = self.denied(as_user.get_parameter, Name="/team/red")
        self.assertEqual(r["Error"]["Code"], "AccessDeniedException")
        self.assertIn(f"ssm:GetParameter on resource: arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/team/red",
                      r["Error"]["Message"])

    def test_kms_condition_keys(self):
        kms = self.berthd.client("kms")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        keys = self.user(
            "cryptographer",
            {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": key,
             "Condition": {"StringEquals": {"kms:EncryptionContext:app": "web"}}},
            {"Effect": "Allow", "Action": ["ssm:PutParameter", "ssm:GetParameter"], "Resource": "*"},
            {"Effect": "Allow", "Action": "kms:*", "Resource": key,
             "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}}})
        as_user = self.client_as(keys, "kms")
        blob = as_user.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "web"})["CiphertextBlob"]
        self.assertEqual(as_user.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "web"})["Plaintext"], b"x")
        r = self.denied(as_user.encrypt, KeyId=key, Plaintext=b"x", EncryptionContext={"app": "db"})
        self.assertIn("kms:Encrypt on resource: " + key, r["Error"]["Message"])
        # Through SSM the key may be used in any context (kms:ViaService).
        ssm = self.client_as(keys, "ssm")
        ssm.put_parameter(Name="/kms/via", Type="SecureString", KeyId=key, Value="secret")
        self.assertEqual(ssm.get_parameter(Name="/kms/via", WithDecryption=True)["Parameter"]["Value"], "secret")

    def test_changes_apply_to_the_next_call_and_deleted_keys_stop_working(self):
        keys = self.user("changing", {"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"})
        ecs = self.client_as(keys, "ecs")
        ecs.list_clusters()
        self.iam.put_user_policy(UserName="changing", PolicyName="deny", PolicyDocument=policy(
            {"Effect": "Deny", "Action": "ecs:*", "Resource": "*"}))
        self.denied(ecs.list_clusters)
        self.iam.delete_user_policy(UserName="changing", PolicyName="deny")
        ecs.list_clusters()
        self.iam.delete_access_key(UserName="changing", AccessKeyId=keys[0])
        r = self.denied(ecs.list_clusters)
        self.assertEqual(r["Error"]["Code"], "UnrecognizedClientException")


if __name__ == "__main__":
    unittest.main()
