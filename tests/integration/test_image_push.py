"""`berth image build` pushing to berthd, `berth image load` and `berth image ls`,
checked with real clients: skopeo pulls what berth pushed (with Basic
credentials from `aws ecr get-authorization-token`), skopeo makes the
oci-archive and docker-archive files that berth loads, boto3 sees the images
through the ECR API. The image is busybox-static based (/bin/busybox).
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

from berth_harness import ACCOUNT, BerthdTestCase

BIN_DIR = os.environ.get("BERTH_BIN_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin")
BERTH = os.path.join(BIN_DIR, "berth")
BUSYBOX = "/bin/busybox"
SKOPEO = shutil.which("skopeo")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


@unittest.skipUnless(os.path.exists(BERTH), f"berth not built at {BERTH}")
@unittest.skipUnless(SKOPEO, "skopeo is not installed")
@unittest.skipUnless(os.path.exists(BUSYBOX), "busybox-static is not installed")
class ImagePushTest(BerthdTestCase):
    @classmethod
    def setUpClassState(cls):
        cls.ecr = cls.berthd.client("ecr")
        cls.tmp = tempfile.mkdtemp(prefix="berth-image-push-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.root = os.path.join(cls.tmp, "rootfs")
        os.makedirs(os.path.join(cls.root, "bin"))
        os.makedirs(os.path.join(cls.root, "www"))
        shutil.copy(BUSYBOX, os.path.join(cls.root, "bin", "busybox"))
        for applet in ("sh", "httpd"):
            os.symlink("busybox", os.path.join(cls.root, "bin", applet))
        with open(os.path.join(cls.root, "www", "health"), "w") as f:
            f.write("ok\n")

    def berth(self, *args, check=True, data_dir=True):
        argv = [BERTH] + (["--data-dir", self.berthd.data_dir] if data_dir else []) + list(args)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=self.berthd.env())
        if check and p.returncode != 0:
            raise AssertionError(f"{argv} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        return p

    def skopeo(self, *args):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmp}
        p = subprocess.run([SKOPEO, *args], capture_output=True, text=True, env=env, timeout=120)
        if p.returncode != 0:
            raise AssertionError(f"skopeo {args} failed:\n{p.stderr}")
        return p.stdout

    def registry_password(self):
        token = self.berthd.aws("ecr", "get-authorization-token")["authorizationData"][0]["authorizationToken"]
        user, password = base64.b64decode(token).decode().split(":", 1)
        self.assertEqual(user, "AWS")
        return password

    def test_build_push_pull_and_ls(self):
        entrypoint = '["/bin/httpd","-f","-p","8000","-h","/www"]'
        digest = self.berth("image", "build", self.root, "--tag", "backend:v1", "--entrypoint", entrypoint,
                            "--port", "8000").stdout.strip()
        self.assertRegex(digest, r"^sha256:[0-9a-f]{64}$")
        # The same build again: same digest (the blobs are there; only the manifest is re-put).
        ecr_ref = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/backend:v1"
        again = self.berth("image", "build", self.root, "--tag", ecr_ref, "--entrypoint", entrypoint,
                           "--port", "8000").stdout.strip()
        self.assertEqual(again, digest)

        # On a base from berthd's registry, to localhost:PORT/team/web.
        app = os.path.join(self.tmp, "app")
        os.makedirs(app, exist_ok=True)
        with open(os.path.join(app, "index.html"), "w") as f:
            f.write("<h1>hi</h1>\n")
        web = self.berth("image", "build", app, "--tag", f"localhost:{self.berthd.port}/team/web:1",
                         "--base", "backend:v1", "--cmd", '["-v"]').stdout.strip()

        # skopeo pulls both back with ECR's Basic credentials.
        creds = f"AWS:{self.registry_password()}"
        host = f"127.0.0.1:{self.berthd.port}"
        out = os.path.join(self.tmp, "pulled")
        self.skopeo("copy", "--quiet", "--src-tls-verify=false", "--src-creds", creds,
                    f"docker://{host}/backend:v1", f"oci:{out}:v1")
        with open(os.path.join(out, "index.json")) as f:
            self.assertEqual(json.load(f)["manifests"][0]["digest"], digest)
        info = json.loads(self.skopeo("inspect", "--tls-verify=false", "--creds", creds,
                                      f"docker://{host}/team/web:1"))
        self.assertEqual(info["Digest"], web)
        self.assertEqual(len(info["Layers"]), 2)
        config = json.loads(self.skopeo("inspect", "--config", "--tls-verify=false", "--creds", creds,
                                        f"docker://{host}/team/web:1"))
        self.assertEqual(config["config"]["Entrypoint"], ["/bin/httpd", "-f", "-p", "8000", "-h", "/www"])
        self.assertEqual(config["config"]["Cmd"], ["-v"])

        # The ECR API sees them; `berth image ls` lists them.
        details = self.ecr.describe_images(repositoryName="backend")["imageDetails"]
        self.assertEqual([(d["imageDigest"], d["imageTags"]) for d in details], [(digest, ["v1"])])
        lines = self.berth("image", "ls").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["REPOSITORY", "TAG", "DIGEST", "SIZE", "PUSHED"])
        rows = {(l.split()[0], l.split()[1]): l.split() for l in lines[1:]}
        self.assertEqual(rows[("backend", "v1")][2], digest[7:19])
        self.assertEqual(rows[("team/web", "1")][2], web[7:19])
        self.assertRegex(rows[("backend", "v1")][3], r"^[0-9.]+(B|kB|MB)$")
        self.assertRegex(rows[("backend", "v1")][4], r"^\d{4}-\d\d-\d\d$")

    def test_load_oci_and_docker_archives(self):
        layout = os.path.join(self.tmp, "layout")
        subprocess.run([BERTH, "image", "build", self.root, "--tag", "x:1", "--output", layout, "--cmd", "/bin/sh"],
                       check=True, capture_output=True, timeout=120)
        oci_archive = os.path.join(self.tmp, "busybox-oci.tar")
        docker_archive = os.path.join(self.tmp, "busybox-docker.tar")
        self.skopeo("copy", "--quiet", f"oci:{layout}:1", f"oci-archive:{oci_archive}:busybox:latest")
        self.skopeo("copy", "--quiet", f"oci:{layout}:1", f"docker-archive:{docker_archive}:tools/box:1.36")

        out = self.berth("image", "load", oci_archive).stdout
        self.assertRegex(out, r"^Loaded busybox:latest sha256:[0-9a-f]{64}\n$")
        out = self.berth("image", "load", docker_archive).stdout
        self.assertRegex(out, r"^Loaded tools/box:1.36 sha256:[0-9a-f]{64}\n$")
        # --tag renames; the repository is created by the load.
        out = self.berth("image", "load", docker_archive, "--tag", "renamed:2").stdout
        self.assertIn("Loaded renamed:2 ", out)

        details = self.ecr.describe_images(repositoryName="busybox")["imageDetails"]
        self.assertEqual(details[0]["imageTags"], ["latest"])
        box = self.ecr.describe_images(repositoryName="tools/box")["imageDetails"][0]
        self.assertEqual(box["imageTags"], ["1.36"])
        self.assertEqual(box["imageManifestMediaType"], OCI_MANIFEST)
        # The docker-save layer went up as it was (an uncompressed tar): its digest is the config's diffID.
        manifest = json.loads(self.ecr.batch_get_image(repositoryName="tools/box", imageIds=[{"imageTag": "1.36"}])
                              ["images"][0]["imageManifest"])
        layer = manifest["layers"][0]
        self.assertEqual(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar")
        with tarfile.open(docker_archive) as t:
            docker_manifest = json.load(t.extractfile("manifest.json"))[0]
            config = json.load(t.extractfile(docker_manifest["Config"]))
        self.assertEqual(config["rootfs"]["diff_ids"], [layer["digest"]])

    def test_load_refuses_bad_archives(self):
        evil = os.path.join(self.tmp, "evil.tar")
        with tarfile.open(evil, "w") as t:
            info = tarfile.TarInfo("../../escaped")
            info.size = 1
            import io
            t.addfile(info, io.BytesIO(b"x"))
        p = self.berth("image", "load", evil, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("escapes the archive", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(tempfile.gettempdir(), "escaped")))
        p = self.berth("image", "load", os.path.join(self.tmp, "missing.tar"), check=False)
        self.assertNotEqual(p.returncode, 0)


@unittest.skipUnless(os.path.exists(BERTH), f"berth not built at {BERTH}")
@unittest.skipUnless(os.path.exists(BUSYBOX), "busybox-static is not installed")
class ImagePushAuthOffTest(BerthdTestCase):
    berthd_options = {"auth": "off"}

    def test_push_without_credentials(self):
        root = tempfile.mkdtemp(prefix="berth-image-noauth-")
        self.addCleanup(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "bin"))
        shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root}
        p = subprocess.run([BERTH, "--endpoint", self.berthd.endpoint, "image", "build", root, "--tag", "solo:1"],
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.strip(), r"^sha256:[0-9a-f]{64}$")
        p = subprocess.run([BERTH, "--endpoint", self.berthd.endpoint, "image", "ls"],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("solo", p.stdout)


if __name__ == "__main__":
    unittest.main()
