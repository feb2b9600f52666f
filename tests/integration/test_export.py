"""`berth export` on the durableai stack file (examples/durableai/berth.yaml):
the exported infrastructure code is checked by the tools of its own
ecosystem. No berthd is needed; export only reads the stack file.

- CloudFormationExportTest: `berth export cloudformation --env dev/prod -o
  FILE` writes a template that cfn-lint accepts. Accepted: exit code 0 (no
  findings). cfn-lint's exit code is a bit mask (2 errors, 4 warnings, 8
  informational); errors always fail, and so do warnings, because the
  templates have none today and a new one should be looked at rather than
  slip in. Informational findings (8) are accepted: they are advice (for
  example a hard-coded "arn:aws:" partition in the stack file's own ARNs).
  Skipped, with the reason printed, when cfn-lint is not installed.
  An unknown environment fails with the stack file's error and writes
  nothing.

Further exporters add their own TestCase classes below, sharing the helpers.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

BIN_DIR = os.environ.get("BERTH_BIN_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build", "bin")
SOURCE_DIR = os.environ.get("BERTH_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERTH = os.path.join(BIN_DIR, "berth")
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "durableai", "berth.yaml")

# cfn-lint exit code bits (cfn-lint --help): 2 error, 4 warning, 8 informational.
CFN_LINT_ERROR, CFN_LINT_WARNING, CFN_LINT_INFO = 2, 4, 8


class ExportTestCase(unittest.TestCase):
    """A temporary directory holding a copy of the example stack file, and
    `berth` run in it."""

    def setUp(self):
        if not os.path.exists(BERTH):
            self.skipTest(f"berth binary not found at {BERTH} (set BERTH_BIN_DIR or build first)")
        self.dir = tempfile.mkdtemp(prefix="berth-export-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(EXAMPLE, os.path.join(self.dir, "berth.yaml"))

    def berth(self, *args, check=True, timeout=60):
        p = subprocess.run([BERTH, *args], cwd=self.dir, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            self.fail(f"berth {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p


def cfn_lint_command():
    """cfn-lint on PATH, else the one pip put in a pyenv Python (this
    machine's cfn-lint lives there, and ctest's PATH may not include
    pyenv's shims), or None."""
    found = shutil.which("cfn-lint")
    if found:
        return [found]
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for candidate in sorted(glob.glob(os.path.join(pyenv, "versions", "*", "bin", "cfn-lint")), reverse=True):
        if os.access(candidate, os.X_OK):
            return [candidate]
    return None


class CloudFormationExportTest(ExportTestCase):

    def export(self, env):
        path = os.path.join(self.dir, f"{env}.json")
        p = self.berth("export", "cloudformation", "--env", env, "-o", path)
        self.assertIn(f"wrote {path}", p.stderr)
        with open(path) as f:
            return path, json.load(f)

    def lint(self, path):
        command = cfn_lint_command()
        if command is None:
            msg = "cfn-lint is not installed (pip install cfn-lint): the templates are not linted"
            print(f"\nSKIP: {msg}")
            self.skipTest(msg)
        p = subprocess.run([*command, "--", path], capture_output=True, text=True, timeout=300)
        findings = p.stdout + p.stderr
        self.assertFalse(p.returncode & CFN_LINT_ERROR, f"cfn-lint found errors in {path}:\n{findings}")
        self.assertFalse(p.returncode & CFN_LINT_WARNING, f"cfn-lint found warnings in {path}:\n{findings}")
        # Anything but the informational bit is a failure of cfn-lint itself
        # (1: it could not run, for example an unreadable template).
        self.assertEqual(p.returncode & ~CFN_LINT_INFO, 0, f"cfn-lint exited {p.returncode}:\n{findings}")

    def test_dev_template_passes_cfn_lint(self):
        path, t = self.export("dev")
        self.assertEqual(t["AWSTemplateFormatVersion"], "2010-09-09")
        types = [r["Type"] for r in t["Resources"].values()]
        self.assertEqual(types.count("AWS::ECS::Service"), 2)
        self.assertNotIn("AWS::ApplicationAutoScaling::ScalableTarget", types)
        self.lint(path)

    def test_prod_template_passes_cfn_lint(self):
        path, t = self.export("prod")
        types = [r["Type"] for r in t["Resources"].values()]
        self.assertEqual(types.count("AWS::ApplicationAutoScaling::ScalingPolicy"), 2)
        self.assertEqual(t["Resources"]["BackendService"]["Properties"]["DesiredCount"], 2)
        with open(path) as f:
            self.assertNotIn("hello from durableai", f.read())  # the SecureString's value
        self.lint(path)

    def test_stdout_without_output_file(self):
        p = self.berth("export", "cloudformation", "--env", "dev")
        self.assertEqual(json.loads(p.stdout)["Resources"]["Cluster"]["Properties"]["ClusterName"],
                         "durableai-dev-cluster")

    def test_unknown_environment_fails_and_writes_nothing(self):
        path = os.path.join(self.dir, "nosuch.json")
        p = self.berth("export", "cloudformation", "--env", "nosuch", "-o", path, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no environment 'nosuch'", p.stderr)
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(path + ".tmp"))


HCL_DIR = os.path.join(SOURCE_DIR, "tests", "integration", "hcl")


class TerraformExportTest(ExportTestCase):
    """`berth export terraform -o DIR`: one module for dev and prod (main.tf,
    variables.tf, outputs.tf) and environments/<env>.tfvars, every file
    parsed by a real HCL parser (@cdktf/hcl2json, tests/integration/hcl,
    installed by scripts/install-deps.sh) and its structure checked: the
    seed's resource addresses, every var.X declared, every variable without
    a default set in each tfvars (but the VPC's), and the values that differ
    between dev and prod. Skipped, with the reason printed, without node or
    the parser package."""

    RESOURCES = [
        ("aws_ecs_cluster", "main"), ("aws_ecs_cluster_capacity_providers", "main"),
        ("aws_ecs_service", "backend"), ("aws_ecs_service", "frontend"),
        ("aws_ecs_task_definition", "backend"), ("aws_ecs_task_definition", "frontend"),
        ("aws_cloudwatch_log_group", "backend"), ("aws_cloudwatch_log_group", "frontend"),
        ("aws_iam_role", "execution"), ("aws_iam_role_policy_attachment", "execution"),
        ("aws_iam_role", "backend_task"), ("aws_iam_role_policy", "backend_task"),
        ("aws_ecr_repository", "durableai_backend"), ("aws_ecr_repository", "durableai_frontend"),
        ("aws_ssm_parameter", "parameters"),
        ("aws_service_discovery_private_dns_namespace", "main"),
        ("aws_service_discovery_service", "backend"), ("aws_service_discovery_service", "frontend"),
        ("aws_appautoscaling_target", "backend"), ("aws_appautoscaling_target", "frontend"),
        ("aws_appautoscaling_policy", "backend_cpu"), ("aws_appautoscaling_policy", "frontend_cpu"),
        ("aws_security_group", "tasks"),
    ]

    def setUp(self):
        super().setUp()
        self.node = shutil.which("node")
        if self.node is None:
            msg = "node is not installed: the Terraform export is not parsed"
            print(f"\nSKIP: {msg}")
            self.skipTest(msg)
        if not os.path.isdir(os.path.join(HCL_DIR, "node_modules", "@cdktf", "hcl2json")):
            msg = f"@cdktf/hcl2json is not installed in {HCL_DIR} (scripts/install-deps.sh installs it)"
            print(f"\nSKIP: {msg}")
            self.skipTest(msg)

    def hcl(self, path):
        """The JSON form of one HCL file; a parse error fails the test."""
        p = subprocess.run([self.node, os.path.join(HCL_DIR, "hcl2json.js"), path], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, f"{path} is not valid HCL:\n{p.stderr}")
        return json.loads(p.stdout)

    def export(self, *args):
        out = os.path.join(self.dir, "terraform")
        self.berth("export", "terraform", *args, "-o", out)
        return out

    def test_module_parses_and_declares_the_seeds_resources(self):
        out = self.export()
        main = self.hcl(os.path.join(out, "main.tf"))
        self.assertEqual(main["terraform"][0]["required_providers"][0]["aws"]["version"], "~> 5.0")
        self.assertEqual(main["provider"]["aws"][0]["region"], "${var.region}")
        self.assertIn("current", main["data"]["aws_caller_identity"])
        resources = main["resource"]
        for kind, name in self.RESOURCES:
            self.assertIn(name, resources.get(kind, {}), f"no {kind}.{name} in main.tf")
        backend = resources["aws_ecs_service"]["backend"][0]
        self.assertEqual(backend["name"], "${var.project}-${var.environment}-backend")
        self.assertEqual(backend["lifecycle"][0]["ignore_changes"], ["${desired_count}"])
        self.assertEqual(resources["aws_appautoscaling_target"]["backend"][0]["count"],
                         "${var.backend.autoscaling == null ? 0 : 1}")

        # Every reference to a resource names one the module declares.
        with open(os.path.join(out, "main.tf")) as f:
            text = f.read()
        for m in re.finditer(r"(?<![\w.])(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)", text):
            self.assertIn(m.group(2), resources.get(m.group(1), {}), f"{m.group(0)} is not declared")

        outputs = self.hcl(os.path.join(out, "outputs.tf"))["output"]
        for name in ["cluster_name", "service_names", "ecr_repository_urls", "log_group_names", "discovery_names"]:
            self.assertIn(name, outputs)

    def test_variables_are_declared_and_set_per_environment(self):
        out = self.export()
        variables = {name: v[0] for name, v in self.hcl(os.path.join(out, "variables.tf"))["variable"].items()}
        with open(os.path.join(out, "main.tf")) as f:
            used = set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", f.read()))
        self.assertTrue(used)
        self.assertEqual(used - set(variables), set(), "used in main.tf but not declared")
        for name in ["project", "environment", "region", "cluster_name", "namespace", "container_insights",
                     "log_retention_days", "tags", "vpc_id", "subnet_ids", "parameters", "backend", "frontend"]:
            self.assertIn(name, variables)
        self.assertIs(variables["parameters"].get("sensitive"), True, "the SecureString's variable is not sensitive")
        required = {name for name, v in variables.items() if "default" not in v}
        tfvars = {}
        for env in ["dev", "prod"]:
            path = os.path.join(out, "environments", f"{env}.tfvars")
            tfvars[env] = self.hcl(path)
            self.assertEqual(required - set(tfvars[env]), {"vpc_id", "subnet_ids"}, f"{env}.tfvars")
            self.assertEqual(set(tfvars[env]) - set(variables), set(), f"{env}.tfvars sets undeclared variables")
            with open(path) as f:
                self.assertIn("# vpc_id", f.read())
        dev, prod = tfvars["dev"], tfvars["prod"]
        self.assertEqual((dev["environment"], prod["environment"]), ("dev", "prod"))
        self.assertEqual((dev["log_retention_days"], prod["log_retention_days"]), (7, 30))
        self.assertEqual((dev["container_insights"], prod["container_insights"]), (False, True))
        self.assertEqual(dev["cluster_name"], "durableai-dev-cluster")
        self.assertEqual(prod["namespace"], "prod.local")
        b = prod["backend"]
        self.assertEqual((b["cpu"], b["memory"], b["desired_count"], b["capacity_provider"]), (512, 1024, 2, "FARGATE"))
        self.assertEqual(b["autoscaling"]["cpu_target"], 60)
        self.assertIsNone(b["autoscaling"]["memory_target"])
        self.assertEqual(b["environment"]["APP_ENV"], "prod")
        d = dev["backend"]
        self.assertEqual((d["cpu"], d["memory"], d["desired_count"], d["capacity_provider"]),
                         (256, 512, 1, "FARGATE_SPOT"))
        self.assertIsNone(d["autoscaling"])
        self.assertIsNone(dev["frontend"]["autoscaling"])
        # The account is a literal placeholder in the tfvars ("$${" is HCL's
        # escape, kept as written in hcl2json's JSON).
        self.assertTrue(d["image"].startswith("$${account}.dkr.ecr.us-east-1.amazonaws.com/durableai/backend"))
        self.assertEqual(dev["parameters"]["/durableai/dev/greeting"]["type"], "SecureString")

    def test_only_the_environments_asked_for(self):
        out = self.export("--env", "prod")
        self.assertEqual(os.listdir(os.path.join(out, "environments")), ["prod.tfvars"])

    def test_stdout_without_output_directory(self):
        p = self.berth("export", "terraform")
        for name in ["main.tf", "variables.tf", "outputs.tf"]:
            self.assertIn(f"# {name}\n", p.stdout)
        self.assertNotIn(".tfvars", p.stdout.replace("environments/<env>.tfvars", ""))

    def test_unknown_environment_fails_and_writes_nothing(self):
        out = os.path.join(self.dir, "terraform")
        p = self.berth("export", "terraform", "--env", "nosuch", "-o", out, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no environment 'nosuch'", p.stderr)
        self.assertFalse(os.path.exists(out))

if __name__ == "__main__":
    unittest.main()
