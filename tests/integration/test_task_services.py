"""ECS services on real tasks: the scheduler keeps the desired count through
container deaths it did not ask for, replaces a task whose health check
starts failing, and rolls a deployment whose image cannot be pulled back
to the last one that completed.

Same set-up as test_tasks.py (own bridge, VPC and cgroup parent; a busybox
image built with `berth image build`). The tests kill container processes
and make a health check fail from the host, through the task's cgroup and
/proc/<pid>/root: nothing is faked inside berthd. Needs root, runc and
busybox-static; skips with the reason otherwise.
"""

import os
import signal
import time
import unittest

import test_tasks
from test_tasks import SKIP, RealTaskCase, ACCOUNT, REGION

BRIDGE = test_tasks.BRIDGE + "s"
CGROUP_PARENT = test_tasks.CGROUP_PARENT + "-svc"
VPC = test_tasks.vpc_cidr(3)
MISSING_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/tasks-it:missing"


def task_id(arn):
    return arn.rsplit("/", 1)[1]


@unittest.skipIf(SKIP, SKIP or "")
class TaskServiceTest(RealTaskCase):
    bridge = BRIDGE
    cgroup_parent = CGROUP_PARENT
    berthd_options = dict(agent="real", extra_args=[
        "--bridge", BRIDGE, "--vpc-cidr", VPC, "--cgroup-parent", CGROUP_PARENT,
        "--task-endpoint-port", "0"])

    # ------------------------------------------------------------ helpers
    def create_service(self, name, family, desired, **extra):
        self.ecs.create_service(cluster="it", serviceName=name, taskDefinition=family, desiredCount=desired,
                                launchType="FARGATE", networkConfiguration={
                                    "awsvpcConfiguration": {"subnets": [self.subnet]}}, **extra)
        self.addCleanup(self.remove_service, name)

    def remove_service(self, name):
        self.ecs.update_service(cluster="it", service=name, desiredCount=0)
        self.ecs.delete_service(cluster="it", service=name, force=True)

    def service(self, name):
        return self.ecs.describe_services(cluster="it", services=[name])["services"][0]

    def running_tasks(self, name):
        arns = self.ecs.list_tasks(cluster="it", serviceName=name, desiredStatus="RUNNING")["taskArns"]
        if not arns:
            return []
        tasks = self.ecs.describe_tasks(cluster="it", tasks=arns)["tasks"]
        return [t for t in tasks if t["lastStatus"] == "RUNNING"]

    def wait_running(self, name, count, exclude=(), timeout=60):
        def check():
            tasks = [t for t in self.running_tasks(name) if t["taskArn"] not in exclude]
            svc = self.service(name)
            if len(tasks) == count and svc["runningCount"] == count and svc["pendingCount"] == 0:
                return tasks
            return None
        return self.eventually(check, timeout=timeout, interval=0.2, msg=f"{name}: {count} tasks running")

    def container_pids(self, task):
        """The processes of the task's container, from its memory cgroup."""
        path = f"/sys/fs/cgroup/memory/{self.cgroup_parent}/{task_id(task['taskArn'])}/app/cgroup.procs"
        with open(path) as f:
            pids = [int(p) for p in f.read().split()]
        self.assertTrue(pids, f"no processes in {path}")
        return pids

    # ------------------------------------------------------------ tests
    def test_desired_count_is_kept_through_killed_containers(self):
        self.register("keeper", {"portMappings": [{"containerPort": 8080}]})  # the image's httpd as pid 1
        self.create_service("keeper", "keeper", 2)
        first = self.wait_running("keeper", 2)
        victim = first[0]
        for pid in self.container_pids(victim):
            os.kill(pid, signal.SIGKILL)

        stopped = self.wait_status(victim["taskArn"], "STOPPED")
        self.assertEqual(stopped["stopCode"], "EssentialContainerExited")
        self.assertEqual(stopped["containers"][0]["exitCode"], 137)
        self.assertEqual(stopped["group"], "service:keeper")

        # A replacement takes its place: two running tasks again, the
        # survivor and a new one, both serving.
        now = self.wait_running("keeper", 2, exclude={victim["taskArn"]})
        arns = {t["taskArn"] for t in now}
        self.assertIn(first[1]["taskArn"], arns)
        replacement = next(t for t in now if t["taskArn"] != first[1]["taskArn"])
        self.assertNotIn(replacement["taskArn"], {t["taskArn"] for t in first})
        self.assertEqual(replacement["startedBy"], self.service("keeper")["deployments"][0]["id"])
        for t in now:
            self.assertEqual(self.fetch(f"http://{self.task_ip(t)}:8080/index.html"), "hello from a berth task\n")
        messages = [e["message"] for e in self.service("keeper")["events"]]
        self.assertIn(f"(service keeper) has started 1 tasks: (task {task_id(replacement['taskArn'])}).", messages)

        # Killing both at once: both are replaced.
        for t in now:
            for pid in self.container_pids(t):
                os.kill(pid, signal.SIGKILL)
        again = self.wait_running("keeper", 2, exclude={t["taskArn"] for t in now})
        self.assertFalse({t["taskArn"] for t in again} & ({t["taskArn"] for t in now} | {victim["taskArn"]}))

    def test_a_task_whose_health_check_fails_is_replaced(self):
        self.register("patient", {
            "portMappings": [{"containerPort": 8080}],
            "healthCheck": {"command": ["CMD-SHELL", "test ! -f /tmp/sick"], "interval": 5, "timeout": 2,
                            "retries": 1, "startPeriod": 0}})
        self.create_service("patient", "patient", 1)

        def healthy():
            tasks = self.running_tasks("patient")
            return tasks[0] if len(tasks) == 1 and tasks[0].get("healthStatus") == "HEALTHY" else None
        task = self.eventually(healthy, timeout=60, interval=0.2, msg="the task turns HEALTHY")

        # The container's own filesystem, reached through its pid 1's root.
        pid = min(self.container_pids(task))
        with open(f"/proc/{pid}/root/tmp/sick", "w"):
            pass

        stopped = self.wait_status(task["taskArn"], "STOPPED", timeout=60)
        self.assertEqual(stopped["healthStatus"], "UNHEALTHY")
        self.assertEqual(stopped["stoppedReason"], "Task failed container health checks")
        self.assertEqual(stopped["stopCode"], "ServiceSchedulerInitiated")
        replacement = self.eventually(healthy, timeout=60, interval=0.2, msg="a replacement turns HEALTHY")
        self.assertNotEqual(replacement["taskArn"], task["taskArn"])
        messages = [e["message"] for e in self.service("patient")["events"]]
        self.assertIn(f"(service patient) (task {task_id(task['taskArn'])}) failed container health checks.",
                      messages)

    def test_a_deployment_that_cannot_pull_rolls_back_on_real_tasks(self):
        def revision(image):
            return self.ecs.register_task_definition(
                family="rollback", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                memory="512", executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
                containerDefinitions=[{"name": "app", "image": image, "essential": True,
                                       "portMappings": [{"containerPort": 8080}]}])["taskDefinition"]["taskDefinitionArn"]
        good = revision(test_tasks.IMAGE)
        bad = revision(MISSING_IMAGE)
        self.create_service("rollback", good, 2, deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "minimumHealthyPercent": 100, "maximumPercent": 200})
        self.wait_running("rollback", 2)
        first = self.service("rollback")["deployments"][0]["id"]

        failing = self.ecs.update_service(cluster="it", service="rollback",
                                          taskDefinition=bad)["service"]["deployments"][0]["id"]

        def rolled_back():
            svc = self.service("rollback")
            deps = svc["deployments"]
            ok = (svc["taskDefinition"] == good and len(deps) == 1 and deps[0]["rolloutState"] == "COMPLETED"
                  and svc["runningCount"] == 2)
            return svc if ok else None
        svc = self.eventually(rolled_back, timeout=120, interval=0.5, msg="the deployment rolls back")
        messages = [e["message"] for e in svc["events"]]
        self.assertIn(f"(service rollback) (deployment {failing}) deployment failed: tasks failed to start.", messages)
        self.assertIn(f"(service rollback) rolling back to deployment {first}.", messages)

        # The rollback is a deployment of its own (as on ECS): its tasks run
        # the first task definition and serve.
        running = self.running_tasks("rollback")
        self.assertEqual(len(running), 2)
        self.assertEqual({t["taskDefinitionArn"] for t in running}, {good})
        self.assertLessEqual({t["startedBy"] for t in running}, {first, svc["deployments"][0]["id"]})
        for t in running:
            self.assertEqual(self.fetch(f"http://{self.task_ip(t)}:8080/index.html"), "hello from a berth task\n")
        failed = [t for t in self.ecs.describe_tasks(cluster="it", tasks=self.ecs.list_tasks(
            cluster="it", serviceName="rollback", desiredStatus="STOPPED")["taskArns"])["tasks"]
            if t["taskDefinitionArn"] == bad]
        # At least the breaker's threshold failed to pull; one still pulling
        # when the rollback came was stopped by the scheduler instead.
        pull_failures = [t for t in failed if t["stopCode"] == "TaskFailedToStart"]
        self.assertGreaterEqual(len(pull_failures), 3)
        for t in pull_failures:
            self.assertTrue(t["stoppedReason"].startswith("CannotPullContainerError"), t["stoppedReason"])
        for t in failed:
            self.assertIn(t["stopCode"], ("TaskFailedToStart", "ServiceSchedulerInitiated"))


if __name__ == "__main__":
    unittest.main()
