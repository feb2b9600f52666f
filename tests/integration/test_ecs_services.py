"""ECS service deployments through boto3 and the aws CLI against berthd --agent fake.

- A rolling update with the deployment circuit breaker on completes as ECS
  reports it: rolloutState and rolloutStateReason, failedTasks, and the
  service events in AWS's words, newest first, the steady state said once per
  arrival (not on every scheduler pass).
- A deployment to an image that cannot be pulled (berthd
  --fake-unpullable-image) trips the circuit breaker: with rollback the
  service returns to the previous task definition; without it the deployment
  stays FAILED with AWS's rolloutStateReason.
- Capacity providers: a base and weight split over FARGATE and FARGATE_SPOT,
  tasks naming their capacityProviderName, Fargate Spot interruptions
  (berthd --spot-interrupt-after) replaced on Spot, and tasks spread over the
  availability zones of the service's subnets.
- Spot controls (`berth spot`, berthd's admin API): interruptions on demand
  replaced within the service; Spot capacity off and on, with and without
  berth's fallback tag; the admin API refusing unsigned and badly signed
  requests.

Launch throttling and the stage-2 (health check) breaker are unit tests
(tests/unit/control/ecs_services_test.cc); berthd has no simulated clock.
"""

import json
import os
import re
import subprocess
import tempfile
import time
import unittest

from berth_harness import BERTHD, BerthdTestCase

DEPLOYMENT_ID = re.compile(r"^ecs-svc/\d{19}$")
TASK_ID = r"[0-9a-f]{32}"
IMAGE = "public.ecr.aws/docker/library/busybox"
# The fake agent of the class daemon cannot pull this one.
BAD_IMAGE = "public.ecr.aws/docker/library/busybox:does-not-exist"


class EcsServiceDeploymentTest(BerthdTestCase):
    CLUSTER = "svc-cluster"
    berthd_options = {"extra_args": ["--fake-unpullable-image", BAD_IMAGE]}

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
        cls.bad_td = cls.ecs.register_task_definition(
            family="rollout", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": BAD_IMAGE, "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]

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

    def test_force_new_deployment_from_the_cli_replaces_every_task(self):
        # The seed's `aws ecs update-service --force-new-deployment`, on a
        # service of three tasks: same task definition, every task replaced.
        name = "forced"
        created = self.ecs.create_service(
            cluster=self.CLUSTER, serviceName=name, taskDefinition=self.tds[0], desiredCount=3,
            launchType="FARGATE", networkConfiguration=self.network)["service"]
        first = created["deployments"][0]["id"]
        self.eventually(lambda: self.completed(name, first), msg="first deployment completes")
        old = set(self.ecs.list_tasks(cluster=self.CLUSTER, serviceName=name)["taskArns"])
        self.assertEqual(len(old), 3)

        out = self.berthd.aws("ecs", "update-service", "--cluster", self.CLUSTER, "--service", name,
                              "--force-new-deployment")
        deps = out["service"]["deployments"]
        forced = deps[0]["id"]
        self.assertRegex(forced, DEPLOYMENT_ID)
        self.assertNotEqual(forced, first)
        self.assertEqual((deps[0]["status"], deps[0]["rolloutState"]), ("PRIMARY", "IN_PROGRESS"))
        self.assertEqual(deps[0]["taskDefinition"], self.tds[0])

        svc = self.eventually(lambda: self.completed(name, forced), msg="forced deployment completes")
        self.assertEqual(svc["taskDefinition"], self.tds[0])
        self.assertEqual(svc["deployments"][0]["rolloutStateReason"], f"ECS deployment {forced} completed.")
        new = set(self.ecs.list_tasks(cluster=self.CLUSTER, serviceName=name)["taskArns"])
        self.assertEqual(len(new), 3)
        self.assertFalse(new & old, "every task is replaced")
        for t in self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=sorted(new))["tasks"]:
            self.assertEqual((t["startedBy"], t["group"], t["lastStatus"]), (forced, f"service:{name}", "RUNNING"))
        for t in self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=sorted(old))["tasks"]:
            self.assertEqual(t["desiredStatus"], "STOPPED")
            self.assertEqual(t["startedBy"], first)
            self.assertEqual(t["stopCode"], "ServiceSchedulerInitiated")
            self.assertEqual(t["stoppedReason"], f"Scaling activity initiated by (deployment {forced})")
        messages = [e["message"] for e in svc["events"]]
        self.assertIn(f"(service {name}) (deployment {forced}) deployment completed.", messages)

    def create_breaker_service(self, name, rollback):
        # desired 3: the breaker's threshold is min(max(ceil(3/2), 3), 200) = 3,
        # and all three failing tasks are launched at once (maximumPercent 200).
        created = self.ecs.create_service(
            cluster=self.CLUSTER, serviceName=name, taskDefinition=self.tds[0], desiredCount=3,
            launchType="FARGATE", networkConfiguration=self.network,
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": rollback}},
        )["service"]
        first = created["deployments"][0]["id"]
        self.eventually(lambda: self.completed(name, first), msg="first deployment completes")
        return first

    def stopped_tasks_of(self, name, task_definition):
        arns = self.ecs.list_tasks(cluster=self.CLUSTER, serviceName=name, desiredStatus="STOPPED")["taskArns"]
        if not arns:
            return []
        tasks = self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=arns)["tasks"]
        return [t for t in tasks if t["taskDefinitionArn"] == task_definition]

    def test_unpullable_image_trips_the_breaker_and_rolls_back(self):
        name = "broken"
        first = self.create_breaker_service(name, rollback=True)
        # The aws CLI, as the seed deploys.
        updated = self.berthd.aws("ecs", "update-service", "--cluster", self.CLUSTER, "--service", name,
                                  "--task-definition", self.bad_td)["service"]
        failing = updated["deployments"][0]["id"]
        self.assertEqual(updated["deployments"][0]["taskDefinition"], self.bad_td)

        def rolled_back():
            svc = self.describe(name)
            deps = svc["deployments"]
            if svc["taskDefinition"] != self.tds[0] or len(deps) != 1 or deps[0]["rolloutState"] != "COMPLETED":
                return None
            return svc if svc["runningCount"] == 3 else None

        svc = self.eventually(rolled_back, timeout=30, msg="rollback to the first task definition completes")
        rollback = svc["deployments"][0]
        self.assertNotIn(rollback["id"], (first, failing))
        self.assertEqual(rollback["taskDefinition"], self.tds[0])
        self.assertEqual(rollback["rolloutStateReason"], f"ECS deployment {rollback['id']} completed.")

        messages = [e["message"] for e in svc["events"]]
        failed_msg = f"(service {name}) (deployment {failing}) deployment failed: tasks failed to start."
        rollback_msg = f"(service {name}) rolling back to deployment {first}."
        completed_msg = f"(service {name}) (deployment {rollback['id']}) deployment completed."
        for m in (failed_msg, rollback_msg, completed_msg):
            self.assertIn(m, messages)
        # Newest first: failed, then rolling back, then the rollback completes.
        self.assertLess(messages.index(completed_msg), messages.index(rollback_msg))
        self.assertLess(messages.index(rollback_msg), messages.index(failed_msg))
        self.assertEqual(messages[0], f"(service {name}) has reached a steady state.")

        # The failed deployment's tasks never ran: CannotPullContainerError.
        bad = self.stopped_tasks_of(name, self.bad_td)
        self.assertGreaterEqual(len(bad), 3)
        for t in bad:
            self.assertEqual(t["stopCode"], "TaskFailedToStart")
            self.assertTrue(t["stoppedReason"].startswith("CannotPullContainerError: "), t["stoppedReason"])
            self.assertEqual(t["startedBy"], failing)
            self.assertNotIn("startedAt", t)
        # Every running task is the first task definition's.
        arns = self.ecs.list_tasks(cluster=self.CLUSTER, serviceName=name)["taskArns"]
        running = self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=arns)["tasks"]
        self.assertEqual({t["taskDefinitionArn"] for t in running}, {self.tds[0]})

    def test_unpullable_image_without_rollback_ends_failed(self):
        name = "broken-no-rollback"
        first = self.create_breaker_service(name, rollback=False)
        updated = self.ecs.update_service(cluster=self.CLUSTER, service=name, taskDefinition=self.bad_td)["service"]
        failing = updated["deployments"][0]["id"]

        def failed():
            svc = self.describe(name)
            dep = svc["deployments"][0]
            return svc if dep["id"] == failing and dep["rolloutState"] == "FAILED" else None

        svc = self.eventually(failed, timeout=30, msg="the deployment fails")
        dep = svc["deployments"][0]
        self.assertEqual(dep["status"], "PRIMARY")
        self.assertEqual(dep["rolloutStateReason"], "ECS deployment circuit breaker: tasks failed to start.")
        self.assertGreaterEqual(dep["failedTasks"], 3)
        self.assertEqual(dep["runningCount"], 0)
        # The old deployment keeps its tasks; a FAILED deployment launches nothing more.
        old = svc["deployments"][1]
        self.assertEqual(old["id"], first)
        self.assertEqual(old["status"], "ACTIVE")
        self.assertEqual(old["runningCount"], 3)
        self.assertEqual(svc["taskDefinition"], self.bad_td)
        self.assertIn(f"(service {name}) (deployment {failing}) deployment failed: tasks failed to start.",
                      [e["message"] for e in svc["events"]])
        launched = len(self.stopped_tasks_of(name, self.bad_td))
        time.sleep(2.5)
        self.assertEqual(len(self.stopped_tasks_of(name, self.bad_td)), launched)
        self.assertEqual(self.describe(name)["runningCount"], 3)


class EcsCapacityProviderTest(BerthdTestCase):
    """FARGATE and FARGATE_SPOT: the split, Spot interruptions, the zone spread."""

    CLUSTER = "spot-cluster"
    # Every Spot task is interrupted 2 s after it starts running.
    berthd_options = {"extra_args": ["--spot-interrupt-after", "2"]}

    @classmethod
    def setUpClassState(cls):
        d = cls.berthd
        cls.ecs = d.client("ecs")
        ec2 = d.client("ec2")
        subnets = sorted(ec2.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
        cls.zones = [s["AvailabilityZone"] for s in subnets]
        cls.network = {"awsvpcConfiguration": {"subnets": [s["SubnetId"] for s in subnets]}}
        cls.ecs.create_cluster(clusterName=cls.CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])
        cls.td = cls.ecs.register_task_definition(
            family="spot", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": IMAGE, "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]

    def tasks(self, name, desired="RUNNING"):
        arns = self.ecs.list_tasks(cluster=self.CLUSTER, serviceName=name, desiredStatus=desired)["taskArns"]
        return self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=arns)["tasks"] if arns else []

    def test_base_and_weight_split_and_zone_spread(self):
        name = "split"
        # On-demand only (no Spot task here, so nothing is interrupted): base 1
        # then weights; the zones of the three subnets get 2 tasks each.
        created = self.ecs.create_service(
            cluster=self.CLUSTER, serviceName=name, taskDefinition=self.td, desiredCount=6,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1, "weight": 1}],
            networkConfiguration=self.network,
        )["service"]
        self.assertNotIn("launchType", created)
        self.assertEqual(created["capacityProviderStrategy"],
                         [{"capacityProvider": "FARGATE", "base": 1, "weight": 1}])
        self.assertEqual(created["deployments"][0]["capacityProviderStrategy"], created["capacityProviderStrategy"])
        tasks = self.eventually(lambda: (lambda ts: ts if len(ts) == 6 else None)(self.tasks(name)))
        self.assertEqual({t["capacityProviderName"] for t in tasks}, {"FARGATE"})
        self.assertEqual({t["launchType"] for t in tasks}, {"FARGATE"})
        per_zone = {z: sum(t["availabilityZone"] == z for t in tasks) for z in self.zones}
        self.assertEqual(per_zone, {z: 2 for z in self.zones})

        # base 1 on FARGATE, then 1:3 — RunTask splits each call: 1 + (2:6) of 9.
        run = self.ecs.run_task(
            cluster=self.CLUSTER, taskDefinition=self.td, count=9, networkConfiguration=self.network,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                                      {"capacityProvider": "FARGATE_SPOT", "weight": 3}])
        providers = [t["capacityProviderName"] for t in run["tasks"]]
        self.assertEqual((providers.count("FARGATE"), providers.count("FARGATE_SPOT")), (3, 6))

        # ECS's errors for bad strategies.
        for strategy, message in (
            ([{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
              {"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 1}],
             "cannot contain more than one capacity provider with a base value greater than zero"),
            ([{"capacityProvider": "FARGATE", "weight": 0}],
             "must contain at least one capacity provider with a weight value greater than zero"),
        ):
            err = self.assertAwsError("InvalidParameterException", self.ecs.run_task, cluster=self.CLUSTER,
                                      taskDefinition=self.td, networkConfiguration=self.network,
                                      capacityProviderStrategy=strategy)
            self.assertIn(message, err["Error"]["Message"])
        self.assertAwsError("InvalidParameterException", self.ecs.run_task, cluster=self.CLUSTER,
                            taskDefinition=self.td, networkConfiguration=self.network, launchType="FARGATE",
                            capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])

    def test_spot_interruption_is_replaced_on_spot(self):
        name = "spot"
        first = self.ecs.create_service(
            cluster=self.CLUSTER, serviceName=name, taskDefinition=self.td, desiredCount=2,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            networkConfiguration=self.network,
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        )["service"]["deployments"][0]["id"]

        def interrupted():
            return [t for t in self.tasks(name, "STOPPED") if t.get("stopCode") == "SpotInterruption"]

        stopped = self.eventually(interrupted, timeout=15, msg="a Spot task is interrupted")
        t = stopped[0]
        self.assertEqual(t["stoppedReason"], "Your Spot Task was interrupted.")
        self.assertEqual(t["capacityProviderName"], "FARGATE_SPOT")
        self.assertEqual(t["launchType"], "FARGATE")
        self.assertEqual(t["group"], f"service:{name}")

        # Replacements, on Spot again (AWS never falls back to FARGATE), and
        # the interruptions are no failures of the deployment.
        live = self.eventually(lambda: (lambda ts: ts if len(ts) == 2 else None)(self.tasks(name)))
        self.assertEqual({x["capacityProviderName"] for x in live}, {"FARGATE_SPOT"})
        self.assertNotIn(t["taskArn"], {x["taskArn"] for x in live})
        svc = self.ecs.describe_services(cluster=self.CLUSTER, services=[name])["services"][0]
        self.assertEqual(svc["deployments"][0]["id"], first)
        self.assertEqual(svc["deployments"][0]["failedTasks"], 0)
        messages = [e["message"] for e in svc["events"]]
        self.assertTrue(any(re.fullmatch(rf"\(service {name}\) has started \d tasks:( \(task {TASK_ID}\))+\.", m)
                            for m in messages[:-1]), messages)


BERTH = os.path.join(os.path.dirname(BERTHD), "berth")


class EcsSpotControlTest(BerthdTestCase):
    """`berth spot` and berthd's admin API (BerthAdmin, SigV4 service "berth"):
    interruptions on demand, Spot capacity off and on, berth's fallback tag."""

    CLUSTER = "spot-control"

    @classmethod
    def setUpClassState(cls):
        d = cls.berthd
        cls.ecs = d.client("ecs")
        ec2 = d.client("ec2")
        subnet = next(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz"))
        cls.network = {"awsvpcConfiguration": {"subnets": [subnet]}}
        cls.ecs.create_cluster(clusterName=cls.CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])
        cls.td = cls.ecs.register_task_definition(
            family="spotctl", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": IMAGE, "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]

    def setUp(self):
        super().setUp()
        if not os.access(BERTH, os.X_OK):
            self.skipTest(f"berth not built at {BERTH}")
        self.addCleanup(self.berth, "spot", "capacity", "on")

    def berth(self, *args, check=True):
        p = subprocess.run([BERTH, "--data-dir", self.berthd.data_dir, "--endpoint", self.berthd.endpoint] +
                           list(args), capture_output=True, text=True, timeout=30, env=self.berthd.env())
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def tasks(self, name, desired="RUNNING"):
        arns = self.ecs.list_tasks(cluster=self.CLUSTER, serviceName=name, desiredStatus=desired)["taskArns"]
        return self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=arns)["tasks"] if arns else []

    def live(self, name, count, providers):
        def check():
            ts = self.tasks(name)
            running = [t for t in ts if t["lastStatus"] == "RUNNING"]
            if len(ts) == count and len(running) == count and \
                    sorted(t["capacityProviderName"] for t in ts) == sorted(providers):
                return ts
            return None
        return self.eventually(check, timeout=15, msg=f"{name}: {count} running on {providers}")

    def create_spot_service(self, name, count=2, **extra):
        self.ecs.create_service(
            cluster=self.CLUSTER, serviceName=name, taskDefinition=self.td, desiredCount=count,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            networkConfiguration=self.network, **extra)
        self.addCleanup(self.ecs.delete_service, cluster=self.CLUSTER, service=name, force=True)

    def signed(self, operation, body, service="berth", secret=None, sign=True):
        """A raw admin API request; returns (status, parsed body)."""
        import urllib.error
        import urllib.request
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        key, real_secret = self.berthd.credentials()
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"BerthAdmin.{operation}"}
        req = AWSRequest(method="POST", url=self.berthd.endpoint + "/", data=json.dumps(body), headers=headers)
        if sign:
            SigV4Auth(Credentials(key, secret or real_secret), service, "us-east-1").add_auth(req)
        raw = urllib.request.Request(self.berthd.endpoint + "/", data=json.dumps(body).encode(), method="POST",
                                     headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(raw, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def test_interrupt_from_the_cli_is_replaced_within_the_service(self):
        name = "interrupted"
        self.create_spot_service(name)
        before = self.live(name, 2, ["FARGATE_SPOT"] * 2)
        p = self.berth("spot", "interrupt", "--cluster", self.CLUSTER, "--service", name, "--count", "1")
        arns = p.stdout.split()
        self.assertEqual(len(arns), 1, p.stdout)
        self.assertIn(arns[0], {t["taskArn"] for t in before})
        t = self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=arns)["tasks"][0]
        self.assertEqual(t["desiredStatus"], "STOPPED")
        self.assertEqual(t["stopCode"], "SpotInterruption")
        self.assertEqual(t["stoppedReason"], "Your Spot Task was interrupted.")
        after = self.live(name, 2, ["FARGATE_SPOT"] * 2)
        self.assertNotIn(arns[0], {x["taskArn"] for x in after})
        svc = self.ecs.describe_services(cluster=self.CLUSTER, services=[name])["services"][0]
        self.assertEqual(svc["deployments"][0]["failedTasks"], 0)

        # One task by id; an on-demand or unknown task is refused.
        task_id = after[0]["taskArn"].rsplit("/", 1)[1]
        p = self.berth("spot", "interrupt", "--cluster", self.CLUSTER, "--task", task_id)
        self.assertEqual(p.stdout.split(), [after[0]["taskArn"]])
        p = self.berth("spot", "interrupt", "--cluster", self.CLUSTER, "--task", "0" * 32, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("InvalidParameterException", p.stderr)

    def test_capacity_off_fails_placements_until_it_is_back(self):
        self.assertEqual(self.berth("spot", "capacity", "off").stdout, "Spot capacity: off\n")
        self.assertEqual(self.berth("spot", "capacity").stdout, "Spot capacity: off\n")
        run = self.ecs.run_task(
            cluster=self.CLUSTER, taskDefinition=self.td, count=2, networkConfiguration=self.network,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
        self.assertEqual(run["tasks"], [])
        self.assertEqual([f["reason"] for f in run["failures"]],
                         ["Capacity is unavailable at this time. Please try again later or in a different "
                          "availability zone"] * 2)

        name = "waiting"
        self.create_spot_service(name)
        unable = (f"(service {name}) was unable to place a task. Reason: Capacity is unavailable at this time. "
                  "Please try again later or in a different availability zone.")

        def said():
            svc = self.ecs.describe_services(cluster=self.CLUSTER, services=[name])["services"][0]
            return svc if any(e["message"] == unable for e in svc["events"]) else None

        self.eventually(said, msg="the service says it cannot place a task")
        time.sleep(2.5)  # a few scheduler passes: retried, not said again
        svc = said()
        self.assertEqual(sum(e["message"] == unable for e in svc["events"]), 1)
        self.assertEqual(svc["runningCount"], 0)
        self.assertEqual(self.tasks(name), [])

        self.assertEqual(self.berth("spot", "capacity", "on").stdout, "Spot capacity: on\n")
        self.live(name, 2, ["FARGATE_SPOT"] * 2)

    def test_capacity_off_with_the_fallback_tag_uses_fargate_and_moves_back(self):
        self.berth("spot", "capacity", "off")
        name = "fallback"
        self.create_spot_service(name, tags=[{"key": "berth:spot-fallback", "value": "FARGATE"}])
        stand_ins = self.live(name, 2, ["FARGATE"] * 2)
        self.berth("spot", "capacity", "on")
        self.live(name, 2, ["FARGATE_SPOT"] * 2)
        for t in self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=[t["taskArn"] for t in stand_ins])["tasks"]:
            self.assertEqual(t["desiredStatus"], "STOPPED")
            self.assertEqual(t["stopCode"], "ServiceSchedulerInitiated")

    def test_admin_api_needs_the_root_signature(self):
        status, body = self.signed("GetSpotCapacity", {})
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"available": True, "interruptionRatePerTaskPerHour": 0})

        status, body = self.signed("GetSpotCapacity", {}, sign=False)
        # berthd answers signature errors as ECS does (JSON protocol: 400).
        self.assertEqual((status, body["__type"]), (400, "MissingAuthenticationTokenException"), body)
        status, body = self.signed("SetSpotCapacity", {"available": False}, secret="x" * 40)
        self.assertEqual((status, body["__type"]), (400, "InvalidSignatureException"), body)
        status, body = self.signed("SetSpotCapacity", {"available": False}, service="ecs")
        self.assertEqual((status, body["__type"]), (400, "InvalidSignatureException"), body)
        self.assertIn("scoped to correct service: 'berth'", body["message"])
        self.assertEqual(self.signed("GetSpotCapacity", {})[1]["available"], True)

        # Input is checked against the model; the rate against its bounds.
        status, body = self.signed("SetSpotInterruptionRate", {"perTaskPerHour": -1})
        self.assertEqual((status, body["__type"]), (400, "InvalidParameterException"))
        self.assertEqual(self.berth("spot", "rate", "2", "--seed", "7").stdout,
                         "Random Spot interruptions: 2 per task-hour\n")
        self.assertEqual(self.signed("GetSpotCapacity", {})[1]["interruptionRatePerTaskPerHour"], 2)
        self.assertEqual(self.berth("spot", "rate", "0").stdout, "Random Spot interruptions: off\n")


class BerthdFlagTest(unittest.TestCase):
    def test_unpullable_images_need_the_fake_agent(self):
        if not os.access(BERTHD, os.X_OK):
            self.skipTest(f"berthd binary not found at {BERTHD}")
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([BERTHD, "--data-dir", tmp, "--listen", "127.0.0.1:0", "--agent", "real",
                                "--fake-unpullable-image", BAD_IMAGE], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--fake-unpullable-image needs --agent fake", r.stderr)


if __name__ == "__main__":
    unittest.main()
