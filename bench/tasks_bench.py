#!/usr/bin/env python3
"""Task execution benchmark of berthd with the real agent (issue 4), with a
bare `runc run -d` of the same bundle measured side by side in the same run.

Driven by bench/tasks.sh (see it and bench/README.md). Needs root, runc and
busybox-static. In order:

0. Setup: a fresh temp dir; berthd --agent real with a bridge, VPC CIDR and
   cgroup parent of its own (named per run, like tests/integration/
   test_tasks.py); a busybox image built and pushed with `berth image build`;
   a FARGATE awsvpc task definition running `sleep 1000` with
   initProcessEnabled (berth-monitor as pid 1, so SIGTERM stops it at once).
   A few warm-up tasks are started and stopped: the image is then cached.
1. Task start, --tasks (200) times, sequentially: RunTask, then DescribeTasks
   every --poll-ms (2) until lastStatus is RUNNING. Two latencies per task:
   client-observed (RunTask sent -> a DescribeTasks answer says RUNNING) and
   berthd-reported (startedAt - createdAt), plus berthd's phases from
   pullStartedAt / pullStoppedAt. After every --batch (10) tasks they are
   stopped together (StopTask, wait STOPPED), so stops do not overlap starts.
   Interleaved with each berth start: one `runc run -d` of a bundle made from
   the same busybox rootfs (`runc spec`, args `sleep 1000`, its own netns
   with only lo, cgroup under a parent of this run); those are killed and
   deleted with the batch. crun is tried once on the same bundle (it refuses
   this hybrid cgroup v1 host; its message is reported).
   Then the cost of the polling: --poll-cost-calls DescribeTasks back to back
   on one task (client wall and berthd CPU per call).
2. Memory per running task: berthd VmRSS/PSS with 0 tasks, then with --mem-tasks
   (50) tasks RUNNING, plus the PSS (smaps_rollup) of every berth-monitor
   process of this data dir, and of the init (also berth-monitor) inside each
   container, reported separately.
3. Throughput with churn for --churn-seconds (20): --clients (4) threads,
   each with its own connection, keep --in-flight (10) tasks started in
   total: RunTask (count = what is missing), DescribeTasks of its tasks,
   StopTask each one seen RUNNING, forget it once STOPPED. Tasks that went
   RUNNING and STOPPED inside the window / seconds = sustained rate. The
   client is build/bin/task_churn (bench/task_churn.cc, --churn-client cpp,
   the default when it is built) or boto3 threads in this process
   (--churn-client python): boto3 spends ~23 ms of CPU per task, which on a
   small machine caps the rate measured well below berthd's.

Every answer is checked; a failure raises and the script exits 1. Traffic
goes only to 127.0.0.1 and the task namespaces. Everything (tasks, runc
containers, berthd, bridge, cgroup dirs, mounts, temp dir) is removed on
exit, on errors and on SIGINT/SIGTERM/SIGHUP.
"""

import argparse
import datetime
import json
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_bench import (StallProbe, loadavg, proc_cpu_seconds, read_credentials,  # noqa: E402
                       system_busy_seconds, run_checked, children_cpu_seconds, log_tail)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "000000000000"
CLUSTER = "bench"
FAMILY = "sleeper"


def log(msg):
    print(f"[tasks_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)




def pct(xs, q):
    """Nearest-rank percentile (q in 0..100)."""
    if not xs:
        return float("nan")
    v = sorted(xs)
    k = max(0, min(len(v) - 1, int(round(q / 100 * len(v) + 0.5)) - 1))
    return v[k]


def dist(xs):
    return {"n": len(xs), "p50": pct(xs, 50), "p90": pct(xs, 90), "p99": pct(xs, 99), "max": max(xs) if xs else None,
            "mean": statistics.fmean(xs) if xs else None}




def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime




def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rollup_kb(pid):
    """{Rss, Pss, Pss_Anon, ...} in kB from /proc/PID/smaps_rollup."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[0].endswith(":") and parts[2] == "kB":
                out[parts[0][:-1]] = int(parts[1])
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


# --- the environment: names, berthd, image ---------------------------------------------------

class Env:
    """Everything this run creates on the host, and its removal."""

    def __init__(self, args):
        self.args = args
        rid = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
        self.bridge = f"bb{rid}"
        self.cgroup_parent = f"berth-bench-{rid}"
        self.bare_cgroup_parent = f"berth-bench-{rid}-bare"
        used = set()
        for line in run_checked(["ip", "-4", "route"]).stdout.splitlines():
            if line.startswith("10."):
                used.add(int(line.split(".")[1]))
        free = [o for o in range(100, 200) if o not in used]
        self.octet = random.choice(free)
        self.vpc = f"10.{self.octet}.0.0/16"
        self.tmp = tempfile.mkdtemp(prefix="berth-tasks-bench-", dir=args.tmp)
        self.data_dir = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "berthd.log")
        self.proc = None
        self.ecs = None
        self.bare_root = os.path.join(self.tmp, "runc-root")
        self.bare_ids = set()
        self.image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/bench-sleeper:1"

    # berthd
    def copy_binaries(self):
        """Runs copies: the shared build dir may be rebuilt while this runs
        (berthd finds berth-monitor next to itself)."""
        d = os.path.join(self.tmp, "bin")
        os.makedirs(d)
        src_dir = os.path.dirname(os.path.abspath(self.args.berthd))
        self.binaries = {}
        for name in ("berthd", "berth", "berth-monitor"):
            src = self.args.berth if name == "berth" else os.path.join(src_dir, name)
            shutil.copy2(src, os.path.join(d, name))
            self.binaries[name] = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(src)))
        self.args.berthd = os.path.join(d, "berthd")
        self.args.berth = os.path.join(d, "berth")
        if self.args.churn_client == "cpp":
            shutil.copy2(self.args.churn_bin, os.path.join(d, "task_churn"))
            self.binaries["task_churn"] = time.strftime(
                "%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(self.args.churn_bin)))
            self.args.churn_bin = os.path.join(d, "task_churn")

    def start_berthd(self):
        os.makedirs(self.data_dir)
        cmd = [self.args.berthd, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0", "--agent", "real",
               "--region", REGION, "--account-id", ACCOUNT, "--bridge", self.bridge, "--vpc-cidr", self.vpc,
               "--cgroup-parent", self.cgroup_parent, "--task-endpoint-port", str(self.args.task_endpoint_port),
               "--worker-threads", str(self.args.worker_threads), "--runtime", self.args.runtime]
        self.cmd = cmd
        logf = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        logf.close()
        endpoint_file = os.path.join(self.data_dir, "endpoint")
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"berthd exited with {self.proc.returncode}:\n{log_tail(self.log_path, 30)}")
            if os.path.exists(endpoint_file):
                with open(endpoint_file) as f:
                    text = f.read().strip()
                if text:
                    self.endpoint = text
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"no endpoint file after 20 s:\n{log_tail(self.log_path, 30)}")
            time.sleep(0.01)
        self.ak, self.sk = read_credentials(os.path.join(self.data_dir, "credentials"))
        self.ecs = self.client()
        log(f"berthd pid {self.proc.pid} at {self.endpoint}; bridge {self.bridge}, VPC {self.vpc}, "
            f"cgroup parent {self.cgroup_parent}")

    def client(self, service="ecs"):
        session = boto3.session.Session()
        return session.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=self.ak,
                              aws_secret_access_key=self.sk,
                              config=Config(retries={"max_attempts": 1}, max_pool_connections=4))

    def cli_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")
               and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        creds = os.path.join(self.tmp, "aws-credentials")
        with open(creds, "w") as f:
            f.write(f"[default]\naws_access_key_id = {self.ak}\naws_secret_access_key = {self.sk}\n")
        env.update({"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                    "AWS_EC2_METADATA_DISABLED": "true", "BERTH_ENDPOINT": self.endpoint,
                    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
        return env

    def make_rootfs(self):
        root = os.path.join(self.tmp, "rootfs")
        for sub in ("bin", "tmp", "proc", "sys", "dev", "etc"):
            os.makedirs(os.path.join(root, sub))
        shutil.copy(self.args.busybox, os.path.join(root, "bin", "busybox"))
        for applet in ("sh", "sleep", "true", "cat"):
            os.symlink("busybox", os.path.join(root, "bin", applet))
        self.rootfs = root
        return root

    def build_image(self):
        p = run_checked([self.args.berth, "--data-dir", self.data_dir, "image", "build", self.rootfs, "--tag", self.image,
                 "--cmd", '["sleep","1000"]'], env=self.cli_env(), timeout=120)
        log(f"built and pushed {self.image}: {p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ''}")

    # teardown
    def stop_all_tasks(self, timeout=90):
        if self.ecs is None or self.proc is None or self.proc.poll() is not None:
            return
        arns = []
        token = None
        while True:
            kw = {"cluster": CLUSTER, "desiredStatus": "RUNNING"}
            if token:
                kw["nextToken"] = token
            try:
                out = self.ecs.list_tasks(**kw)
            except Exception as e:  # noqa: BLE001 (cluster missing: nothing to stop)
                log(f"cleanup: list_tasks: {e}")
                return
            arns += out["taskArns"]
            token = out.get("nextToken")
            if not token:
                break
        for arn in arns:
            try:
                self.ecs.stop_task(cluster=CLUSTER, task=arn, reason="bench cleanup")
            except Exception as e:  # noqa: BLE001
                log(f"cleanup: stop_task {arn}: {e}")
        wait_stopped(self.ecs, arns, timeout)

    def cleanup(self):
        try:
            self.stop_all_tasks()
        except Exception as e:  # noqa: BLE001
            log(f"cleanup: stopping tasks: {e}")
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Whatever survived: berth-monitors of this data dir, runc containers.
        for pid in pids():
            c = cmdline(pid)
            if c and "berth-monitor" in c[0] and any(self.tmp in a for a in c):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for root in (os.path.join(self.data_dir, "runtime", "runc"), self.bare_root):
            if os.path.isdir(root):
                p = subprocess.run([self.args.runc, "--root", root, "list", "-q"], capture_output=True, text=True)
                for cid in p.stdout.split():
                    subprocess.run([self.args.runc, "--root", root, "delete", "-f", cid], capture_output=True)
        # Mounts under the temp dir (rootfs overlays, netns bind mounts), deepest first.
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        for m in sorted((m for m in mounts if m.startswith(self.tmp)), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        for parent in (self.cgroup_parent, self.bare_cgroup_parent):
            for ctrl in os.listdir("/sys/fs/cgroup"):
                path = f"/sys/fs/cgroup/{ctrl}/{parent}"
                if os.path.isdir(path) and not os.path.islink(f"/sys/fs/cgroup/{ctrl}"):
                    for dirpath, _, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
                        try:
                            os.rmdir(dirpath)
                        except OSError as e:
                            log(f"cleanup: rmdir {dirpath}: {e}")
        if self.args.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def wait_stopped(ecs, arns, timeout=60):
    deadline = time.monotonic() + timeout
    left = list(arns)
    while left:
        done = set()
        for i in range(0, len(left), 100):
            for t in ecs.describe_tasks(cluster=CLUSTER, tasks=left[i:i + 100])["tasks"]:
                if t["lastStatus"] == "STOPPED":
                    done.add(t["taskArn"])
        left = [a for a in left if a not in done]
        if not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(left)} tasks not STOPPED after {timeout}s")
        time.sleep(0.02)


def network_config(ec2):
    subnets = ec2.describe_subnets()["Subnets"]
    return {"awsvpcConfiguration": {"subnets": [sorted(s["SubnetId"] for s in subnets)[0]],
                                    "assignPublicIp": "DISABLED"}}


def run_task(ecs, net, count=1):
    out = ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, launchType="FARGATE", count=count,
                       networkConfiguration=net)
    if out.get("failures"):
        raise RuntimeError(f"RunTask failures: {out['failures']}")
    return out["tasks"]


def ts(t, key):
    v = t.get(key)
    return v.timestamp() if v is not None else None


# --- bare runc ----------------------------------------------------------------------------

class BareRunc:
    def __init__(self, env, name="bundle", spec=None):
        self.env = env
        self.runc = env.args.runc
        self.name = name
        self.bundle = os.path.join(env.tmp, name)
        os.makedirs(self.bundle)
        if spec is None:
            run_checked([self.runc, "spec"], cwd=self.bundle)
            path = os.path.join(self.bundle, "config.json")
            with open(path) as f:
                spec = json.load(f)
            spec["root"] = {"path": env.rootfs, "readonly": True}
            spec["process"]["args"] = ["sleep", "1000"]
            spec["process"]["terminal"] = False
        self.spec = spec
        self.ids = set()
        self.run_cpu, self.delete_cpu = [], []
        os.makedirs(env.bare_root, exist_ok=True)
        self.seq = 0

    @staticmethod
    def from_berth_spec(env, path):
        """The config.json berthd wrote for a task, made to run on its own:
        the busybox rootfs instead of the task's overlay, a new netns instead
        of the task's, the /etc files copied out of the task dir, a cgroup of
        this run. Seccomp, capabilities, mounts, rlimits, the init and its
        arguments stay as berth made them."""
        with open(path) as f:
            spec = json.load(f)
        files = os.path.join(env.tmp, "berth-spec-files")
        os.makedirs(files, exist_ok=True)
        spec["root"] = {"path": env.rootfs, "readonly": spec.get("root", {}).get("readonly", False)}
        for i, m in enumerate(spec.get("mounts", [])):
            src = m.get("source", "")
            if src.startswith(env.data_dir) and os.path.exists(src):
                dst = os.path.join(files, f"{i}-{os.path.basename(src)}")
                if os.path.isdir(src):
                    shutil.copytree(src, dst)
                else:
                    shutil.copy(src, dst)
                m["source"] = dst
        for ns in spec.get("linux", {}).get("namespaces", []):
            ns.pop("path", None)
        spec.pop("hooks", None)
        spec["process"]["terminal"] = False
        return BareRunc(env, "bundle-berth-spec", spec)

    def _bundle_for(self, cid):
        # One config per container: its own cgroup path (same rootfs, read-only).
        d = os.path.join(self.bundle, cid)
        os.makedirs(d)
        spec = json.loads(json.dumps(self.spec))
        spec["linux"]["cgroupsPath"] = f"/{self.env.bare_cgroup_parent}/{cid}"
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(spec, f)
        return d

    def start(self):
        """Wall seconds of `runc run -d` (returns once the container process runs)."""
        self.seq += 1
        cid = f"{self.name}-{self.seq}"
        bundle = self._bundle_for(cid)
        errf = os.path.join(self.bundle, "err.txt")
        with open(errf, "w") as err:
            c0 = children_cpu_seconds()
            t0 = time.perf_counter()
            p = subprocess.run([self.runc, "--root", self.env.bare_root, "run", "-d", "--bundle", bundle, cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            dt = time.perf_counter() - t0
            self.run_cpu.append(children_cpu_seconds() - c0)
        self.env.bare_ids.add(cid)
        self.ids.add(cid)
        if p.returncode != 0:
            raise RuntimeError(f"runc run -d exited {p.returncode}: {open(errf).read()[-1000:]}")
        return dt

    def remove_all(self):
        for cid in sorted(self.ids):
            c0 = children_cpu_seconds()
            subprocess.run([self.runc, "--root", self.env.bare_root, "delete", "-f", cid], capture_output=True)
            self.delete_cpu.append(children_cpu_seconds() - c0)
            shutil.rmtree(os.path.join(self.bundle, cid), ignore_errors=True)
            self.env.bare_ids.discard(cid)
        self.ids.clear()

    def try_crun(self):
        crun = shutil.which("crun")
        if not crun:
            return {"available": False, "message": "crun is not installed"}
        d = self._bundle_for("crun1")
        root = os.path.join(self.env.tmp, "crun-root")
        t0 = time.perf_counter()
        p = subprocess.run([crun, "--root", root, "run", "-d", "--bundle", d, "crun1"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        dt = time.perf_counter() - t0
        subprocess.run([crun, "--root", root, "delete", "-f", "crun1"], capture_output=True)
        return {"available": True, "returncode": p.returncode, "seconds": dt, "message": p.stderr.strip()[-500:]}


# --- 1. sequential start ----------------------------------------------------------------------

def wait_running(ecs, arn, poll_s):
    """Polls DescribeTasks; (perf_counter when RUNNING was seen, task, calls)."""
    calls = 0
    while True:
        t = ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
        calls += 1
        if t["lastStatus"] == "RUNNING":
            return time.perf_counter(), t, calls
        if t["lastStatus"] == "STOPPED":
            raise RuntimeError(f"task stopped instead of running: {t.get('stopCode')} {t.get('stoppedReason')}")
        if calls > 20000:
            raise RuntimeError(f"task {arn} not RUNNING after {calls} polls: {t['lastStatus']}")
        if poll_s > 0:
            time.sleep(poll_s)


def find_berth_spec(env):
    for dirpath, dirs, files in os.walk(os.path.join(env.data_dir)):
        if "config.json" in files and os.path.basename(dirpath) == "bundle":
            return os.path.join(dirpath, "config.json")
    return None


def cpu_throttling(env, arn):
    """(nr_throttled, throttled seconds) of a task's CPU cgroup so far: the
    time its processes (runc init, the init, the app) waited for the CFS quota
    of the task's CPU units."""
    path = f"/sys/fs/cgroup/cpu/{env.cgroup_parent}/{arn.rsplit('/', 1)[1]}/cpu.stat"
    try:
        with open(path) as f:
            st = dict(line.split() for line in f)
        return int(st["nr_throttled"]), int(st["throttled_time"]) / 1e9
    except (OSError, KeyError, ValueError):
        return None, None


def bench_start(args, env, net, bare, bspec):
    ecs = env.ecs
    rows, bare_s, bspec_s = [], [], []
    batch, stop_batches = [], []
    cpu0, scpu0, sys0, w0 = proc_cpu_seconds(env.proc.pid), self_cpu(), system_busy_seconds(), time.perf_counter()
    with StallProbe() as probe:
        for i in range(args.tasks):
            # The order alternates, so neither side always runs right after a stop batch.
            if i % 2 == 1:
                bare_s.append(bare.start())
            t0 = time.perf_counter()
            task = run_task(ecs, net)[0]
            t_run = time.perf_counter()
            seen, t, calls = wait_running(ecs, task["taskArn"], args.poll_ms / 1000)
            if i % 2 == 0:
                bare_s.append(bare.start())
            if bspec is not None:
                bspec_s.append(bspec.start())
            thr = cpu_throttling(env, task["taskArn"])
            c, pa, pb, s = (ts(t, k) for k in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt"))
            rows.append({"client": seen - t0, "runtask_call": t_run - t0, "polls": calls,
                         "reported": s - c if c and s else None,
                         "provision": pa - c if pa and c else None, "pull": pb - pa if pb and pa else None,
                         "launch": s - pb if s and pb else None,
                         "throttled_periods": thr[0], "throttled": thr[1]})
            batch.append(task["taskArn"])
            if len(batch) >= args.batch or i == args.tasks - 1:
                b0 = time.perf_counter()
                for arn in batch:
                    ecs.stop_task(cluster=CLUSTER, task=arn, reason="bench")
                wait_stopped(ecs, batch)
                stop_batches.append((time.perf_counter() - b0, len(batch)))
                batch = []
                bare.remove_all()
                if bspec is not None:
                    bspec.remove_all()
            if (i + 1) % 50 == 0:
                log(f"start: {i + 1}/{args.tasks}, client p50 so far {pct([r['client'] for r in rows], 50) * 1000:.1f} ms")
    wall = time.perf_counter() - w0
    res = {"rows": rows, "bare_s": bare_s, "bspec_s": bspec_s, "wall": wall,
           "bare_run_cpu": list(bare.run_cpu), "bare_delete_cpu": list(bare.delete_cpu), "stalls": probe.summary(), "stop_batches": stop_batches,
           "berthd_cpu": proc_cpu_seconds(env.proc.pid) - cpu0, "client_cpu": self_cpu() - scpu0,
           "system_busy": system_busy_seconds() - sys0}
    # Precision of berthd's timestamps: fractional seconds or whole ones?
    res["timestamps_fractional"] = any(r["reported"] and abs(r["reported"] - round(r["reported"])) > 1e-6 for r in rows)
    return res


def bench_slow_poll(args, env, net):
    """A few more sequential starts polled every --slow-poll-ms: does the
    2 ms polling slow the start it measures (berthd-reported times)?"""
    ecs = env.ecs
    rows, batch = [], []
    for i in range(args.slow_poll_tasks):
        t0 = time.perf_counter()
        task = run_task(ecs, net)[0]
        seen, t, calls = wait_running(ecs, task["taskArn"], args.slow_poll_ms / 1000)
        c, s = ts(t, "createdAt"), ts(t, "startedAt")
        rows.append({"client": seen - t0, "reported": s - c, "polls": calls})
        batch.append(task["taskArn"])
        if len(batch) >= args.batch or i == args.slow_poll_tasks - 1:
            for arn in batch:
                ecs.stop_task(cluster=CLUSTER, task=arn, reason="bench")
            wait_stopped(ecs, batch)
            batch = []
    return rows


def bench_poll_cost(args, env, net):
    """DescribeTasks of one RUNNING task, back to back: the cost of one poll."""
    ecs = env.ecs
    arn = run_task(ecs, net)[0]["taskArn"]
    wait_running(ecs, arn, 0.005)
    n = args.poll_cost_calls
    cpu0, scpu0, t0 = proc_cpu_seconds(env.proc.pid), self_cpu(), time.perf_counter()
    lat = []
    for _ in range(n):
        a = time.perf_counter()
        ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])
        lat.append(time.perf_counter() - a)
    wall = time.perf_counter() - t0
    res = {"calls": n, "wall_per_call_ms": wall / n * 1000, "p50_ms": pct(lat, 50) * 1000,
           "berthd_cpu_per_call_ms": (proc_cpu_seconds(env.proc.pid) - cpu0) / n * 1000,
           "client_cpu_per_call_ms": (self_cpu() - scpu0) / n * 1000}
    ecs.stop_task(cluster=CLUSTER, task=arn)
    wait_stopped(ecs, [arn])
    return res


# --- 2. memory ------------------------------------------------------------------------------------

def monitor_processes(env):
    """(monitors, inits): pids of berth-monitor processes of this data dir, and
    of berth-monitor running as a container's init."""
    monitors, inits = [], []
    for pid in pids():
        c = cmdline(pid)
        if not c:
            continue
        if "berth-monitor" in os.path.basename(c[0]) and len(c) > 1 and c[1] == "run" and \
                any(env.data_dir in a for a in c):
            monitors.append(pid)
        elif c[0].endswith("init") or "berth-monitor" in exe(pid):
            # The container's pid 1 (the monitor binary bind-mounted as init):
            # its parent is a monitor of ours.
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            pc = cmdline(ppid)
            if pc and len(pc) > 1 and pc[1] == "run" and any(env.data_dir in a for a in pc):
                inits.append(pid)
    return monitors, inits


def bench_memory(args, env, net):
    ecs = env.ecs
    pid = env.proc.pid
    time.sleep(0.5)
    before = {"rss_kb": status_kb(pid, "VmRSS"), "pss_kb": rollup_kb(pid).get("Pss", 0)}
    arns = []
    while len(arns) < args.mem_tasks:
        arns += [t["taskArn"] for t in run_task(ecs, net, min(10, args.mem_tasks - len(arns)))]
    deadline = time.monotonic() + 120
    while True:
        ts_ = []
        for i in range(0, len(arns), 100):
            ts_ += ecs.describe_tasks(cluster=CLUSTER, tasks=arns[i:i + 100])["tasks"]
        if any(t["lastStatus"] == "STOPPED" for t in ts_):
            bad = [t for t in ts_ if t["lastStatus"] == "STOPPED"][0]
            raise RuntimeError(f"a task stopped: {bad.get('stoppedReason')}")
        if all(t["lastStatus"] == "RUNNING" for t in ts_):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("memory: tasks not RUNNING after 120 s")
        time.sleep(0.05)
    time.sleep(1.0)
    after = {"rss_kb": status_kb(pid, "VmRSS"), "pss_kb": rollup_kb(pid).get("Pss", 0)}
    monitors, inits = monitor_processes(env)
    mon = [rollup_kb(p) for p in monitors]
    ini = [rollup_kb(p) for p in inits]
    cg = None
    try:
        with open(f"/sys/fs/cgroup/memory/{env.cgroup_parent}/memory.usage_in_bytes") as f:
            cg = int(f.read())
    except OSError:
        pass
    k = len(arns)
    res = {"tasks": k, "before": before, "after": after, "monitors": len(monitors), "inits": len(inits),
           "monitor_pss_kb": sum(m.get("Pss", 0) for m in mon), "monitor_rss_kb": sum(m.get("Rss", 0) for m in mon),
           "monitor_pss_anon_kb": sum(m.get("Pss_Anon", 0) for m in mon),
           "init_pss_kb": sum(m.get("Pss", 0) for m in ini), "init_rss_kb": sum(m.get("Rss", 0) for m in ini),
           "cgroup_parent_usage_bytes": cg}
    res["berthd_growth_kb"] = after["rss_kb"] - before["rss_kb"]
    res["per_task_kb"] = (res["berthd_growth_kb"] + res["monitor_pss_kb"]) / k
    res["per_task_with_init_kb"] = res["per_task_kb"] + res["init_pss_kb"] / k
    for arn in arns:
        ecs.stop_task(cluster=CLUSTER, task=arn, reason="bench")
    wait_stopped(ecs, arns, 120)
    time.sleep(0.5)
    res["after_stop_rss_kb"] = status_kb(pid, "VmRSS")
    return res


# --- 3. churn -------------------------------------------------------------------------------------

def bench_churn(args, env, net):
    res = bench_churn_cpp(args, env, net) if args.churn_client == "cpp" else bench_churn_python(args, env, net)
    res["client"] = args.churn_client
    return res


def bench_churn_cpp(args, env, net):
    """The same loop as bench_churn_python, run by task_churn (bench/task_churn.cc). It starts its threads,
    waits for a line on stdin, runs the window and the drain and prints one JSON object with the same keys
    (its own CPU over the window as client_cpus). berthd's and the machine's CPU are read here, at the
    instant the line is written and after --churn-seconds."""
    cmd = [args.churn_bin, "--endpoint", env.endpoint, "--region", REGION, "--cluster", CLUSTER,
           "--task-definition", FAMILY, "--launch-type", "FARGATE", "--network-configuration", json.dumps(net),
           "--clients", str(args.clients), "--in-flight", str(args.in_flight),
           "--seconds", str(args.churn_seconds), "--poll-ms", str(args.churn_poll_ms), "--go-on-stdin"]
    # Credentials in the environment, not on the command line.
    cenv = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cenv.update({"AWS_ACCESS_KEY_ID": env.ak, "AWS_SECRET_ACCESS_KEY": env.sk})
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=cenv, text=True)
    try:
        time.sleep(0.2)  # its threads and connections are set up
        if proc.poll() is not None:
            raise RuntimeError(f"task_churn exited with {proc.returncode}: {proc.stderr.read().strip()}")
        with StallProbe() as probe:
            cpu0, sys0 = proc_cpu_seconds(env.proc.pid), system_busy_seconds()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            time.sleep(args.churn_seconds)
            cpu_w, sys_w = proc_cpu_seconds(env.proc.pid), system_busy_seconds()
            out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"churn: task_churn exited with {proc.returncode}: {err.strip()}")
    res = json.loads(out)
    res.update({"berthd_cpus": (cpu_w - cpu0) / args.churn_seconds,
                "system_cpus": (sys_w - sys0) / args.churn_seconds, "stalls": probe.summary()})
    return res


def bench_churn_python(args, env, net):
    stop_at = [0.0]
    t_begin = [0.0]
    lock = threading.Lock()
    totals = {"started": 0, "running": 0, "stopped": 0, "stopped_in_window": 0, "running_in_window": 0,
              "errors": [], "start_lat": [], "stop_lat": [], "calls": 0}
    per = max(1, args.in_flight // args.clients)
    barrier = threading.Barrier(args.clients + 1)

    def worker(idx):
        ecs = env.client()
        live = {}  # arn -> [sent time, seen running time or None, stop sent]
        calls = 0
        barrier.wait()
        try:
            while time.perf_counter() < stop_at[0] or live:
                now = time.perf_counter()
                if now < stop_at[0] and len(live) < per:
                    t0 = time.perf_counter()
                    new = run_task(ecs, net, per - len(live))
                    for t in new:
                        live[t["taskArn"]] = [t0, None, False]
                    calls += 1
                    with lock:
                        totals["started"] += len(new)
                arns = list(live)
                tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
                calls += 1
                for t in tasks:
                    st = live[t["taskArn"]]
                    if t["lastStatus"] in ("RUNNING", "STOPPED") and st[1] is None:
                        st[1] = time.perf_counter()
                        with lock:
                            totals["running"] += 1
                            if st[1] <= stop_at[0]:
                                totals["running_in_window"] += 1
                            totals["start_lat"].append(st[1] - st[0])
                    if t["lastStatus"] == "RUNNING" and not st[2]:
                        ecs.stop_task(cluster=CLUSTER, task=t["taskArn"], reason="churn")
                        calls += 1
                        st[2] = time.perf_counter()
                    if t["lastStatus"] == "STOPPED":
                        if t.get("stopCode") not in ("UserInitiated",):
                            with lock:
                                totals["errors"].append(f"{t.get('stopCode')}: {t.get('stoppedReason')}")
                        del live[t["taskArn"]]
                        with lock:
                            totals["stopped"] += 1
                            if st[2]:
                                totals["stop_lat"].append(time.perf_counter() - st[2])
                            if time.perf_counter() <= stop_at[0]:
                                totals["stopped_in_window"] += 1
                time.sleep(args.churn_poll_ms / 1000)
                if time.perf_counter() > stop_at[0] + 120:
                    raise RuntimeError(f"churn: {len(live)} tasks not stopped 120 s after the window")
        except Exception as e:  # noqa: BLE001
            with lock:
                totals["errors"].append(f"client {idx}: {type(e).__name__}: {e}")
        with lock:
            totals["calls"] += calls

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.clients)]
    for th in threads:
        th.start()
    cpu0, scpu0, sys0 = proc_cpu_seconds(env.proc.pid), self_cpu(), system_busy_seconds()
    t_begin[0] = time.perf_counter()
    stop_at[0] = t_begin[0] + args.churn_seconds
    barrier.wait()
    with StallProbe() as probe:
        # CPU over the window only (the drain after it is not counted).
        time.sleep(args.churn_seconds)
        cpu_w, scpu_w, sys_w = proc_cpu_seconds(env.proc.pid), self_cpu(), system_busy_seconds()
        for th in threads:
            th.join()
    end = time.perf_counter()
    lat = totals.pop("start_lat")
    stop_lat = totals.pop("stop_lat")
    res = dict(totals)
    res.update({"seconds": args.churn_seconds, "drain_seconds": end - stop_at[0],
                "rate_stopped": totals["stopped_in_window"] / args.churn_seconds,
                "rate_running": totals["running_in_window"] / args.churn_seconds,
                "rate_total_with_drain": totals["stopped"] / (end - t_begin[0]),
                "start_latency": dist(lat), "stop_latency": dist(stop_lat),
                "berthd_cpus": (cpu_w - cpu0) / args.churn_seconds,
                "client_cpus": (scpu_w - scpu0) / args.churn_seconds,
                "system_cpus": (sys_w - sys0) / args.churn_seconds, "stalls": probe.summary()})
    if res["errors"]:
        raise RuntimeError("churn: " + "; ".join(res["errors"][:5]))
    return res


# --- report -------------------------------------------------------------------------------------

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    runc_v = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"nproc": os.cpu_count(), "cpu": model, "mem_mb": mem, "kernel": platform.release(), "runc": runc_v,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def ms(x):
    return "—" if x is None or x != x else f"{x * 1000:.1f}"


def verdict(ok):
    return "met" if ok else "**NOT met**"


def report(res):
    out = []
    m = res["machine"]
    out.append(f"# berthd task execution (issue 4): {m['date']}, {m['nproc']} CPUs ({m['cpu']}), {m['mem_mb']} MB, "
               f"Linux {m['kernel']}, {m['runc']}; load at start {res['load_start']}, at end {res.get('load_end')}")
    a = res["args"]
    out.append(f"berthd --agent real --runtime {a.get('runtime', 'runc')} --worker-threads {a['worker_threads']} "
               f"--task-endpoint-port "
               f"{a['task_endpoint_port']} (binaries built {res.get('binaries_mtime')}); task: busybox `sleep 1000`, "
               f"initProcessEnabled, awsvpc, FARGATE, {a['cpu']} CPU units / {a['memory']} MiB\n")
    if "start" in res:
        s = res["start"]
        rows = s["rows"]
        col = {k: [r[k] for r in rows if r[k] is not None] for k in rows[0]}
        out.append(f"## Task start: {len(rows)} sequential RunTask → RUNNING (stopped in batches of {a['batch']}), "
                   f"polling DescribeTasks every {a['poll_ms']} ms\n")
        out.append("| | p50 ms | p90 ms | p99 ms | max ms |")
        out.append("|---|---|---|---|---|")
        labels = [("client", "client-observed: RunTask sent → DescribeTasks says RUNNING"),
                  ("runtask_call", "  of which the RunTask call"),
                  ("reported", "berthd-reported: startedAt − createdAt"),
                  ("provision", "  createdAt → pullStartedAt (metadata, netns+veth+IP, /etc files, cgroup)"),
                  ("pull", "  pullStartedAt → pullStoppedAt (image lookup, rootfs)"),
                  ("launch", "  pullStoppedAt → startedAt (spec, berth-monitor, runc run -d)")]
        if col.get("throttled"):
            labels.append(("throttled", f"  task cgroup CPU throttled (CFS quota of {a['cpu']} CPU units) until RUNNING seen"))
        for k, label in labels:
            d = dist(col[k])
            out.append(f"| {label} | {ms(d['p50'])} | {ms(d['p90'])} | {ms(d['p99'])} | {ms(d['max'])} |")
        b = dist(s["bare_s"])
        out.append(f"| bare `runc run -d` of the same busybox bundle (own netns, lo only), interleaved | "
                   f"{ms(b['p50'])} | {ms(b['p90'])} | {ms(b['p99'])} | {ms(b['max'])} |")
        if s.get("bspec_s"):
            bs = dist(s["bspec_s"])
            out.append(f"| `runc run -d` of berth's own config.json for the task (seccomp, mounts, init; busybox "
                       f"rootfs, new netns), interleaved | {ms(bs['p50'])} | {ms(bs['p90'])} | {ms(bs['p99'])} | "
                       f"{ms(bs['max'])} |")
        if res.get("slow_poll"):
            sp = res["slow_poll"]
            for k, label in (("client", f"client-observed, polling every {a['slow_poll_ms']:g} ms ({len(sp)} more tasks)"),
                             ("reported", f"berthd-reported, polling every {a['slow_poll_ms']:g} ms")):
                d = dist([r[k] for r in sp])
                out.append(f"| {label} | {ms(d['p50'])} | {ms(d['p90'])} | {ms(d['p99'])} | {ms(d['max'])} |")
        cp = dist(col["client"])
        rp = dist(col["reported"])
        out.append("")
        if s.get("bspec_s"):
            out.append(f"- berth's launch phase (pullStoppedAt → startedAt, p50 {ms(dist(col['launch'])['p50'])} ms) "
                       f"vs `runc run -d` of berth's spec (p50 {ms(dist(s['bspec_s'])['p50'])} ms): the rest is "
                       f"berth-monitor, the sync pipe and berthd's bookkeeping")
        out.append(f"- ratio berth / bare runc (medians): client-observed {cp['p50'] / b['p50']:.2f}×, "
                   f"berthd-reported {rp['p50'] / b['p50']:.2f}×")
        if s.get("bare_run_cpu"):
            rc, dc = pct(s["bare_run_cpu"], 50), pct(s["bare_delete_cpu"], 50)
            out.append(f"- CPU of one bare runc container (rusage of the runc processes; the runc init that "
                       f"becomes the container's process is not counted, so a floor): `runc run -d` "
                       f"{rc * 1000:.0f} ms, `runc delete -f` {dc * 1000:.0f} ms (medians): "
                       f"{(rc + dc) * 1000:.0f} ms per start+stop before berth does anything, i.e. "
                       f"{(rc + dc) * 100:.1f} CPUs for 100 tasks/s")
        if col.get("throttled_periods"):
            out.append(f"- tasks throttled at least once before RUNNING was seen: "
                       f"{sum(1 for x in col['throttled_periods'] if x > 0)} of {len(col['throttled_periods'])}")
        out.append(f"- polls per task: median {pct(col['polls'], 50)}, max {max(col['polls'])}; "
                   f"timestamps fractional: {s['timestamps_fractional']}")
        out.append(f"- over the {s['wall']:.1f} s of this part (starts, stops, bare runs): berthd CPU "
                   f"{s['berthd_cpu']:.1f} s ({s['berthd_cpu'] / len(rows) * 1000:.1f} ms/task incl. stop and polls), "
                   f"client (python) CPU {s['client_cpu']:.1f} s, all CPUs busy {s['system_busy']:.1f} s; "
                   f"idle-probe stalls > 10 ms: {s['stalls'].get('stalls_over_10ms')} (max {s['stalls'].get('max_ms', 0):.0f} ms)")
        sb = s["stop_batches"]
        out.append(f"- stopping a batch of {a['batch']} (StopTask each, wait all STOPPED): median "
                   f"{statistics.median(x[0] for x in sb) * 1000:.0f} ms "
                   f"({statistics.median(x[0] / x[1] for x in sb) * 1000:.1f} ms/task)")
        if "poll_cost" in res:
            pc = res["poll_cost"]
            out.append(f"- one DescribeTasks poll (back to back, {pc['calls']} calls): {pc['wall_per_call_ms']:.2f} ms wall, "
                       f"berthd CPU {pc['berthd_cpu_per_call_ms']:.3f} ms, client CPU {pc['client_cpu_per_call_ms']:.2f} ms")
        if "crun" in res:
            c = res["crun"]
            out.append(f"- crun: {'not installed' if not c['available'] else 'exit ' + str(c['returncode']) + ': ' + repr(c['message'])}")
        out.append(f"- goals: p50 ≤ 25 ms: {verdict(cp['p50'] <= 0.025)} (client {ms(cp['p50'])}, reported "
                   f"{ms(rp['p50'])}); p99 ≤ 100 ms: {verdict(cp['p99'] <= 0.1)} (client {ms(cp['p99'])}, reported "
                   f"{ms(rp['p99'])}); ≤ 2× bare runc: {verdict(cp['p50'] / b['p50'] <= 2)} (client) / "
                   f"{verdict(rp['p50'] / b['p50'] <= 2)} (reported)")
        out.append("")
    if "memory" in res:
        mm = res["memory"]
        out.append(f"## Memory with {mm['tasks']} tasks RUNNING\n")
        out.append(f"- berthd VmRSS {mm['before']['rss_kb'] / 1024:.1f} → {mm['after']['rss_kb'] / 1024:.1f} MiB "
                   f"(+{mm['berthd_growth_kb'] / 1024:.2f} MiB; PSS {mm['before']['pss_kb'] / 1024:.1f} → "
                   f"{mm['after']['pss_kb'] / 1024:.1f}); {mm['after_stop_rss_kb'] / 1024:.1f} MiB after they stopped")
        out.append(f"- {mm['monitors']} berth-monitor processes: PSS {mm['monitor_pss_kb'] / 1024:.2f} MiB in all "
                   f"({mm['monitor_pss_kb'] / max(1, mm['monitors']):.0f} kB each; RSS {mm['monitor_rss_kb'] / max(1, mm['monitors']):.0f} kB each, "
                   f"PSS anon {mm['monitor_pss_anon_kb'] / max(1, mm['monitors']):.0f} kB each)")
        out.append(f"- **per task: (berthd growth + monitors' PSS) / {mm['tasks']} = {mm['per_task_kb']:.0f} kB** "
                   f"— goal ≤ 1 MB: {verdict(mm['per_task_kb'] <= 1024)}")
        out.append(f"- not counted above: the init inside each container (berth-monitor binary as pid 1; "
                   f"{mm['inits']} found, PSS {mm['init_pss_kb'] / max(1, mm['inits']):.0f} kB each; with it "
                   f"{mm['per_task_with_init_kb']:.0f} kB/task), kernel objects (netns, veth, cgroups, overlay mount); "
                   f"the task cgroup parent's memory.usage_in_bytes: "
                   f"{(mm['cgroup_parent_usage_bytes'] or 0) / 2**20:.1f} MiB")
        out.append("")
    if "churn" in res:
        c = res["churn"]
        client = c.get("client", "python")
        client_label = "task_churn (C++)" if client == "cpp" else "python, boto3"
        out.append(f"## Churn: {a['clients']} clients ({client_label}), ~{a['in_flight']} tasks in flight, "
                   f"{c['seconds']} s\n")
        out.append(f"- **{c['rate_stopped']:.1f} tasks/s started and stopped** inside the window "
                   f"({c['stopped_in_window']} tasks RUNNING then STOPPED; {c['rate_running']:.1f}/s reached RUNNING); "
                   f"with the {c['drain_seconds']:.1f} s drain: {c['rate_total_with_drain']:.1f}/s — goal ≥ 100/s: "
                   f"{verdict(c['rate_stopped'] >= 100)}")
        sl = c["start_latency"]
        out.append(f"- RunTask → seen RUNNING under churn: p50 {ms(sl['p50'])} ms, p99 {ms(sl['p99'])} ms; "
                   f"StopTask → seen STOPPED: p50 {ms(c['stop_latency']['p50'])} ms, "
                   f"p99 {ms(c['stop_latency']['p99'])} ms")
        out.append(f"- CPUs used in the window: berthd {c['berthd_cpus']:.2f}, the client ({client_label}) "
                   f"{c['client_cpus']:.2f}, all {c['system_cpus']:.2f} of {m['nproc']} (the rest: runc, monitors, "
                   f"kernel, other jobs); {c['calls']} API calls; idle-probe stalls > 10 ms: "
                   f"{c['stalls'].get('stalls_over_10ms')}")
        if c.get("started"):
            per_task = [f"berthd {c['berthd_cpus'] * c['seconds'] / c['started'] * 1000:.1f} ms",
                        f"client {c['client_cpus'] * c['seconds'] / c['started'] * 1000:.1f} ms"]
            out.append(f"- CPU per task started in the window (start, ~{c['calls'] / c['started']:.1f} calls, stop): "
                       + ", ".join(per_task))
        if c.get("call_latency"):
            out.append("- API call latency under churn (client-observed): " + "; ".join(
                f"{op} p50 {ms(d['p50'])} ms, p99 {ms(d['p99'])} ms ({d['n']})" for op, d in c["call_latency"].items()))
        out.append("")
    return "\n".join(out)


def create_execution_role(iam):
    """ecsTaskExecutionRole with AWS's managed policy: berthd checks that a
    task's execution role may pull its image and write its logs."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="ecsTaskExecutionRole", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="ecsTaskExecutionRole",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berthd", required=True)
    ap.add_argument("--berth", required=True)
    ap.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--tasks", type=int, default=200, help="sequential starts (part 1)")
    ap.add_argument("--batch", type=int, default=10, help="part 1 stops tasks in batches of this many")
    ap.add_argument("--poll-ms", type=float, default=2.0, help="DescribeTasks polling interval (part 1)")
    ap.add_argument("--poll-cost-calls", type=int, default=300)
    ap.add_argument("--slow-poll-ms", type=float, default=50.0)
    ap.add_argument("--slow-poll-tasks", type=int, default=50, help="extra starts polled every --slow-poll-ms (0: none)")
    ap.add_argument("--no-berth-spec", action="store_true", help="skip runc run -d of berth's own config.json")
    ap.add_argument("--mem-tasks", type=int, default=50)
    ap.add_argument("--cpu", type=int, default=256, help="the task definition's CPU units (256: Fargate's smallest)")
    ap.add_argument("--memory", type=int, default=512, help="the task definition's memory, MiB")
    ap.add_argument("--churn-seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--in-flight", type=int, default=10)
    ap.add_argument("--churn-poll-ms", type=float, default=5.0)
    ap.add_argument("--churn-client", choices=["python", "cpp"], default=None,
                    help="who drives part 3: task_churn next to --berthd (cpp, the default when it is built) or "
                    "boto3 threads in this process (python)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--worker-threads", type=int, default=4, help="berthd --worker-threads")
    ap.add_argument("--runtime", default="native", choices=["native", "runc", "crun"],
                    help="berthd --runtime (berth's own launcher, or an OCI runtime binary)")
    ap.add_argument("--task-endpoint-port", type=int, default=None,
                    help="berthd --task-endpoint-port (default: a random high port, so the metadata endpoint is "
                    "set up per task as on Fargate without clashing with another berthd's port 80; 0 disables it)")
    ap.add_argument("--only", choices=["start", "memory", "churn"], action="append")
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.task_endpoint_port is None:
        args.task_endpoint_port = random.randrange(20000, 30000)
    parts = args.only or ["start", "memory", "churn"]
    args.churn_bin = os.path.join(os.path.dirname(os.path.abspath(args.berthd)), "task_churn")
    if args.churn_client is None:
        args.churn_client = "cpp" if os.access(args.churn_bin, os.X_OK) else "python"
    if args.churn_client == "cpp" and not os.access(args.churn_bin, os.X_OK):
        raise RuntimeError(f"--churn-client cpp: no {args.churn_bin} (ninja -C build task_churn)")
    if os.geteuid() != 0:
        raise RuntimeError("needs root (namespaces, cgroups, mounts)")
    for p in (args.runc, args.busybox, args.berthd, args.berth):
        if not os.path.exists(p):
            raise RuntimeError(f"{p} not found")

    res = {"machine": machine(), "load_start": loadavg(), "args": vars(args)}
    env = Env(args)
    log(f"temp dir {env.tmp}")
    try:
        env.copy_binaries()
        res["binaries_mtime"] = env.binaries
        env.make_rootfs()
        env.start_berthd()
        res["berthd_rss_start_kb"] = status_kb(env.proc.pid, "VmRSS")
        env.build_image()
        create_execution_role(env.client("iam"))
        env.ecs.create_cluster(clusterName=CLUSTER)
        env.ecs.register_task_definition(
            family=FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu=str(args.cpu),
            memory=str(args.memory),
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
            containerDefinitions=[{"name": "app", "image": env.image, "essential": True, "command": ["sleep", "1000"],
                                   "linuxParameters": {"initProcessEnabled": True}}])
        net = network_config(env.client("ec2"))
        bare = BareRunc(env)
        t0 = time.perf_counter()
        for _ in range(args.warmup):
            arn = run_task(env.ecs, net)[0]["taskArn"]
            wait_running(env.ecs, arn, 0.005)
            env.ecs.stop_task(cluster=CLUSTER, task=arn)
            wait_stopped(env.ecs, [arn])
            bare.start()
            bare.remove_all()
        log(f"warm-up: {args.warmup} tasks in {time.perf_counter() - t0:.1f} s")
        if "start" in parts:
            res["crun"] = bare.try_crun()
            # berth's own spec for a task, captured while one runs.
            arn = run_task(env.ecs, net)[0]["taskArn"]
            wait_running(env.ecs, arn, 0.005)
            spec_path = find_berth_spec(env)
            bspec = BareRunc.from_berth_spec(env, spec_path) if spec_path and not args.no_berth_spec else None
            env.ecs.stop_task(cluster=CLUSTER, task=arn)
            wait_stopped(env.ecs, [arn])
            if bspec is not None:
                bspec.start()  # fails here, not in the middle, if the spec does not run alone
                bspec.remove_all()
            res["start"] = bench_start(args, env, net, bare, bspec)
            if args.slow_poll_tasks:
                res["slow_poll"] = bench_slow_poll(args, env, net)
            res["poll_cost"] = bench_poll_cost(args, env, net)
            log("start: done")
        if "memory" in parts:
            res["memory"] = bench_memory(args, env, net)
            log("memory: done")
        if "churn" in parts:
            res["churn"] = bench_churn(args, env, net)
            log("churn: done")
        res["berthd_rss_end_kb"] = status_kb(env.proc.pid, "VmRSS")
        res["load_end"] = loadavg()
    except BaseException:
        if env.proc is not None:
            log(f"berthd log tail:\n{log_tail(env.log_path, 30)}")
        raise
    finally:
        env.cleanup()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    print(report(res))


if __name__ == "__main__":
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    # Also when started in the background by a shell, which ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        main()
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001
        log(f"FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
