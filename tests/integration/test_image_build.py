"""`berth image build`: a busybox-static image built from a directory into an
OCI image layout, checked with skopeo (a real OCI client), rebuilt to the same
digest, and stacked on a base layout.

Pushing to berthd (build without --output), `berth image load` and
`berth image ls` are in test_image_push.py.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get("BERTH_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN_DIR = os.environ.get("BERTH_BIN_DIR") or os.path.join(SOURCE_DIR, "build", "bin")
BERTH = os.path.join(BIN_DIR, "berth")
BUSYBOX = "/bin/busybox"


def run(*args, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@unittest.skipUnless(os.path.exists(BERTH), f"berth not built at {BERTH}")
@unittest.skipUnless(shutil.which("skopeo"), "skopeo is not installed")
@unittest.skipUnless(os.path.exists(BUSYBOX), "busybox-static is not installed")
class ImageBuildTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-image-build-")
        self.root = os.path.join(self.tmp, "rootfs")
        os.makedirs(os.path.join(self.root, "bin"))
        os.makedirs(os.path.join(self.root, "www"))
        shutil.copy(BUSYBOX, os.path.join(self.root, "bin", "busybox"))
        for applet in ("sh", "httpd", "wget"):
            os.symlink("busybox", os.path.join(self.root, "bin", applet))
        with open(os.path.join(self.root, "www", "health"), "w") as f:
            f.write("ok\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, out, *extra, tag="backend:latest", root=None):
        return run(BERTH, "image", "build", root or self.root, "--tag", tag, "--output", out, *extra).stdout.strip()

    def test_build_inspect_and_reproduce(self):
        out = os.path.join(self.tmp, "layout")
        digest = self.build(out, "--entrypoint", '["/bin/httpd","-f","-p","8000","-h","/www"]',
                            "--env", "MODE=dev", "--port", "8000", "--workdir", "/www", "--user", "1000")
        self.assertRegex(digest, r"^sha256:[0-9a-f]{64}$")

        info = json.loads(run("skopeo", "inspect", f"oci:{out}:latest").stdout)
        self.assertEqual(info["Digest"], digest)
        self.assertEqual(info["Os"], "linux")
        self.assertEqual(info["Architecture"], "amd64")
        self.assertEqual(len(info["Layers"]), 1)
        self.assertIn("MODE=dev", info["Env"])

        config = json.loads(run("skopeo", "inspect", "--config", f"oci:{out}:latest").stdout)
        c = config["config"]
        self.assertEqual(c["Entrypoint"], ["/bin/httpd", "-f", "-p", "8000", "-h", "/www"])
        self.assertEqual(c["ExposedPorts"], {"8000/tcp": {}})
        self.assertEqual(c["WorkingDir"], "/www")
        self.assertEqual(c["User"], "1000")

        # skopeo can copy it (reads and verifies every blob).
        run("skopeo", "copy", "--quiet", f"oci:{out}:latest", f"dir:{os.path.join(self.tmp, 'copy')}")

        # Same directory, same flags: same digest, also in a fresh layout.
        again = self.build(os.path.join(self.tmp, "layout2"), "--entrypoint",
                           '["/bin/httpd","-f","-p","8000","-h","/www"]', "--env", "MODE=dev", "--port", "8000",
                           "--workdir", "/www", "--user", "1000")
        self.assertEqual(again, digest)

    def test_build_on_a_base(self):
        base = os.path.join(self.tmp, "base")
        self.build(base, "--cmd", "/bin/sh", tag="base:1")
        app = os.path.join(self.tmp, "app")
        os.makedirs(app)
        with open(os.path.join(app, "hello.txt"), "w") as f:
            f.write("hello\n")
        out = os.path.join(self.tmp, "layout")
        self.build(out, "--base", f"oci:{base}:1", "--cmd", '["cat","/hello.txt"]', tag="app:2", root=app)
        info = json.loads(run("skopeo", "inspect", f"oci:{out}:2").stdout)
        self.assertEqual(len(info["Layers"]), 2)
        config = json.loads(run("skopeo", "inspect", "--config", f"oci:{out}:2").stdout)
        self.assertEqual(config["config"]["Cmd"], ["cat", "/hello.txt"])
        self.assertEqual(len(config["rootfs"]["diff_ids"]), 2)

    def test_bad_arguments(self):
        out = os.path.join(self.tmp, "layout")
        p = run(BERTH, "image", "build", self.root, "--tag", "backend:latest", "--output", out,
                "--cmd", "[1, 2]", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("JSON array of strings", p.stderr)
        p = run(BERTH, "image", "build", self.root, "--tag", "Bad Name", "--output", out, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("invalid reference format", p.stderr)


if __name__ == "__main__":
    unittest.main()
