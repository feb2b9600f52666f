"""ECS service deployments through boto3 against berthd --agent fake.

A rolling update with the deployment circuit breaker on completes as ECS
reports it: rolloutState and rolloutStateReason, failedTasks, and the service
events in AWS's words, newest first, the steady state said once per
arrival (not on every scheduler pass).

Not covered here: failing deployments (circuit breaker trips, rollback,
launch throttling). berthd's fake agent has no way to be told to fail a
launch from outside (FakeAgent::Options::unpullable_images is not wired to a
flag), so those are unit tests (tests/unit/control/ecs_services_test.cc).
"""

import re
import time
import unittest

from berth_harness import BerthdTestCase

DEPLOYMENT_ID = re.compile(r"^ecs-svc/\d{19}$")
TASK_ID = r"[0-9a-f]{32}"
IMAGE = "public.ecr.aws/docker/library/busybox"


class EcsServiceDeploymentTest(BerthdTestCase):
    CLUSTER = "svc-cluster"

    @classmethod
    def setUpClassState(cls):
        d = cls.berthd
        cls.ecs = d.client("ecs")
        ec2 = d.client("ec2")
        subnet = next(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz"))
        cls.network = {"awsvpcConfiguration": {"subnets": [subnet]}}
        cls.ecs.create_cluster(clusterName=cls.CLUSTER)
        cls.tds = []
        for tag in ("1", "2"):
            cls.tds.append(cls.ecs.register_task_definition(
                family="rollout", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                cpu="256", memory="512",
                containerDefinitions=[{"name": "app", "image": f"{IMAGE}:1.3{tag}", "essential": True}],
            )["taskDefinition"]["taskDefinitionArn"])

    def describe(self, name):
        return self.ecs.describe_services(cluster=self.CLUSTER, services=[name])["services"][0]

    def completed(self, name, deployment_id):
        svc = self.describe(name)
        deps = svc["deployments"]
        if len(deps) == 1 and deps[0]["id"] == deployment_id and deps[0]["rolloutState"] == "COMPLETED" \
                and svc["runningCount"] == svc["desiredCount"]:
            return svc
        return None

    def test_rolling_update_with_circuit_breaker_completes(self):
        name = "web"
        created = self.ecs.create_service(
            cluster=self.CLUSTER, serviceName=name, taskDefinition=self.tds[0], desiredCount=2,
            launchType="FARGATE", networkConfiguration=self.network,
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                     "maximumPercent": 200, "minimumHealthyPercent": 100},
        )["service"]
        self.assertEqual(created["deploymentConfiguration"]["deploymentCircuitBreaker"],
                         {"enable": True, "rollback": True})
        first = created["deployments"][0]
        self.assertRegex(first["id"], DEPLOYMENT_ID)
        self.assertEqual(first["rolloutState"], "IN_PROGRESS")
        self.assertEqual(first["rolloutStateReason"], f"ECS deployment {first['id']} in progress.")
        self.assertEqual(first["failedTasks"], 0)
        self.eventually(lambda: self.completed(name, first["id"]), msg="first deployment completes")

        updated = self.ecs.update_service(cluster=self.CLUSTER, service=name,
                                          taskDefinition=self.tds[1])["service"]
        second = updated["deployments"][0]
        self.assertNotEqual(second["id"], first["id"])
        self.assertEqual(second["status"], "PRIMARY")
        self.assertEqual(updated["deployments"][1]["status"], "ACTIVE")
        svc = self.eventually(lambda: self.completed(name, second["id"]), msg="rolling update completes")
        dep = svc["deployments"][0]
        self.assertEqual(dep["rolloutStateReason"], f"ECS deployment {second['id']} completed.")
        self.assertEqual(dep["failedTasks"], 0)
        self.assertEqual(dep["runningCount"], 2)
        self.assertEqual(svc["taskDefinition"], self.tds[1])

        events = svc["events"]
        messages = [e["message"] for e in events]
        self.assertEqual(messages[0], f"(service {name}) has reached a steady state.")
        self.assertEqual(messages[1], f"(service {name}) (deployment {second['id']}) deployment completed.")
        self.assertIn(f"(service {name}) (deployment {first['id']}) deployment completed.", messages)
        started = [m for m in messages if re.fullmatch(
            rf"\(service {name}\) has started 2 tasks: \(task {TASK_ID}\) \(task {TASK_ID}\)\.", m)]
        self.assertEqual(len(started), 2, messages)
        stopped = [m for m in messages if re.fullmatch(
            rf"\(service {name}\) has stopped \d running tasks:( \(task {TASK_ID}\))+\.", m)]
        self.assertTrue(stopped, messages)
        # Newest first, each with an id and a time.
        times = [e["createdAt"] for e in events]
        self.assertEqual(times, sorted(times, reverse=True))
        self.assertEqual(len({e["id"] for e in events}), len(events))

        # Steady state is not said again on every scheduler pass (the scheduler runs every second).
        time.sleep(2.5)
        messages = [e["message"] for e in self.describe(name)["events"]]
        self.assertEqual(messages.count(f"(service {name}) has reached a steady state."), 2, messages)

if __name__ == "__main__":
    unittest.main()
