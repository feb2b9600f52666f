"""Start a real berthd for integration tests and drive it with real clients.

    with Berthd() as d:                      # temp data dir, 127.0.0.1:0
        d.aws("ecs", "list-clusters")        # /usr/bin/aws (CLI v2), parsed JSON
        ecs = d.client("ecs")                # boto3, every response checked by conformance.py

Everything stays on 127.0.0.1: the CLI and boto3 get an isolated environment
(temp credentials and config files, no proxies, no instance metadata).
A daemon started here dies with the test process (PR_SET_PDEATHSIG), and
BerthdTestCase stops it in cleanups even when a test fails, printing the tail
of its stderr for failed tests.
"""

import configparser
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import conformance

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("BERTH_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BIN_DIR = os.environ.get("BERTH_BIN_DIR") or os.path.join(SOURCE_DIR, "build", "bin")
BERTHD = os.path.join(BIN_DIR, "berthd")
AWS_CLI = "/usr/bin/aws"   # Debian's awscli (v2); the pyenv `aws` on PATH is v1
REGION = "us-east-1"
ACCOUNT = "000000000000"


def berthd_missing_reason():
    if not os.path.exists(BERTHD):
        return f"berthd binary not found at {BERTHD} (set BERTH_BIN_DIR or build first)"
    if not os.access(BERTHD, os.X_OK):
        return f"berthd at {BERTHD} is not executable"
    return None


def skip_if_no_berthd():
    reason = berthd_missing_reason()
    if reason:
        print(f"SKIP: {reason}", file=sys.stderr, flush=True)
        raise unittest.SkipTest(reason)


class BerthdError(RuntimeError):
    pass


class AwsCliError(RuntimeError):
    """The aws CLI exited non-zero. `code` is the AWS error code, if any."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args_ = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        m = re.search(r"An error occurred \(([^)]+)\)", stderr)
        self.code = m.group(1) if m else None
        super().__init__(f"aws {' '.join(args)} exited {returncode}: {stderr.strip()[-2000:]}")


_libc = None


def _die_with_parent():
    # Runs in the child between fork and exec: SIGKILL when the parent dies.
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _isolated_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if extra:
        env.update(extra)
    return env


class AwsEndpoint:
    """Clients for an AWS-style endpoint: the aws CLI and boto3, isolated from the
    user's AWS configuration, with conformance checks on every response."""

    region = REGION

    def __init__(self, endpoint, credentials_path, tmp_dir, region=REGION):
        self.endpoint = endpoint
        self._credentials_path = credentials_path
        self.region = region
        self.config_file = os.path.join(tmp_dir, "aws-config")
        self._write_config()

    def _write_config(self):
        with open(self.config_file, "w") as f:
            # Load the conformance plugin into every aws CLI run.
            f.write("[plugins]\n"
                    f"cli_legacy_plugin_path = {HERE}\n"
                    "berth_conformance = berth_cli_plugin\n")

    # ------------------------------------------------------------ credentials
    @property
    def credentials_path(self):
        return self._credentials_path

    def credentials(self):
        cp = configparser.ConfigParser()
        if not cp.read(self.credentials_path):
            raise BerthdError(f"cannot read {self.credentials_path}")
        sect = cp["default"]
        return sect["aws_access_key_id"], sect["aws_secret_access_key"]

    @property
    def host(self):
        return "127.0.0.1"

    @property
    def port(self):
        return int(self.endpoint.rsplit(":", 1)[1]) if self.endpoint else None

    # ------------------------------------------------------------ clients
    def env(self, **extra):
        """Environment for subprocesses (aws CLI, berth CLI) talking to this daemon."""
        e = _isolated_env({
            "AWS_SHARED_CREDENTIALS_FILE": self.credentials_path,
            "AWS_CONFIG_FILE": self.config_file,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "AWS_CLI_AUTO_PROMPT": "off",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
            "AWS_CLI_FILE_ENCODING": "utf-8",
            "BERTH_ENDPOINT": self.endpoint or "",
        })
        e.update(extra)
        return e

    def aws(self, *args, check=True, timeout=60, input=None, output="json", env=None):
        """Run /usr/bin/aws against this daemon; parsed JSON output (None if empty)."""
        argv = [AWS_CLI, *args, "--endpoint-url", self.endpoint, "--output", output]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              input=input, env=env or self.env(), stdin=None if input else subprocess.DEVNULL)
        if conformance.MARKER in proc.stderr:
            raise conformance.ConformanceError(
                f"aws {' '.join(args)}:\n" + proc.stderr[proc.stderr.index(conformance.MARKER):])
        if proc.returncode != 0:
            err = AwsCliError(list(args), proc.returncode, proc.stdout, proc.stderr)
            if check:
                raise err
            return err
        if output != "json":
            return proc.stdout
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def aws_parallel(self, *commands, **kwargs):
        """Run several aws CLI commands at once (each CLI start costs ~2 s of imports);
        returns their results in order, raising the first failure."""
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(commands) or 1) as pool:
            futures = [pool.submit(self.aws, *argv, **kwargs) for argv in commands]
            return [f.result() for f in futures]

    def session(self):
        import boto3
        ak, sk = self.credentials()
        return boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key=sk,
                                     region_name=self.region)

    def client(self, service, check=True, **config):
        """A boto3 client for this daemon; every response is checked by conformance.py."""
        from botocore.config import Config
        cfg = dict(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30,
                   proxies={})
        cfg.update(config)
        client = self.session().client(service, endpoint_url=self.endpoint, config=Config(**cfg))
        if check:
            conformance.install(client)
        self._clients().append(client)
        return client

    def _clients(self):
        if not hasattr(self, "_client_list"):
            self._client_list = []
        return self._client_list

    def close_clients(self):
        for c in self._clients():
            try:
                c.close()
            except Exception:
                pass
        self._client_list = []

    def health(self, timeout=5):
        import http.client
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", "/health")
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()



class Berthd(AwsEndpoint):
    """One berthd process on a temp (or given) data dir, listening on 127.0.0.1:0."""

    def __init__(self, data_dir=None, auth="sigv4", region=REGION, account_id=ACCOUNT,
                 agent="fake", check_responses=None, extra_args=(), startup_timeout=15.0,
                 start=True):
        reason = berthd_missing_reason()
        if reason:
            raise unittest.SkipTest(reason)
        self._tmp = tempfile.mkdtemp(prefix="berth-it-")
        self.data_dir = data_dir or os.path.join(self._tmp, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.auth = auth
        self.region = region
        self.account_id = account_id
        self.agent = agent
        if check_responses is None:
            # Debugging knob: BERTH_CHECK_RESPONSES=0 starts berthd without --check-responses
            # (the client-side conformance checks stay on).
            check_responses = os.environ.get("BERTH_CHECK_RESPONSES", "1") != "0"
        self.check_responses = check_responses
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.proc = None
        self.endpoint = None
        self.starts = 0
        self.log_path = None
        self._credentials_path = os.path.join(self.data_dir, "credentials")
        self.config_file = os.path.join(self._tmp, "aws-config")
        self._write_config()
        if start:
            self.start()

    # ------------------------------------------------------------ lifecycle
    def command(self):
        cmd = [BERTHD, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
               "--agent", self.agent, "--auth", self.auth, "--region", self.region,
               "--account-id", self.account_id]
        if self.check_responses:
            cmd.append("--check-responses")
        if "--dns-listen" not in self.extra_args:
            # Hermetic DNS: an ephemeral port (<data-dir>/dns-endpoint), and
            # never the host's resolvers.
            cmd += ["--dns-listen", "127.0.0.1:0", "--dns-upstream", "off"]
        return cmd + self.extra_args

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            raise BerthdError("berthd already running")
        endpoint_file = os.path.join(self.data_dir, "endpoint")
        try:
            os.unlink(endpoint_file)  # a stale one from the previous run
        except FileNotFoundError:
            pass
        self.starts += 1
        self.log_path = os.path.join(self._tmp, f"berthd.{self.starts}.log")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=_isolated_env(),
                                         preexec_fn=_die_with_parent, close_fds=True)
        finally:
            log.close()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if os.path.exists(endpoint_file):
                with open(endpoint_file) as f:
                    text = f.read().strip()
                m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", text)
                if not m:
                    self._abort(f"endpoint file holds {text!r}, expected http://127.0.0.1:PORT")
                self.endpoint = text
                break
            if self.proc.poll() is not None:
                self._abort(f"berthd exited with status {self.proc.returncode} before writing "
                            f"{endpoint_file}")
            if time.monotonic() > deadline:
                self._abort(f"no {endpoint_file} after {self.startup_timeout}s")
            time.sleep(0.01)
        return self

    def _abort(self, why):
        self._terminate(kill=True)
        raise BerthdError(f"{why}\ncommand: {' '.join(self.command())}\n"
                          f"--- berthd output (tail) ---\n{self.log_tail()}")

    def _terminate(self, kill=False, timeout=10.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit status (SIGKILL after `timeout`)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise BerthdError(f"berthd did not exit within {timeout}s of SIGTERM\n{self.log_tail()}")

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self, kill=False):
        """Stop (SIGTERM, or SIGKILL with kill=True) and start on the same data dir.
        The port changes: make new clients afterwards."""
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        self.close_clients()
        try:
            self._terminate(kill=False)
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def log_tail(self, lines=60):
        chunks = []
        for i in range(1, self.starts + 1):
            p = os.path.join(self._tmp, f"berthd.{i}.log")
            try:
                with open(p, "rb") as f:
                    f.seek(0, os.SEEK_END)
                    f.seek(max(0, f.tell() - 64 * 1024))
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            chunks.append((i, text.splitlines()[-lines:]))
        out = []
        for i, tail in chunks[-2:]:
            out.append(f"[berthd run {i}]")
            out.extend(tail)
        return "\n".join(out) if out else "(no output)"

class BerthdTestCase(unittest.TestCase):
    """Starts one berthd per class (options in `berthd_options`); per-test
    daemons via `self.start_berthd(**options)`. Skips if berthd is missing."""

    berthd_options = {}
    start_class_daemon = True
    berthd = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        skip_if_no_berthd()
        if cls.start_class_daemon:
            cls.berthd = Berthd(**cls.berthd_options)
            cls.addClassCleanup(cls.berthd.close)
            try:
                cls.setUpClassState()
            except BaseException:
                print(f"\n--- berthd stderr tail ({cls.berthd.data_dir}, for {cls.__name__} setup) ---\n"
                      f"{cls.berthd.log_tail()}\n--- end ---", file=sys.stderr, flush=True)
                raise

    @classmethod
    def setUpClassState(cls):
        """Override to create shared state on the class daemon (log tail printed on failure)."""

    def setUp(self):
        super().setUp()
        if self.berthd is not None:
            self.addCleanup(self._report_on_failure, self.berthd)

    def start_berthd(self, **options):
        """A daemon for this test only; stopped in cleanup (after its log tail is
        printed, if the test failed)."""
        d = Berthd(**options)
        self.addCleanup(self._close_test_daemon, d)
        return d

    def _close_test_daemon(self, d):
        try:
            self._report_on_failure(d)
        finally:
            d.close()

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        return outcome is not None and not getattr(outcome, "success", True)

    def _report_on_failure(self, d):
        if self._failed():
            print(f"\n--- berthd stderr tail ({d.data_dir}, for {self.id()}) ---\n"
                  f"{d.log_tail()}\n--- end ---", file=sys.stderr, flush=True)

    # helpers
    def assertAwsError(self, code, fn, *args, **kwargs):
        """`fn` (a boto3 call) must raise ClientError `code`; returns the error response."""
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, f"expected {code}, got {err}")
        self.assertTrue(err.get("ResponseMetadata", {}).get("RequestId"), "no request id")
        return err

    def eventually(self, fn, timeout=10.0, interval=0.05, msg=""):
        """Call fn until it returns a truthy value; fail with the last value after timeout."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = fn()
            if last:
                return last
            if time.monotonic() > deadline:
                self.fail(f"condition not met within {timeout}s: {msg} (last: {last!r:.2000})")
            time.sleep(interval)
