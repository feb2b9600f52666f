"""Measured CPU scales a service of real tasks: busybox shell loops burn
their task's CPU quota, the agent's cgroup sampling publishes AWS/ECS
CPUUtilization, the target tracking policy's AlarmHigh goes to ALARM and
Application Auto Scaling grows the service from 1 to 4 tasks; when the loops
stop, AlarmLow brings it back to 1. DescribeScalingActivities and the
service's events tell the story.

berthd runs with --time-scale 30 (a control minute is two real seconds), so
the three datapoints of AlarmHigh take six seconds and the fifteen of
AlarmLow thirty. The loops stop when the test writes /tmp/stop into each
container's root from the host (/proc/<pid>/root). Nothing in berthd is
faked. Same set-up as test_tasks.py; needs root, runc and busybox-static,
and skips with the reason otherwise.
"""

import time
import unittest

import test_tasks
from test_tasks import SKIP, RealTaskCase

BRIDGE = test_tasks.BRIDGE + "a"
CGROUP_PARENT = test_tasks.CGROUP_PARENT + "-scale"
VPC = test_tasks.vpc_cidr(4)
DIMENSION = "ecs:service:DesiredCount"
TIME_SCALE = 30

# Pure shell builtins: the loop burns CPU without forking.
BURN = "while [ ! -e /tmp/stop ]; do :; done; exec sleep 1000000"


def task_id(arn):
    return arn.rsplit("/", 1)[1]


@unittest.skipIf(SKIP, SKIP or "")
class TaskAutoScalingTest(RealTaskCase):
    bridge = BRIDGE
    cgroup_parent = CGROUP_PARENT
    berthd_options = dict(agent="real", extra_args=[
        "--bridge", BRIDGE, "--vpc-cidr", VPC, "--cgroup-parent", CGROUP_PARENT,
        "--task-endpoint-port", "0", "--time-scale", str(TIME_SCALE)])

    def service(self):
        return self.ecs.describe_services(cluster="it", services=["burner"])["services"][0]

    def running(self):
        arns = self.ecs.list_tasks(cluster="it", serviceName="burner", desiredStatus="RUNNING")["taskArns"]
        if not arns:
            return []
        return [t for t in self.ecs.describe_tasks(cluster="it", tasks=arns)["tasks"] if t["lastStatus"] == "RUNNING"]

    def container_pids(self, task):
        path = f"/sys/fs/cgroup/memory/{self.cgroup_parent}/{task_id(task['taskArn'])}/app/cgroup.procs"
        with open(path) as f:
            return [int(p) for p in f.read().split()]

    def test_cpu_load_scales_the_service_out_to_max_and_back(self):
        self.register("burner", {"command": ["sh", "-c", BURN]})
        self.ecs.create_service(cluster="it", serviceName="burner", taskDefinition="burner", desiredCount=1,
                                launchType="FARGATE",
                                networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet]}})
        self.addCleanup(self.ecs.delete_service, cluster="it", service="burner", force=True)
        self.addCleanup(self.ecs.update_service, cluster="it", service="burner", desiredCount=0)
        aas = self.berthd.client("application-autoscaling")
        cw = self.berthd.client("cloudwatch")
        resource = "service/it/burner"
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION,
                                     MinCapacity=1, MaxCapacity=4)
        policy = aas.put_scaling_policy(
            PolicyName="cpu60", ServiceNamespace="ecs", ResourceId=resource, ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 60.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        high, low = (a["AlarmName"] for a in policy["Alarms"])

        # Each task burns its whole quota (256 units: a quarter of a core):
        # 100 % of the reservation, so 1 -> ceil(1 x 100/60) = 2 -> 4.
        def grown():
            svc = self.service()
            return svc if svc["desiredCount"] == 4 and svc["runningCount"] == 4 else None
        self.eventually(grown, timeout=150, interval=0.5, msg="the service grows to 4 running tasks")
        stats = cw.get_metric_statistics(
            Namespace="AWS/ECS", MetricName="CPUUtilization",
            Dimensions=[{"Name": "ClusterName", "Value": "it"}, {"Name": "ServiceName", "Value": "burner"}],
            # The control clock runs ahead of the wall clock: ask for hours ahead.
            StartTime=time.time() - 3600, EndTime=time.time() + 6 * 3600, Period=60,
            Statistics=["Maximum"])["Datapoints"]
        self.assertTrue(any(d["Maximum"] > 80 for d in stats), stats)
        self.assertEqual(cw.describe_alarms(AlarmNames=[high])["MetricAlarms"][0]["StateValue"], "ALARM")

        # The load stops: AlarmLow's fifteen quiet minutes scale it in to 1.
        for task in self.running():
            for pid in self.container_pids(task):
                try:
                    with open(f"/proc/{pid}/root/tmp/stop", "w"):
                        pass
                    break
                except OSError:
                    continue

        def shrunk():
            svc = self.service()
            return svc if svc["desiredCount"] == 1 and svc["runningCount"] == 1 else None
        self.eventually(shrunk, timeout=150, interval=0.5, msg="the service shrinks back to 1 task")
        self.assertEqual(cw.describe_alarms(AlarmNames=[low])["MetricAlarms"][0]["StateValue"], "ALARM")

        activities = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=resource)["ScalingActivities"]
        story = [(int(a["Description"].split()[-1].rstrip(".")), a["Cause"]) for a in reversed(activities)
                 if a["Description"].startswith("Setting desired count to ")]
        counts = [n for n, _ in story]
        # Up by the proportional steps to the max (1 -> 2 -> 4 when every task
        # measures near 100 %; a busy machine may measure less and pass
        # through 3), then down to 1 in one step.
        self.assertEqual(counts[0], 2, story)
        self.assertEqual(counts[-1], 1, story)
        peak = counts.index(4)
        self.assertEqual(counts[:peak + 1], sorted(counts[:peak + 1]), story)
        self.assertEqual(counts[peak + 1:], [1], story)
        for n, cause in story:
            alarm = high if n > 1 else low
            self.assertTrue(cause.startswith(f"monitor alarm {alarm} in state ALARM triggered policy cpu60"), story)
        messages = [e["message"] for e in self.service()["events"]]
        self.assertTrue(any(m.startswith("(service burner) has started ") for m in messages[:-1]), messages)
        self.assertTrue(any(m.startswith("(service burner) has stopped 3 running tasks:") for m in messages),
                        messages)


if __name__ == "__main__":
    unittest.main()
