"""kill -9 during a stream of mutations loses nothing that was acknowledged.

A thread sends RegisterTaskDefinition, CreateCluster, CreateService and
TagResource calls one after another and records each one whose response it
received. The main thread SIGKILLs berthd mid-stream, restarts it on the same
data dir and checks that every acknowledged change is there (and that the
call in flight at the kill, if it landed, landed whole). Three rounds, each
also re-checking the earlier rounds' changes.
"""

import random
import sys
import threading
import time
import unittest

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from berth_harness import ACCOUNT, REGION, BerthdTestCase

CLUSTER = "dur"
BASE_FAMILY = "dur-base"
KINDS = ("task-definition", "cluster", "service", "tag")


def cluster_arn(name):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}"


class MutationStream(threading.Thread):
    def __init__(self, ecs, round_no, network):
        super().__init__(daemon=True)
        self.ecs = ecs
        self.round_no = round_no
        self.network = network
        self.acked = []        # (kind, name), in order
        self.inflight = None   # the call sent but not answered when the stream ended
        self.ended_by = None   # the exception that ended the stream
        self.stop_flag = threading.Event()

    def mutate(self, kind, name):
        ecs = self.ecs
        if kind == "task-definition":
            ecs.register_task_definition(
                family=name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                cpu="256", memory="512",
                containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}])
        elif kind == "cluster":
            ecs.create_cluster(clusterName=name, tags=[{"key": "round", "value": str(self.round_no)}])
        elif kind == "service":
            ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=BASE_FAMILY,
                               desiredCount=1, launchType="FARGATE",
                               networkConfiguration=self.network)
        elif kind == "tag":
            ecs.tag_resource(resourceArn=cluster_arn(CLUSTER), tags=[{"key": name, "value": "v-" + name}])

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            kind = KINDS[i % len(KINDS)]
            name = f"dur-r{self.round_no}-{i}"
            self.inflight = (kind, name)
            try:
                self.mutate(kind, name)
            except BaseException as e:  # connection errors end the stream
                self.ended_by = e
                return
            self.acked.append((kind, name))
            self.inflight = None
            i += 1
        self.inflight = None


class DurabilityTest(BerthdTestCase):
    start_class_daemon = False

    def verify(self, ecs, acked, inflight, where):
        """Every acknowledged change is present; the in-flight one is absent or whole."""
        by_kind = {k: [n for kk, n in acked if kk == k] for k in KINDS}
        for family in by_kind["task-definition"]:
            try:
                td = ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
            except ClientError as e:
                self.fail(f"{where}: acknowledged RegisterTaskDefinition {family} lost: {e}")
            self.assertEqual((td["family"], td["revision"], td["status"]), (family, 1, "ACTIVE"))
            self.assertEqual(td["containerDefinitions"][0]["name"], "app")
        names = by_kind["cluster"]
        for i in range(0, len(names), 100):
            out = ecs.describe_clusters(clusters=names[i:i + 100], include=["TAGS"])
            self.assertEqual(out["failures"], [], f"{where}: acknowledged CreateCluster lost")
            for c in out["clusters"]:
                self.assertEqual(c["status"], "ACTIVE")
                self.assertEqual(len(c["tags"]), 1, c)
        names = by_kind["service"]
        for i in range(0, len(names), 10):
            out = ecs.describe_services(cluster=CLUSTER, services=names[i:i + 10])
            self.assertEqual(out["failures"], [], f"{where}: acknowledged CreateService lost")
            for s in out["services"]:
                self.assertEqual(s["status"], "ACTIVE")
                self.assertEqual(s["desiredCount"], 1)
                self.assertTrue([d for d in s["deployments"] if d["status"] == "PRIMARY"], s)
        tags = {t["key"]: t["value"] for t in
                ecs.list_tags_for_resource(resourceArn=cluster_arn(CLUSTER))["tags"]}
        for key in by_kind["tag"]:
            self.assertEqual(tags.get(key), "v-" + key, f"{where}: acknowledged TagResource {key} lost")

        if inflight is None:
            return
        kind, name = inflight
        if kind == "task-definition":
            try:
                td = ecs.describe_task_definition(taskDefinition=f"{name}:1")["taskDefinition"]
                self.assertEqual(td["containerDefinitions"][0]["name"], "app")
                self.assertEqual(td["status"], "ACTIVE")
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "ClientException", e.response)
        elif kind == "cluster":
            out = ecs.describe_clusters(clusters=[name], include=["TAGS"])
            for c in out["clusters"]:
                self.assertEqual(c["status"], "ACTIVE")
                self.assertEqual(c["tags"], [{"key": "round", "value": name.split("-")[1][1:]}])
        elif kind == "service":
            out = ecs.describe_services(cluster=CLUSTER, services=[name])
            for s in out["services"]:
                self.assertEqual(s["status"], "ACTIVE")
                self.assertTrue(s["deployments"], s)

    def test_kill9_during_mutations(self):
        d = self.start_berthd()
        ecs = d.client("ecs")
        ec2 = d.client("ec2")
        subnet = [s for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz")][0]["SubnetId"]
        sg = [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "default"][0]["GroupId"]
        network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}}
        ecs.create_cluster(clusterName=CLUSTER)
        ecs.register_task_definition(
            family=BASE_FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}])

        rng = random.Random(1234)
        all_acked = []
        for round_no in range(3):
            stream = MutationStream(ecs, round_no, network)
            target = rng.randint(12, 40)
            stream.start()
            deadline = time.monotonic() + 30
            while len(stream.acked) < target and stream.is_alive() and time.monotonic() < deadline:
                time.sleep(0.001)
            self.assertTrue(stream.is_alive(),
                            f"round {round_no}: the stream ended before the kill: {stream.ended_by!r}")
            self.assertGreaterEqual(len(stream.acked), target, f"round {round_no}: too slow")
            time.sleep(rng.random() * 0.01)
            d.kill9()
            acked_at_kill = len(stream.acked)
            stream.stop_flag.set()
            stream.join(timeout=15)
            self.assertFalse(stream.is_alive(), "stream did not end after the kill")
            # At most the call whose response was already on its way can complete after the kill.
            self.assertLessEqual(len(stream.acked), acked_at_kill + 1,
                                 "calls were acknowledged after berthd was killed")
            if stream.ended_by is not None:
                self.assertIsInstance(stream.ended_by, (HTTPClientError, BotoConnectionError, ConnectionError),
                                      f"round {round_no}: stream ended by {stream.ended_by!r}, "
                                      "expected a connection error from the kill")
            all_acked += stream.acked
            print(f"round {round_no}: {len(stream.acked)} acknowledged, in flight at the kill: "
                  f"{stream.inflight}, stream ended by {type(stream.ended_by).__name__}",
                  file=sys.stderr, flush=True)

            d.start()  # same data dir, new port
            ecs = d.client("ecs")
            self.verify(ecs, all_acked, stream.inflight,
                        f"round {round_no} ({len(stream.acked)} acknowledged, in flight {stream.inflight})")

        # The daemon still works normally after three crashes, and stops cleanly.
        ecs.create_cluster(clusterName="dur-after", tags=[{"key": "round", "value": "after"}])
        self.assertEqual(d.stop(), 0, "berthd did not exit 0 on SIGTERM")
        d.start()
        ecs = d.client("ecs")
        self.verify(ecs, all_acked + [("cluster", "dur-after")], None, "after a clean restart")


if __name__ == "__main__":
    unittest.main()
