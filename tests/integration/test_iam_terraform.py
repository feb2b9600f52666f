"""Terraform's AWS provider against berthd's IAM and STS: the seed's roles
(execution role with AmazonECSTaskExecutionRolePolicy attached, task role
with an inline policy and a customer managed policy), a user with an access
key, and aws_caller_identity; apply, a plan that finds nothing to change,
and destroy.

Needs `terraform` on PATH and the hashicorp/aws provider in the filesystem
mirror /opt/tf-plugins (BERTH_TF_PLUGINS overrides); skipped otherwise.
Nothing leaves 127.0.0.1: the provider's endpoints are berthd's.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from berth_harness import ACCOUNT, BerthdTestCase

PLUGINS = os.environ.get("BERTH_TF_PLUGINS", "/opt/tf-plugins")
PROVIDER_DIR = os.path.join(PLUGINS, "registry.terraform.io", "hashicorp", "aws")


def provider_version():
    try:
        versions = sorted(os.listdir(PROVIDER_DIR))
    except OSError:
        return None
    return versions[-1] if versions else None


MAIN_TF = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "%(version)s" }
  }
}
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "%(ak)s"
  secret_key                  = "%(sk)s"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    iam = "%(endpoint)s"
    sts = "%(endpoint)s"
  }
}
data "aws_iam_policy_document" "ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}
resource "aws_iam_role" "exec" {
  name               = "durableai-dev-exec"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks.json
  tags               = { env = "dev" }
}
resource "aws_iam_role_policy_attachment" "exec" {
  role       = aws_iam_role.exec.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}
resource "aws_iam_role" "task" {
  name               = "durableai-dev-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks.json
}
resource "aws_iam_role_policy" "task" {
  name = "secrets"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["ssm:GetParameter*"], Resource = "arn:aws:ssm:*:*:parameter/durableai/dev/*" },
      { Effect = "Allow", Action = ["kms:Decrypt"], Resource = "arn:aws:kms:us-east-1:%(account)s:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    ]
  })
}
resource "aws_iam_policy" "logs" {
  name   = "durableai-logs"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "logs:*", Resource = "*" }] })
}
resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.task.name
  policy_arn = aws_iam_policy.logs.arn
}
resource "aws_iam_user" "ci" {
  name = "ci"
}
resource "aws_iam_access_key" "ci" {
  user = aws_iam_user.ci.name
}
data "aws_caller_identity" "me" {}
output "account" {
  value = data.aws_caller_identity.me.account_id
}
output "task_role" {
  value = aws_iam_role.task.arn
}
"""

CLI_CONFIG = """
provider_installation {
  filesystem_mirror {
    path    = "%s"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
"""


@unittest.skipUnless(shutil.which("terraform") and provider_version(),
                     f"terraform or the hashicorp/aws provider mirror ({PROVIDER_DIR}) is missing")
class IamTerraformTest(BerthdTestCase):

    def terraform(self, workdir, *args):
        env = dict(os.environ, TF_CLI_CONFIG_FILE=os.path.join(workdir, "cli.tfrc"), TF_IN_AUTOMATION="1",
                   CHECKPOINT_DISABLE="1", TF_INPUT="0")
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        return subprocess.run(["terraform", *args], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=300)

    def test_seed_roles_apply_plan_destroy(self):
        d = self.berthd
        ak, sk = d.credentials()
        workdir = tempfile.mkdtemp(prefix="berth-tf-")
        self.addCleanup(shutil.rmtree, workdir, True)
        with open(os.path.join(workdir, "cli.tfrc"), "w") as f:
            f.write(CLI_CONFIG % PLUGINS)
        with open(os.path.join(workdir, "main.tf"), "w") as f:
            f.write(MAIN_TF % {"version": provider_version(), "ak": ak, "sk": sk, "endpoint": d.endpoint,
                               "account": ACCOUNT})

        def run(*args, ok=(0,)):
            p = self.terraform(workdir, *args)
            self.assertIn(p.returncode, ok, f"terraform {' '.join(args)}:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
            return p

        run("init", "-input=false")
        run("apply", "-auto-approve", "-input=false")
        out = json.loads(run("output", "-json").stdout)
        self.assertEqual(out["account"]["value"], ACCOUNT)
        self.assertEqual(out["task_role"]["value"], f"arn:aws:iam::{ACCOUNT}:role/durableai-dev-task")
        iam = d.client("iam")
        attached = iam.list_attached_role_policies(RoleName="durableai-dev-exec")["AttachedPolicies"]
        self.assertEqual([p["PolicyName"] for p in attached], ["AmazonECSTaskExecutionRolePolicy"])
        self.assertEqual(iam.list_role_policies(RoleName="durableai-dev-task")["PolicyNames"], ["secrets"])
        self.assertEqual(len(iam.list_access_keys(UserName="ci")["AccessKeyMetadata"]), 1)
        # Everything read back as written: nothing to change.
        run("plan", "-detailed-exitcode", "-input=false")
        run("destroy", "-auto-approve", "-input=false")
        self.assertEqual([r["RoleName"] for r in iam.list_roles()["Roles"]], [])
        self.assertEqual(iam.list_policies(Scope="Local")["Policies"], [])
        self.assertEqual(iam.list_users()["Users"], [])


if __name__ == "__main__":
    unittest.main()
