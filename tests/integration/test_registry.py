"""The OCI registry under /v2/ and the ECR API beside it, with real clients.

skopeo (Debian) copies an OCI layout built here into berthd and back, with
Basic credentials from `aws ecr get-authorization-token`; raw http.client
drives monolithic and chunked uploads and every bad-input case (each gets the
registry's JSON error, leaves nothing partial under blobs/, and the daemon
keeps serving); boto3 and the aws CLI drive the ECR API, whose responses
conformance.py checks against botocore's model.
"""

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

from berth_harness import ACCOUNT, BerthdTestCase

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SKOPEO = shutil.which("skopeo")


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layer(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            t.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return raw, gzip.compress(raw, mtime=0)


def make_image(layer_count=3, seed=b""):
    """A small multi-layer OCI image: (manifest bytes, config bytes, [layer bytes])."""
    layers, diff_ids = [], []
    for i in range(layer_count):
        raw, gz = make_layer([(f"layer{i}/data.bin", hashlib.sha256(seed + bytes([i])).digest() * (50 * (i + 1)))])
        layers.append(gz)
        diff_ids.append(sha(raw))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha(l), "size": len(l)} for l in layers],
    }).encode()
    return manifest, config, layers


def write_oci_layout(root, manifest, config, layers, tag):
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    for blob in [manifest, config, *layers]:
        with open(os.path.join(root, "blobs", "sha256", sha(blob)[7:]), "wb") as f:
            f.write(blob)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": sha(manifest), "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)


class RegistryTestCase(BerthdTestCase):
    @classmethod
    def setUpClassState(cls):
        cls.ecr = cls.berthd.client("ecr")
        token = cls.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, cls.password = base64.b64decode(token).decode().split(":", 1)
        assert user == "AWS"
        cls.auth = "Basic " + base64.b64encode(f"AWS:{cls.password}".encode()).decode()

    # ------------------------------------------------------------ raw HTTP
    def request(self, method, path, body=None, headers=None, auth=True, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection(self.berthd.host, self.berthd.port, timeout=30)
        h = dict(headers or {})
        if auth:
            h.setdefault("Authorization", self.auth)
        try:
            conn.request(method, path, body=body, headers=h,
                         encode_chunked=h.get("Transfer-Encoding") == "chunked")
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            if own:
                conn.close()

    def assertRegistryError(self, result, status, code):
        got_status, headers, body = result
        self.assertEqual(got_status, status, body)
        self.assertEqual(json.loads(body)["errors"][0]["code"], code, body)
        return headers

    def blob_dir(self):
        return os.path.join(self.berthd.data_dir, "blobs")

    def assertNothingPartial(self):
        self.assertEqual(os.listdir(os.path.join(self.blob_dir(), "tmp")), [])
        for name in os.listdir(os.path.join(self.blob_dir(), "sha256")):
            with open(os.path.join(self.blob_dir(), "sha256", name), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), name, "a blob not matching its digest")
        self.assertEqual(self.request("GET", "/v2/")[0], 200)  # still serving

    def push_blob(self, repo, data):
        status, headers, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        self.assertEqual(status, 202)
        status, headers, body = self.request("PUT", f"{headers['location']}?digest={sha(data)}", body=data)
        self.assertEqual(status, 201, body)
        return sha(data)

    def push_image(self, repo, tag, manifest, config, layers):
        for blob in [config, *layers]:
            self.push_blob(repo, blob)
        status, headers, body = self.request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest,
                                             headers={"Content-Type": OCI_MANIFEST})
        self.assertEqual(status, 201, body)
        return headers["docker-content-digest"]


class TestRegistryWithSkopeo(RegistryTestCase):
    @unittest.skipUnless(SKOPEO, "skopeo is not installed")
    def test_skopeo_copy_round_trip(self):
        self.ecr.create_repository(repositoryName="team/app")
        cli_token = self.berthd.aws("ecr", "get-authorization-token")["authorizationData"][0]
        password = base64.b64decode(cli_token["authorizationToken"]).decode().split(":", 1)[1]
        self.assertEqual(cli_token["proxyEndpoint"], self.berthd.endpoint)
        manifest, config, layers = make_image(3, b"skopeo")
        tmp = tempfile.mkdtemp(prefix="berth-oci-")
        self.addCleanup(shutil.rmtree, tmp, True)
        src = os.path.join(tmp, "layout")
        write_oci_layout(src, manifest, config, layers, "v1")
        host = f"127.0.0.1:{self.berthd.port}"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp}
        subprocess.run([SKOPEO, "copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
                        f"oci:{src}:v1", f"docker://{host}/team/app:v1"],
                       check=True, capture_output=True, env=env, timeout=120)
        out = os.path.join(tmp, "out")
        subprocess.run([SKOPEO, "copy", "--src-tls-verify=false", "--src-creds", f"AWS:{password}",
                        f"docker://{host}/team/app:v1", f"dir:{out}"],
                       check=True, capture_output=True, env=env, timeout=120)
        with open(os.path.join(out, "manifest.json"), "rb") as f:
            self.assertEqual(sha(f.read()), sha(manifest))
        for blob in [config, *layers]:
            with open(os.path.join(out, sha(blob)[7:]), "rb") as f:
                self.assertEqual(sha(f.read()), sha(blob))

        # Pushed by skopeo, seen by the ECR API.
        details = self.ecr.describe_images(repositoryName="team/app")["imageDetails"]
        self.assertEqual(len(details), 1)
        self.assertEqual(details[0]["imageDigest"], sha(manifest))
        self.assertEqual(details[0]["imageTags"], ["v1"])
        self.assertEqual(details[0]["imageManifestMediaType"], OCI_MANIFEST)
        self.assertEqual(details[0]["imageSizeInBytes"], len(config) + sum(len(l) for l in layers))
        got = self.ecr.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
        self.assertEqual(got["images"][0]["imageManifest"].encode(), manifest)

        # Bad credentials: skopeo fails, with the registry's 401.
        bad = subprocess.run([SKOPEO, "inspect", "--tls-verify=false", "--creds", "AWS:wrong",
                              f"docker://{host}/team/app:v1"], capture_output=True, env=env, timeout=60)
        self.assertNotEqual(bad.returncode, 0)


class TestRegistryProtocol(RegistryTestCase):
    @classmethod
    def setUpClassState(cls):
        super().setUpClassState()
        cls.ecr.create_repository(repositoryName="proto")
        cls.ecr.create_repository(repositoryName="ns/other")

    def test_base_and_auth(self):
        status, headers, _ = self.request("GET", "/v2/", auth=False)
        self.assertEqual(status, 401)
        self.assertTrue(headers["www-authenticate"].startswith("Basic realm="))
        self.assertEqual(headers["docker-distribution-api-version"], "registry/2.0")
        bad = "Basic " + base64.b64encode(b"AWS:1999999999.deadbeef").decode()
        self.assertRegistryError(self.request("GET", "/v2/", headers={"Authorization": bad}), 401, "UNAUTHORIZED")
        wrong_user = "Basic " + base64.b64encode(f"bob:{self.password}".encode()).decode()
        self.assertRegistryError(self.request("GET", "/v2/", headers={"Authorization": wrong_user}), 401,
                                 "UNAUTHORIZED")
        # A refused upload leaves nothing behind.
        self.assertRegistryError(self.request("POST", "/v2/proto/blobs/uploads/?digest=" + sha(b"x"), body=b"x",
                                              auth=False), 401, "UNAUTHORIZED")
        self.assertEqual(self.request("GET", "/v2/")[0], 200)
        self.assertNothingPartial()

    def test_monolithic_upload_and_ranges(self):
        data = os.urandom(300_000)
        status, headers, body = self.request("POST", f"/v2/proto/blobs/uploads/?digest={sha(data)}", body=data)
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["docker-content-digest"], sha(data))
        self.assertEqual(headers["location"], f"/v2/proto/blobs/{sha(data)}")
        status, headers, body = self.request("HEAD", f"/v2/proto/blobs/{sha(data)}")
        self.assertEqual((status, int(headers["content-length"]), body), (200, len(data), b""))
        status, _, body = self.request("GET", f"/v2/proto/blobs/{sha(data)}")
        self.assertEqual((status, body), (200, data))
        status, headers, body = self.request("GET", f"/v2/proto/blobs/{sha(data)}", headers={"Range": "bytes=10-19"})
        self.assertEqual((status, body), (206, data[10:20]))
        self.assertEqual(headers["content-range"], f"bytes 10-19/{len(data)}")
        status, _, body = self.request("GET", f"/v2/proto/blobs/{sha(data)}", headers={"Range": "bytes=-5"})
        self.assertEqual((status, body), (206, data[-5:]))
        self.assertRegistryError(self.request("GET", f"/v2/proto/blobs/{sha(data)}",
                                              headers={"Range": f"bytes={len(data)}-"}), 416, "RANGE_INVALID")
        self.assertRegistryError(self.request("GET", f"/v2/proto/blobs/{sha(b'unknown')}"), 404, "BLOB_UNKNOWN")
        self.assertRegistryError(self.request("GET", f"/v2/nosuch/blobs/{sha(data)}"), 404, "NAME_UNKNOWN")
        self.assertRegistryError(self.request("GET", "/v2/proto/blobs/sha256:short"), 400, "DIGEST_INVALID")

    def test_chunked_upload(self):
        data = os.urandom(2_500_000)
        conn = http.client.HTTPConnection(self.berthd.host, self.berthd.port, timeout=30)
        self.addCleanup(conn.close)
        status, headers, _ = self.request("POST", "/v2/proto/blobs/uploads/", conn=conn)
        self.assertEqual(status, 202)
        location, uuid = headers["location"], headers["docker-upload-uuid"]
        self.assertIn(uuid, location)
        offset = 0
        for size in (1_000_000, 1_000_000):
            chunk = data[offset:offset + size]
            status, headers, body = self.request(
                "PATCH", location, body=chunk, conn=conn,
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
            self.assertEqual(status, 202, body)
            offset += len(chunk)
            self.assertEqual(headers["range"], f"0-{offset - 1}")
            location = headers["location"]
        status, headers, _ = self.request("GET", location, conn=conn)
        self.assertEqual((status, headers["range"]), (204, f"0-{offset - 1}"))
        # Out of order chunk: 416, the upload stands.
        self.assertRegistryError(self.request("PATCH", location, body=b"x", conn=conn,
                                              headers={"Content-Range": "5-5"}), 416, "RANGE_INVALID")
        conn = http.client.HTTPConnection(self.berthd.host, self.berthd.port, timeout=30)
        self.addCleanup(conn.close)
        status, headers, body = self.request("PUT", f"{location}?digest={sha(data)}", body=data[offset:], conn=conn)
        self.assertEqual(status, 201, body)
        self.assertEqual(headers["docker-content-digest"], sha(data))
        self.assertEqual(self.request("GET", f"/v2/proto/blobs/{sha(data)}")[2], data)
        # The session is gone.
        self.assertRegistryError(self.request("GET", location), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertNothingPartial()

    def test_cross_repository_mount(self):
        digest = self.push_blob("ns/other", b"shared layer")
        status, headers, _ = self.request("POST", f"/v2/proto/blobs/uploads/?mount={digest}&from=ns/other")
        self.assertEqual(status, 201)
        self.assertEqual(headers["location"], f"/v2/proto/blobs/{digest}")
        # An unknown blob: a fresh upload session instead.
        status, _, _ = self.request("POST", f"/v2/proto/blobs/uploads/?mount={sha(b'absent')}&from=ns/other")
        self.assertEqual(status, 202)

    def test_manifests_tags_and_catalog(self):
        manifest, config, layers = make_image(2, b"tags")
        digest = self.push_image("proto", "v1", manifest, config, layers)
        self.assertEqual(digest, sha(manifest))
        for ref in ("v1", digest):
            status, headers, body = self.request("GET", f"/v2/proto/manifests/{ref}",
                                                 headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"})
            self.assertEqual((status, body), (200, manifest))
            self.assertEqual(headers["content-type"], OCI_MANIFEST)
            self.assertEqual(headers["docker-content-digest"], digest)
            status, headers, body = self.request("HEAD", f"/v2/proto/manifests/{ref}")
            self.assertEqual((status, int(headers["content-length"]), body), (200, len(manifest), b""))
        # A client that accepts only Docker manifests does not get an OCI one.
        self.assertRegistryError(self.request("GET", "/v2/proto/manifests/v1", headers={"Accept": DOCKER_MANIFEST}),
                                 404, "MANIFEST_UNKNOWN")
        for tag in ("v2", "a", "z"):
            status, _, _ = self.request("PUT", f"/v2/proto/manifests/{tag}", body=manifest,
                                        headers={"Content-Type": OCI_MANIFEST})
            self.assertEqual(status, 201)
        status, _, body = self.request("GET", "/v2/proto/tags/list")
        self.assertEqual(json.loads(body), {"name": "proto", "tags": ["a", "v1", "v2", "z"]})
        status, headers, body = self.request("GET", "/v2/proto/tags/list?n=2")
        self.assertEqual(json.loads(body)["tags"], ["a", "v1"])
        self.assertIn('rel="next"', headers["link"])
        status, _, body = self.request("GET", "/v2/proto/tags/list?n=2&last=v1")
        self.assertEqual(json.loads(body)["tags"], ["v2", "z"])
        status, _, body = self.request("GET", "/v2/_catalog")
        self.assertIn("proto", json.loads(body)["repositories"])
        self.assertIn("ns/other", json.loads(body)["repositories"])
        # An index over the image.
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest),
             "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
        status, _, body = self.request("PUT", "/v2/proto/manifests/multi", body=index,
                                       headers={"Content-Type": OCI_INDEX})
        self.assertEqual(status, 201, body)
        # Deletes: a tag, then the image referenced by the index is refused.
        self.assertEqual(self.request("DELETE", "/v2/proto/manifests/z")[0], 202)
        self.assertRegistryError(self.request("GET", "/v2/proto/manifests/z"), 404, "MANIFEST_UNKNOWN")
        self.assertRegistryError(self.request("DELETE", f"/v2/proto/manifests/{digest}"), 403, "DENIED")
        self.assertEqual(self.request("DELETE", f"/v2/proto/manifests/{sha(index)}")[0], 202)
        self.assertEqual(self.request("DELETE", f"/v2/proto/manifests/{digest}")[0], 202)
        self.assertRegistryError(self.request("GET", "/v2/proto/manifests/v1"), 404, "MANIFEST_UNKNOWN")

    def test_bad_input(self):
        data = os.urandom(100_000)
        # Digest mismatch, monolithic and at the end of a session.
        self.assertRegistryError(self.request("POST", f"/v2/proto/blobs/uploads/?digest={sha(b'other')}", body=data),
                                 400, "DIGEST_INVALID")
        status, headers, _ = self.request("POST", "/v2/proto/blobs/uploads/")
        self.assertRegistryError(self.request("PUT", f"{headers['location']}?digest={sha(b'other')}", body=data),
                                 400, "DIGEST_INVALID")
        self.assertFalse(os.path.exists(os.path.join(self.blob_dir(), "sha256", sha(data)[7:])))
        self.assertFalse(os.path.exists(os.path.join(self.blob_dir(), "sha256", sha(b"other")[7:])))
        # Truncated upload: the client sends half and closes.
        status, headers, _ = self.request("POST", "/v2/proto/blobs/uploads/")
        location = headers["location"]
        import socket
        s = socket.create_connection((self.berthd.host, self.berthd.port))
        s.sendall((f"PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: {self.auth}\r\n"
                   f"Content-Length: {len(data)}\r\n\r\n").encode() + data[:len(data) // 2])
        s.shutdown(socket.SHUT_WR)
        s.recv(65536)
        s.close()
        self.eventually(lambda: self.request("GET", location)[0] == 404, msg="truncated upload dropped")
        self.assertRegistryError(self.request("PUT", f"{location}?digest={sha(data)}", body=b""), 404,
                                 "BLOB_UPLOAD_UNKNOWN")
        self.assertRegistryError(self.request("PATCH", "/v2/proto/blobs/uploads/not-a-session", body=b"x"), 404,
                                 "BLOB_UPLOAD_UNKNOWN")
        # A manifest referencing a missing blob.
        manifest, config, layers = make_image(2, b"missing")
        self.push_blob("proto", config)
        self.assertRegistryError(self.request("PUT", "/v2/proto/manifests/missing", body=manifest,
                                              headers={"Content-Type": OCI_MANIFEST}), 400, "MANIFEST_BLOB_UNKNOWN")
        # A huge manifest: refused by its Content-Length, and when chunked.
        huge = b'{"schemaVersion":2,"layers":[' + b" " * (5 * 1024 * 1024) + b"]}"
        self.assertRegistryError(self.request("PUT", "/v2/proto/manifests/huge", body=huge,
                                              headers={"Content-Type": OCI_MANIFEST}), 413, "SIZE_INVALID")
        self.assertRegistryError(self.request("PUT", "/v2/proto/manifests/huge", body=iter([huge]),
                                              headers={"Content-Type": OCI_MANIFEST,
                                                       "Transfer-Encoding": "chunked"}), 413, "SIZE_INVALID")
        # Unknown media types, bad JSON, bad names and tags.
        self.assertRegistryError(self.request("PUT", "/v2/proto/manifests/x", body=manifest,
                                              headers={"Content-Type": "application/vnd.example+json"}),
                                 415, "UNSUPPORTED")
        self.assertRegistryError(self.request("PUT", "/v2/proto/manifests/x", body=b"{nope",
                                              headers={"Content-Type": OCI_MANIFEST}), 400, "MANIFEST_INVALID")
        self.assertRegistryError(self.request("PUT", "/v2/proto/manifests/-bad", body=manifest,
                                              headers={"Content-Type": OCI_MANIFEST}), 400, "TAG_INVALID")
        self.assertRegistryError(self.request("PUT", f"/v2/proto/manifests/{sha(b'x')}", body=manifest,
                                              headers={"Content-Type": OCI_MANIFEST}), 400, "DIGEST_INVALID")
        self.assertRegistryError(self.request("GET", "/v2/Upper/tags/list"), 400, "NAME_INVALID")
        self.assertRegistryError(self.request("GET", "/v2/nosuch/tags/list"), 404, "NAME_UNKNOWN")
        self.assertRegistryError(self.request("POST", "/v2/nosuch/blobs/uploads/"), 404, "NAME_UNKNOWN")
        self.assertRegistryError(self.request("GET", "/v2/proto/manifests/nosuch"), 404, "MANIFEST_UNKNOWN")
        self.assertNothingPartial()
        # Nothing of it shows in the ECR API.
        tags = [i.get("imageTag") for i in self.ecr.list_images(repositoryName="proto").get("imageIds", [])]
        for tag in ("missing", "huge", "x", "-bad"):
            self.assertNotIn(tag, tags)

    def test_immutable_tags_through_the_registry(self):
        self.ecr.create_repository(repositoryName="frozen", imageTagMutability="IMMUTABLE")
        m1, c1, l1 = make_image(1, b"one")
        m2, c2, l2 = make_image(1, b"two")
        self.push_image("frozen", "v1", m1, c1, l1)
        # The same image again is fine; another under the same tag is not.
        self.assertEqual(self.request("PUT", "/v2/frozen/manifests/v1", body=m1,
                                      headers={"Content-Type": OCI_MANIFEST})[0], 201)
        for blob in [c2, *l2]:
            self.push_blob("frozen", blob)
        self.assertRegistryError(self.request("PUT", "/v2/frozen/manifests/v1", body=m2,
                                              headers={"Content-Type": OCI_MANIFEST}), 400, "TAG_INVALID")
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            self.ecr.put_image(repositoryName="frozen", imageManifest=m2.decode(), imageTag="v1")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ImageTagAlreadyExistsException")


class TestRegistryCreateOnPush(RegistryTestCase):
    berthd_options = {"extra_args": ["--registry-create-on-push"]}

    def test_first_push_creates_the_repository(self):
        manifest, config, layers = make_image(1, b"auto")
        self.push_image("auto/created", "latest", manifest, config, layers)
        repo = self.ecr.describe_repositories(repositoryNames=["auto/created"])["repositories"][0]
        self.assertEqual(repo["repositoryUri"], f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/auto/created")


class TestRegistryAuthOff(RegistryTestCase):
    berthd_options = {"auth": "off"}

    def test_no_credentials_needed(self):
        self.assertEqual(self.request("GET", "/v2/", auth=False)[0], 200)


class TestEcrApi(RegistryTestCase):
    def test_repositories(self):
        ecr = self.ecr
        repo = ecr.create_repository(repositoryName="api/one", imageTagMutability="IMMUTABLE",
                                     imageScanningConfiguration={"scanOnPush": True},
                                     encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "alias/x"},
                                     tags=[{"Key": "team", "Value": "a"}])["repository"]
        self.assertEqual(repo["repositoryArn"], f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/api/one")
        self.assertEqual(repo["imageTagMutability"], "IMMUTABLE")
        self.assertEqual(repo["imageScanningConfiguration"], {"scanOnPush": True})
        self.assertEqual(repo["encryptionConfiguration"]["encryptionType"], "KMS")
        self.assertAwsError("RepositoryAlreadyExistsException", ecr.create_repository, repositoryName="api/one")
        self.assertAwsError("InvalidParameterException", ecr.create_repository, repositoryName="Bad_Name")
        for i in range(5):
            ecr.create_repository(repositoryName=f"api/page{i}")
        names, token = [], None
        while True:
            kwargs = {"maxResults": 2, **({"nextToken": token} if token else {})}
            page = ecr.describe_repositories(**kwargs)
            names += [r["repositoryName"] for r in page["repositories"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertTrue({"api/one", "api/page0", "api/page4"} <= set(names))
        self.assertEqual(len(names), len(set(names)))
        self.assertAwsError("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=["nope"])
        self.assertAwsError("InvalidParameterException", ecr.describe_repositories, nextToken="forged")
        arn = repo["repositoryArn"]
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "dev"}])
        ecr.untag_resource(resourceArn=arn, tagKeys=["team"])
        self.assertEqual(ecr.list_tags_for_resource(resourceArn=arn)["tags"], [{"Key": "env", "Value": "dev"}])
        policy = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged",
                             "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
                             "action": {"type": "expire"}}]})
        self.assertAwsError("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName="api/one")
        ecr.put_lifecycle_policy(repositoryName="api/one", lifecyclePolicyText=policy)
        self.assertEqual(json.loads(ecr.get_lifecycle_policy(repositoryName="api/one")["lifecyclePolicyText"]),
                         json.loads(policy))
        self.assertAwsError("InvalidParameterException", ecr.put_lifecycle_policy, repositoryName="api/one",
                            lifecyclePolicyText="not json " * 20)
        ecr.delete_repository(repositoryName="api/page0")
        self.assertAwsError("RepositoryNotFoundException", ecr.delete_repository, repositoryName="api/page0")

    def test_images_through_the_api(self):
        ecr = self.ecr
        ecr.create_repository(repositoryName="api/images")
        manifest, config, layers = make_image(2, b"api")
        # PutImage needs the layers in the registry first.
        self.assertAwsError("LayersNotFoundException", ecr.put_image, repositoryName="api/images",
                            imageManifest=manifest.decode(), imageTag="v1")
        for blob in [config, *layers]:
            self.push_blob("api/images", blob)
        image = ecr.put_image(repositoryName="api/images", imageManifest=manifest.decode(), imageTag="v1",
                              imageManifestMediaType=OCI_MANIFEST)["image"]
        self.assertEqual(image["imageId"], {"imageDigest": sha(manifest), "imageTag": "v1"})
        self.assertAwsError("ImageAlreadyExistsException", ecr.put_image, repositoryName="api/images",
                            imageManifest=manifest.decode(), imageTag="v1")
        self.assertAwsError("ImageDigestDoesNotMatchException", ecr.put_image, repositoryName="api/images",
                            imageManifest=manifest.decode(), imageTag="v2", imageDigest=sha(b"x"))
        ecr.put_image(repositoryName="api/images", imageManifest=manifest.decode(), imageTag="v2")
        # Put with the API, pulled by the registry.
        status, headers, body = self.request("GET", "/v2/api/images/manifests/v2")
        self.assertEqual((status, body), (200, manifest))
        ids = ecr.list_images(repositoryName="api/images")["imageIds"]
        self.assertEqual(sorted(i["imageTag"] for i in ids), ["v1", "v2"])
        detail = ecr.describe_images(repositoryName="api/images", imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
        self.assertEqual(sorted(detail["imageTags"]), ["v1", "v2"])
        self.assertEqual(detail["artifactMediaType"], OCI_CONFIG)
        self.assertAwsError("ImageNotFoundException", ecr.describe_images, repositoryName="api/images",
                            imageIds=[{"imageTag": "nope"}])
        got = ecr.batch_get_image(repositoryName="api/images", imageIds=[{"imageTag": "v1"}, {"imageTag": "nope"}],
                                  acceptedMediaTypes=[OCI_MANIFEST])
        self.assertEqual(len(got["images"]), 1)
        self.assertEqual(got["failures"][0]["failureCode"], "ImageNotFound")
        got = ecr.batch_get_image(repositoryName="api/images", imageIds=[{"imageTag": "v1"}],
                                  acceptedMediaTypes=[DOCKER_MANIFEST])
        self.assertEqual(got["images"], [])
        self.assertAwsError("RepositoryNotEmptyException", ecr.delete_repository, repositoryName="api/images")
        # Removing one tag keeps the image; the last tag takes it along.
        out = ecr.batch_delete_image(repositoryName="api/images", imageIds=[{"imageTag": "v1"}, {"imageTag": "gone"}])
        self.assertEqual(out["imageIds"], [{"imageDigest": sha(manifest), "imageTag": "v1"}])
        self.assertEqual(out["failures"][0]["failureCode"], "ImageNotFound")
        self.assertEqual(len(ecr.describe_images(repositoryName="api/images")["imageDetails"]), 1)
        ecr.batch_delete_image(repositoryName="api/images", imageIds=[{"imageTag": "v2"}])
        self.assertEqual(ecr.describe_images(repositoryName="api/images")["imageDetails"], [])
        ecr.delete_repository(repositoryName="api/images")

    def test_cli_and_durability(self):
        d = self.start_berthd()
        d.aws("ecr", "create-repository", "--repository-name", "cli/app")
        ecr = d.client("ecr")
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        auth = "Basic " + base64.b64encode(base64.b64decode(token)).decode()
        manifest, config, layers = make_image(1, b"durable")
        conn = lambda: http.client.HTTPConnection(d.host, d.port, timeout=30)  # noqa: E731
        for blob in [config, *layers]:
            c = conn()
            c.request("POST", f"/v2/cli/app/blobs/uploads/?digest={sha(blob)}", body=blob,
                      headers={"Authorization": auth})
            self.assertEqual(c.getresponse().status, 201)
            c.close()
        c = conn()
        c.request("PUT", "/v2/cli/app/manifests/latest", body=manifest,
                  headers={"Authorization": auth, "Content-Type": OCI_MANIFEST})
        self.assertEqual(c.getresponse().status, 201)
        c.close()
        d.restart(kill=True)
        images = d.aws("ecr", "describe-images", "--repository-name", "cli/app")["imageDetails"]
        self.assertEqual([i["imageDigest"] for i in images], [sha(manifest)])
        # Tokens survive the restart (they are keyed by the root secret).
        c = http.client.HTTPConnection(d.host, d.port, timeout=30)
        c.request("GET", "/v2/cli/app/manifests/latest", headers={"Authorization": auth})
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, manifest))
        c.close()
        d.aws("ecr", "delete-repository", "--repository-name", "cli/app", "--force")
        self.assertEqual(d.aws("ecr", "describe-repositories")["repositories"], [])


if __name__ == "__main__":
    unittest.main()
