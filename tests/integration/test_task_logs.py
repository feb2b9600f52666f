"""The awslogs driver with real containers: what a task prints reaches
CloudWatch Logs, live (`aws logs tail --follow`, the seed's own command),
exactly once and in order, also across a kill -9 of berthd.

Same set-up as test_tasks.py (own bridge, VPC and cgroup parent; a busybox
image built with `berth image build`). Needs root, runc and busybox-static;
skips with the reason otherwise.
"""

import json
import os
import subprocess
import sys
import threading
import time
import unittest

from berth_harness import AWS_CLI
import test_tasks
from test_tasks import SKIP, RealTaskCase

BRIDGE = test_tasks.BRIDGE + "l"
CGROUP_PARENT = test_tasks.CGROUP_PARENT + "-logs"
VPC = test_tasks.vpc_cidr(2)


def awslogs(group, create=True, mode="blocking"):
    options = {"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs", "mode": mode}
    if create:
        options["awslogs-create-group"] = "true"
    return {"logDriver": "awslogs", "options": options}


@unittest.skipIf(SKIP, SKIP or "")
class TaskLogsTest(RealTaskCase):
    bridge = BRIDGE
    cgroup_parent = CGROUP_PARENT
    berthd_options = dict(agent="real", extra_args=[
        "--bridge", BRIDGE, "--vpc-cidr", VPC, "--cgroup-parent", CGROUP_PARENT,
        "--task-endpoint-port", "0"])

    @classmethod
    def setUpClassState(cls):
        super().setUpClassState()
        cls.logs = cls.berthd.client("logs")
        # awslogs-create-group needs logs:CreateLogGroup, which AWS's managed
        # execution policy does not grant.
        cls.berthd.client("iam").put_role_policy(
            RoleName="ecsTaskExecutionRole", PolicyName="create-log-groups", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": "*"}]}))

    def stream_name(self, arn, container="app"):
        return f"ecs/{container}/{arn.rsplit('/', 1)[1]}"

    def test_tail_follow_shows_what_a_task_prints(self):
        group = "/ecs/durableai-dev/backend"
        self.register("ticker", {"command": ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; "
                                             "echo err $i >&2; sleep 0.2; done"],
                                 "logConfiguration": awslogs(group), "stopTimeout": 2})
        arn = self.run_task("ticker")
        self.wait_status(arn, "RUNNING")
        tail = subprocess.Popen([AWS_CLI, "logs", "tail", group, "--follow", "--format", "short",
                                 "--endpoint-url", self.berthd.endpoint], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env=self.berthd.env())
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(tail.stdout.readline, "")), daemon=True)
        reader.start()
        try:
            # The CLI polls every 5 s; lines printed after it started must show up.
            self.eventually(lambda: any("tick 40" in line for line in lines), timeout=40, interval=0.2,
                            msg="tick 40 in `aws logs tail --follow`")
        finally:
            tail.kill()
            tail.wait()
            reader.join(5)
            tail.stdout.close()
        self.assertTrue(any("err " in line for line in lines), "stderr lines are captured too")
        ticks = [int(line.split()[-1]) for line in lines if " tick " in f" {line}"]
        self.assertEqual(ticks, sorted(set(ticks)), "each line once, in order")

        self.ecs.stop_task(cluster="it", task=arn)
        self.wait_status(arn, "STOPPED")
        streams = self.logs.describe_log_streams(logGroupName=group)["logStreams"]
        self.assertIn(self.stream_name(arn), [s["logStreamName"] for s in streams])
        out = self.logs.filter_log_events(logGroupName=group, filterPattern='"tick 1"')
        self.assertIn("tick 1", [e["message"] for e in out["events"]])

    def test_missing_group_fails_the_task_start(self):
        self.register("nogroup", {"command": ["echo", "never"], "logConfiguration": awslogs("/ecs/missing", False)})
        arn = self.run_task("nogroup")
        stopped = self.wait_status(arn, "STOPPED")
        self.assertEqual(stopped["stopCode"], "TaskFailedToStart")
        self.assertTrue(stopped["stoppedReason"].startswith("ResourceInitializationError"), stopped["stoppedReason"])
        self.assertIn("The specified log group does not exist", stopped["stoppedReason"])

    def test_a_million_lines_exactly_once_across_kill_9(self):
        group = "/it/million"
        total = int(os.environ.get("BERTH_LOG_LINES", "1000000"))
        chunks = 10
        per = total // chunks
        script = (f"i=0; while [ $i -lt {chunks} ]; do seq $((i*{per}+1)) $(((i+1)*{per})); i=$((i+1)); "
                  f"sleep 0.3; done")
        self.register("million", {"command": ["sh", "-c", script], "logConfiguration": awslogs(group)})
        arn = self.run_task("million")
        self.wait_status(arn, "RUNNING")
        time.sleep(1.0)  # a few chunks are written and partly shipped
        self.berthd.kill9()
        time.sleep(1.0)  # the container keeps writing while berthd is down
        self.berthd.start()
        # A restarted berthd listens on a new port: fresh clients for the class.
        type(self).ecs = self.berthd.client("ecs")
        type(self).logs = self.berthd.client("logs")
        self.ecs, self.logs = type(self).ecs, type(self).logs
        logs = self.berthd.client("logs", check=False)
        stopped = self.wait_status(arn, "STOPPED", timeout=60)
        self.assertEqual(stopped["containers"][0]["exitCode"], 0)

        stream = self.stream_name(arn)

        def last_line():
            ev = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=1)["events"]
            return ev and ev[-1]["message"] == str(total)
        self.eventually(last_line, timeout=60, interval=0.5, msg=f"line {total} stored")

        got, token = [], None
        while True:
            kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            out = logs.get_log_events(**kwargs)
            got += [e["message"] for e in out["events"]]
            if out["nextForwardToken"] == token:
                break
            token = out["nextForwardToken"]
        self.assertEqual(len(got), total)
        expected = [str(i) for i in range(1, total + 1)]
        if got != expected:
            first = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
            self.fail(f"lines differ from line {first + 1}: {got[first:first + 5]} vs {expected[first:first + 5]}")
        print(f"\n{total} lines read back, each once, in order", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
