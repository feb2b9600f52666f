"""The seed's dev stack through the aws CLI v2 and boto3, and the ECS control-plane API.

SeedDeploymentTest creates what ../shared/seed/000_*.txt describes for dev
(cluster, two task definitions, two services on FARGATE_SPOT in the default
VPC's subnets) and then runs the seed's "Testing the Deployment" ECS commands
exactly as written, plus --endpoint-url. EcsApiTest covers tasks, failures,
deletes, updates, pagination, tags and account settings on a second daemon.
Every response (CLI and boto3) is also checked against botocore's model by
conformance.py.
"""

import json
import os
import re
import tempfile
import unittest

from berth_harness import ACCOUNT, REGION, AwsCliError, BerthdTestCase

CLUSTER = "durableai-dev-cluster"
BACKEND = "durableai-dev-backend"
FRONTEND = "durableai-dev-frontend"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/durableai-dev-ecs-task-execution-role"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/durableai-dev-ecs-task-role"
DEPLOYMENT_ID = re.compile(r"^ecs-svc/\d{19}$")
TASK_ID = r"[0-9a-f]{32}"
WAIT = 8.0


def arn(resource):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:{resource}"


def container_definition(name, port, health_cmd, image, full_health=True):
    hc = {"command": ["CMD-SHELL", health_cmd]}
    if full_health:
        hc.update(interval=30, timeout=5, retries=3, startPeriod=60)
    return {
        "name": name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": port, "protocol": "tcp"}],
        "environment": [{"name": "ENVIRONMENT", "value": "dev"}],
        "healthCheck": hc,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": f"/ecs/durableai-dev/{name}",
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "ecs",
            },
        },
    }


def task_definition_input(family, name, port, health_cmd, full_health=True):
    return {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": EXEC_ROLE,
        "taskRoleArn": TASK_ROLE,
        "containerDefinitions": [container_definition(
            name, port, health_cmd,
            f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/durableai-{name}:latest", full_health)],
        "tags": [{"key": "Environment", "value": "dev"}, {"key": "Project", "value": "durableai"}],
    }


BACKEND_TD = task_definition_input(BACKEND, "backend", 8000,
                                   "curl -f http://localhost:8000/health || exit 1")
FRONTEND_TD = task_definition_input(FRONTEND, "frontend", 3000,
                                    "curl -f http://localhost:3000/ || exit 1", full_health=False)


def discover_network(d):
    """Default VPC, its default subnets and default security group, via the aws CLI."""
    vpcs, subnets, groups = d.aws_parallel(("ec2", "describe-vpcs"), ("ec2", "describe-subnets"),
                                           ("ec2", "describe-security-groups"))
    default_vpcs = [v for v in vpcs["Vpcs"] if v.get("IsDefault")]
    return default_vpcs, subnets["Subnets"], groups["SecurityGroups"]


class SeedDeploymentTest(BerthdTestCase):
    """The seed's dev environment, created with the CLI and boto3, then inspected
    with the seed's own commands."""

    @classmethod
    def setUpClassState(cls):
        d = cls.berthd
        cls.vpcs, cls.subnets, cls.groups = discover_network(d)
        if not cls.vpcs or not cls.subnets or not cls.groups:
            raise AssertionError(f"no default VPC/subnets/security group: {cls.vpcs} {cls.subnets} {cls.groups}")
        cls.vpc_id = cls.vpcs[0]["VpcId"]
        cls.subnet_ids = sorted(s["SubnetId"] for s in cls.subnets
                                if s["VpcId"] == cls.vpc_id and s.get("DefaultForAz"))
        cls.sg_id = next(g["GroupId"] for g in cls.groups
                         if g["GroupName"] == "default" and g["VpcId"] == cls.vpc_id)
        cls.ecs = d.client("ecs")

        # Cluster: aws CLI. Backend task definition: aws CLI with --cli-input-json file://.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "backend.json")
            with open(path, "w") as f:
                json.dump(BACKEND_TD, f)
            cls.create_cluster, cls.register_backend = d.aws_parallel(
                ("ecs", "create-cluster", "--cluster-name", CLUSTER,
                 "--settings", "name=containerInsights,value=disabled",
                 "--capacity-providers", "FARGATE", "FARGATE_SPOT",
                 "--default-capacity-provider-strategy", "capacityProvider=FARGATE_SPOT,weight=1",
                 "--tags", "key=Environment,value=dev", "key=Project,value=durableai"),
                ("ecs", "register-task-definition", "--cli-input-json", f"file://{path}"))
        # Frontend task definition: boto3.
        cls.register_frontend = cls.ecs.register_task_definition(**FRONTEND_TD)

        network = {"awsvpcConfiguration": {"subnets": cls.subnet_ids,
                                           "securityGroups": [cls.sg_id],
                                           "assignPublicIp": "DISABLED"}}
        cls.network = network
        # Backend service: aws CLI with shorthand syntax.
        cls.create_backend = d.aws(
            "ecs", "create-service", "--cluster", CLUSTER, "--service-name", BACKEND,
            "--task-definition", BACKEND, "--desired-count", "1",
            "--capacity-provider-strategy", "capacityProvider=FARGATE_SPOT,weight=1",
            "--deployment-configuration",
            "deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100",
            "--network-configuration",
            "awsvpcConfiguration={subnets=[%s],securityGroups=[%s],assignPublicIp=DISABLED}"
            % (",".join(cls.subnet_ids), cls.sg_id),
            "--tags", "key=Environment,value=dev", "--propagate-tags", "SERVICE")
        # Frontend service: boto3.
        cls.create_frontend = cls.ecs.create_service(
            cluster=CLUSTER, serviceName=FRONTEND, taskDefinition=FRONTEND, desiredCount=1,
            capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                     "maximumPercent": 200, "minimumHealthyPercent": 100},
            networkConfiguration=network,
            tags=[{"key": "Environment", "value": "dev"}], propagateTags="SERVICE")

    # ---------------------------------------------------------------- network
    def test_default_vpc_subnets_and_security_group(self):
        self.assertEqual(len(self.vpcs), 1, self.vpcs)
        vpc = self.vpcs[0]
        self.assertRegex(vpc["VpcId"], r"^vpc-[0-9a-f]{8,17}$")
        self.assertEqual(vpc["CidrBlock"], "172.31.0.0/16")
        self.assertEqual(vpc["State"], "available")
        default_subnets = [s for s in self.subnets if s.get("DefaultForAz")]
        azs = [s["AvailabilityZone"] for s in default_subnets]
        self.assertGreaterEqual(len(default_subnets), 2, self.subnets)
        self.assertEqual(len(azs), len(set(azs)), f"one default subnet per AZ: {azs}")
        for s in default_subnets:
            self.assertRegex(s["SubnetId"], r"^subnet-[0-9a-f]{8,17}$")
            self.assertRegex(s["AvailabilityZone"], rf"^{REGION}[a-z]$")
            self.assertEqual(s["VpcId"], vpc["VpcId"])
            self.assertEqual(s["State"], "available")
            self.assertRegex(s["CidrBlock"], r"^172\.31\.\d+\.\d+/\d+$")
        self.assertRegex(self.sg_id, r"^sg-[0-9a-f]{8,17}$")
        # The same through boto3 (so the EC2 XML responses go through conformance.py).
        ec2 = self.berthd.client("ec2")
        got = ec2.describe_subnets(SubnetIds=self.subnet_ids[:1])["Subnets"]
        self.assertEqual([s["SubnetId"] for s in got], self.subnet_ids[:1])
        got = ec2.describe_security_groups(GroupIds=[self.sg_id])["SecurityGroups"]
        self.assertEqual(got[0]["GroupName"], "default")
        got = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        self.assertEqual([v["VpcId"] for v in got], [vpc["VpcId"]])
        # The filters a user (or Terraform's aws_subnets data source) would use, through the CLI.
        out = self.berthd.aws("ec2", "describe-subnets", "--filters",
                              f"Name=vpc-id,Values={vpc['VpcId']}", "Name=default-for-az,Values=true")
        self.assertEqual(sorted(s["SubnetId"] for s in out["Subnets"]), self.subnet_ids)
        out = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                                    {"Name": "group-name", "Values": ["default"]}])
        self.assertEqual([g["GroupId"] for g in out["SecurityGroups"]], [self.sg_id])
        zones = ec2.describe_availability_zones()["AvailabilityZones"]
        self.assertTrue(set(azs) <= {z["ZoneName"] for z in zones}, zones)
        self.assertGreater(ec2.berth_conformance.checked, 0)

    def test_unknown_subnet_is_refused(self):
        self.assertAwsError(
            "InvalidParameterException", self.ecs.create_service, cluster=CLUSTER,
            serviceName="bad-net", taskDefinition=FRONTEND, desiredCount=1, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"],
                                                          "securityGroups": [self.sg_id]}})
        ec2 = self.berthd.client("ec2")
        err = self.assertAwsError("InvalidSubnetID.NotFound", ec2.describe_subnets,
                                  SubnetIds=["subnet-0123456789abcdef0"])
        self.assertIn("subnet-0123456789abcdef0", err["Error"]["Message"])

    # ---------------------------------------------------------------- create responses
    def test_create_cluster_response(self):
        c = self.create_cluster["cluster"]
        self.assertEqual(c["clusterName"], CLUSTER)
        self.assertEqual(c["clusterArn"], arn(f"cluster/{CLUSTER}"))
        self.assertEqual(c["status"], "ACTIVE")
        self.assertEqual(c["capacityProviders"], ["FARGATE", "FARGATE_SPOT"])
        self.assertEqual(c["defaultCapacityProviderStrategy"],
                         [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
        self.assertIn({"name": "containerInsights", "value": "disabled"}, c["settings"])
        self.assertEqual(sorted((t["key"], t["value"]) for t in c["tags"]),
                         [("Environment", "dev"), ("Project", "durableai")])

    def test_register_task_definition_responses(self):
        for resp, family, name, port in ((self.register_backend, BACKEND, "backend", 8000),
                                         (self.register_frontend, FRONTEND, "frontend", 3000)):
            with self.subTest(family=family):
                td = resp["taskDefinition"]
                self.assertEqual(td["taskDefinitionArn"], arn(f"task-definition/{family}:1"))
                self.assertEqual(td["family"], family)
                self.assertEqual(td["revision"], 1)
                self.assertEqual(td["status"], "ACTIVE")
                self.assertEqual(td["cpu"], "256")
                self.assertEqual(td["memory"], "512")
                self.assertEqual(td["networkMode"], "awsvpc")
                self.assertEqual(td["requiresCompatibilities"], ["FARGATE"])
                self.assertIn("FARGATE", td["compatibilities"])
                self.assertEqual(td["executionRoleArn"], EXEC_ROLE)
                self.assertEqual(td["taskRoleArn"], TASK_ROLE)
                self.assertIn("registeredAt", td)
                self.assertEqual(sorted((t["key"], t["value"]) for t in resp["tags"]),
                                 [("Environment", "dev"), ("Project", "durableai")])
                (cd,) = td["containerDefinitions"]
                self.assertEqual(cd["name"], name)
                self.assertTrue(cd["essential"])
                # awsvpc: hostPort is filled in as the container port.
                self.assertEqual(cd["portMappings"],
                                 [{"containerPort": port, "hostPort": port, "protocol": "tcp"}])
                self.assertEqual(cd["logConfiguration"]["logDriver"], "awslogs")
                self.assertEqual(cd["logConfiguration"]["options"], {
                    "awslogs-group": f"/ecs/durableai-dev/{name}",
                    "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"})
                hc = cd["healthCheck"]
                self.assertEqual(hc["command"][0], "CMD-SHELL")
                self.assertIn(f"curl -f http://localhost:{port}/", hc["command"][1])
                # Defaults are filled in (interval 30, timeout 5, retries 3).
                self.assertEqual((hc["interval"], hc["timeout"], hc["retries"]), (30, 5, 3))
        self.assertEqual(self.register_backend["taskDefinition"]["containerDefinitions"][0]
                         ["healthCheck"]["startPeriod"], 60)

    def test_create_service_responses(self):
        for resp, name in ((self.create_backend, BACKEND), (self.create_frontend, FRONTEND)):
            with self.subTest(service=name):
                s = resp["service"]
                self.assert_seed_service(s, name)
                self.assertEqual(len(s["deployments"]), 1)
                self.assertEqual(s["deployments"][0]["rolloutState"], "IN_PROGRESS")

    def assert_seed_service(self, s, name):
        self.assertEqual(s["serviceName"], name)
        self.assertEqual(s["serviceArn"], arn(f"service/{CLUSTER}/{name}"))
        self.assertEqual(s["clusterArn"], arn(f"cluster/{CLUSTER}"))
        self.assertEqual(s["status"], "ACTIVE")
        self.assertEqual(s["desiredCount"], 1)
        self.assertEqual(s["taskDefinition"], arn(f"task-definition/{name}:1"))
        self.assertEqual(s["capacityProviderStrategy"],
                         [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
        self.assertNotIn("launchType", s)  # a capacity provider strategy, not a launch type
        self.assertEqual(s["schedulingStrategy"], "REPLICA")
        dc = s["deploymentConfiguration"]
        self.assertEqual(dc["deploymentCircuitBreaker"], {"enable": True, "rollback": True})
        self.assertEqual((dc["maximumPercent"], dc["minimumHealthyPercent"]), (200, 100))
        awsvpc = s["networkConfiguration"]["awsvpcConfiguration"]
        self.assertEqual(sorted(awsvpc["subnets"]), self.subnet_ids)
        self.assertEqual(awsvpc["securityGroups"], [self.sg_id])
        self.assertEqual(awsvpc["assignPublicIp"], "DISABLED")
        self.assertEqual(s["propagateTags"], "SERVICE")
        primary = [dep for dep in s["deployments"] if dep["status"] == "PRIMARY"]
        self.assertEqual(len(primary), 1, s["deployments"])
        dep = primary[0]
        self.assertRegex(dep["id"], DEPLOYMENT_ID)
        self.assertEqual(dep["taskDefinition"], s["taskDefinition"])
        self.assertEqual(dep["desiredCount"], 1)
        self.assertIn(dep["rolloutState"], ("IN_PROGRESS", "COMPLETED"))
        self.assertEqual(dep["capacityProviderStrategy"], s["capacityProviderStrategy"])
        self.assertEqual(sorted(dep["networkConfiguration"]["awsvpcConfiguration"]["subnets"]),
                         self.subnet_ids)
        self.assertIn("events", s)
        return dep

    # ---------------------------------------------------------------- the seed's commands
    def test_seed_describe_clusters(self):
        out = self.berthd.aws("ecs", "describe-clusters", "--clusters", "durableai-dev-cluster")
        self.assertEqual(out["failures"], [])
        (c,) = out["clusters"]
        self.assertEqual(c["clusterName"], CLUSTER)
        self.assertEqual(c["clusterArn"], arn(f"cluster/{CLUSTER}"))
        self.assertEqual(c["status"], "ACTIVE")
        self.assertEqual(c["activeServicesCount"], 2)
        self.assertEqual(c["registeredContainerInstancesCount"], 0)  # Fargate: no instances
        self.assertEqual(c["capacityProviders"], ["FARGATE", "FARGATE_SPOT"])
        self.assertEqual(c["defaultCapacityProviderStrategy"],
                         [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
        # With every include option: settings and tags come back.
        out = self.ecs.describe_clusters(clusters=[CLUSTER], include=[
            "SETTINGS", "TAGS", "STATISTICS", "CONFIGURATIONS", "ATTACHMENTS"])
        (c,) = out["clusters"]
        self.assertEqual(c["settings"], [{"name": "containerInsights", "value": "disabled"}])
        self.assertIn({"key": "Project", "value": "durableai"}, c["tags"])

    def test_seed_list_services(self):
        out = self.berthd.aws("ecs", "list-services", "--cluster", "durableai-dev-cluster")
        self.assertEqual(sorted(out["serviceArns"]),
                         [arn(f"service/{CLUSTER}/{BACKEND}"), arn(f"service/{CLUSTER}/{FRONTEND}")])

    def test_seed_describe_services(self):
        out = self.berthd.aws("ecs", "describe-services", "--cluster", "durableai-dev-cluster",
                              "--services", "durableai-dev-backend", "durableai-dev-frontend")
        self.assertEqual(out["failures"], [])
        self.assertEqual([s["serviceName"] for s in out["services"]], [BACKEND, FRONTEND])
        for s in out["services"]:
            with self.subTest(service=s["serviceName"]):
                self.assert_seed_service(s, s["serviceName"])

    def test_seed_list_task_definitions(self):
        # As written in the seed. On AWS, ListTaskDefinitions' familyPrefix is "the full
        # family name" (botocore's model; unlike ListTaskDefinitionFamilies it is not a
        # prefix match), so the seed's command lists nothing: berth must agree.
        out = self.berthd.aws("ecs", "list-task-definitions", "--family-prefix", "durableai-dev")
        self.assertEqual(out["taskDefinitionArns"], [])
        for family in (BACKEND, FRONTEND):
            out = self.ecs.list_task_definitions(familyPrefix=family)
            self.assertEqual(out["taskDefinitionArns"], [arn(f"task-definition/{family}:1")])
        out = self.berthd.aws("ecs", "list-task-definition-families", "--family-prefix", "durableai-dev")
        self.assertEqual(out["families"], [BACKEND, FRONTEND])
        out = self.ecs.list_task_definitions()
        self.assertEqual(sorted(out["taskDefinitionArns"]),
                         [arn(f"task-definition/{BACKEND}:1"), arn(f"task-definition/{FRONTEND}:1")])

    # ---------------------------------------------------------------- fake agent runs them
    def wait_running(self, name, count=1):
        def check():
            (s,) = self.ecs.describe_services(cluster=CLUSTER, services=[name])["services"]
            ok = s["runningCount"] == count and s["pendingCount"] == 0
            return s if ok else None
        return self.eventually(check, WAIT, msg=f"{name} runningCount == {count}")

    def test_services_reach_running_count(self):
        for name in (BACKEND, FRONTEND):
            with self.subTest(service=name):
                s = self.wait_running(name)
                dep = self.assert_seed_service(s, name)
                self.assertEqual(dep["runningCount"], 1)
                self.assertEqual(dep["failedTasks"], 0)
                messages = [e["message"] for e in s["events"]]
                self.assertTrue(any(re.fullmatch(
                    rf"\(service {name}\) has started 1 tasks: \(task {TASK_ID}\)\.", m)
                    for m in messages), messages)
                for e in s["events"]:
                    self.assertRegex(e["id"], r"^[0-9a-f-]{36}$")
                    self.assertIn("createdAt", e)

    def test_services_reach_steady_state(self):
        for name in (BACKEND, FRONTEND):
            with self.subTest(service=name):
                def check():
                    (s,) = self.ecs.describe_services(cluster=CLUSTER, services=[name])["services"]
                    dep = [d for d in s["deployments"] if d["status"] == "PRIMARY"][0]
                    steady = any(e["message"] == f"(service {name}) has reached a steady state."
                                 for e in s["events"])
                    return s if dep["rolloutState"] == "COMPLETED" and steady else None
                s = self.eventually(check, WAIT, msg=f"{name} deployment COMPLETED and steady state")
                dep = s["deployments"][0]
                self.assertEqual(len(s["deployments"]), 1)
                self.assertEqual(dep["rolloutStateReason"],
                                 f"ECS deployment {dep['id']} completed.")

    def test_service_tasks(self):
        s = self.wait_running(BACKEND)
        dep_id = [d for d in s["deployments"] if d["status"] == "PRIMARY"][0]["id"]
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=BACKEND)["taskArns"]
        self.assertEqual(len(arns), 1, arns)
        self.assertRegex(arns[0], rf"^{re.escape(arn(f'task/{CLUSTER}/'))}{TASK_ID}$")
        out = self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)
        self.assertEqual(out["failures"], [])
        (t,) = out["tasks"]
        self.assertEqual(t["taskArn"], arns[0])
        self.assertEqual(t["clusterArn"], arn(f"cluster/{CLUSTER}"))
        self.assertEqual(t["taskDefinitionArn"], arn(f"task-definition/{BACKEND}:1"))
        self.assertEqual(t["group"], f"service:{BACKEND}")
        self.assertEqual(t["startedBy"], dep_id)
        self.assertEqual(t["lastStatus"], "RUNNING")
        self.assertEqual(t["desiredStatus"], "RUNNING")
        self.assertEqual(t["capacityProviderName"], "FARGATE_SPOT")
        self.assertEqual(t["launchType"], "FARGATE")
        self.assertEqual((t["cpu"], t["memory"]), ("256", "512"))
        self.assertIn(t["availabilityZone"], {sub["AvailabilityZone"] for sub in self.subnets})
        (c,) = t["containers"]
        self.assertEqual(c["name"], "backend")
        self.assertEqual(c["lastStatus"], "RUNNING")
        enis = [a for a in t.get("attachments", []) if a["type"] == "ElasticNetworkInterface"]
        self.assertEqual(len(enis), 1, t.get("attachments"))
        details = {kv["name"]: kv["value"] for kv in enis[0]["details"]}
        self.assertIn(details.get("subnetId"), self.subnet_ids)
        self.assertRegex(details.get("privateIPv4Address", ""), r"^172\.31\.\d+\.\d+$")
        # The same task is found by family and by startedBy.
        self.assertEqual(self.ecs.list_tasks(cluster=CLUSTER, family=BACKEND)["taskArns"], arns)
        self.assertEqual(self.ecs.list_tasks(cluster=CLUSTER, startedBy=dep_id)["taskArns"], arns)

    def test_describe_task_definition_with_tags(self):
        out = self.ecs.describe_task_definition(taskDefinition=f"{BACKEND}:1", include=["TAGS"])
        self.assertEqual(out["taskDefinition"]["taskDefinitionArn"], arn(f"task-definition/{BACKEND}:1"))
        self.assertIn({"key": "Project", "value": "durableai"}, out["tags"])
        out = self.ecs.describe_task_definition(taskDefinition=FRONTEND)
        self.assertEqual(out["taskDefinition"]["revision"], 1)
        self.assertNotIn("tags", out)  # only with --include TAGS

    def test_z_delete_cluster_refused_while_services_exist(self):
        err = self.berthd.aws("ecs", "delete-cluster", "--cluster", CLUSTER, check=False)
        self.assertIsInstance(err, AwsCliError)
        self.assertEqual(err.code, "ClusterContainsServicesException", err.stderr)
        self.assertIn("The Cluster cannot be deleted while Services are active.", err.stderr)
        err = self.assertAwsError("ClusterContainsServicesException", self.ecs.delete_cluster,
                                  cluster=CLUSTER)
        (c,) = self.ecs.describe_clusters(clusters=[CLUSTER])["clusters"]
        self.assertEqual(c["status"], "ACTIVE")

    def test_zz_seed_force_new_deployment(self):
        # The seed's "Force service update to pull new images", as written (runs last:
        # it starts new deployments on the seed's services).
        before = {s["serviceName"]: [d for d in s["deployments"] if d["status"] == "PRIMARY"][0]["id"]
                  for s in self.ecs.describe_services(cluster=CLUSTER, services=[BACKEND, FRONTEND])["services"]}
        out = self.berthd.aws("ecs", "update-service", "--cluster", "durableai-dev-cluster",
                              "--service", "durableai-dev-backend", "--force-new-deployment")
        s = out["service"]
        primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
        self.assertEqual(len(primary), 1, s["deployments"])
        self.assertRegex(primary[0]["id"], DEPLOYMENT_ID)
        self.assertNotEqual(primary[0]["id"], before[BACKEND])
        self.assertEqual(primary[0]["taskDefinition"], arn(f"task-definition/{BACKEND}:1"))
        self.assertEqual(primary[0]["rolloutState"], "IN_PROGRESS")
        s = self.ecs.update_service(cluster=CLUSTER, service=FRONTEND, forceNewDeployment=True)["service"]
        primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
        self.assertNotEqual(primary[0]["id"], before[FRONTEND])

        def replaced():
            (s,) = self.ecs.describe_services(cluster=CLUSTER, services=[BACKEND])["services"]
            return s if len(s["deployments"]) == 1 and s["runningCount"] == 1 else None
        s = self.eventually(replaced, WAIT, msg="backend's old deployment drained after force-new-deployment")
        (task,) = self.ecs.describe_tasks(
            cluster=CLUSTER, tasks=self.ecs.list_tasks(cluster=CLUSTER, serviceName=BACKEND)["taskArns"])["tasks"]
        self.assertEqual(task["startedBy"], s["deployments"][0]["id"])
        # The conformance hook saw this class's boto3 traffic.
        self.assertGreater(self.ecs.berth_conformance.checked, 20)


class EcsApiTest(BerthdTestCase):
    """Tasks, failures, deletes, updates, pagination, tags and account settings."""

    CLUSTER = "it-cluster"
    FAMILY = "it-app"

    @classmethod
    def setUpClassState(cls):
        d = cls.berthd
        cls.ecs = d.client("ecs")
        ec2 = d.client("ec2")
        subnets = [s for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz")]
        cls.subnet = subnets[0]["SubnetId"]
        cls.sg = next(g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]
                      if g["GroupName"] == "default")
        cls.network = {"awsvpcConfiguration": {"subnets": [cls.subnet], "securityGroups": [cls.sg]}}
        cls.ecs.create_cluster(clusterName=cls.CLUSTER)
        cls.td = cls.ecs.register_task_definition(
            family=cls.FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest",
                                   "essential": True, "command": ["sleep", "3600"]}],
        )["taskDefinition"]

    def new_service(self, name, desired=1, cluster=None):
        return self.ecs.create_service(
            cluster=cluster or self.CLUSTER, serviceName=name, taskDefinition=self.FAMILY,
            desiredCount=desired, launchType="FARGATE", networkConfiguration=self.network)["service"]

    # ---------------------------------------------------------------- tasks
    def test_run_describe_list_stop_tasks(self):
        family = "it-run"  # only this test's tasks use it
        td = self.ecs.register_task_definition(
            family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}])["taskDefinition"]
        out = self.ecs.run_task(cluster=self.CLUSTER, taskDefinition=family, count=2,
                                launchType="FARGATE", networkConfiguration=self.network,
                                startedBy="it-runner")
        self.assertEqual(out["failures"], [])
        self.assertEqual(len(out["tasks"]), 2)
        arns = sorted(t["taskArn"] for t in out["tasks"])
        for t in out["tasks"]:
            self.assertRegex(t["taskArn"], rf"^{re.escape(arn(f'task/{self.CLUSTER}/'))}{TASK_ID}$")
            self.assertEqual(t["startedBy"], "it-runner")
            self.assertEqual(t["group"], f"family:{family}")
            self.assertEqual(t["launchType"], "FARGATE")
            self.assertEqual(t["desiredStatus"], "RUNNING")
            self.assertEqual(t["taskDefinitionArn"], td["taskDefinitionArn"])

        def running():
            ts = self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=arns)["tasks"]
            return ts if all(t["lastStatus"] == "RUNNING" for t in ts) and len(ts) == 2 else None
        tasks = self.eventually(running, WAIT, msg="RunTask tasks RUNNING")
        for t in tasks:
            self.assertIn("startedAt", t)
            self.assertIn("createdAt", t)

        def listed(**kw):
            return sorted(self.ecs.list_tasks(cluster=self.CLUSTER, **kw)["taskArns"])
        self.assertEqual(listed(family=family), arns)
        self.assertEqual(listed(startedBy="it-runner"), arns)
        self.assertEqual(listed(desiredStatus="RUNNING", family=family), arns)
        self.assertEqual(listed(serviceName="no-such-service-tasks"), [])
        self.assertEqual(listed(startedBy="someone-else"), [])
        # Task ids (not just ARNs) work in DescribeTasks.
        short = arns[0].rsplit("/", 1)[1]
        self.assertEqual([t["taskArn"] for t in
                          self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=[short])["tasks"]], [arns[0]])

        stopped = self.ecs.stop_task(cluster=self.CLUSTER, task=arns[0], reason="it test")["task"]
        self.assertEqual(stopped["taskArn"], arns[0])
        self.assertEqual(stopped["desiredStatus"], "STOPPED")

        def is_stopped():
            (t,) = self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=[arns[0]])["tasks"]
            return t if t["lastStatus"] == "STOPPED" else None
        t = self.eventually(is_stopped, WAIT, msg="stopped task reaches STOPPED")
        self.assertEqual(t["stoppedReason"], "it test")
        self.assertEqual(t["stopCode"], "UserInitiated")
        self.assertIn("stoppedAt", t)
        self.assertEqual(listed(desiredStatus="STOPPED", family=family), [arns[0]])
        self.assertEqual(listed(desiredStatus="RUNNING", family=family), [arns[1]])
        self.ecs.stop_task(cluster=self.CLUSTER, task=arns[1])

    def test_describe_tasks_missing(self):
        missing = "0123456789abcdef0123456789abcdef"
        out = self.ecs.describe_tasks(cluster=self.CLUSTER, tasks=[missing])
        self.assertEqual(out["tasks"], [])
        self.assertEqual(len(out["failures"]), 1, out)
        self.assertEqual(out["failures"][0]["reason"], "MISSING")
        self.assertTrue(out["failures"][0]["arn"].endswith(missing), out)

    def test_run_task_needs_network_configuration(self):
        err = self.assertAwsError("InvalidParameterException", self.ecs.run_task,
                                  cluster=self.CLUSTER, taskDefinition=self.FAMILY, launchType="FARGATE")
        self.assertEqual(err["Error"]["Message"],
                         "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
        self.assertAwsError("ClusterNotFoundException", self.ecs.run_task, cluster="no-such-cluster",
                            taskDefinition=self.FAMILY, launchType="FARGATE",
                            networkConfiguration=self.network)

    # ---------------------------------------------------------------- MISSING failures
    def test_describe_unknown_services_and_clusters(self):
        out = self.ecs.describe_services(cluster=self.CLUSTER, services=["nope"])
        self.assertEqual(out["services"], [])
        self.assertEqual(out["failures"],
                         [{"arn": arn(f"service/{self.CLUSTER}/nope"), "reason": "MISSING"}])
        out = self.ecs.describe_clusters(clusters=["nope", self.CLUSTER])
        self.assertEqual([c["clusterName"] for c in out["clusters"]], [self.CLUSTER])
        self.assertEqual(out["failures"], [{"arn": arn("cluster/nope"), "reason": "MISSING"}])
        err = self.assertAwsError("ClusterNotFoundException", self.ecs.describe_services,
                                  cluster="nope", services=["x"])
        self.assertEqual(err["Error"]["Message"], "Cluster not found.")

    # ---------------------------------------------------------------- delete cluster / service
    def test_delete_cluster_refused_then_allowed(self):
        cluster = "it-delete"
        self.ecs.create_cluster(clusterName=cluster)
        self.new_service("svc", desired=1, cluster=cluster)
        err = self.assertAwsError("ClusterContainsServicesException", self.ecs.delete_cluster,
                                  cluster=cluster)
        self.assertEqual(err["Error"]["Message"], "The Cluster cannot be deleted while Services are active.")
        out = self.ecs.delete_service(cluster=cluster, service="svc", force=True)
        self.assertIn(out["service"]["status"], ("DRAINING", "INACTIVE"))

        def deleted():
            from botocore.exceptions import ClientError
            try:
                return self.ecs.delete_cluster(cluster=cluster)
            except ClientError as e:
                if e.response["Error"]["Code"] in ("ClusterContainsServicesException",
                                                   "ClusterContainsTasksException"):
                    return None
                raise
        out = self.eventually(deleted, WAIT, interval=0.2, msg="DeleteCluster after the service drained")
        self.assertEqual(out["cluster"]["status"], "INACTIVE")
        self.assertEqual(out["cluster"]["clusterArn"], arn(f"cluster/{cluster}"))
        self.assertNotIn(arn(f"cluster/{cluster}"), self.ecs.list_clusters()["clusterArns"])
        (c,) = self.ecs.describe_clusters(clusters=[cluster])["clusters"]
        self.assertEqual(c["status"], "INACTIVE")

    def test_delete_service(self):
        self.new_service("it-del-svc", desired=1)
        err = self.assertAwsError("InvalidParameterException", self.ecs.delete_service,
                                  cluster=self.CLUSTER, service="it-del-svc")
        self.assertEqual(err["Error"]["Message"], "The service cannot be stopped while it is scaled above 0.")
        s = self.ecs.delete_service(cluster=self.CLUSTER, service="it-del-svc", force=True)["service"]
        self.assertEqual(s["status"], "DRAINING")

        def gone():
            arns = self.ecs.list_services(cluster=self.CLUSTER)["serviceArns"]
            return arn(f"service/{self.CLUSTER}/it-del-svc") not in arns
        self.eventually(gone, WAIT, msg="deleted service leaves ListServices")
        (s,) = self.ecs.describe_services(cluster=self.CLUSTER, services=["it-del-svc"])["services"]
        self.assertIn(s["status"], ("DRAINING", "INACTIVE"))
        self.assertAwsError("ServiceNotActiveException", self.ecs.update_service,
                            cluster=self.CLUSTER, service="it-del-svc", desiredCount=1)

    # ---------------------------------------------------------------- update service
    def test_update_service_desired_count_and_force_new_deployment(self):
        s = self.new_service("it-upd", desired=1)
        (first,) = s["deployments"]
        s = self.ecs.update_service(cluster=self.CLUSTER, service="it-upd", desiredCount=3)["service"]
        self.assertEqual(s["desiredCount"], 3)
        primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
        self.assertEqual([d["id"] for d in primary], [first["id"]])  # no new deployment for a count change
        self.assertEqual(primary[0]["desiredCount"], 3)

        def three():
            (s,) = self.ecs.describe_services(cluster=self.CLUSTER, services=["it-upd"])["services"]
            return s if s["runningCount"] == 3 else None
        self.eventually(three, WAIT, msg="runningCount 3 after UpdateService desiredCount=3")

        s = self.ecs.update_service(cluster=self.CLUSTER, service="it-upd", forceNewDeployment=True)["service"]
        primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
        self.assertEqual(len(primary), 1, s["deployments"])
        self.assertRegex(primary[0]["id"], DEPLOYMENT_ID)
        self.assertNotEqual(primary[0]["id"], first["id"])
        self.assertEqual(primary[0]["rolloutState"], "IN_PROGRESS")
        self.assertEqual(primary[0]["taskDefinition"], self.td["taskDefinitionArn"])
        old = [d for d in s["deployments"] if d["id"] == first["id"]]
        self.assertTrue(all(d["status"] == "ACTIVE" for d in old), s["deployments"])

        # A new revision through UpdateService: the PRIMARY deployment runs it.
        td2 = self.ecs.register_task_definition(
            family="it-upd-family", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="1024",
            containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}])["taskDefinition"]
        s = self.ecs.update_service(cluster=self.CLUSTER, service="it-upd",
                                    taskDefinition=td2["taskDefinitionArn"])["service"]
        self.assertEqual(s["taskDefinition"], td2["taskDefinitionArn"])
        primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
        self.assertEqual(primary[0]["taskDefinition"], td2["taskDefinitionArn"])

        def settled():
            (s,) = self.ecs.describe_services(cluster=self.CLUSTER, services=["it-upd"])["services"]
            return s if len(s["deployments"]) == 1 and s["runningCount"] == 3 else None
        s = self.eventually(settled, WAIT, msg="old deployments drained after the update")
        self.assertEqual(s["deployments"][0]["taskDefinition"], td2["taskDefinitionArn"])
        for t in self.ecs.describe_tasks(
                cluster=self.CLUSTER,
                tasks=self.ecs.list_tasks(cluster=self.CLUSTER, serviceName="it-upd")["taskArns"])["tasks"]:
            self.assertEqual(t["taskDefinitionArn"], td2["taskDefinitionArn"])
            self.assertEqual(t["startedBy"], s["deployments"][0]["id"])
        self.ecs.delete_service(cluster=self.CLUSTER, service="it-upd", force=True)

    # ---------------------------------------------------------------- pagination
    def test_list_task_definitions_pagination(self):
        family = "it-page"
        for _ in range(5):
            self.ecs.register_task_definition(
                family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                cpu="256", memory="512",
                containerDefinitions=[{"name": "app", "image": "busybox", "essential": True}])
        want = [arn(f"task-definition/{family}:{i}") for i in range(1, 6)]
        got, token, pages = [], None, 0
        while True:
            kw = {"nextToken": token} if token else {}
            out = self.ecs.list_task_definitions(familyPrefix=family, maxResults=1, **kw)
            pages += 1
            self.assertLessEqual(len(out["taskDefinitionArns"]), 1)
            got += out["taskDefinitionArns"]
            token = out.get("nextToken")
            if not token:
                break
            self.assertLess(pages, 10, "pagination does not end")
        self.assertEqual(got, want)
        out = self.ecs.list_task_definitions(familyPrefix=family, sort="DESC", maxResults=2)
        self.assertEqual(out["taskDefinitionArns"], want[::-1][:2])
        # boto3's paginator, and the CLI (which pages itself) agree.
        pages = self.ecs.get_paginator("list_task_definitions").paginate(
            familyPrefix=family, PaginationConfig={"PageSize": 2})
        self.assertEqual([a for p in pages for a in p["taskDefinitionArns"]], want)
        out = self.berthd.aws("ecs", "list-task-definitions", "--family-prefix", family, "--page-size", "2")
        self.assertEqual(out["taskDefinitionArns"], want)
        # A forged token is refused.
        err = self.assertAwsError("InvalidParameterException", self.ecs.list_task_definitions,
                                  familyPrefix=family, nextToken="not-a-real-token")
        self.assertTrue(err["Error"]["Message"])
        # Deregistered revisions leave the ACTIVE listing.
        self.ecs.deregister_task_definition(taskDefinition=f"{family}:2")
        active = self.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
        self.assertEqual(active, [w for w in want if not w.endswith(":2")])
        inactive = self.ecs.list_task_definitions(familyPrefix=family, status="INACTIVE")["taskDefinitionArns"]
        self.assertEqual(inactive, [want[1]])

    def test_list_services_pagination(self):
        cluster = "it-paging"
        self.ecs.create_cluster(clusterName=cluster)
        for i in range(3):
            self.new_service(f"p{i}", desired=0, cluster=cluster)
        got, token = [], None
        for _ in range(10):
            out = self.ecs.list_services(cluster=cluster, maxResults=1, **({"nextToken": token} if token else {}))
            got += out["serviceArns"]
            token = out.get("nextToken")
            if not token:
                break
        self.assertEqual(sorted(got), [arn(f"service/{cluster}/p{i}") for i in range(3)])

    # ---------------------------------------------------------------- tags
    def test_tags(self):
        cluster_arn = arn(f"cluster/{self.CLUSTER}")
        self.ecs.tag_resource(resourceArn=cluster_arn, tags=[{"key": "team", "value": "infra"},
                                                             {"key": "env", "value": "dev"}])
        tags = self.ecs.list_tags_for_resource(resourceArn=cluster_arn)["tags"]
        self.assertEqual(sorted((t["key"], t["value"]) for t in tags), [("env", "dev"), ("team", "infra")])
        self.ecs.tag_resource(resourceArn=cluster_arn, tags=[{"key": "env", "value": "prod"}])  # overwrite
        self.ecs.untag_resource(resourceArn=cluster_arn, tagKeys=["team"])
        tags = self.ecs.list_tags_for_resource(resourceArn=cluster_arn)["tags"]
        self.assertEqual(tags, [{"key": "env", "value": "prod"}])
        self.ecs.untag_resource(resourceArn=cluster_arn, tagKeys=["env"])
        self.assertEqual(self.ecs.list_tags_for_resource(resourceArn=cluster_arn)["tags"], [])

        td_arn = self.td["taskDefinitionArn"]
        self.ecs.tag_resource(resourceArn=td_arn, tags=[{"key": "k", "value": "v"}])
        self.assertEqual(self.ecs.list_tags_for_resource(resourceArn=td_arn)["tags"], [{"key": "k", "value": "v"}])

        svc = self.new_service("it-tagged", desired=0)
        self.ecs.tag_resource(resourceArn=svc["serviceArn"], tags=[{"key": "svc", "value": "1"}])
        out = self.ecs.list_tags_for_resource(resourceArn=svc["serviceArn"])
        self.assertEqual(out["tags"], [{"key": "svc", "value": "1"}])
        self.ecs.untag_resource(resourceArn=svc["serviceArn"], tagKeys=["svc"])
        self.assertEqual(self.ecs.list_tags_for_resource(resourceArn=svc["serviceArn"])["tags"], [])

        # aws: is reserved.
        self.assertAwsError("InvalidParameterException", self.ecs.tag_resource, resourceArn=cluster_arn,
                            tags=[{"key": "aws:reserved", "value": "x"}])

    # ---------------------------------------------------------------- account settings
    def test_account_settings(self):
        out = self.ecs.list_account_settings(effectiveSettings=True)
        names = {s["name"] for s in out["settings"]}
        for name in ("serviceLongArnFormat", "taskLongArnFormat", "containerInsights"):
            self.assertIn(name, names)
        for s in out["settings"]:
            self.assertEqual(s["principalArn"], f"arn:aws:iam::{ACCOUNT}:root")
        long_arn = [s for s in out["settings"] if s["name"] == "serviceLongArnFormat"][0]
        self.assertEqual(long_arn["value"], "enabled")

        put = self.ecs.put_account_setting(name="containerInsights", value="enabled")["setting"]
        self.assertEqual((put["name"], put["value"]), ("containerInsights", "enabled"))
        self.assertEqual(put["principalArn"], f"arn:aws:iam::{ACCOUNT}:root")
        got = self.ecs.list_account_settings(name="containerInsights", effectiveSettings=True)["settings"]
        self.assertEqual([(s["name"], s["value"]) for s in got], [("containerInsights", "enabled")])

        dflt = self.ecs.put_account_setting_default(name="containerInsights", value="disabled")["setting"]
        self.assertEqual((dflt["name"], dflt["value"]), ("containerInsights", "disabled"))
        # berth's credentials are the root user's, and the root user's setting is the
        # account default (AWS: "when you specify the root user, it modifies the default
        # setting for the account"), so the default just set is what root now sees.
        got = self.ecs.list_account_settings(name="containerInsights", effectiveSettings=True)["settings"]
        self.assertEqual([s["value"] for s in got], ["disabled"])
        self.assertAwsError("InvalidParameterException", self.ecs.put_account_setting,
                            name="containerInsights", value="sometimes")


if __name__ == "__main__":
    unittest.main()
