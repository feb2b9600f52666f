"""The berth CLI's HTTPS client, end to end: `berth plan` through a local
TLS-terminating proxy (Python's ssl module, 127.0.0.1:0) in front of berthd,
with a throwaway CA and a certificate for "localhost" that the openssl
command makes at test time.

- AWS_CA_BUNDLE naming the CA: the plan goes through (SigV4 over TLS, Host
  header as signed).
- without it: refused with a certificate verification error.
- https://127.0.0.1: refused, the certificate names only DNS:localhost.
- `--endpoint aws` without credentials: refused before anything is sent
  (real AWS endpoints themselves are not reachable from tests).
"""

import os
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

from berth_harness import BIN_DIR, SOURCE_DIR, BerthdTestCase, _isolated_env

BERTH = os.path.join(BIN_DIR, "berth")
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "durableai", "berth.yaml")


def make_certificates(directory):
    """ca.pem, and server.pem/server.key for DNS:localhost signed by it."""
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    d = lambda name: os.path.join(directory, name)  # noqa: E731
    with open(d("server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    for args in (["req", "-x509", *key, "-keyout", d("ca.key"), "-out", d("ca.pem"), "-days", "1",
                  "-subj", "/CN=berth-test-ca"],
                 ["req", *key, "-keyout", d("server.key"), "-out", d("server.csr"), "-subj", "/CN=localhost"],
                 ["x509", "-req", "-in", d("server.csr"), "-CA", d("ca.pem"), "-CAkey", d("ca.key"),
                  "-CAcreateserial", "-days", "1", "-extfile", d("server.ext"), "-out", d("server.pem")]):
        subprocess.run(["openssl", *args], check=True, capture_output=True)


class TlsProxy:
    """Accepts TLS on 127.0.0.1:0 and relays the plain bytes to `upstream`."""

    def __init__(self, cert, key, upstream):
        self.upstream = upstream
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            tls = self.context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()  # the client refused the certificate
            return
        self.handshakes += 1
        with tls, socket.create_connection(self.upstream) as up:
            tls.setblocking(True)
            while True:
                ready = [tls] if tls.pending() else select.select([tls, up], [], [], 30)[0]
                if not ready:
                    return
                for s in ready:
                    try:
                        data = s.recv(65536)
                    except ssl.SSLWantReadError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    (up if s is tls else tls).sendall(data)


class TlsClientTest(BerthdTestCase):

    @classmethod
    def setUpClassState(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("the openssl command is needed to make test certificates")
        cls.certs = tempfile.mkdtemp(prefix="berth-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certs, True)
        make_certificates(cls.certs)
        cls.proxy = TlsProxy(os.path.join(cls.certs, "server.pem"), os.path.join(cls.certs, "server.key"),
                             ("127.0.0.1", cls.berthd.port))
        cls.addClassCleanup(cls.proxy.close)

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="berth-tls-stack-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(EXAMPLE, os.path.join(self.dir, "berth.yaml"))

    def berth(self, *args, **env):
        # HOME in the temp dir: no ~/.aws of whoever runs the tests.
        e = _isolated_env({"HOME": self.dir, **env})
        return subprocess.run([BERTH, *args], cwd=self.dir, capture_output=True, text=True, timeout=120, env=e)

    def test_plan_through_tls(self):
        before = self.proxy.handshakes
        p = self.berth("--data-dir", self.berthd.data_dir, "--endpoint", f"https://localhost:{self.proxy.port}",
                       "plan", "--env", "dev", AWS_CA_BUNDLE=os.path.join(self.certs, "ca.pem"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("to add", p.stdout)
        # One connection per host, kept alive across the plan's calls.
        self.assertEqual(self.proxy.handshakes - before, 1)

    def test_refuses_an_unknown_ca(self):
        p = self.berth("--data-dir", self.berthd.data_dir, "--endpoint", f"https://localhost:{self.proxy.port}",
                       "plan", "--env", "dev")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("certificate verify failed", p.stderr)

    def test_refuses_a_certificate_for_another_name(self):
        p = self.berth("--data-dir", self.berthd.data_dir, "--endpoint", f"https://127.0.0.1:{self.proxy.port}",
                       "plan", "--env", "dev", AWS_CA_BUNDLE=os.path.join(self.certs, "ca.pem"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("certificate verify failed", p.stderr)
        self.assertIn("mismatch", p.stderr)

    def test_aws_mode_needs_credentials(self):
        # No AWS_* variables and no ~/.aws: refused before any connection.
        p = self.berth("--endpoint", "aws", "plan", "--env", "dev")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("--endpoint aws needs AWS credentials", p.stderr)


if __name__ == "__main__":
    unittest.main()
