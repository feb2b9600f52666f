"""Bad input on the wire: each gets the AWS error, and berthd keeps serving.

Raw http.client requests, signed with botocore's SigV4Auth where the test
needs a valid signature. After every case the daemon must answer GET /health.
"""

import datetime
import http.client
import json
import re
import socket
import unittest

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from berth_harness import REGION, BerthdTestCase

ECS = "AmazonEC2ContainerServiceV20141113"
JSON11 = "application/x-amz-json-1.1"
BAD_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you "
                         "provided. Check your AWS Secret Access Key and signing method. Consult "
                         "the service documentation for details.")
BAD_TOKEN_MESSAGE = "The security token included in the request is invalid."


class SigV4At(SigV4Auth):
    """SigV4Auth with a chosen signing time (for clock-skew tests)."""

    def __init__(self, credentials, service, region, when=None):
        super().__init__(credentials, service, region)
        self.when = when

    def add_auth(self, request):
        if self.when is None:
            return super().add_auth(request)
        request.context["timestamp"] = self.when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<HTTP {self.status} {self.headers} {self.body[:400]!r}>"


class ProtocolErrorsTest(BerthdTestCase):

    def setUp(self):
        super().setUp()
        self.ak, self.sk = self.berthd.credentials()

    def tearDown(self):
        # After every case, the daemon still serves.
        self.assertTrue(self.berthd.alive(), "berthd died")
        self.assertEqual(self.berthd.health(), 200)
        super().tearDown()

    # ------------------------------------------------------------ helpers
    def signed_headers(self, target, body, ak=None, sk=None, when=None, token=None,
                       service="ecs", region=REGION, content_type=JSON11):
        url = f"{self.berthd.endpoint}/"
        headers = {"Content-Type": content_type}
        if target is not None:
            headers["X-Amz-Target"] = target
        req = AWSRequest(method="POST", url=url, data=body, headers=headers)
        creds = Credentials(ak or self.ak, sk or self.sk, token)
        SigV4At(creds, service, region, when).add_auth(req)
        return dict(req.headers.items())

    def send(self, headers, body, conn=None, method="POST", path="/"):
        own = conn is None
        if own:
            conn = http.client.HTTPConnection(self.berthd.host, self.berthd.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.getheaders(), data)
        finally:
            if own:
                conn.close()

    def call(self, op, payload, raw=None, **sign):
        body = raw if raw is not None else json.dumps(payload).encode()
        target = f"{ECS}.{op}" if op is not None and "." not in op else op
        return self.send(self.signed_headers(target, body, **sign), body)

    def assertAwsError(self, resp, status, code, message=None):
        self.assertEqual(resp.status, status, resp)
        self.assertTrue(resp.header("x-amzn-RequestId"), f"no x-amzn-RequestId: {resp}")
        ctype = (resp.header("Content-Type") or "").split(";")[0]
        self.assertIn(ctype, (JSON11, "application/json"), resp)
        try:
            err = resp.json()
        except ValueError:
            self.fail(f"error body is not JSON: {resp}")
        got = err.get("__type", "").split(":", 1)[0].rsplit("#", 1)[-1]
        self.assertEqual(got, code, resp)
        msg = err.get("message", err.get("Message"))
        self.assertIsInstance(msg, str, f"no message: {resp}")
        if message is not None:
            if isinstance(message, re.Pattern):
                self.assertRegex(msg, message)
            else:
                self.assertEqual(msg, message)
        return err

    # ------------------------------------------------------------ sanity
    def test_valid_signed_request(self):
        resp = self.call("ListClusters", {})
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(resp.header("x-amzn-RequestId"))
        self.assertEqual(resp.header("Content-Type").split(";")[0], JSON11)
        self.assertIn("clusterArns", resp.json())

    def test_health_has_request_id(self):
        resp = self.send({}, None, method="GET", path="/health")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.header("x-amzn-RequestId"))

    # ------------------------------------------------------------ body decoding
    def test_malformed_json(self):
        for raw in (b"{", b"not json", b'{"clusterName": "a",}', b"\xff\xfe{}", b'{"a": "\\ud800"'):
            with self.subTest(body=raw):
                resp = self.call("CreateCluster", None, raw=raw)
                self.assertAwsError(resp, 400, "SerializationException")

    def test_body_not_an_object(self):
        for raw in (b"[]", b'"text"', b"42"):
            with self.subTest(body=raw):
                resp = self.call("CreateCluster", None, raw=raw)
                self.assertAwsError(resp, 400, "SerializationException")

    def test_wrong_member_types(self):
        cases = [
            ("CreateCluster", {"clusterName": ["x"]}),          # list for string
            ("CreateCluster", {"clusterName": {"a": 1}}),       # object for string
            ("CreateCluster", {"clusterName": 12}),             # number for string
            ("CreateCluster", {"tags": {"key": "a"}}),          # object for list
            ("CreateCluster", {"clusterName": "x", "tags": ["a"]}),  # string for structure
            ("DescribeClusters", {"clusters": "x"}),            # string for list
            ("ListClusters", {"maxResults": "10"}),             # string for integer
            ("ListClusters", {"maxResults": True}),             # boolean for integer
            ("CreateService", {"serviceName": "s", "enableExecuteCommand": "yes"}),  # string for boolean
        ]
        for op, payload in cases:
            with self.subTest(op=op, payload=payload):
                resp = self.call(op, payload)
                self.assertAwsError(resp, 400, "SerializationException")
        # No half-created cluster from the bad requests.
        out = self.call("ListClusters", {}).json()
        self.assertFalse([a for a in out["clusterArns"] if a.endswith("/x")], out)

    def test_missing_required_members(self):
        cases = [
            ("DescribeServices", {"cluster": "default"}),                      # services
            ("CreateService", {"desiredCount": 1}),                            # serviceName
            ("RegisterTaskDefinition", {"family": "f"}),                       # containerDefinitions
            ("RegisterTaskDefinition", {"containerDefinitions": [{"name": "a", "image": "i"}]}),  # family
            ("TagResource", {"resourceArn": "arn:aws:ecs:us-east-1:000000000000:cluster/default"}),  # tags
            ("DescribeTaskDefinition", {}),                                    # taskDefinition
        ]
        for op, payload in cases:
            with self.subTest(op=op, payload=payload):
                resp = self.call(op, payload)
                self.assertEqual(resp.status, 400, resp)
                err = resp.json()
                # ECS reports invalid requests as its own modeled client errors.
                self.assertIn(err.get("__type", "").rsplit("#", 1)[-1],
                              ("InvalidParameterException", "ClientException"), resp)
                self.assertTrue(resp.header("x-amzn-RequestId"))

    def test_unknown_members_are_ignored(self):
        resp = self.call("ListClusters", {"someFutureMember": {"x": [1, 2]}})
        self.assertEqual(resp.status, 200, resp)

    def test_unknown_operation(self):
        for target in (f"{ECS}.NoSuchOperation", "NoSuchService_20990101.ListClusters", f"{ECS}."):
            with self.subTest(target=target):
                resp = self.call(target, {})
                self.assertAwsError(resp, 400, "UnknownOperationException")

    # ------------------------------------------------------------ size limits
    def test_oversized_body(self):
        size = 20 * 1024 * 1024
        body = b'{"clusterName": "' + b"a" * (size - 20) + b'"}'
        headers = self.signed_headers(f"{ECS}.CreateCluster", body)
        head = (f"POST / HTTP/1.1\r\nHost: {self.berthd.host}:{self.berthd.port}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + f"Content-Length: {len(body)}\r\n\r\n").encode()
        sock = socket.create_connection((self.berthd.host, self.berthd.port), timeout=10)
        try:
            sock.sendall(head)
            sent = 0
            try:
                view = memoryview(body)
                while sent < len(body):
                    sent += sock.send(view[sent:sent + 1024 * 1024])
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the server answered early and stopped reading: fine
            try:
                resp = http.client.HTTPResponse(sock, method="POST")
                resp.begin()
                data = resp.read()
            except (ConnectionResetError, http.client.RemoteDisconnected) as e:
                self.fail(f"no readable response to a {size}-byte body (sent {sent} bytes): {e!r} "
                          "(the server must answer 413 and close cleanly, not reset the connection)")
            r = Response(resp.status, resp.getheaders(), data)
            self.assertAwsError(r, 413, r.json().get("__type", "?"))  # AWS-shaped, any code
            if not resp.will_close:
                # The connection survived: it must still serve requests.
                sock.sendall(f"GET /health HTTP/1.1\r\nHost: {self.berthd.host}\r\n\r\n".encode())
                again = http.client.HTTPResponse(sock, method="GET")
                again.begin()
                again.read()
                self.assertEqual(again.status, 200)
        finally:
            sock.close()
        # And a normal request on a new connection works.
        self.assertEqual(self.call("ListClusters", {}).status, 200)

    def test_oversized_headers(self):
        sock = socket.create_connection((self.berthd.host, self.berthd.port), timeout=30)
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (256 * 1024) + b"\r\n\r\n")
            try:
                resp = http.client.HTTPResponse(sock, method="GET")
                resp.begin()
                resp.read()
                self.assertIn(resp.status, (400, 431), "oversized headers must be refused")
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                pass  # closing the connection is acceptable for a garbage header block
        finally:
            sock.close()

    # ------------------------------------------------------------ authentication
    def test_missing_authentication(self):
        body = b"{}"
        resp = self.send({"Content-Type": JSON11, "X-Amz-Target": f"{ECS}.ListClusters"}, body)
        err = self.assertAwsError(resp, 400, "MissingAuthenticationTokenException")
        self.assertIn("missing authentication token", err["message"].lower())

    def test_incomplete_signature(self):
        now = datetime.datetime.utcnow()
        headers = {"Content-Type": JSON11, "X-Amz-Target": f"{ECS}.ListClusters",
                   "X-Amz-Date": now.strftime(SIGV4_TIMESTAMP),
                   "Authorization": f"AWS4-HMAC-SHA256 Credential={self.ak}/{now:%Y%m%d}/{REGION}/ecs/aws4_request"}
        resp = self.send(headers, b"{}")
        self.assertAwsError(resp, 400, "IncompleteSignatureException")

    def test_bad_signature(self):
        resp = self.call("ListClusters", {}, sk="x" * 40)
        self.assertAwsError(resp, 400, "InvalidSignatureException", BAD_SIGNATURE_MESSAGE)
        # A body changed after signing.
        headers = self.signed_headers(f"{ECS}.ListClusters", b"{}")
        resp = self.send(headers, b'{"maxResults":1}')
        self.assertAwsError(resp, 400, "InvalidSignatureException", BAD_SIGNATURE_MESSAGE)
        # A signed header changed after signing.
        headers = self.signed_headers(f"{ECS}.ListClusters", b"{}")
        headers["X-Amz-Target"] = f"{ECS}.ListServices"
        resp = self.send(headers, b"{}")
        self.assertAwsError(resp, 400, "InvalidSignatureException", BAD_SIGNATURE_MESSAGE)

    def test_unknown_access_key(self):
        resp = self.call("ListClusters", {}, ak="AKIAIOSFODNN7EXAMPLE",
                         sk="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        self.assertAwsError(resp, 400, "UnrecognizedClientException", BAD_TOKEN_MESSAGE)

    def test_clock_skew(self):
        stamp = r"\d{8}T\d{6}Z"
        past = datetime.datetime.utcnow() - datetime.timedelta(minutes=10)
        resp = self.call("ListClusters", {}, when=past)
        err = self.assertAwsError(resp, 400, "InvalidSignatureException", re.compile(
            rf"^Signature expired: {stamp} is now earlier than {stamp} \({stamp} - 5 min\.\)$"))
        self.assertTrue(err["message"].startswith(f"Signature expired: {past.strftime(SIGV4_TIMESTAMP)} "),
                        err["message"])
        future = datetime.datetime.utcnow() + datetime.timedelta(minutes=10)
        resp = self.call("ListClusters", {}, when=future)
        self.assertAwsError(resp, 400, "InvalidSignatureException", re.compile(
            rf"^Signature not yet current: {stamp} is still later than {stamp} \({stamp} \+ 5 min\.\)$"))
        # Within the window is fine.
        resp = self.call("ListClusters", {}, when=datetime.datetime.utcnow() - datetime.timedelta(minutes=4))
        self.assertEqual(resp.status, 200, resp)

    def test_session_token_unknown(self):
        resp = self.call("ListClusters", {}, token="FwoGZXIvYXdzEXAMPLETOKEN")
        self.assertAwsError(resp, 400, "UnrecognizedClientException", BAD_TOKEN_MESSAGE)

    # ------------------------------------------------------------ connections
    def test_keep_alive(self):
        conn = http.client.HTTPConnection(self.berthd.host, self.berthd.port, timeout=30)
        try:
            conn.connect()
            sock = conn.sock
            for i in range(200):
                op = ("ListClusters", "ListTaskDefinitions", "DescribeClusters")[i % 3]
                body = b"{}"
                resp = self.send(self.signed_headers(f"{ECS}.{op}", body), body, conn=conn)
                self.assertEqual(resp.status, 200, f"request {i}: {resp}")
                self.assertTrue(resp.header("x-amzn-RequestId"))
                self.assertIs(conn.sock, sock, f"connection was closed after request {i}")
            # Errors do not close the connection either.
            resp = self.send(self.signed_headers(f"{ECS}.CreateCluster", b"{"), b"{", conn=conn)
            self.assertEqual(resp.status, 400)
            resp = self.send({"Content-Type": JSON11, "X-Amz-Target": f"{ECS}.ListClusters"}, b"{}", conn=conn)
            self.assertEqual(resp.status, 400)
            resp = self.send(self.signed_headers(f"{ECS}.ListClusters", b"{}"), b"{}", conn=conn)
            self.assertEqual(resp.status, 200)
            self.assertIs(conn.sock, sock, "connection was closed after an error response")
        finally:
            conn.close()

    def test_request_ids_are_unique(self):
        ids = {self.call("ListClusters", {}).header("x-amzn-RequestId") for _ in range(20)}
        self.assertEqual(len(ids), 20)


class AuthOffTest(BerthdTestCase):
    berthd_options = {"auth": "off"}

    def tearDown(self):
        self.assertEqual(self.berthd.health(), 200)
        super().tearDown()

    def test_any_well_formed_signature_is_accepted(self):
        for ak, sk in (("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                       ("test", "test"), ("ASIAFAKEFAKEFAKEFAKE", "x" * 40)):
            with self.subTest(access_key=ak):
                body = b'{"clusterName": "auth-off"}'
                req = AWSRequest(method="POST", url=f"{self.berthd.endpoint}/", data=body,
                                 headers={"Content-Type": JSON11,
                                          "X-Amz-Target": f"{ECS}.CreateCluster"})
                SigV4Auth(Credentials(ak, sk), "ecs", REGION).add_auth(req)
                conn = http.client.HTTPConnection(self.berthd.host, self.berthd.port, timeout=30)
                try:
                    conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.assertEqual(resp.status, 200, data)
                self.assertEqual(json.loads(data)["cluster"]["clusterName"], "auth-off")

    def test_boto3_with_dummy_keys(self):
        import boto3
        from botocore.config import Config
        import conformance
        ecs = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=REGION).client(
            "ecs", endpoint_url=self.berthd.endpoint,
            config=Config(retries={"total_max_attempts": 1}, proxies={}))
        conformance.install(ecs)
        self.addCleanup(ecs.close)
        self.assertIn("clusterArns", ecs.list_clusters())


if __name__ == "__main__":
    unittest.main()
