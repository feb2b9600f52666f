"""Real tasks: berthd --agent real runs ECS tasks as containers (runc), each in
its own network namespace with an address on a bridge this test creates.

The image is busybox-static based, built and pushed with `berth image build`.
Everything the tests create (bridge, cgroups, mounts, namespaces) is named
per run and removed at the end; traffic goes only to the task namespaces.
Needs root, runc and busybox-static; skips with the reason otherwise.
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import boto3
import botocore.exceptions

from berth_harness import BIN_DIR, BerthdTestCase, ACCOUNT, REGION

BERTH = os.path.join(BIN_DIR, "berth")
BUSYBOX = "/bin/busybox"
RUNC = shutil.which("runc") or ("/usr/sbin/runc" if os.path.exists("/usr/sbin/runc") else None)


def _skip_reason():
    if os.geteuid() != 0:
        return "real tasks need root (namespaces, cgroups, mounts)"
    if not RUNC:
        return "runc is not installed"
    if not os.path.exists(BUSYBOX):
        return "busybox-static is not installed"
    if not os.path.exists(BERTH):
        return f"berth not built at {BERTH}"
    return None


SKIP = _skip_reason()
if SKIP:
    print(f"SKIP test_tasks: {SKIP}", file=sys.stderr, flush=True)

RUN_ID = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
BRIDGE = f"bt{RUN_ID}"
CGROUP_PARENT = f"berth-it-{RUN_ID}"


def vpc_cidr(slot):
    """A VPC CIDR for the test module in `slot` (0-5): ctest runs the real-task
    modules side by side, each with a bridge owning its VPC, so each draws
    from a range of its own (and at random within it, clear of leftovers):
    slot N gets second octets 100+20N .. 119+20N."""
    assert 0 <= slot <= 5, slot
    return f"10.{100 + 20 * slot + random.randrange(20)}.0.0/16"


VPC = vpc_cidr(0)
VPC_SECOND_OCTET = int(VPC.split(".")[1])
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/tasks-it:1"


def _host_state(bridge, data_dir):
    """What a task of this run leaves behind if cleanup is incomplete: mount
    points under its berthd's data dir (rootfs overlays, netns pins), veths
    on its bridge, links named like berth's host-side veths that lost their
    bridge, and cgroups under its parent. Only this run's resources count, so
    other berthds and benchmarks on the machine do not disturb the check."""
    with open("/proc/self/mountinfo") as f:
        mounts = sorted(p for p in (line.split()[4] for line in f) if p.startswith(data_dir))
    brif = f"/sys/class/net/{bridge}/brif"
    bridge_ports = sorted(os.listdir(brif)) if os.path.isdir(brif) else []
    orphans = sorted(n for n in os.listdir("/sys/class/net")
                     if n.startswith("bv") and not os.path.exists(f"/sys/class/net/{n}/master"))
    cgroups = []
    for ctrl in ("memory", "cpu", "pids"):
        root = f"/sys/fs/cgroup/{ctrl}/{CGROUP_PARENT}"
        if os.path.isdir(root):
            cgroups += [d for d, _, _ in os.walk(root) if d != root]
    return {"mounts": mounts, "bridge_ports": bridge_ports, "orphan_veths": orphans, "cgroups": sorted(cgroups)}


class RealTaskCase(BerthdTestCase):
    """A berthd with the real agent on a bridge, VPC and cgroup parent of its
    own, a busybox image in its registry, and helpers; no tests of its own."""

    @classmethod
    def setUpClassState(cls):
        d = cls.berthd
        cls.addClassCleanup(cls._remove_host_leftovers)
        cls.addClassCleanup(cls._stop_all_tasks)
        cls.tmp = tempfile.mkdtemp(prefix="berth-tasks-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        root = os.path.join(cls.tmp, "rootfs")
        for sub in ("bin", "www", "tmp"):
            os.makedirs(os.path.join(root, sub))
        shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
        for applet in ("sh", "httpd", "sleep", "wget", "cat", "tail", "echo", "true", "seq", "nslookup", "sed", "awk",
                       "grep", "env", "sha256sum"):
            os.symlink("busybox", os.path.join(root, "bin", applet))
        with open(os.path.join(root, "www", "index.html"), "w") as f:
            f.write("hello from a berth task\n")
        p = subprocess.run([BERTH, "--data-dir", d.data_dir, "image", "build", root, "--tag", IMAGE,
                            "--cmd", '["httpd","-f","-p","8080","-h","/www"]'],
                           capture_output=True, text=True, timeout=120, env=d.env())
        if p.returncode != 0:
            raise AssertionError(f"berth image build failed:\n{p.stdout}\n{p.stderr}")
        cls.ecs = d.client("ecs")
        cls.ecs.create_cluster(clusterName="it")
        # The execution role every task here names: berthd checks that it may
        # pull the image and write the logs (AWS's managed policy allows both).
        iam = d.client("iam")
        iam.create_role(RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}))
        iam.attach_role_policy(RoleName="ecsTaskExecutionRole",
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
        subnets = d.client("ec2").describe_subnets()["Subnets"]
        cls.subnet = sorted(s["SubnetId"] for s in subnets)[0]
        cls.families = set()

    @classmethod
    def _stop_all_tasks(cls):
        # Tasks still stopping count too: berthd leaves running containers
        # behind when it stops (a later berthd re-adopts them).
        ecs = cls.ecs
        arns = ecs.list_tasks(cluster="it")["taskArns"]
        for arn in arns:
            ecs.stop_task(cluster="it", task=arn, reason="test cleanup")
        for page in ecs.get_paginator("list_tasks").paginate(cluster="it", desiredStatus="STOPPED"):
            arns += page["taskArns"]
        deadline = time.monotonic() + 60
        while arns and time.monotonic() < deadline:
            tasks = [t for i in range(0, len(arns), 100)
                     for t in ecs.describe_tasks(cluster="it", tasks=arns[i:i + 100])["tasks"]]
            if all(t["lastStatus"] == "STOPPED" for t in tasks):
                break
            time.sleep(0.2)
        cls.berthd.stop()

    @classmethod
    def _remove_host_leftovers(cls):
        subprocess.run(["ip", "link", "del", cls.bridge], capture_output=True)
        for ctrl in os.listdir("/sys/fs/cgroup"):
            path = f"/sys/fs/cgroup/{ctrl}/{cls.cgroup_parent}"
            if os.path.isdir(path) and not os.path.islink(f"/sys/fs/cgroup/{ctrl}"):
                for dirpath, _, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
                    try:
                        os.rmdir(dirpath)
                    except OSError:
                        pass

    # ------------------------------------------------------------ helpers
    def register(self, family, container, cpu="256", memory="512"):
        container = {"name": "app", "image": IMAGE, "essential": True, **container}
        self.ecs.register_task_definition(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                          cpu=cpu, memory=memory, containerDefinitions=[container],
                                          executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole")
        return family

    def run_task(self, family):
        out = self.ecs.run_task(cluster="it", taskDefinition=family, launchType="FARGATE", networkConfiguration={
            "awsvpcConfiguration": {"subnets": [self.subnet], "assignPublicIp": "DISABLED"}})
        self.assertEqual(out["failures"], [])
        return out["tasks"][0]["taskArn"]

    def describe(self, arn):
        return self.ecs.describe_tasks(cluster="it", tasks=[arn])["tasks"][0]

    def wait_status(self, arn, status, timeout=30):
        return self.eventually(lambda: (lambda t: t if t["lastStatus"] == status else None)(self.describe(arn)),
                               timeout=timeout, interval=0.1, msg=f"{arn} to reach {status}")

    @staticmethod
    def task_ip(task):
        for a in task["attachments"]:
            for detail in a["details"]:
                if detail["name"] == "privateIPv4Address":
                    return detail["value"]
        return None

    def fetch(self, url, timeout=5):
        # The task's address is on this machine's bridge; no proxies.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with opener.open(url, timeout=2) as r:
                    return r.read().decode()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


@unittest.skipIf(SKIP, SKIP or "")
class RealTaskTest(RealTaskCase):
    bridge = BRIDGE
    cgroup_parent = CGROUP_PARENT
    berthd_options = dict(agent="real", extra_args=[
        "--bridge", BRIDGE, "--vpc-cidr", VPC, "--cgroup-parent", CGROUP_PARENT])

    # ------------------------------------------------------------ tests
    def test_http_task_with_limits_via_the_aws_cli(self):
        # With an init as pid 1, httpd gets the SIGTERM (pid 1 itself ignores it).
        self.register("web", {"portMappings": [{"containerPort": 8080}],
                              "linuxParameters": {"initProcessEnabled": True}}, cpu="512", memory="1024")
        out = self.berthd.aws("ecs", "run-task", "--cluster", "it", "--task-definition", "web", "--launch-type",
                              "FARGATE", "--network-configuration",
                              json.dumps({"awsvpcConfiguration": {"subnets": [self.subnet]}}))
        arn = out["tasks"][0]["taskArn"]
        task = self.wait_status(arn, "RUNNING")
        ip = self.task_ip(task)
        self.assertTrue(ip and ip.startswith(f"10.{VPC_SECOND_OCTET}."), task["attachments"])
        self.assertEqual(task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"], ip)
        self.assertIn("pullStartedAt", task)
        self.assertIn("startedAt", task)
        self.assertEqual(self.fetch(f"http://{ip}:8080/index.html"), "hello from a berth task\n")

        task_id = arn.rsplit("/", 1)[1]
        with open(f"/sys/fs/cgroup/cpu/{CGROUP_PARENT}/{task_id}/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open(f"/sys/fs/cgroup/cpu/{CGROUP_PARENT}/{task_id}/cpu.cfs_period_us") as f:
            period = int(f.read())
        self.assertEqual(quota / period, 0.5)  # 512 CPU units = half a core
        with open(f"/sys/fs/cgroup/memory/{CGROUP_PARENT}/{task_id}/memory.limit_in_bytes") as f:
            self.assertEqual(int(f.read()), 1024 * 1024 * 1024)

        self.berthd.aws("ecs", "stop-task", "--cluster", "it", "--task", arn, "--reason", "done here")
        stopped = self.wait_status(arn, "STOPPED")
        self.assertEqual(stopped["stopCode"], "UserInitiated")
        self.assertEqual(stopped["stoppedReason"], "done here")
        self.assertEqual(stopped["containers"][0]["exitCode"], 143)  # httpd dies of SIGTERM

    def test_essential_container_exit_stops_the_task(self):
        self.register("exit3", {"command": ["sh", "-c", "exit 3"]})
        arn = self.run_task("exit3")
        stopped = self.wait_status(arn, "STOPPED")
        self.assertEqual(stopped["stopCode"], "EssentialContainerExited")
        self.assertEqual(stopped["stoppedReason"], "Essential container in task exited")
        self.assertEqual(stopped["containers"][0]["exitCode"], 3)

    def test_memory_hog_is_oom_killed(self):
        self.register("hog", {"command": ["tail", "/dev/zero"], "memory": 16})
        arn = self.run_task("hog")
        stopped = self.wait_status(arn, "STOPPED", timeout=60)
        container = stopped["containers"][0]
        self.assertEqual(container["exitCode"], 137)
        self.assertEqual(container["reason"], "OutOfMemoryError: Container killed due to memory usage")

    def test_failing_health_check_turns_unhealthy(self):
        self.register("sick", {"healthCheck": {"command": ["CMD-SHELL", "exit 1"], "interval": 5, "timeout": 2,
                                               "retries": 1, "startPeriod": 0}})
        arn = self.run_task("sick")
        self.wait_status(arn, "RUNNING")
        task = self.eventually(lambda: (lambda t: t if t.get("healthStatus") == "UNHEALTHY" else None)(
            self.describe(arn)), timeout=30, interval=0.25, msg="task health UNHEALTHY")
        self.assertEqual(task["containers"][0]["healthStatus"], "UNHEALTHY")

    def test_stop_timeout_then_sigkill(self):
        self.register("stubborn", {"command": ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
                                   "stopTimeout": 2})
        arn = self.run_task("stubborn")
        self.wait_status(arn, "RUNNING")
        started = time.monotonic()
        self.ecs.stop_task(cluster="it", task=arn)
        stopped = self.wait_status(arn, "STOPPED", timeout=30)
        self.assertGreaterEqual(time.monotonic() - started, 1.9)
        self.assertEqual(stopped["containers"][0]["exitCode"], 137)

    def test_missing_image_is_a_pull_error(self):
        self.register("ghost", {"image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/tasks-it:missing"})
        arn = self.run_task("ghost")
        stopped = self.wait_status(arn, "STOPPED")
        self.assertEqual(stopped["stopCode"], "TaskFailedToStart")
        self.assertTrue(stopped["stoppedReason"].startswith("CannotPullContainerError"), stopped["stoppedReason"])

    def test_task_metadata_endpoint_from_inside(self):
        self.register("meta", {"command": ["sh", "-c",
                                           "wget -qO /www/task.json $ECS_CONTAINER_METADATA_URI_V4/task; "
                                           "env > /www/env.txt; wget -qO /www/api.txt $AWS_ENDPOINT_URL/health; "
                                           "exec httpd -f -p 8080 -h /www"],
                               "linuxParameters": {"initProcessEnabled": True}})
        arn = self.run_task("meta")
        ip = self.task_ip(self.wait_status(arn, "RUNNING"))
        meta = json.loads(self.fetch(f"http://{ip}:8080/task.json"))
        self.assertEqual(meta["TaskARN"], arn)
        self.assertEqual(meta["Cluster"].rsplit("/", 1)[-1], "it")
        env = dict(line.split("=", 1) for line in self.fetch(f"http://{ip}:8080/env.txt").splitlines() if "=" in line)
        self.assertEqual(env["AWS_EXECUTION_ENV"], "AWS_ECS_FARGATE")
        self.assertEqual(env["AWS_REGION"], REGION)
        # berthd's API, as the task reaches it (the subnet's gateway on the bridge).
        self.assertEqual(env["AWS_ENDPOINT_URL"], f"http://10.{VPC_SECOND_OCTET}.0.1:{self.berthd.port}")
        self.assertTrue(self.fetch(f"http://{ip}:8080/api.txt").strip(), "GET $AWS_ENDPOINT_URL/health from the task")
        self.ecs.stop_task(cluster="it", task=arn)
        self.wait_status(arn, "STOPPED")

    def test_task_role_credentials_and_ssm_secrets(self):
        """The seed's security model on real tasks: an execution role that may
        read the dev secrets, a least-privilege task role, a SecureString
        injected as an environment variable, and the task's own credentials
        from the task endpoint."""
        iam, kms, ssm = self.berthd.client("iam"), self.berthd.client("kms"), self.berthd.client("ssm")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        execution = iam.create_role(RoleName="it-exec", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.attach_role_policy(RoleName="it-exec",
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
        key = kms.create_key(Description="durableai dev")["KeyMetadata"]
        task_role = iam.create_role(RoleName="it-task", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName="it-task", PolicyName="least-privilege", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ssm:GetParameter*",
                 "Resource": "arn:aws:ssm:*:*:parameter/durableai/dev/*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]}]}))
        secret = "postgres://app:s3cret-%d@db.dev.local/app" % random.randrange(10**9)
        ssm.put_parameter(Name="/durableai/dev/db-url", Type="SecureString", KeyId=key["KeyId"], Value=secret)
        ssm.put_parameter(Name="/durableai/prod/db-url", Type="SecureString", KeyId=key["KeyId"], Value="prod")

        self.ecs.register_task_definition(
            family="seeded", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            executionRoleArn=execution, taskRoleArn=task_role, containerDefinitions=[{
                "name": "app", "image": IMAGE, "essential": True,
                "linuxParameters": {"initProcessEnabled": True},
                "secrets": [{"name": "DB_URL", "valueFrom": "/durableai/dev/db-url"}],
                "command": ["sh", "-c",
                            "wget -qO /www/creds.json http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; "
                            "echo -n \"$DB_URL\" | sha256sum > /www/secret.txt; "
                            "env | grep -v '^DB_URL=' > /www/env.txt; exec httpd -f -p 8080 -h /www"]}])

        # An execution role with no policies may not pull the image.
        bare = iam.create_role(RoleName="it-bare", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        self.ecs.register_task_definition(
            family="unpullable", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", executionRoleArn=bare,
            containerDefinitions=[{"name": "app", "image": IMAGE, "essential": True}])
        unpulled = self.wait_status(self.run_task("unpullable"), "STOPPED")
        self.assertEqual(unpulled["stopCode"], "TaskFailedToStart")
        self.assertEqual(
            unpulled["stoppedReason"],
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
            "failed: unable to retrieve ecr registry auth: service call has been retried 1 time(s): "
            f"AccessDeniedException: User: arn:aws:sts::{ACCOUNT}:assumed-role/it-bare/berth-agent is not authorized "
            "to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the "
            "ecr:GetAuthorizationToken action")

        # The managed execution policy reads no parameters: the task cannot start.
        refused = self.wait_status(self.run_task("seeded"), "STOPPED")
        self.assertEqual(refused["stopCode"], "TaskFailedToStart")
        self.assertTrue(refused["stoppedReason"].startswith(
            "ResourceInitializationError: unable to pull secrets or registry auth: "), refused["stoppedReason"])
        self.assertIn("ssm:GetParameters", refused["stoppedReason"])
        self.assertNotIn(secret, json.dumps(refused, default=str))

        # kms:Decrypt only through SSM, as AWS's guides write it.
        iam.put_role_policy(RoleName="it-exec", PolicyName="dev-secrets", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "ssm:GetParameters",
                 "Resource": "arn:aws:ssm:*:*:parameter/durableai/dev/*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"],
                 "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}}}]}))
        first, second = self.run_task("seeded"), self.run_task("seeded")
        running = self.wait_status(first, "RUNNING")
        ip = self.task_ip(running)
        other_ip = self.task_ip(self.wait_status(second, "RUNNING"))

        # The secret reached the container's environment, and nowhere else.
        self.assertEqual(self.fetch(f"http://{ip}:8080/secret.txt").split()[0],
                         hashlib.sha256(secret.encode()).hexdigest())
        self.assertNotIn(secret, json.dumps(self.describe(first), default=str))
        self.assertNotIn(secret, json.dumps(self.ecs.describe_task_definition(taskDefinition="seeded"), default=str))
        with open(self.berthd.log_path, errors="replace") as f:
            self.assertNotIn(secret, f.read())

        # The task's own credentials: the task role, and only what it allows.
        creds = json.loads(self.fetch(f"http://{ip}:8080/creds.json"))
        self.assertEqual(creds["RoleArn"], task_role)
        as_task = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["Token"], region_name=REGION).client("ssm", endpoint_url=self.berthd.endpoint)
        got = as_task.get_parameter(Name="/durableai/dev/db-url", WithDecryption=True)["Parameter"]["Value"]
        self.assertEqual(got, secret)
        with self.assertRaises(botocore.exceptions.ClientError) as denied:
            as_task.get_parameter(Name="/durableai/prod/db-url", WithDecryption=True)
        self.assertEqual(denied.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertIn("is not authorized to perform: ssm:GetParameter on resource: "
                      f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/durableai/prod/db-url",
                      denied.exception.response["Error"]["Message"])

        # From inside the first task's network namespace: its own id answers,
        # the second task's does not.
        env = lambda addr: dict(l.split("=", 1) for l in self.fetch(f"http://{addr}:8080/env.txt").splitlines()
                                if "=" in l)
        own, theirs = env(ip)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], env(other_ip)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
        self.assertNotEqual(own, theirs)
        self.assertNotIn(first.rsplit("/", 1)[1], own)
        with open(f"/sys/fs/cgroup/memory/{self.cgroup_parent}/{first.rsplit('/', 1)[1]}/app/cgroup.procs") as f:
            pid = min(int(p) for p in f.read().split())

        def fetch_inside(uri):
            return subprocess.run(["nsenter", "-t", str(pid), "-n", BUSYBOX, "wget", "-qO-",
                                   f"http://169.254.170.2{uri}"], capture_output=True, text=True, timeout=10)
        self.assertEqual(json.loads(fetch_inside(own).stdout)["AccessKeyId"], creds["AccessKeyId"])
        stolen = fetch_inside(theirs)
        self.assertNotEqual(stolen.returncode, 0)
        self.assertIn("400", stolen.stderr)

        # A stopped task's credentials die with it.
        self.ecs.stop_task(cluster="it", task=first)
        self.wait_status(first, "STOPPED")
        with self.assertRaises(botocore.exceptions.ClientError):
            as_task.get_parameter(Name="/durableai/dev/db-url")
        self.ecs.stop_task(cluster="it", task=second)
        self.wait_status(second, "STOPPED")

        # A disabled key: the next task cannot read its secret and does not start.
        kms.disable_key(KeyId=key["KeyId"])
        disabled = self.wait_status(self.run_task("seeded"), "STOPPED")
        self.assertEqual(disabled["stopCode"], "TaskFailedToStart")
        self.assertTrue(disabled["stoppedReason"].startswith("ResourceInitializationError: "),
                        disabled["stoppedReason"])
        self.assertIn("disabled", disabled["stoppedReason"].lower())
        kms.enable_key(KeyId=key["KeyId"])

    def test_start_stop_cycles_leave_nothing_behind(self):
        # The leak check is about resources; a stop that misses its SIGTERM
        # (which test_http_task... would see as exit 137) costs 10 s here.
        self.register("cycle", {"command": ["sleep", "1000"], "linuxParameters": {"initProcessEnabled": True},
                                "stopTimeout": 10})
        warm = self.run_task("cycle")
        self.wait_status(warm, "RUNNING")
        self.ecs.stop_task(cluster="it", task=warm)
        self.wait_status(warm, "STOPPED")
        before = _host_state(BRIDGE, self.berthd.data_dir)
        fds_before = len(os.listdir(f"/proc/{self.berthd.proc.pid}/fd"))
        # 20 in CI; BERTH_LEAK_CYCLES=1000 for the full run (docs/performance.md).
        cycles = int(os.environ.get("BERTH_LEAK_CYCLES", "20"))
        slowest_stop = 0.0
        started = time.monotonic()
        for _ in range(cycles):
            arn = self.run_task("cycle")
            self.wait_status(arn, "RUNNING")
            stop_sent = time.monotonic()
            self.ecs.stop_task(cluster="it", task=arn)
            self.wait_status(arn, "STOPPED")
            slowest_stop = max(slowest_stop, time.monotonic() - stop_sent)
        print(f"\n{cycles} start/stop cycles in {time.monotonic() - started:.1f} s, slowest stop "
              f"{slowest_stop:.2f} s", file=sys.stderr)
        # The kernel destroys a task's network namespace, and the veth pair
        # with it, asynchronously after berthd unpins it: allow it a moment.
        deadline = time.monotonic() + 5
        while _host_state(BRIDGE, self.berthd.data_dir) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(_host_state(BRIDGE, self.berthd.data_dir), before)
        self.assertLessEqual(len(os.listdir(f"/proc/{self.berthd.proc.pid}/fd")), fds_before + 2)


@unittest.skipIf(SKIP, SKIP or "")
class RealTaskCrashTest(RealTaskCase):
    """kill -9 berthd while tasks run: they keep running and are re-adopted."""
    bridge = BRIDGE + "c"
    cgroup_parent = CGROUP_PARENT + "c"
    berthd_options = dict(agent="real", extra_args=[
        "--bridge", BRIDGE + "c", "--vpc-cidr", VPC, "--cgroup-parent", CGROUP_PARENT + "c",
        "--task-endpoint-port", "0"])

    def test_tasks_survive_kill_9(self):
        self.register("srv", {"linuxParameters": {"initProcessEnabled": True}})  # the image's httpd
        self.register("late", {"command": ["sh", "-c", "sleep 3; exit 7"]})
        srv = self.run_task("srv")
        late = self.run_task("late")
        ip = self.task_ip(self.wait_status(srv, "RUNNING"))
        self.wait_status(late, "RUNNING")
        self.berthd.kill9()
        # While berthd is down, the server keeps serving and `late` exits.
        self.assertEqual(self.fetch(f"http://{ip}:8080/index.html"), "hello from a berth task\n")
        time.sleep(3.5)
        self.berthd.start()
        type(self).ecs = self.berthd.client("ecs")
        self.ecs = type(self).ecs
        self.assertEqual(self.describe(srv)["lastStatus"], "RUNNING")
        self.assertEqual(self.fetch(f"http://{ip}:8080/index.html"), "hello from a berth task\n")
        stopped = self.wait_status(late, "STOPPED")
        self.assertEqual(stopped["containers"][0]["exitCode"], 7)
        self.assertEqual(stopped["stopCode"], "EssentialContainerExited")


if __name__ == "__main__":
    unittest.main()
