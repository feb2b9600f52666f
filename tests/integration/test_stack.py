"""The durableai stack file (examples/durableai/berth.yaml) through `berth
plan/apply/output/destroy/cost` against berthd --agent fake: everything goes
through the AWS APIs, SigV4-signed, and is checked afterwards with boto3.

- dev: plan shows what will be created; apply creates it and waits for a
  steady state; a second plan shows no changes (--detailed-exitcode 0);
  changing the backend's memory plans exactly that change and apply rolls a
  new task definition revision; `destroy --target service.backend` removes
  the service and keeps the repositories, roles, logs and the cluster;
  destroy removes the rest.
- prod: autoscaling (scalable target and target tracking policy with its
  alarms), Container Insights on, FARGATE, two tasks.
- cost: the seed's breakdown beside berth's arithmetic.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from berth_harness import BIN_DIR, SOURCE_DIR, BerthdTestCase

BERTH = os.path.join(BIN_DIR, "berth")
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "durableai", "berth.yaml")


class StackTest(BerthdTestCase):

    @classmethod
    def setUpClassState(cls):
        cls.ecs = cls.berthd.client("ecs")
        cls.aas = cls.berthd.client("application-autoscaling")
        cls.cw = cls.berthd.client("cloudwatch")
        cls.iam = cls.berthd.client("iam")
        cls.logs = cls.berthd.client("logs")

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="berth-stack-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(EXAMPLE, os.path.join(self.dir, "berth.yaml"))

    def berth(self, *args, check=True, timeout=180):
        p = subprocess.run([BERTH, "--data-dir", self.berthd.data_dir, *args], cwd=self.dir, capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            self.fail(f"berth {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def edit(self, old, new):
        path = os.path.join(self.dir, "berth.yaml")
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))

    def test_dev_lifecycle(self):
        plan = self.berth("plan", "--env", "dev", "--detailed-exitcode", check=False)
        self.assertEqual(plan.returncode, 2, plan.stdout + plan.stderr)
        self.assertIn("+ ecs_service.backend will be created", plan.stdout)
        self.assertIn("Plan: 15 to add, 0 to change, 0 to destroy.", plan.stdout)

        applied = self.berth("apply", "--env", "dev", "--auto-approve")
        self.assertIn("Apply complete! Resources: 15 added, 0 changed, 0 destroyed.", applied.stdout)
        self.assertIn("All services are steady.", applied.stdout)

        # What the seed describes, as the AWS APIs show it.
        [cluster] = self.ecs.describe_clusters(clusters=["durableai-dev-cluster"], include=["SETTINGS"])["clusters"]
        self.assertEqual(cluster["settings"], [{"name": "containerInsights", "value": "disabled"}])
        services = {s["serviceName"]: s for s in self.ecs.describe_services(
            cluster="durableai-dev-cluster", services=["durableai-dev-backend", "durableai-dev-frontend"])["services"]}
        for name in ("durableai-dev-backend", "durableai-dev-frontend"):
            s = services[name]
            self.assertEqual((s["desiredCount"], s["runningCount"]), (1, 1))
            self.assertEqual(s["capacityProviderStrategy"][0]["capacityProvider"], "FARGATE_SPOT")
            self.assertEqual(s["deploymentConfiguration"]["deploymentCircuitBreaker"],
                             {"enable": True, "rollback": True})
            # The seed's fallback to on-demand, as berth's service tag.
            tags = self.ecs.list_tags_for_resource(resourceArn=s["serviceArn"])["tags"]
            self.assertIn({"key": "berth:spot-fallback", "value": "FARGATE"}, tags)
        td = self.ecs.describe_task_definition(taskDefinition=services["durableai-dev-backend"]["taskDefinition"])["taskDefinition"]
        self.assertEqual((td["cpu"], td["memory"]), ("256", "512"))
        container = td["containerDefinitions"][0]
        self.assertEqual(container["portMappings"][0]["containerPort"], 8000)
        self.assertIn("/health", container["healthCheck"]["command"][1])
        groups = {g["logGroupName"]: g for g in self.logs.describe_log_groups(
            logGroupNamePrefix="/ecs/durableai-dev/")["logGroups"]}
        self.assertEqual(groups["/ecs/durableai-dev/backend"]["retentionInDays"], 7)
        role = self.iam.get_role_policy(RoleName="durableai-dev-backend-task", PolicyName="backend")
        self.assertEqual(role["PolicyDocument"]["Statement"][0]["Action"], ["ssm:GetParameter"])

        # The quick views.
        status = self.berth("status", "--env", "dev").stdout
        self.assertRegex(status, r"durableai-dev-backend +ACTIVE +1 running, 0 pending of 1 desired")
        self.assertIn("(COMPLETED)", status)
        ps = self.berth("ps", "--env", "dev").stdout.splitlines()
        self.assertEqual(len(ps), 3, ps)  # header, backend, frontend
        self.assertRegex(ps[1], r"^[0-9a-f]{32} +backend +RUNNING +\S+ +\d+\.\d+\.\d+\.\d+ +FARGATE_SPOT$")
        events = self.berth("events", "backend", "--env", "dev").stdout
        self.assertIn("(service durableai-dev-backend) has reached a steady state.", events)

        again = self.berth("plan", "--env", "dev", "--detailed-exitcode", check=False)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.assertIn("No changes.", again.stdout)

        # One change in the file: exactly that change in the plan.
        self.edit("    memory: 512\n    count: 1\n    capacity: FARGATE_SPOT\n    # The seed's",
                  "    memory: 1024\n    count: 1\n    capacity: FARGATE_SPOT\n    # The seed's")
        changed = self.berth("plan", "--env", "dev")
        self.assertIn('~ memory: "512" -> "1024"', changed.stdout)
        self.assertIn("Plan: 0 to add, 2 to change, 0 to destroy.", changed.stdout)
        self.berth("apply", "--env", "dev", "--auto-approve")
        [backend] = self.ecs.describe_services(cluster="durableai-dev-cluster", services=["durableai-dev-backend"])["services"]
        self.assertTrue(backend["taskDefinition"].endswith("durableai-dev-backend:2"), backend["taskDefinition"])

        out = json.loads(self.berth("output", "--env", "dev", "--json").stdout)
        self.assertEqual(out["cluster"], "durableai-dev-cluster")
        self.assertEqual(out["services"]["backend"]["discovery_name"], "backend.dev.local")
        self.assertEqual(len(out["services"]["frontend"]["endpoints"]), 1)

        # The seed's targeted destroy: the service goes, the rest stays.
        self.berth("destroy", "--env", "dev", "--target", "service.backend", "--auto-approve")
        [backend] = self.ecs.describe_services(cluster="durableai-dev-cluster", services=["durableai-dev-backend"])["services"]
        self.assertEqual(backend["status"], "INACTIVE")
        self.assertTrue(self.iam.get_role(RoleName="durableai-dev-execution"))
        self.berth("destroy", "--env", "dev", "--auto-approve")
        [cluster] = self.ecs.describe_clusters(clusters=["durableai-dev-cluster"])["clusters"] or [{"status": "GONE"}]
        self.assertIn(cluster["status"], ("INACTIVE", "GONE"))
        self.assertEqual(self.logs.describe_log_groups(logGroupNamePrefix="/ecs/durableai-dev/")["logGroups"], [])

    def test_prod_autoscaling_and_cost(self):
        self.berth("apply", "--env", "prod", "--auto-approve")
        self.addCleanup(self.berth, "destroy", "--env", "prod", "--auto-approve")
        [target] = self.aas.describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=["service/durableai-prod-cluster/durableai-prod-backend"])["ScalableTargets"]
        self.assertEqual((target["MinCapacity"], target["MaxCapacity"]), (1, 4))
        [policy] = self.aas.describe_scaling_policies(
            ServiceNamespace="ecs", ResourceId="service/durableai-prod-cluster/durableai-prod-backend")["ScalingPolicies"]
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        self.assertEqual((config["TargetValue"], config["ScaleOutCooldown"], config["ScaleInCooldown"]),
                         (60.0, 120, 300))
        self.assertEqual(len(policy["Alarms"]), 2)
        [cluster] = self.ecs.describe_clusters(clusters=["durableai-prod-cluster"], include=["SETTINGS"])["clusters"]
        self.assertEqual(cluster["settings"], [{"name": "containerInsights", "value": "enabled"}])
        [backend] = self.ecs.describe_services(cluster="durableai-prod-cluster", services=["durableai-prod-backend"])["services"]
        self.assertEqual((backend["desiredCount"], backend["capacityProviderStrategy"][0]["capacityProvider"]),
                         (2, "FARGATE"))
        # Autoscaling owns the desired count: a changed count is no change to apply.
        self.ecs.update_service(cluster="durableai-prod-cluster", service="durableai-prod-backend", desiredCount=3)
        plan = self.berth("plan", "--env", "prod", "--detailed-exitcode", check=False)
        self.assertEqual(plan.returncode, 0, plan.stdout)

        cost = self.berth("cost", "--env", "prod").stdout
        self.assertIn("Fargate: backend (2 x 0.5 vCPU, 1 GB)", cost)
        self.assertIn("Container Insights metrics", cost)
        self.assertIn("Fargate (4 tasks)", cost)
        self.assertIn("Why they differ", cost)

    def test_bad_stack_files_say_where(self):
        self.edit("    memory: 512\n", "    memroy: 512\n")
        p = self.berth("validate", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"berth\.yaml:\d+:\d+: .*'memroy'.*did you mean 'memory'")
        p = self.berth("plan", "--env", "dev", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("did you mean 'memory'", p.stderr)


if __name__ == "__main__":
    unittest.main()
