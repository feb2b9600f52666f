"""Service discovery with real tasks, as the seed uses it: an ECS service
registered in the private DNS namespace dev.local, and another task that
finds it by name through its VPC resolver (the subnet's .2, served by
berthd) and fetches a page from it. The host sees the same name on
berthd's --dns-listen port.

Same set-up as test_tasks.py (own bridge, VPC and cgroup parent; a busybox
image built with `berth image build`). Needs root, runc and busybox-static;
skips with the reason otherwise. busybox's wget resolves names through the
C library, which a static binary cannot do without NSS modules, so the
task resolves with busybox's own DNS client (nslookup) and then fetches
the address — the resolver path is the one every task uses.
"""

import os
import subprocess
import sys
import time
import unittest

import test_tasks
from test_tasks import SKIP, RealTaskCase

BRIDGE = test_tasks.BRIDGE + "d"
CGROUP_PARENT = test_tasks.CGROUP_PARENT + "-dns"
VPC = test_tasks.vpc_cidr(1)

FETCH_BY_NAME = (
    "for i in $(seq 1 40); do "
    "ip=$(nslookup backend.dev.local | sed -n '/^Name:/,$p' | awk '/^Address/ {print $2; exit}'); "
    "if [ -n \"$ip\" ] && wget -qO- http://$ip:8080/index.html | grep -q 'hello from a berth task'; then "
    "echo reached $ip; exit 0; fi; sleep 0.25; done; exit 1")


@unittest.skipIf(SKIP, SKIP or "")
class TaskDnsTest(RealTaskCase):
    bridge = BRIDGE
    cgroup_parent = CGROUP_PARENT
    berthd_options = dict(agent="real", extra_args=[
        "--bridge", BRIDGE, "--vpc-cidr", VPC, "--cgroup-parent", CGROUP_PARENT,
        "--task-endpoint-port", "0"])

    def dig(self, name):
        with open(os.path.join(self.berthd.data_dir, "dns-endpoint")) as f:
            host, port = f.read().strip().rsplit(":", 1)
        p = subprocess.run(["dig", f"@{host}", "-p", port, "+short", "+time=2", "+tries=1", name, "A"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted(p.stdout.split())

    def test_a_task_reaches_a_service_by_its_cloud_map_name(self):
        # DiscoverInstances has a "data-" host prefix; one local endpoint serves all.
        sd = self.berthd.client("servicediscovery", inject_host_prefix=False)
        vpc = self.berthd.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
        op = sd.create_private_dns_namespace(Name="dev.local", Vpc=vpc)["OperationId"]
        self.eventually(lambda: sd.get_operation(OperationId=op)["Operation"]["Status"] == "SUCCESS",
                        timeout=10, interval=0.2, msg="namespace created")
        ns = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
        registry = sd.create_service(Name="backend", NamespaceId=ns, DnsConfig={
            "RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]},
            HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]["Arn"]

        self.register("backend", {"portMappings": [{"containerPort": 8080}],
                                  "linuxParameters": {"initProcessEnabled": True}})
        self.ecs.create_service(cluster="it", serviceName="backend", taskDefinition="backend", desiredCount=1,
                                launchType="FARGATE", serviceRegistries=[{"registryArn": registry}],
                                networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet]}})
        try:
            found = self.eventually(
                lambda: sd.discover_instances(NamespaceName="dev.local", ServiceName="backend")["Instances"],
                timeout=30, interval=0.2, msg="the backend task registered in Cloud Map")
            ip = found[0]["Attributes"]["AWS_INSTANCE_IPV4"]
            self.assertEqual(self.dig("backend.dev.local"), [ip])

            self.register("frontend", {"command": ["sh", "-c", FETCH_BY_NAME]})
            arn = self.run_task("frontend")
            stopped = self.wait_status(arn, "STOPPED", timeout=60)
            self.assertEqual(stopped["containers"][0].get("exitCode"), 0,
                             "the frontend task could not resolve and reach backend.dev.local")

            # Scaled to 3, the name answers with the 3 task addresses.
            self.ecs.update_service(cluster="it", service="backend", desiredCount=3)
            three = self.eventually(lambda: (lambda a: a if len(a) == 3 else None)(self.dig("backend.dev.local")),
                                    timeout=30, interval=0.2, msg="backend.dev.local to list 3 tasks")
            self.assertIn(ip, three)
            # A new deployment replaces every task: the answers move to the
            # new tasks' addresses.
            self.ecs.update_service(cluster="it", service="backend", forceNewDeployment=True)

            def replaced():
                running = self.ecs.list_tasks(cluster="it", serviceName="backend", desiredStatus="RUNNING")["taskArns"]
                tasks = self.ecs.describe_tasks(cluster="it", tasks=running)["tasks"] if running else []
                new_ips = sorted(self.task_ip(t) for t in tasks if t["lastStatus"] == "RUNNING")
                answer = self.dig("backend.dev.local")
                if len(tasks) == 3 and len(new_ips) == 3 and not set(new_ips) & set(three) and answer == new_ips:
                    return answer
                return None

            after = self.eventually(replaced, timeout=60, interval=0.3, msg="the answers to follow the deployment")
            self.assertFalse(set(after) & set(three))
            print(f"\nbackend.dev.local: {ip} -> {three} -> {after} after the deployment", file=sys.stderr)

            # Scaled to zero, the name goes away (Route 53: no records, no name).
            self.ecs.update_service(cluster="it", service="backend", desiredCount=0)
            self.eventually(lambda: self.dig("backend.dev.local") == [], timeout=30, interval=0.2,
                            msg="backend.dev.local to stop answering after scale-in")
        finally:
            self.ecs.update_service(cluster="it", service="backend", desiredCount=0)
            self.ecs.delete_service(cluster="it", service="backend", force=True)


if __name__ == "__main__":
    unittest.main()
