"""Self-test of conformance.py and its hooks (no berthd needed).

Checks that the validator catches what it must (wrong types, timestamps as
strings, unknown members, nulls, bad enums, missing required members, bad
error bodies, EC2 XML mistakes), and that the boto3 hook and the aws CLI
plugin both turn a non-conforming response from a server into a failure.
The fake server listens on 127.0.0.1 only.
"""

import http.server
import json
import os
import tempfile
import threading
import unittest

import conformance
from berth_harness import AwsEndpoint

HDRS = {"x-amzn-RequestId": "r", "Content-Type": "application/x-amz-json-1.1"}


def check(op, body, status=200, headers=HDRS, service="ecs"):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return conformance.check_response(service, op, status, headers, body)


class ValidatorTest(unittest.TestCase):
    def test_good_responses_pass(self):
        self.assertEqual(check("ListClusters", {"clusterArns": ["arn:aws:ecs:us-east-1:0:cluster/a"]}), [])
        self.assertEqual(check("DescribeClusters", {
            "clusters": [{"clusterName": "a", "status": "ACTIVE", "registeredContainerInstancesCount": 0,
                          "settings": [{"name": "containerInsights", "value": "disabled"}],
                          "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]}],
            "failures": [{"arn": "x", "reason": "MISSING"}]}), [])
        self.assertEqual(check("DescribeServices", {"services": [{"createdAt": 1700000000.123,
                                                                  "deployments": [{"createdAt": 1700000000}]}]}), [])
        self.assertEqual(check("DeleteCluster", {"__type": "ClusterContainsServicesException",
                                                 "message": "m"}, status=400), [])
        self.assertEqual(check("DeleteCluster", {"__type": "com.amazonaws.ecs#ClusterNotFoundException",
                                                 "message": "Cluster not found."}, status=400), [])
        self.assertEqual(check("ListClusters", {"__type": "UnrecognizedClientException",
                                                "message": "x"}, status=400), [])

    def test_violations_are_found(self):
        cases = [
            ({"clusterArns": "x"}, "ListClusters", "expected array"),
            ({"clusterArns": [1]}, "ListClusters", "expected string"),
            ({"clusterArns": [], "bogus": 1}, "ListClusters", "unknown member"),
            ({"clusterArns": None}, "ListClusters", "null"),
            ({"clusters": [{"registeredContainerInstancesCount": "1"}]}, "DescribeClusters", "expected integer"),
            ({"clusters": [{"registeredContainerInstancesCount": True}]}, "DescribeClusters", "expected integer"),
            ({"services": [{"createdAt": "2024-01-01T00:00:00Z"}]}, "DescribeServices", "epoch seconds"),
            ({"services": [{"launchType": "MAGIC"}]}, "DescribeServices", "not a value of enum"),
            ({"services": [{"enableExecuteCommand": "true"}]}, "DescribeServices", "expected boolean"),
            ({"tags": [{"key": "k", "value": "v", "extra": 1}]}, "ListTagsForResource", "unknown member"),
            ({"taskDefinition": {"containerDefinitions": [{"dockerLabels": {"a": 1}}]}},
             "DescribeTaskDefinition", "expected string"),
        ]
        for body, op, reason in cases:
            with self.subTest(body=body):
                v = check(op, body)
                self.assertTrue(any(reason in x for x in v), v)

    def test_required_members(self):
        # KeyValuePair has no required members, but Tag-less shapes do: use
        # a shape that requires members in the model.
        model = conformance.load_model("ecs")
        required = [(n, s) for n, s in model["shapes"].items()
                    if s["type"] == "structure" and s.get("required") and not s.get("exception")]
        self.assertTrue(required)
        # Deployment circuit breaker requires enable and rollback.
        v = check("DescribeServices", {"services": [{"deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True}}}]})
        self.assertTrue(any("rollback" in x and "required" in x for x in v), v)

    def test_errors(self):
        self.assertTrue(check("ListClusters", {"message": "no type"}, status=400))
        self.assertTrue(check("ListClusters", {"__type": "MadeUpException", "message": "m"}, status=400))
        self.assertTrue(check("ListClusters", "not json", status=400))
        self.assertTrue(check("ListClusters", {"clusterArns": []},
                              headers={"Content-Type": "application/x-amz-json-1.1"}))  # no request id

    def test_ec2_xml(self):
        ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
        good = (f'<DescribeSubnetsResponse {ns}><requestId>r</requestId><subnetSet><item>'
                '<subnetId>subnet-1</subnetId><availabilityZone>us-east-1a</availabilityZone>'
                '<defaultForAz>true</defaultForAz><availableIpAddressCount>4091</availableIpAddressCount>'
                '<state>available</state><tagSet/></item></subnetSet></DescribeSubnetsResponse>')
        hdr = {"x-amzn-RequestId": "r", "Content-Type": "text/xml"}
        self.assertEqual(check("DescribeSubnets", good, headers=hdr, service="ec2"), [])
        for bad, reason in ((good.replace("<defaultForAz>true", "<defaultForAz>yes"), "true/false"),
                            (good.replace("4091", "many"), "expected integer"),
                            (good.replace("<state>available", "<state>fine"), "enum"),
                            (good.replace("<subnetId>", "<subnetID>").replace("</subnetId>", "</subnetID>"),
                             "unknown element"),
                            (good.replace("<item>", "<member>").replace("</item>", "</member>"), "items must be")):
            with self.subTest(reason=reason):
                v = check("DescribeSubnets", bad, headers=hdr, service="ec2")
                self.assertTrue(any(reason in x for x in v), v)
        err = ('<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code><Message>m</Message>'
               '</Error></Errors><RequestID>r</RequestID></Response>')
        self.assertEqual(check("DescribeSubnets", err, status=400, headers=hdr, service="ec2"), [])
        self.assertTrue(check("DescribeSubnets", "<Oops/>", status=400, headers=hdr, service="ec2"))


class _FakeAws(http.server.BaseHTTPRequestHandler):
    body = b"{}"
    status = 200

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


class HookTest(unittest.TestCase):
    """The hooks fire on every response of a boto3 client and of the aws CLI."""

    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeAws)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        creds = os.path.join(self.tmp.name, "credentials")
        with open(creds, "w") as f:
            f.write("[default]\naws_access_key_id = AKIDEXAMPLE\n"
                    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n")
        self.ep = AwsEndpoint(f"http://127.0.0.1:{self.server.server_address[1]}", creds, self.tmp.name)

    def serve(self, body, status=200):
        _FakeAws.body = json.dumps(body).encode()
        _FakeAws.status = status

    def test_boto3_hook(self):
        ecs = self.ep.client("ecs")
        self.serve({"clusterArns": ["a"]})
        self.assertEqual(ecs.list_clusters()["clusterArns"], ["a"])
        self.assertEqual(ecs.berth_conformance.checked, 1)
        self.serve({"clusterArns": ["a"], "clusterARNs": ["typo"]})
        with self.assertRaises(conformance.ConformanceError) as cm:
            ecs.list_clusters()
        self.assertIn("$.clusterARNs: unknown member", str(cm.exception))
        self.assertIn("ListClusters", str(cm.exception))
        # Error responses are checked too.
        self.serve({"__type": "NotAnEcsError", "message": "x"}, status=400)
        with self.assertRaises(conformance.ConformanceError):
            ecs.list_clusters()

    def test_cli_plugin(self):
        self.serve({"clusterArns": ["a"]})
        self.assertEqual(self.ep.aws("ecs", "list-clusters"), {"clusterArns": ["a"]})
        self.serve({"clusterArns": ["a"], "extra": True})
        with self.assertRaises(conformance.ConformanceError) as cm:
            self.ep.aws("ecs", "list-clusters")
        self.assertIn("$.extra: unknown member", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
