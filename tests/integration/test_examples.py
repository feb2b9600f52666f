"""The durableai example (examples/durableai/) end to end on real tasks: the
seed's backend and frontend, built by the project as static binaries and
packed into busybox-static images with examples/durableai/build-images.sh.

The backend runs as an ECS service registered in the Cloud Map namespace
dev.local; on each request it reads its task id from the task metadata
endpoint and a SecureString (under a customer managed KMS key) from SSM,
signing GetParameter with SigV4 itself, using the task role's credentials
from the container credentials endpoint. The frontend task finds
backend.dev.local through its VPC resolver and renders what the backend
answered. The test fetches the frontend's page from the host: it holds the
backend task's id and the parameter's value only if the whole chain worked.

Same set-up as test_tasks.py (own bridge, VPC and cgroup parent). Needs
root, runc and busybox-static; skips with the reason otherwise.
"""

import json
import os
import random
import subprocess
import sys
import unittest
import urllib.error

import test_tasks
from berth_harness import BIN_DIR, SOURCE_DIR
from test_tasks import SKIP as TASKS_SKIP, RealTaskCase, ACCOUNT, REGION

BRIDGE = test_tasks.BRIDGE + "e"
CGROUP_PARENT = test_tasks.CGROUP_PARENT + "-ex"
VPC = test_tasks.vpc_cidr(5)
BUILD_IMAGES = os.path.join(SOURCE_DIR, "examples", "durableai", "build-images.sh")
APPS = {app: os.path.join(BIN_DIR, f"durableai-{app}") for app in ("backend", "frontend")}
PARAMETER = "/durableai/dev/greeting"


def _skip_reason():
    if TASKS_SKIP:
        return TASKS_SKIP
    for path in APPS.values():
        if not os.path.exists(path):
            return f"{os.path.basename(path)} not built at {path}"
    return None


SKIP = _skip_reason()
if SKIP:
    print(f"SKIP test_examples: {SKIP}", file=sys.stderr, flush=True)


def image(app):
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/durableai/{app}:latest"


@unittest.skipIf(SKIP, SKIP or "")
class DurableaiExampleTest(RealTaskCase):
    bridge = BRIDGE
    cgroup_parent = CGROUP_PARENT
    # The backend needs the task endpoint (metadata and credentials) on
    # 169.254.170.2:80, which one berthd on the machine can bind at a time:
    # ctest runs this module apart from test_tasks (RESOURCE_LOCK).
    berthd_options = dict(agent="real", extra_args=[
        "--bridge", BRIDGE, "--vpc-cidr", VPC, "--cgroup-parent", CGROUP_PARENT])

    @classmethod
    def setUpClassState(cls):
        super().setUpClassState()
        cls.push_images()

    @classmethod
    def push_images(cls):
        """Builds and pushes both images (creating their repositories)."""
        d = cls.berthd
        p = subprocess.run([BUILD_IMAGES, d.data_dir], capture_output=True, text=True, timeout=180,
                           env=d.env(BERTH_BIN_DIR=BIN_DIR, ACCOUNT=ACCOUNT, REGION=REGION))
        if p.returncode != 0:
            raise AssertionError(f"build-images.sh failed:\n{p.stdout}\n{p.stderr}")

    def register_app(self, app, port, task_role=None, environment=()):
        extra = {"taskRoleArn": task_role} if task_role else {}
        self.ecs.register_task_definition(
            family=f"durableai-{app}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
            containerDefinitions=[{
                "name": app, "image": image(app), "essential": True,
                "portMappings": [{"containerPort": port}],
                "environment": [{"name": k, "value": v} for k, v in environment]}], **extra)
        return f"durableai-{app}"

    def fetch_answer(self, url):
        """The body of `url`, also on an HTTP error status (the backend's 502
        says what failed), with the status."""
        try:
            return 200, self.fetch(url, timeout=15)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_the_frontend_shows_the_backends_task_and_its_ssm_greeting(self):
        d = self.berthd
        iam, kms, ssm = d.client("iam"), d.client("kms"), d.client("ssm")
        # The seed's secret: a SecureString under a customer managed key, which
        # the task role may decrypt (SSM checks kms:Decrypt for such keys).
        key = kms.create_key(Description="durableai dev")["KeyMetadata"]
        greeting = f"hello from SSM <{random.randrange(10**9)}> & KMS"
        ssm.put_parameter(Name=PARAMETER, Type="SecureString", KeyId=key["KeyId"], Value=greeting)
        # The stack test below declares the same parameter under SSM's own key.
        self.addCleanup(ssm.delete_parameter, Name=PARAMETER)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        task_role = iam.create_role(RoleName="durableai-backend", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName="durableai-backend", PolicyName="greeting", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ssm:GetParameter",
                 "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{PARAMETER}"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]}]}))

        sd = d.client("servicediscovery", inject_host_prefix=False)
        vpc = d.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
        op = sd.create_private_dns_namespace(Name="dev.local", Vpc=vpc)["OperationId"]
        self.eventually(lambda: sd.get_operation(OperationId=op)["Operation"]["Status"] == "SUCCESS",
                        timeout=10, interval=0.2, msg="namespace created")
        ns = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
        registry = sd.create_service(Name="backend", NamespaceId=ns, DnsConfig={
            "RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]},
            HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]["Arn"]

        backend = self.register_app("backend", 8000, task_role, [("GREETING_PARAMETER", PARAMETER)])
        self.ecs.create_service(cluster="it", serviceName="backend", taskDefinition=backend, desiredCount=1,
                                launchType="FARGATE", serviceRegistries=[{"registryArn": registry}],
                                networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet]}})
        try:
            found = self.eventually(
                lambda: sd.discover_instances(NamespaceName="dev.local", ServiceName="backend")["Instances"],
                timeout=30, interval=0.2, msg="the backend task registered in Cloud Map")
            backend_ip = found[0]["Attributes"]["AWS_INSTANCE_IPV4"]
            backend_arns = self.ecs.list_tasks(cluster="it", serviceName="backend")["taskArns"]
            self.assertEqual(len(backend_arns), 1)
            backend_task = backend_arns[0].rsplit("/", 1)[1]

            # The backend on its own, from the host.
            self.assertEqual(self.fetch(f"http://{backend_ip}:8000/health", timeout=15), "ok")
            status, body = self.fetch_answer(f"http://{backend_ip}:8000/")
            self.assertEqual(status, 200, body)
            answer = json.loads(body)
            self.assertEqual(answer, {"service": "backend", "task": backend_task, "greeting": greeting})

            frontend = self.register_app("frontend", 3000)  # BACKEND_URL: its default, backend.dev.local:8000
            arn = self.run_task(frontend)
            frontend_ip = self.task_ip(self.wait_status(arn, "RUNNING", timeout=60))
            self.assertEqual(self.fetch(f"http://{frontend_ip}:3000/health", timeout=15), "ok")
            page = self.fetch(f"http://{frontend_ip}:3000/", timeout=15)
            self.assertIn(f'<span id="task">{backend_task}</span>', page)
            escaped = greeting.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            self.assertIn(f'<span id="greeting">{escaped}</span>', page)
            self.assertNotIn('id="error"', page)
            print(f"\nfrontend {frontend_ip} -> backend.dev.local ({backend_ip}, task {backend_task}): "
                  f"{greeting!r}", file=sys.stderr)

            # Without ssm:GetParameter the backend says what failed, and the
            # frontend shows it.
            iam.delete_role_policy(RoleName="durableai-backend", PolicyName="greeting")
            page = self.eventually(lambda: (lambda p: p if 'id="error"' in p else None)(
                self.fetch(f"http://{frontend_ip}:3000/")), timeout=30, interval=0.5, msg="the error page")
            self.assertIn("SSM GetParameter", page)
            self.assertIn("AccessDeniedException", page)
            self.assertNotIn(escaped, page)
        finally:
            self.ecs.update_service(cluster="it", service="backend", desiredCount=0)
            self.ecs.delete_service(cluster="it", service="backend", force=True)
            # dev.local goes too, for the stack's own dev.local below: Cloud
            # Map refuses to delete a service while instances remain.
            registry_id = registry.rsplit("/", 1)[1]
            self.eventually(lambda: not sd.list_instances(ServiceId=registry_id)["Instances"], timeout=30,
                            interval=0.5, msg="the backend deregistered")
            sd.delete_service(Id=registry_id)
            sd.delete_namespace(Id=ns)


    # ------------------------------------------------------------ the stack
    def berth(self, workdir, *args, timeout=300):
        p = subprocess.run([os.path.join(BIN_DIR, "berth"), "--data-dir", self.berthd.data_dir, *args], cwd=workdir,
                           capture_output=True, text=True, timeout=timeout)
        self.assertEqual(p.returncode, 0, f"berth {' '.join(args)}:\n{p.stdout}\n{p.stderr}")
        return p.stdout

    def test_the_seeds_dev_environment_meets_its_success_metrics(self):
        """The seed's dev environment from examples/durableai/berth.yaml, checked
        metric by metric with the seed's own commands (the aws CLI), then its
        redeploy command and its Spot fallback. The seed's cost metric (< $5 a
        month) is `berth cost`'s to check against AWS's prices (cost_test.cc):
        on them it does not hold, and docs/cost.md shows why."""
        import shutil
        import tempfile
        workdir = tempfile.mkdtemp(prefix="berth-stack-dev-")
        self.addCleanup(shutil.rmtree, workdir, True)
        shutil.copy(os.path.join(SOURCE_DIR, "examples", "durableai", "berth.yaml"), workdir)
        # The images, again: the other stack test's destroy deletes the
        # repositories (as `berth destroy` of a whole environment does).
        self.push_images()
        self.assertIn("All services are steady.", self.berth(workdir, "apply", "--env", "dev", "--auto-approve"))
        self.addCleanup(self.berth, workdir, "destroy", "--env", "dev", "--auto-approve")
        aws = self.berthd.aws
        cluster = "durableai-dev-cluster"
        names = ["durableai-dev-backend", "durableai-dev-frontend"]

        # ECS cluster successfully created (Container Insights off in dev).
        [c] = aws("ecs", "describe-clusters", "--clusters", cluster, "--include", "SETTINGS")["clusters"]
        self.assertEqual(c["status"], "ACTIVE")
        self.assertEqual(c["settings"], [{"name": "containerInsights", "value": "disabled"}])

        # Task definitions configured with appropriate resources.
        # The seed's `list-task-definitions --family-prefix durableai-dev`
        # lists nothing, here as on AWS: that familyPrefix is matched against
        # the whole family name (docs/api-coverage.md). The families answer.
        self.assertEqual(aws("ecs", "list-task-definitions", "--family-prefix", "durableai-dev")
                         ["taskDefinitionArns"], [])
        self.assertEqual(aws("ecs", "list-task-definition-families", "--family-prefix", "durableai-dev")
                         ["families"], names)
        arns = [aws("ecs", "list-task-definitions", "--family-prefix", n)["taskDefinitionArns"][0] for n in names]
        self.assertEqual([a.rsplit("/", 1)[1] for a in arns], [n + ":1" for n in names])
        for arn, port, path in zip(arns, (8000, 3000), ("/health", "/")):
            td = aws("ecs", "describe-task-definition", "--task-definition", arn)["taskDefinition"]
            self.assertEqual((td["cpu"], td["memory"], td["requiresCompatibilities"]), ("256", "512", ["FARGATE"]))
            [container] = td["containerDefinitions"]
            self.assertEqual(container["portMappings"][0]["containerPort"], port)
            self.assertIn(f"http://localhost:{port}{path} ", container["healthCheck"]["command"][1])

        # Services deployed with Fargate Spot, one task each.
        services = aws("ecs", "describe-services", "--cluster", cluster, "--services", *names)["services"]
        for svc in services:
            self.assertEqual((svc["desiredCount"], svc["runningCount"]), (1, 1), svc["serviceName"])
            self.assertEqual(svc["capacityProviderStrategy"][0]["capacityProvider"], "FARGATE_SPOT")
        def tasks(service, status="RUNNING"):
            arns = aws("ecs", "list-tasks", "--cluster", cluster, "--service-name", service,
                       "--desired-status", status)["taskArns"]
            return aws("ecs", "describe-tasks", "--cluster", cluster, "--tasks", *arns)["tasks"] if arns else []
        [backend] = tasks("durableai-dev-backend")
        self.assertEqual(backend["capacityProviderName"], "FARGATE_SPOT")

        # Service discovery operational: backend.dev.local is the backend
        # task, and the frontend reaches it by that name.
        found = aws("servicediscovery", "discover-instances", "--namespace-name", "dev.local",
                    "--service-name", "backend")["Instances"]
        self.assertEqual([i["Attributes"]["AWS_INSTANCE_IPV4"] for i in found], [self.task_ip(backend)])
        outputs = json.loads(self.berth(workdir, "output", "--env", "dev", "--json"))
        [frontend_url] = outputs["services"]["frontend"]["endpoints"]
        status, page = self.fetch_answer(frontend_url + "/")
        self.assertEqual(status, 200, page)
        self.assertIn(f'<span id="task">{backend["taskArn"].rsplit("/", 1)[1]}</span>', page)
        self.assertIn('<span id="greeting">hello from durableai dev</span>', page)

        # CloudWatch logging configured: the seed's `aws logs tail`.
        self.assertEqual(aws("logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/durableai-dev/backend")
                         ["logGroups"][0]["retentionInDays"], 7)
        self.eventually(lambda: "backend: listening on 0.0.0.0:8000" in aws(
            "logs", "tail", "/ecs/durableai-dev/backend", "--since", "1h", output="text"),
            timeout=30, interval=1, msg="the backend's first line in its log group")

        # IAM roles follow least privilege: the task role may read its one
        # parameter and nothing else; the execution role has AWS's policy.
        policy = aws("iam", "get-role-policy", "--role-name", "durableai-dev-backend-task",
                     "--policy-name", "backend")["PolicyDocument"]
        self.assertEqual(policy["Statement"], [{
            "Effect": "Allow", "Action": ["ssm:GetParameter"],
            "Resource": [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/durableai/dev/greeting"]}])
        self.assertEqual(aws("iam", "list-attached-role-policies", "--role-name", "durableai-dev-backend-task")
                         ["AttachedPolicies"], [])
        self.assertEqual([p["PolicyName"] for p in aws("iam", "list-attached-role-policies", "--role-name",
                                                         "durableai-dev-execution")["AttachedPolicies"]],
                         ["AmazonECSTaskExecutionRolePolicy"])

        # The seed's redeploy: update-service --force-new-deployment replaces
        # the task with a new one.
        aws("ecs", "update-service", "--cluster", cluster, "--service", "durableai-dev-backend",
            "--force-new-deployment")
        def replaced():
            [svc] = aws("ecs", "describe-services", "--cluster", cluster,
                        "--services", "durableai-dev-backend")["services"]
            running = tasks("durableai-dev-backend")
            done = (len(svc["deployments"]) == 1 and svc["deployments"][0]["rolloutState"] == "COMPLETED"
                    and [t["taskArn"] for t in running if t["lastStatus"] == "RUNNING"] not in ([], [backend["taskArn"]]))
            return running if done else None
        [backend] = self.eventually(replaced, timeout=90, interval=1, msg="the forced deployment completed")

        # Automatic fallback to on-demand if Spot is unavailable (berth's
        # spot_fallback): with Spot capacity off, an interrupted Spot task
        # is replaced on FARGATE, and moves back to Spot when it returns.
        self.berth(workdir, "spot", "capacity", "off")
        self.addCleanup(self.berth, workdir, "spot", "capacity", "on")
        self.berth(workdir, "spot", "interrupt", "--cluster", cluster, "--service", "durableai-dev-backend")
        def on(provider):
            running = [t for t in tasks("durableai-dev-backend") if t["lastStatus"] == "RUNNING"]
            return running if [t["capacityProviderName"] for t in running] == [provider] else None
        self.eventually(lambda: on("FARGATE"), timeout=180, interval=1, msg="the fallback task on FARGATE")
        self.berth(workdir, "spot", "capacity", "on")
        self.eventually(lambda: on("FARGATE_SPOT"), timeout=180, interval=1, msg="back on FARGATE_SPOT")

        # Nothing of the above is drift: the plan has no changes.
        self.assertIn("No changes.", self.berth(workdir, "plan", "--env", "dev"))

        # One change in the file (the backend's memory): the plan shows
        # exactly that, and apply rolls the service onto a new revision.
        path = os.path.join(workdir, "berth.yaml")
        with open(path) as f:
            text = f.read()
        anchor = "    memory: 512\n    count: 1\n    capacity: FARGATE_SPOT\n    # The seed's"
        self.assertIn(anchor, text, "the backend's memory moved in berth.yaml")
        with open(path, "w") as f:
            f.write(text.replace(anchor, anchor.replace("512", "1024"), 1))
        plan = self.berth(workdir, "plan", "--env", "dev")
        self.assertIn('~ memory: "512" -> "1024"', plan)
        self.assertIn("Plan: 0 to add, 2 to change, 0 to destroy.", plan)
        self.berth(workdir, "apply", "--env", "dev", "--auto-approve")
        [svc] = aws("ecs", "describe-services", "--cluster", cluster, "--services", "durableai-dev-backend")["services"]
        self.assertTrue(svc["taskDefinition"].endswith("durableai-dev-backend:2"), svc["taskDefinition"])
        self.assertEqual({t["memory"] for t in tasks("durableai-dev-backend") if t["lastStatus"] == "RUNNING"},
                         {"1024"})

        # The seed's targeted destroy: the backend service goes with its task
        # definition and discovery entry; repositories, roles, log groups,
        # the frontend and the cluster stay, and a plan would bring it back.
        self.berth(workdir, "destroy", "--env", "dev", "--auto-approve", "--target", "service.backend")
        by_name = {s["serviceName"]: s for s in aws("ecs", "describe-services", "--cluster", cluster,
                                                     "--services", *names)["services"]}
        self.assertNotEqual(by_name.get("durableai-dev-backend", {}).get("status"), "ACTIVE")
        self.assertEqual(by_name["durableai-dev-frontend"]["status"], "ACTIVE")
        self.assertLessEqual({"durableai/backend", "durableai/frontend"},
                             {r["repositoryName"] for r in aws("ecr", "describe-repositories")["repositories"]})
        self.assertEqual(len(aws("logs", "describe-log-groups", "--log-group-name-prefix",
                                 "/ecs/durableai-dev/backend")["logGroups"]), 1)
        aws("iam", "get-role", "--role-name", "durableai-dev-backend-task")
        replan = self.berth(workdir, "plan", "--env", "dev")
        self.assertIn("+ ecs_service.backend will be created", replan)

    def test_the_seed_stack_with_berth_apply_on_real_tasks(self):
        """examples/durableai/berth.yaml's prod environment (prod.local, so it
        stays clear of the other test's dev.local): apply runs the seed's two
        services for real, the frontend answers with the backend's greeting
        through backend.prod.local, a second plan has no changes, a memory
        change rolls a new revision, and destroy removes it all."""
        import shutil
        import tempfile
        workdir = tempfile.mkdtemp(prefix="berth-stack-real-")
        self.addCleanup(shutil.rmtree, workdir, True)
        shutil.copy(os.path.join(SOURCE_DIR, "examples", "durableai", "berth.yaml"), workdir)
        out = self.berth(workdir, "apply", "--env", "prod", "--auto-approve")
        self.assertIn("All services are steady.", out)
        destroyed = []
        self.addCleanup(lambda: destroyed or self.berth(workdir, "destroy", "--env", "prod", "--auto-approve"))

        def page():
            outputs = json.loads(self.berth(workdir, "output", "--env", "prod", "--json"))
            endpoints = outputs["services"]["frontend"]["endpoints"]
            self.assertEqual(len(endpoints), 2, outputs)
            return self.fetch_answer(endpoints[0] + "/")
        status, body = page()
        self.assertEqual(status, 200, body)
        self.assertIn("hello from durableai prod", body)
        backends = self.ecs.list_tasks(cluster="durableai-prod-cluster", serviceName="durableai-prod-backend")["taskArns"]
        self.assertEqual(len(backends), 2)
        self.assertTrue(any(arn.rsplit("/", 1)[1] in body for arn in backends), body)

        # Prod's autoscaling, as the seed describes it: CPU at 60 %, 1 to 4
        # tasks, scale-out after 2 minutes' cooldown and scale-in after 5.
        aws = self.berthd.aws
        targets = aws("application-autoscaling", "describe-scalable-targets",
                      "--service-namespace", "ecs")["ScalableTargets"]
        self.assertEqual(sorted((t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets), [
            ("service/durableai-prod-cluster/durableai-prod-backend", 1, 4),
            ("service/durableai-prod-cluster/durableai-prod-frontend", 1, 4)])
        policies = aws("application-autoscaling", "describe-scaling-policies",
                       "--service-namespace", "ecs")["ScalingPolicies"]
        self.assertEqual(len(policies), 2)
        for p in policies:
            config = p["TargetTrackingScalingPolicyConfiguration"]
            self.assertEqual((config["TargetValue"], config["ScaleOutCooldown"], config["ScaleInCooldown"]),
                             (60.0, 120, 300))
            self.assertEqual(config["PredefinedMetricSpecification"]["PredefinedMetricType"],
                             "ECSServiceAverageCPUUtilization")
            self.assertEqual(len(p["Alarms"]), 2)  # CloudWatch's AlarmHigh and AlarmLow

        self.assertIn("No changes.", self.berth(workdir, "plan", "--env", "prod"))
        path = os.path.join(workdir, "berth.yaml")
        with open(path) as f:
            text = f.read()
        # prod's backend override: 512 CPU / 1024 MB -> 2048 MB.
        head, sep, tail = text.partition("      backend:\n        cpu: 512\n        memory: 1024")
        self.assertTrue(sep, "the prod backend override moved in berth.yaml")
        with open(path, "w") as f:
            f.write(head + "      backend:\n        cpu: 512\n        memory: 2048" + tail)
        plan = self.berth(workdir, "plan", "--env", "prod")
        self.assertIn('~ memory: "1024" -> "2048"', plan)
        self.assertIn("Plan: 0 to add, 2 to change, 0 to destroy.", plan)
        self.berth(workdir, "apply", "--env", "prod", "--auto-approve")
        running = self.ecs.describe_tasks(cluster="durableai-prod-cluster", tasks=self.ecs.list_tasks(
            cluster="durableai-prod-cluster", serviceName="durableai-prod-backend", desiredStatus="RUNNING")["taskArns"])["tasks"]
        self.assertEqual({t["memory"] for t in running if t["lastStatus"] == "RUNNING"}, {"2048"})
        self.assertEqual(page()[0], 200)

        self.berth(workdir, "destroy", "--env", "prod", "--auto-approve")
        destroyed.append(True)
        [cluster] = self.ecs.describe_clusters(clusters=["durableai-prod-cluster"])["clusters"] or [{"status": "GONE"}]
        self.assertIn(cluster["status"], ("INACTIVE", "GONE"))


if __name__ == "__main__":
    unittest.main()
