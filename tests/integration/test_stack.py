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
- cost --metered (its own berthd, --time-scale 30: a control minute is two
  real seconds): the task-minutes CloudWatch recorded for dev's two
  one-task services, against the minutes elapsed on the control clock, and
  the dollars they make at the price table's rates.
"""

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import tempfile
import termios
import time
import unittest

from berth_harness import BIN_DIR, SOURCE_DIR, BerthdTestCase

BERTH = os.path.join(BIN_DIR, "berth")
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "durableai", "berth.yaml")
# An image the fake agent fails to pull (berthd --fake-unpullable-image).
BAD_IMAGE = "public.ecr.aws/docker/library/busybox:does-not-exist"


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

    def berth(self, *args, check=True, timeout=180, berthd=None):
        berthd = berthd or self.berthd
        p = subprocess.run([BERTH, "--data-dir", berthd.data_dir, *args], cwd=self.dir, capture_output=True,
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

    def berth_on_terminal(self, berthd, *args, timeout=180, **env_vars):
        """Runs berth against `berthd` with stdout on a pseudo-terminal (100
        columns, TERM=xterm, NO_COLOR unset, then `env_vars`); returns its
        exit status and what it wrote."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env["TERM"] = "xterm"
        env.update(env_vars)
        try:
            p = subprocess.Popen([BERTH, "--data-dir", berthd.data_dir, *args], cwd=self.dir, env=env,
                                 stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
        finally:
            os.close(slave)
        out = b""
        try:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: berth has exited and the terminal is closed
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            os.close(master)
        stderr = p.communicate(timeout=timeout)[1]
        return p.returncode, out.decode(errors="replace") + stderr.decode(errors="replace")

    def test_apply_on_a_terminal_redraws_services_and_tasks(self):
        # A daemon of its own, where the frontend's new image cannot be pulled:
        # the rollout takes a few polls (three failed tasks trip the circuit
        # breaker, which rolls back) and the block is redrawn meanwhile.
        berthd = self.start_berthd(extra_args=["--fake-unpullable-image", BAD_IMAGE, "--time-scale", "10"])
        first = self.berth("apply", "--env", "dev", "--auto-approve", berthd=berthd).stdout
        self.assertNotIn("\x1b", first)
        self.assertRegex(first, r"\n  durableai-dev-frontend: task [0-9a-f]{8} RUNNING \(HEALTHY\)\n")

        self.edit("image: durableai/frontend:latest", f"image: {BAD_IMAGE}")
        code, out = self.berth_on_terminal(berthd, "apply", "--env", "dev", "--auto-approve")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"ecs_task_definition\.frontend: \x1b\[33mModifying\.\.\.\x1b\[0m")
        self.assertRegex(out, r"\r\x1b\[\d+A\x1b\[J")  # back up over the last frame, cleared
        self.assertRegex(out, r"durableai-dev-frontend: 1 running, \d pending of 1 desired; 2 deployments "
                              r"\(\x1b\[33mIN_PROGRESS\x1b\[0m\)")
        self.assertRegex(out, r"\n    task [0-9a-f]{8}  \x1b\[32mRUNNING\x1b\[0m {7}\x1b\[32mHEALTHY\x1b\[0m\r\n")
        self.assertRegex(out, r"\n  [|/\\-] \d+s\r\n")  # the spinner
        final = out[out.rindex("\x1b[J"):]  # the last frame is left on screen
        self.assertRegex(final, r"durableai-dev-frontend: 1 running, 0 pending of 1 desired; 1 deployment "
                                r"\(\x1b\[32mCOMPLETED\x1b\[0m\)")
        self.assertTrue(final.endswith("All services are steady.\r\n"), final)

        # The same apply with stdout not a terminal: today's lines, no escapes.
        plain = self.berth("apply", "--env", "dev", "--auto-approve", berthd=berthd).stdout
        self.assertNotIn("\x1b", plain)
        self.assertIn("ecs_service.frontend: Modifying...", plain)
        self.assertIn("durableai-dev-frontend: 1 running, 0 pending of 1 desired; 2 deployments (IN_PROGRESS)", plain)
        self.assertRegex(plain, r"\n  durableai-dev-frontend: task [0-9a-f]{8} RUNNING \(HEALTHY\)\n")
        self.assertTrue(plain.endswith("All services are steady.\n"), plain)

        # A terminal that asks for no colour gets the plain lines too (the
        # plan aside).
        code, out = self.berth_on_terminal(berthd, "apply", "--env", "dev", "--auto-approve", NO_COLOR="1")
        self.assertEqual(code, 0, out)
        waited = out[out.index("ecs_service.frontend: Modifying..."):]
        self.assertNotIn("\x1b", waited)
        self.assertRegex(waited, r"\n  durableai-dev-frontend: task [0-9a-f]{8} RUNNING \(HEALTHY\)\r\n")

    def test_dev_lifecycle(self):
        plan = self.berth("plan", "--env", "dev", "--detailed-exitcode", check=False)
        self.assertEqual(plan.returncode, 2, plan.stdout + plan.stderr)
        self.assertIn("+ ecs_service.backend will be created", plan.stdout)
        self.assertIn("Plan: 15 to add, 0 to change, 0 to destroy.", plan.stdout)

        applied = self.berth("apply", "--env", "dev", "--auto-approve")
        self.assertIn("Apply complete! Resources: 15 added, 0 changed, 0 destroyed.", applied.stdout)
        self.assertIn("All services are steady.", applied.stdout)
        self.assertRegex(applied.stdout, r"\n  durableai-dev-backend: task [0-9a-f]{8} RUNNING \(HEALTHY\)\n")

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


TIME_SCALE = 30
# dev's services: 0.25 vCPU and 0.5 GB on Fargate Spot, 70 % off (cost.h).
SPOT_HOURLY = (0.25 * 0.04048 + 0.5 * 0.004445) * (1 - 0.70)
METERED_LINE = re.compile(r"^  (\w+) \((FARGATE_SPOT|FARGATE), ([\d.]+) vCPU, ([\d.]+) GB\): ([\d.]+) task-hours "
                          r"\(([\d.]+) task-minutes\) x \$([\d.]+) = \$([\d.]+)$", re.M)


class MeteredCostTest(BerthdTestCase):
    berthd_options = dict(extra_args=["--time-scale", str(TIME_SCALE)])
    berth = StackTest.berth

    @classmethod
    def setUpClassState(cls):
        cls.ecs = cls.berthd.client("ecs")
        cls.cw = cls.berthd.client("cloudwatch")

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="berth-metered-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(EXAMPLE, os.path.join(self.dir, "berth.yaml"))

    def metered(self, *args):
        out = self.berth("cost", "--env", "dev", "--metered", *args).stdout
        lines = {m[1]: m for m in METERED_LINE.finditer(out)}
        return out, lines

    def control_minute(self):
        """The minute the control clock is in (epoch seconds): a datum put without a timestamp is
        stamped with CloudWatch's now, on the control clock; read back by the minute."""
        self.cw.put_metric_data(Namespace="BerthTest", MetricData=[{"MetricName": "Clock", "Value": 1}])
        now = time.time()
        points = self.cw.get_metric_statistics(Namespace="BerthTest", MetricName="Clock", Period=60,
                                               StartTime=now - 3600, EndTime=now + 12 * 3600,
                                               Statistics=["SampleCount"])["Datapoints"]
        return max(int(p["Timestamp"].timestamp()) for p in points)

    def test_metered_cost_counts_the_minutes_tasks_ran(self):
        # Never applied: no metrics, zero task-hours and a note; a bad --since is an error.
        out, lines = self.metered()
        self.assertEqual({k: float(v[6]) for k, v in lines.items()}, {"backend": 0.0, "frontend": 0.0}, out)
        self.assertIn("Total: 0.00 task-hours = $0.00", out)
        self.assertIn("No task-minutes recorded", out)
        bad = self.berth("cost", "--env", "dev", "--metered", "--since", "2w", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("--since 2w: expected", bad.stderr)

        self.berth("apply", "--env", "dev", "--auto-approve")
        self.addCleanup(self.berth, "destroy", "--env", "dev", "--auto-approve")
        started = {}
        for name in ("backend", "frontend"):
            arns = self.ecs.list_tasks(cluster="durableai-dev-cluster", serviceName=f"durableai-dev-{name}")["taskArns"]
            [task] = self.ecs.describe_tasks(cluster="durableai-dev-cluster", tasks=arns)["tasks"]
            started[name] = (task["taskArn"], int(task["startedAt"].timestamp()) // 60 * 60)

        # Let a few control minutes pass (two real seconds each).
        deadline = time.monotonic() + 60
        while True:
            before = self.control_minute()
            out, lines = self.metered()
            after = self.control_minute()
            if all(float(lines[n][6]) >= 4 for n in started) or time.monotonic() > deadline:
                break
            time.sleep(1)
        for name, (arn, start_minute) in started.items():
            m = lines[name]
            self.assertEqual((m[2], m[3], m[4]), ("FARGATE_SPOT", "0.25", "0.5"), out)
            minutes = float(m[6])
            self.assertGreaterEqual(minutes, 4, out)
            # One task, one sample a minute: the minutes from the task's start to the last minute
            # closed before the query (the start minute counts if the task was sampled in it, and
            # the minute just closed may not be published yet).
            low = (before - start_minute) // 60 - 2
            high = (after - start_minute) // 60
            self.assertTrue(low <= minutes <= high, f"{name}: {minutes} task-minutes, expected {low}..{high}\n{out}")
            # The dollars follow from the price table.
            self.assertEqual(m[7], f"{SPOT_HOURLY:.6f}".rstrip("0"), out)
            self.assertAlmostEqual(float(m[8]), minutes / 60 * SPOT_HOURLY, places=4)
            # Still the one task: nothing restarted behind the count.
            running = self.ecs.list_tasks(cluster="durableai-dev-cluster", serviceName=f"durableai-dev-{name}")
            self.assertEqual(running["taskArns"], [arn])
        total = sum(float(lines[n][6]) for n in started)
        self.assertIn(f"Total: {total / 60:.2f} task-hours", out)
        self.assertIn("Sizes and capacity providers are the stack file's declaration today", out)


if __name__ == "__main__":
    unittest.main()
