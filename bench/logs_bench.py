#!/usr/bin/env python3
"""CloudWatch Logs benchmark of berthd, with its references side by side in
the same run. Driven by bench/logs.sh (see it and bench/README.md).

Three parts (--only picks some):

ingest (root only; skipped with a message otherwise)
    berthd --agent real (bridge, VPC and cgroup parent of its own, as
    bench/tasks_bench.py sets them up; busybox image built and pushed with
    `berth image build`). A FARGATE task whose container has the awslogs
    driver (group /bench/ingest, stream prefix bench, create-group true,
    mode blocking) first writes --ingest-mb of numbered 100-byte lines to a
    file in its /tmp (busybox `seq -s`; not timed), then prints a
    "bench-start N" line, `cat`s the file to stdout, removes it, prints
    "bench-end N" and sleeps. The producer (cat from the page cache) is far
    faster than the pipeline, so the rate measured is berth's:
    berth-monitor (reads the pipe, writes output.log) → the awslogs driver
    in berthd (tails the file) → the log store (fdatasync).
    Rate = the lines' bytes / (ingestionTime of "bench-end" − timestamp of
    "bench-start"), both from the stream's events: the timestamp is when
    berth-monitor read the line, ingestionTime when the store accepted its
    block. CPU over the same interval, from /proc every 10 ms: berthd,
    the task's berth-monitor, the task's cgroup (sh + cat), the machine.
    Completion is polled with GetLogEvents(startFromHead=false, limit=1).
    Every run is then read back in full (GetLogEvents pages) and must be
    "bench-start N", lines 1..N exactly once, in order, byte for byte, then
    "bench-end N". Side by side, after each run, on the same file system:
    `dd if=/dev/zero bs=1M conv=fdatasync` of the same size, and the same
    producer on the host: `busybox cat <file> | busybox cat > /dev/null`
    (the pipe), and the generator `busybox seq -s ... | busybox cat >
    /dev/null`.

put
    PutLogEvents throughput: berthd (--agent fake, fresh data dir) and
    moto_server, by turns. --put-clients processes (one log stream each)
    send batches of 10,000 events of 78 bytes (1,040,000 bytes as AWS counts
    them, +26 per event) for --put-seconds, two ways: boto3's
    put_log_events (what users run; the client's CPU shows in the report),
    and the same JSON built by hand, signed with botocore's SigV4Auth and
    sent over http.client (cheap on the client: the server's capacity).

filter
    --gb (1.0) GB of 100-byte JSON messages loaded into one group across
    --filter-streams streams (signed PutLogEvents from --load-clients
    processes; 8,000 events per batch). Event i carries "needle-<run id>"
    when i % 1000 == 0 and "status":503 when i % 1000 == 500. Then, --filter-
    runs times each (median), all pages with boto3's paginator: the rare
    term (0.1 %), a term that matches nothing, and the JSON pattern
    { $.status = 503 } (0.1 %). Matches are counted and checked. moto gets
    --moto-filter-mb (10) MB, and berth the same 10 MB in a second group,
    so the two compare at one size.

Prints a Markdown report for docs/performance.md; --json keeps every raw
number. Only 127.0.0.1 and the task's namespaces are contacted. Exits 1 when
something was wrong (lost lines, wrong counts, errors).
"""

import argparse
import datetime
import http.client
import json
import multiprocessing as mp
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
from api_bench import (loadavg, log_tail, proc_cpu_seconds, start_berthd, start_moto,  # noqa: E402
                       system_busy_seconds, thread_cpu_seconds)
from tasks_bench import status_kb  # noqa: E402 (no side effects; its root-only parts run when called)

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "000000000000"
LOGS_TARGET = "Logs_20140328"
MB = 1_000_000
INGEST_GROUP = "/bench/ingest"
INGEST_FAMILY = "logbench"
LINE_BYTES = 100          # per line, newline included
FIRST_NUMBER = 10_000_001  # 8 digits for up to ~90 M lines: fixed-length lines
PAD = "x" * (LINE_BYTES - 8 - 1 - 1)  # number, space, pad, newline
PUT_EVENTS = 10_000
PUT_MESSAGE_BYTES = 78    # 10,000 × (78 + 26) = 1,040,000 ≤ 1,048,576
LOAD_EVENTS = 8_000       # 8,000 × (100 + 26) = 1,008,000
FILTER_MESSAGE_BYTES = 100


def log(msg):
    print(f"[logs_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def now_ms():
    return int(time.time() * 1000)


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def dir_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


# --- raw signed Logs calls --------------------------------------------------------------------

class LogsHttp:
    """Logs_20140328 calls with a body built by hand, signed with botocore's
    SigV4Auth, over one keep-alive http.client connection. Much cheaper on
    the client than boto3 for 1 MB batches (no per-event validation or
    serialization in Python)."""

    def __init__(self, endpoint, access_key, secret_key, timeout=600):
        self.endpoint = endpoint
        hostport = endpoint.split("://", 1)[1].rstrip("/")
        self.host = hostport
        host, port = hostport.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.creds = Credentials(access_key, secret_key)

    def call(self, operation, body):
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body, separators=(",", ":")).encode()
        request = AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{LOGS_TARGET}.{operation}"})
        SigV4Auth(self.creds, "logs", REGION).add_auth(request)
        headers = {"Host": self.host}
        headers.update(request.headers.items())
        for attempt in (1, 2):
            try:
                self.conn.request("POST", "/", body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
                # A server that closes after each answer (moto's HTTP/1.0): reconnect once.
                self.conn.close()
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"{operation}: HTTP {response.status}: {data[:500]!r}")
        return json.loads(data) if data else {}

    def close(self):
        self.conn.close()


def events_body(group, stream, timestamps, messages):
    """A PutLogEvents body; the messages contain no backslash or control
    character, so escaping quotes is enough."""
    parts = [f'{{"timestamp":{t},"message":"{m.replace(chr(34), chr(92) + chr(34))}"}}'
             for t, m in zip(timestamps, messages)]
    head = json.dumps({"logGroupName": group, "logStreamName": stream}, separators=(",", ":"))[:-1]
    return (head + ',"logEvents":[' + ",".join(parts) + "]}").encode()


def logs_client(endpoint, ak, sk, timeout=600, pool=10):
    return boto3.session.Session().client(
        "logs", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ak, aws_secret_access_key=sk,
        config=Config(retries={"max_attempts": 1}, read_timeout=timeout, connect_timeout=10,
                      max_pool_connections=pool))


def check_put_answer(answer):
    info = answer.get("rejectedLogEventsInfo")
    if info:
        raise RuntimeError(f"PutLogEvents rejected events: {info}")


# --- worker processes (spawned: module-level functions) ----------------------------------------

def put_message(worker, seq):
    head = f"{seq:010d} put-bench worker={worker:02d} "
    return head + "p" * (PUT_MESSAGE_BYTES - len(head))


def put_worker(spec, barrier, queue):
    """Part 2: PutLogEvents in a loop for spec['seconds'] after the barrier."""
    out = {"worker": spec["worker"], "batches": 0, "events": 0, "message_bytes": 0, "latencies": [],
           "errors": [], "cpu": 0.0}
    try:
        w = spec["worker"]
        group, stream = spec["group"], spec["stream"]
        seq = [0]

        def batch():
            ts = now_ms() - 60_000
            msgs = [put_message(w, seq[0] + i) for i in range(PUT_EVENTS)]
            seq[0] += PUT_EVENTS
            return [ts] * PUT_EVENTS, msgs

        if spec["mode"] == "boto3":
            client = logs_client(spec["endpoint"], spec["ak"], spec["sk"], pool=2)

            def send():
                ts, msgs = batch()
                check_put_answer(client.put_log_events(
                    logGroupName=group, logStreamName=stream,
                    logEvents=[{"timestamp": t, "message": m} for t, m in zip(ts, msgs)]))
        else:
            raw = LogsHttp(spec["endpoint"], spec["ak"], spec["sk"])

            def send():
                ts, msgs = batch()
                check_put_answer(raw.call("PutLogEvents", events_body(group, stream, ts, msgs)))

        send()  # warm-up, and a check that the batch is accepted whole
        barrier.wait(120)
        start = time.time()
        deadline = start + spec["seconds"]
        cpu0 = self_cpu()
        while time.time() < deadline:
            t0 = time.perf_counter()
            send()
            if time.time() <= deadline:
                out["batches"] += 1
                out["latencies"].append(time.perf_counter() - t0)
        out["cpu"] = self_cpu() - cpu0
        out["events"] = out["batches"] * PUT_EVENTS
        out["message_bytes"] = out["events"] * PUT_MESSAGE_BYTES
    except Exception as e:  # noqa: BLE001
        out["errors"].append(f"{type(e).__name__}: {e}")
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass
    queue.put(out)


def filter_message(i, rid):
    """Event i of the filter data set: a 100-byte JSON log line."""
    note = f"needle-{rid}" if i % 1000 == 0 else "ok"
    status = 503 if i % 1000 == 500 else 200
    head = (f'{{"seq":{i},"level":"INFO","path":"/api/items/{i % 99991}","status":{status},'
            f'"ms":{i % 997},"note":"{note}-')
    return head + "f" * (FILTER_MESSAGE_BYTES - len(head) - 2) + '"}'


def load_worker(spec, barrier, queue):
    """Part 3: loads batches b ≡ worker (mod workers) of the data set into
    the worker's stream."""
    out = {"worker": spec["worker"], "batches": 0, "events": 0, "errors": [], "cpu": 0.0, "seconds": 0.0}
    try:
        raw = LogsHttp(spec["endpoint"], spec["ak"], spec["sk"])
        total, workers, rid = spec["events"], spec["workers"], spec["rid"]
        base = spec["base_ts"]
        barrier.wait(120)
        t0 = time.perf_counter()
        cpu0 = self_cpu()
        b = spec["worker"]
        while b * LOAD_EVENTS < total:
            first = b * LOAD_EVENTS
            idx = range(first, min(total, first + LOAD_EVENTS))
            body = events_body(spec["group"], spec["stream"], [base + i // 3 for i in idx],
                               [filter_message(i, rid) for i in idx])
            check_put_answer(raw.call("PutLogEvents", body))
            out["batches"] += 1
            out["events"] += len(idx)
            b += workers
        out["seconds"] = time.perf_counter() - t0
        out["cpu"] = self_cpu() - cpu0
    except Exception as e:  # noqa: BLE001
        out["errors"].append(f"{type(e).__name__}: {e}")
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass
    queue.put(out)


def run_workers(target, specs, server_pid, seconds=None):
    """Starts one spawned process per spec, releases them together, and
    returns (results, wall seconds, server CPU seconds, workers' CPU) over
    the measured part."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(specs) + 1)
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(s, barrier, queue), daemon=True) for s in specs]
    for p in procs:
        p.start()
    results = []
    try:
        try:
            barrier.wait(180)
        except threading.BrokenBarrierError:
            pass  # a worker failed its set-up; its error comes through the queue
        t0 = time.perf_counter()
        cpu0 = proc_cpu_seconds(server_pid)
        threads0 = thread_cpu_seconds(server_pid)
        busy0 = system_busy_seconds()
        server_cpu = None

        def server_sample():
            threads1 = thread_cpu_seconds(server_pid)
            per = sorted((v - threads0.get(t, 0.0) for t, v in threads1.items()), reverse=True)
            return proc_cpu_seconds(server_pid) - cpu0, system_busy_seconds() - busy0, per

        if seconds is not None:
            time.sleep(seconds)
            server_cpu, busy, per_thread = server_sample()
        while len(results) < len(specs):
            results.append(queue.get(timeout=3600))
        wall = time.perf_counter() - t0
        if server_cpu is None:
            server_cpu, busy, per_thread = server_sample()
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    errors = [e for r in results for e in r["errors"]]
    if errors:
        raise RuntimeError("worker errors: " + "; ".join(errors[:4]))
    span = seconds if seconds is not None else wall
    stats = {"server_cores": server_cpu / span, "system_cores": busy / span,
             "server_thread_cores": [round(x / span, 3) for x in per_thread[:4]],
             "clients_cores": sum(r["cpu"] for r in results) / span}
    stats["other_cores"] = stats["system_cores"] - stats["server_cores"] - stats["clients_cores"]
    return sorted(results, key=lambda r: r["worker"]), wall, stats


# --- part 1: ingestion from container stdout -------------------------------------------------

class Sampler(threading.Thread):
    """Reads CPU counters every `interval` s: {name: callable → seconds or
    None}; sources can be added while it runs."""

    def __init__(self, interval=0.01):
        super().__init__(daemon=True)
        self.interval = interval
        self.sources = {}
        self.samples = []  # (time.time(), {name: seconds})
        self.thread_pid = None
        self.thread_samples = []  # (time.time(), {tid: seconds}), every 5th round
        self.lock = threading.Lock()
        self._halt = threading.Event()

    def add(self, name, fn):
        with self.lock:
            self.sources[name] = fn

    def remove(self, name):
        with self.lock:
            self.sources.pop(name, None)

    def run(self):
        rounds = 0
        while not self._halt.is_set():
            rounds += 1
            if self.thread_pid is not None and rounds % 5 == 0:
                try:
                    threads = thread_cpu_seconds(self.thread_pid)
                    with self.lock:
                        self.thread_samples.append((time.time(), threads))
                except OSError:
                    pass
            with self.lock:
                sources = dict(self.sources)
            row = {}
            for name, fn in sources.items():
                try:
                    row[name] = fn()
                except (OSError, ValueError, IndexError):
                    row[name] = None
            with self.lock:
                self.samples.append((time.time(), row))
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()

    def at(self, name, t):
        """Counter `name` at wall time t, interpolated between samples."""
        with self.lock:
            pts = [(ts, row[name]) for ts, row in self.samples if row.get(name) is not None]
        if not pts:
            return None
        if t <= pts[0][0]:
            return pts[0][1]
        for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
            if t0 <= t <= t1:
                return v0 + (v1 - v0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0)
        return pts[-1][1]

    def threads_between(self, t0, t1):
        """Per-thread CPU seconds from the sample nearest t0 to the one
        nearest t1 (50 ms apart), largest first, with that span."""
        with self.lock:
            samples = list(self.thread_samples)
        if len(samples) < 2:
            return [], None
        a = min(samples, key=lambda x: abs(x[0] - t0))
        b = min(samples, key=lambda x: abs(x[0] - t1))
        if b[0] <= a[0]:
            return [], None
        return sorted((v - a[1].get(t, 0.0) for t, v in b[1].items()), reverse=True), b[0] - a[0]

    def between(self, name, t0, t1):
        a, b = self.at(name, t0), self.at(name, t1)
        return None if a is None or b is None else b - a


def cgroup_cpu_fn(parent, task_id):
    paths = [f"/sys/fs/cgroup/cpuacct/{parent}/{task_id}/cpuacct.usage",
             f"/sys/fs/cgroup/cpu,cpuacct/{parent}/{task_id}/cpuacct.usage"]

    def read():
        for p in paths:
            try:
                with open(p) as f:
                    return int(f.read()) / 1e9
            except OSError:
                continue
        # cgroup v2
        try:
            with open(f"/sys/fs/cgroup/{parent}/{task_id}/cpu.stat") as f:
                for line in f:
                    if line.startswith("usage_usec"):
                        return int(line.split()[1]) / 1e6
        except OSError:
            pass
        return None
    return read


def ingest_script(lines):
    last = FIRST_NUMBER + lines  # one more than needed: every kept line has the pad
    return (f"set -e\n"
            f"seq -s ' {PAD}\n' {FIRST_NUMBER} {last} | head -n {lines} > /tmp/lines\n"
            f"echo 'bench-start {lines}'\n"
            f"cat /tmp/lines\n"
            f"rm -f /tmp/lines\n"
            f"echo 'bench-end {lines}'\n"
            f"exec sleep 1000\n")


def expected_line(k):
    return f"{FIRST_NUMBER + k} {PAD}"


def read_stream(raw, group, stream):
    """Every event of a stream, oldest first, via GetLogEvents pages:
    yields pages (lists of events)."""
    token = None
    while True:
        body = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            body["nextToken"] = token
        out = raw.call("GetLogEvents", body)
        yield out["events"]
        nxt = out.get("nextForwardToken")
        if not nxt or nxt == token:
            return
        token = nxt


def verify_ingest(raw, stream, lines):
    """Checks the stream is bench-start, lines 1..N in order, bench-end."""
    t0 = time.perf_counter()
    k = -1  # -1: expecting bench-start; 0..N-1: line k; N: bench-end; N+1: nothing more
    problems, pages, events, last_ts = [], 0, 0, None
    out_of_order = 0
    for page in read_stream(raw, INGEST_GROUP, stream):
        pages += 1
        for e in page:
            events += 1
            m = e["message"]
            if last_ts is not None and e["timestamp"] < last_ts:
                out_of_order += 1
            last_ts = e["timestamp"]
            if k == -1:
                if m != f"bench-start {lines}":
                    problems.append(f"first event is {m[:80]!r}, not 'bench-start {lines}'")
                k = 0
            elif k < lines:
                if m != expected_line(k):
                    # Find where we are, to report lost / duplicated / mangled lines once.
                    try:
                        n = int(m.split(" ", 1)[0]) - FIRST_NUMBER
                    except ValueError:
                        n = None
                    if n is not None and m == expected_line(n):
                        what = "lost" if n > k else "repeated"
                        problems.append(f"line {k + 1}: got line {n + 1} ({what} {abs(n - k)} lines)")
                        k = n + 1
                    else:
                        problems.append(f"line {k + 1}: mangled event {m[:120]!r}")
                        k += 1
                else:
                    k += 1
            elif k == lines:
                if m != f"bench-end {lines}":
                    problems.append(f"after line {lines}: {m[:80]!r}, not 'bench-end {lines}'")
                k += 1
            else:
                problems.append(f"event after bench-end: {m[:80]!r}")
            if len(problems) > 20:
                break
        if len(problems) > 20:
            problems.append("(stopped after 20 problems)")
            break
    if k <= lines and len(problems) <= 20:
        problems.append(f"stream ends after {max(k, 0)} of {lines} lines" + (" (no bench-end)" if k == lines else ""))
    if out_of_order:
        problems.append(f"{out_of_order} events with a timestamp older than the one before")
    return {"events": events, "pages": pages, "problems": problems, "seconds": time.perf_counter() - t0}


def wait_end_event(client, stream, lines, timeout):
    """Polls GetLogEvents(startFromHead=false, limit=1) until the newest
    event is bench-end; returns (that event, polls)."""
    deadline = time.monotonic() + timeout
    polls = 0
    last = None
    while time.monotonic() < deadline:
        polls += 1
        try:
            out = client.get_log_events(logGroupName=INGEST_GROUP, logStreamName=stream, startFromHead=False,
                                        limit=1)
            if out["events"]:
                last = out["events"][-1]
                if last["message"] == f"bench-end {lines}":
                    return last, polls
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        time.sleep(0.05)
    raise RuntimeError(f"stream {stream}: no bench-end after {timeout:.0f} s; newest event: "
                       f"{(last or {}).get('message', '(none)')[:100]!r}")


def first_event(client, stream):
    out = client.get_log_events(logGroupName=INGEST_GROUP, logStreamName=stream, startFromHead=True, limit=1)
    return out["events"][0] if out["events"] else None


def host_references(args, tmp, lines, busybox):
    """dd with fdatasync, and the producer's pipe on the host, of the same size."""
    nbytes = lines * LINE_BYTES
    out = {}
    dd_path = os.path.join(tmp, "dd.bin")
    count = -(-nbytes // 2**20)
    t0 = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={dd_path}", "bs=1M", f"count={count}", "conv=fdatasync"],
                   check=True, capture_output=True)
    dt = time.perf_counter() - t0
    out["dd_mb_s"] = count * 2**20 / dt / MB
    os.remove(dd_path)
    # One 1 MiB write at a time, each durable before the next (O_DSYNC): the
    # most a writer with one synced ~1 MB append in flight can reach.
    dcount = min(count, 200)
    t0 = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={dd_path}", "bs=1M", f"count={dcount}", "oflag=dsync"],
                   check=True, capture_output=True)
    out["dd_dsync_1m_mb_s"] = dcount * 2**20 / (time.perf_counter() - t0) / MB
    os.remove(dd_path)
    lines_path = os.path.join(tmp, "lines")
    if not os.path.exists(lines_path):
        gen = f"{busybox} seq -s ' {PAD}\n' {FIRST_NUMBER} {FIRST_NUMBER + lines} | {busybox} head -n {lines} > {lines_path}"
        subprocess.run(["/bin/sh", "-c", gen], check=True)
        if os.path.getsize(lines_path) != nbytes:
            raise RuntimeError(f"the generator made {os.path.getsize(lines_path)} bytes, not {nbytes}")
    subprocess.run(["cat", lines_path], stdout=subprocess.DEVNULL, check=True)  # in the page cache
    t0 = time.perf_counter()
    subprocess.run(["/bin/sh", "-c", f"{busybox} cat {lines_path} | {busybox} cat > /dev/null"], check=True)
    out["pipe_mb_s"] = nbytes / (time.perf_counter() - t0) / MB
    t0 = time.perf_counter()
    subprocess.run(["/bin/sh", "-c", f"{busybox} seq -s ' {PAD}\n' {FIRST_NUMBER} {FIRST_NUMBER + lines - 1} | "
                    f"{busybox} cat > /dev/null"], check=True)
    out["generator_mb_s"] = nbytes / (time.perf_counter() - t0) / MB
    return out


def bench_ingest(args, res):
    import tasks_bench  # noqa: E402 (root-only helpers)
    targs = argparse.Namespace(
        berthd=args.berthd, berth=args.berth, runc=args.runc, busybox=args.busybox, tmp=args.tmp, keep=args.keep,
        task_endpoint_port=random.randrange(20000, 30000), worker_threads=4)
    env = tasks_bench.Env(targs)
    log(f"ingest: temp dir {env.tmp}")
    lines = int(args.ingest_mb * MB) // LINE_BYTES
    out = {"lines": lines, "bytes": lines * LINE_BYTES, "runs": []}
    sampler = Sampler()
    try:
        env.copy_binaries()
        out["binaries_mtime"] = env.binaries
        root = env.make_rootfs()
        for applet in ("seq", "head", "rm", "echo"):
            os.symlink("busybox", os.path.join(root, "bin", applet))
        env.start_berthd()
        out["berthd_cmd"] = " ".join(env.cmd)
        env.build_image()
        tasks_bench.create_execution_role(env.client("iam"))
        # awslogs-create-group needs logs:CreateLogGroup (not in AWS's managed policy).
        env.client("iam").put_role_policy(
            RoleName="ecsTaskExecutionRole", PolicyName="create-log-groups", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": "*"}]}))
        ecs = env.ecs
        logs = env.client("logs")
        raw = LogsHttp(env.endpoint, env.ak, env.sk)
        ecs.create_cluster(clusterName=tasks_bench.CLUSTER)
        td = dict(
            family=INGEST_FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu=str(args.task_cpu), memory=str(args.task_memory),
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
            containerDefinitions=[{
                "name": "app", "image": env.image, "essential": True,
                "command": ["sh", "-c", ingest_script(lines)],
                "linuxParameters": {"initProcessEnabled": True},
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": INGEST_GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": "bench",
                    "awslogs-create-group": "true", "mode": "blocking"}}}])
        ecs.register_task_definition(**td)
        out["task_definition"] = {k: v for k, v in td.items() if k != "containerDefinitions"}
        net = tasks_bench.network_config(env.client("ec2"))
        sampler.add("berthd", lambda: proc_cpu_seconds(env.proc.pid))
        sampler.add("system", system_busy_seconds)
        sampler.thread_pid = env.proc.pid
        sampler.start()
        for run in range(args.ingest_runs):
            r = {}
            log(f"ingest: run {run + 1}/{args.ingest_runs}: {lines:,} lines, {lines * LINE_BYTES / MB:.0f} MB")
            t_run = time.time()
            started = ecs.run_task(cluster=tasks_bench.CLUSTER, taskDefinition=INGEST_FAMILY, launchType="FARGATE",
                                   networkConfiguration=net)
            if started.get("failures") or not started.get("tasks"):
                raise RuntimeError(f"RunTask failures: {started.get('failures')}")
            task = started["tasks"][0]
            arn = task["taskArn"]
            task_id = arn.rsplit("/", 1)[1]
            stream = f"bench/app/{task_id}"
            tasks_bench.wait_running(ecs, arn, 0.01)
            r["running_s"] = time.time() - t_run
            monitors, _ = tasks_bench.monitor_processes(env)
            if len(monitors) == 1:
                mpid = monitors[0]
                sampler.add(f"monitor-{run}", lambda: proc_cpu_seconds(mpid))
            else:
                log(f"ingest: {len(monitors)} berth-monitor processes of this data dir; monitor CPU not measured")
            sampler.add(f"task-{run}", cgroup_cpu_fn(env.cgroup_parent, task_id))
            end, polls = wait_end_event(logs, stream, lines, timeout=120 + args.ingest_mb / 2)
            first = first_event(logs, stream)
            time.sleep(0.05)  # one more sample past the end
            sampler.remove(f"monitor-{run}")
            sampler.remove(f"task-{run}")
            t_first, t_end = first["timestamp"] / 1000, end["ingestionTime"] / 1000
            span = t_end - t_first
            r.update({
                "stream": stream, "polls": polls,
                "runtask_to_start_s": t_first - t_run,
                "start_to_end_read_s": end["timestamp"] / 1000 - t_first,
                "end_read_to_stored_s": t_end - end["timestamp"] / 1000,
                "start_to_stored_s": span,
                "runtask_to_stored_s": t_end - t_run,
                "mb_s": lines * LINE_BYTES / span / MB if span > 0 else None,
                "cpu": {name: sampler.between(key, t_first, t_end) for name, key in
                        (("berthd", "berthd"), ("monitor", f"monitor-{run}"), ("task", f"task-{run}"),
                         ("system", "system"))},
            })
            r["cores"] = {k: (v / span if v is not None and span > 0 else None) for k, v in r["cpu"].items()}
            measured = [r["cores"][k] for k in ("berthd", "monitor", "task")]
            r["cores"]["other"] = (r["cores"]["system"] - sum(x for x in measured if x is not None)
                                   if r["cores"]["system"] is not None else None)
            per_thread, tspan = sampler.threads_between(t_first, t_end)
            r["berthd_thread_cores"] = [round(x / tspan, 3) for x in per_thread[:4]] if tspan else []
            r["monitor_read_mb_s"] = (lines * LINE_BYTES / r["start_to_end_read_s"] / MB
                                      if r["start_to_end_read_s"] > 0 else None)
            ecs.stop_task(cluster=tasks_bench.CLUSTER, task=arn, reason="bench")
            tasks_bench.wait_stopped(ecs, [arn], 120)
            v = verify_ingest(raw, stream, lines)
            r["verify"] = v
            if v["problems"]:
                log(f"ingest: run {run + 1}: {len(v['problems'])} problems: {v['problems'][:3]}")
            r["reference"] = host_references(args, env.tmp, lines, args.busybox)
            log(f"ingest: run {run + 1}: {r['mb_s']:.1f} MB/s, berthd {r['cores']['berthd']:.2f} cores; "
                f"read back {v['events']:,} events in {v['seconds']:.1f} s; dd {r['reference']['dd_mb_s']:.0f} MB/s, "
                f"pipe {r['reference']['pipe_mb_s']:.0f} MB/s")
            out["runs"].append(r)
        out["berthd_rss_kb"] = status_kb(env.proc.pid, "VmRSS")
        out["store_bytes_on_disk"] = dir_bytes(os.path.join(env.data_dir, "logs"))
        out["stored_bytes"] = next((g.get("storedBytes") for g in logs.describe_log_groups(
            logGroupNamePrefix=INGEST_GROUP)["logGroups"] if g["logGroupName"] == INGEST_GROUP), None)
        tail = []
        with open(env.log_path, errors="replace") as f:
            routine = ("listening on", "signal 15", "stopped")
            tail = [line.rstrip() for line in f if line.strip() and not any(x in line for x in routine)]
        out["berthd_log_other"] = tail[-50:]
    except BaseException:
        if env.proc is not None:
            log(f"berthd log tail:\n{log_tail(env.log_path, 30)}")
        raise
    finally:
        try:
            if sampler.is_alive():
                sampler.stop()
        finally:
            env.cleanup()  # always: tasks, berthd, bridge, cgroups, mounts, temp dir
    return out


# --- part 2: PutLogEvents throughput ----------------------------------------------------------

def bench_put(args, servers):
    out = {}
    for mode in ("boto3", "raw"):
        for server in servers:
            c = logs_client(server.endpoint, server.access_key, server.secret_key)
            group = f"/bench/put-{mode}"
            c.create_log_group(logGroupName=group)
            specs = []
            for w in range(args.put_clients):
                stream = f"client-{w:02d}"
                c.create_log_stream(logGroupName=group, logStreamName=stream)
                specs.append({"worker": w, "mode": mode, "endpoint": server.endpoint, "ak": server.access_key,
                              "sk": server.secret_key, "group": group, "stream": stream,
                              "seconds": args.put_seconds})
            log(f"put: {server.name}, {mode}, {args.put_clients} processes, {args.put_seconds:g} s")
            rss0 = status_kb(server.proc.pid, "VmRSS")
            results, wall, st = run_workers(put_worker, specs, server.proc.pid, args.put_seconds)
            batches = sum(r["batches"] for r in results)
            events = sum(r["events"] for r in results)
            lat = sorted(x for r in results for x in r["latencies"])
            s = args.put_seconds
            row = {
                "clients": args.put_clients, "seconds": s, "batches": batches, "events": events,
                "events_s": events / s, "mb_s": events * PUT_MESSAGE_BYTES / s / MB,
                "aws_mb_s": events * (PUT_MESSAGE_BYTES + 26) / s / MB,
                "latency_p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
                "latency_max_ms": lat[-1] * 1000 if lat else None,
                "rss_kb_before": rss0, "rss_kb_after": status_kb(server.proc.pid, "VmRSS"),
            }
            row.update(st)
            out.setdefault(mode, {})[server.name] = row
            log(f"put: {server.name} {mode}: {row['mb_s']:.1f} MB/s, {row['events_s']:,.0f} events/s, "
                f"server {row['server_cores']:.2f} cores, clients {row['clients_cores']:.2f}")
    return out


# --- part 3: FilterLogEvents --------------------------------------------------------------------

def load_group(args, server, group, nbytes, rid):
    c = logs_client(server.endpoint, server.access_key, server.secret_key)
    c.create_log_group(logGroupName=group)
    total = nbytes // FILTER_MESSAGE_BYTES
    if any(len(filter_message(i, rid)) != FILTER_MESSAGE_BYTES for i in (0, 500, total - 1)):
        raise RuntimeError(f"filter messages are not {FILTER_MESSAGE_BYTES} bytes at {total} events")
    streams = [f"app/web/{i:02d}" for i in range(args.filter_streams)]
    for s in streams:
        c.create_log_stream(logGroupName=group, logStreamName=s)
    workers = min(args.load_clients, -(-total // LOAD_EVENTS))
    base = now_ms() - 3 * 3600 * 1000  # 3 events per ms: 1 GB (10 M events) spans 56 minutes
    specs = [{"worker": w, "workers": workers, "endpoint": server.endpoint, "ak": server.access_key,
              "sk": server.secret_key, "group": group, "stream": streams[w % len(streams)], "events": total,
              "rid": rid, "base_ts": base} for w in range(workers)]
    log(f"filter: loading {total:,} events ({total * FILTER_MESSAGE_BYTES / MB:,.0f} MB) into {server.name} "
        f"{group} with {workers} processes over {len(streams)} streams")
    results, wall, st = run_workers(load_worker, specs, server.proc.pid)
    loaded = sum(r["events"] for r in results)
    if loaded != total:
        raise RuntimeError(f"loaded {loaded} events, not {total}")
    out = {"events": total, "message_bytes": total * FILTER_MESSAGE_BYTES, "streams": len(streams),
           "clients": workers, "seconds": wall, "mb_s": total * FILTER_MESSAGE_BYTES / wall / MB,
           "expected": {"needle": sum(1 for _ in range(0, total, 1000)),
                        "status503": sum(1 for _ in range(500, total, 1000)), "absent": 0}}
    out.update(st)
    log(f"filter: loaded {server.name} {group} in {wall:.1f} s ({out['mb_s']:.1f} MB/s)")
    return out


def group_stored_bytes(server, group):
    c = logs_client(server.endpoint, server.access_key, server.secret_key)
    for g in c.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        if g["logGroupName"] == group:
            return g.get("storedBytes")
    return None


def filter_patterns(rid):
    return {"needle": f'"needle-{rid}"', "absent": f'"absent-{rid}"', "status503": "{ $.status = 503 }"}


def run_filter(client, group, pattern):
    t0 = time.perf_counter()
    pages = events = 0
    sample = []
    for page in client.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern=pattern):
        pages += 1
        events += len(page.get("events", []))
        if len(sample) < 5:
            sample += [e["message"] for e in page.get("events", [])[:5 - len(sample)]]
    return time.perf_counter() - t0, pages, events, sample


def query_group(args, server, group, expected, rid, label):
    c = logs_client(server.endpoint, server.access_key, server.secret_key, timeout=900)
    out = {}
    for name, pattern in filter_patterns(rid).items():
        runs = []
        for i in range(args.filter_runs):
            cpu0 = proc_cpu_seconds(server.proc.pid)
            wall, pages, events, sample = run_filter(c, group, pattern)
            runs.append({"seconds": wall, "pages": pages, "events": events,
                         "server_cpu": proc_cpu_seconds(server.proc.pid) - cpu0})
            if i == 0:
                first_sample = sample
        counts = {r["events"] for r in runs}
        row = {"pattern": pattern, "runs": runs, "median_s": median([r["seconds"] for r in runs]),
               "min_s": min(r["seconds"] for r in runs), "max_s": max(r["seconds"] for r in runs),
               "pages": median([r["pages"] for r in runs]), "events": sorted(counts),
               "expected": expected[name], "correct": counts == {expected[name]},
               "server_cpu_median_s": median([r["server_cpu"] for r in runs]), "sample": first_sample[:2]}
        bad = [m for m in first_sample if (name == "needle" and f"needle-{rid}" not in m)
               or (name == "status503" and '"status":503' not in m)]
        if bad:
            row["correct"] = False
            row["wrong_matches"] = bad[:2]
        out[name] = row
        log(f"filter: {server.name} {label} {pattern}: median {row['median_s'] * 1000:.0f} ms, {row['pages']} pages, "
            f"events {row['events']} (expected {expected[name]})")
    return out


def bench_filter(args, servers, berth_data_dir):
    rid = f"{random.randrange(16**4):04x}"
    out = {"rid": rid, "groups": {}}
    small = int(args.moto_filter_mb * MB)
    by_name = {s.name: s for s in servers}
    berth = by_name["berth"]
    # The 10 MB group on both servers first, then the large one on berth.
    for server in servers:
        load = load_group(args, server, "/bench/filter-small", small, rid)
        q = query_group(args, server, "/bench/filter-small", load["expected"], rid, f"{args.moto_filter_mb:g} MB")
        out["groups"].setdefault("small", {})[server.name] = {"load": load, "queries": q}
    large = int(args.gb * 1000 * MB)
    load = load_group(args, berth, "/bench/filter", large, rid)
    load["berthd_rss_kb"] = status_kb(berth.proc.pid, "VmRSS")
    load["stored_bytes"] = group_stored_bytes(berth, "/bench/filter")
    q = query_group(args, berth, "/bench/filter", load["expected"], rid, f"{args.gb:g} GB")
    out["groups"]["large"] = {"berth": {"load": load, "queries": q}}
    out["berthd_rss_kb_after"] = status_kb(berth.proc.pid, "VmRSS")
    return out


# --- report --------------------------------------------------------------------------------

def machine(args):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    st = os.statvfs(args.tmp)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    built = {name: time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(path)))
             for name, path in (("berthd", args.berthd), ("berth", args.berth)) if path and os.path.exists(path)}
    monitor = os.path.join(os.path.dirname(os.path.abspath(args.berthd or ".")), "berth-monitor")
    if os.path.exists(monitor):
        built["berth-monitor"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(monitor)))
    return {"commit": commit + (" plus uncommitted changes" if dirty else ""), "built": built,"nproc": os.cpu_count(), "cpu": model, "mem_mb": mem, "kernel": platform.release(),
            "botocore": botocore.__version__, "tmp": args.tmp, "tmp_free_gb": st.f_bavail * st.f_frsize / 1e9,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def verdict(ok):
    return "met" if ok else "**NOT met**"


def f1(x, digits=1):
    return "—" if x is None else f"{x:,.{digits}f}"


def report(res):
    a = res["args"]
    m = res["machine"]
    out = ["## CloudWatch Logs", ""]
    out.append(f"**Command:** `{res['command']}`. **Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['mem_mb']} MB, "
               f"Linux {m['kernel']}; load average {res['load_start']} at the start, {res.get('load_end')} at the end; "
               f"{m['date']}. **Code:** {m.get('commit', '?')}; Release build, binaries built "
               f"{', '.join(f'{k} {v}' for k, v in m.get('built', {}).items())}. botocore {m['botocore']}, "
               f"moto {res.get('moto_version', '—')}. MB = 10^6 bytes.")
    out.append("")
    goals = []
    if "ingest" in res and res["ingest"].get("skipped"):
        out.append(f"### Ingestion from container stdout\n\nNot run: {res['ingest']['skipped']}\n")
    elif "ingest" in res:
        g = res["ingest"]
        runs = g["runs"]
        out.append("### Ingestion from container stdout (awslogs driver → durable store)")
        out.append("")
        out.append(f"{len(runs)} run{'s' if len(runs) != 1 else ''} of one task each: {g['lines']:,} numbered lines of "
                   f"{LINE_BYTES} bytes ({g['bytes'] / MB:,.0f} MB), written to a file in the container's /tmp first "
                   f"(not timed), then `cat` to stdout; awslogs driver, mode blocking; task {a['task_cpu']} CPU units / "
                   f"{a['task_memory']} MiB. **MB/s** = bytes / (ingestionTime of the last line − timestamp of the "
                   f"first; a line's timestamp is when berth-monitor read it from the pipe); *berth-monitor read* = "
                   f"bytes / (timestamp of the last line − of the first). Side by side after each run, on the same file "
                   f"system: `dd if=/dev/zero bs=1M conv=fdatasync` of the same size, `dd bs=1M oflag=dsync` (one "
                   f"1 MiB write at a time, each durable before the next: the ceiling of a writer with one synced "
                   f"~1 MB append in flight; at most 200 MiB), the producer's pipe on the host "
                   f"(`busybox cat file | busybox cat > /dev/null`), and the generator into a pipe "
                   f"(`busybox seq -s ... | busybox cat > /dev/null`).")
        out.append("")
        out.append("| run | **MB/s** | berth-monitor read MB/s | first read → last stored s | last read → stored ms | "
                   "RunTask → first line read s | lines checked | dd fdatasync MB/s | dd O_DSYNC 1 MiB writes MB/s | "
                   "pipe MB/s | generator MB/s |")
        out.append("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
        for i, r in enumerate(runs):
            ok = "all, in order" if not r["verify"]["problems"] else f"**{len(r['verify']['problems'])} problems**"
            ref = r["reference"]
            out.append(f"| {i + 1} | **{f1(r['mb_s'])}** | {f1(r.get('monitor_read_mb_s'), 0)} | "
                       f"{r['start_to_stored_s']:.2f} | {r['end_read_to_stored_s'] * 1000:.0f} | "
                       f"{r['runtask_to_start_s']:.2f} | {ok} | {ref['dd_mb_s']:.0f} | "
                       f"{f1(ref.get('dd_dsync_1m_mb_s'), 0)} | {ref['pipe_mb_s']:.0f} | {ref['generator_mb_s']:.0f} |")
        med = {k: median([r.get(k) for r in runs]) for k in
               ("mb_s", "start_to_stored_s", "runtask_to_stored_s", "monitor_read_mb_s", "end_read_to_stored_s")}
        cores = {k: median([r["cores"].get(k) for r in runs]) for k in ("berthd", "monitor", "task", "other", "system")}
        refs = {k: median([r["reference"].get(k) for r in runs]) for k in
                ("dd_mb_s", "dd_dsync_1m_mb_s", "pipe_mb_s", "generator_mb_s")}
        dd, pipe = refs["dd_mb_s"], refs["pipe_mb_s"]
        lost_ok = all(not r["verify"]["problems"] for r in runs)
        out.append(f"| **median** | **{f1(med['mb_s'])}** | {f1(med['monitor_read_mb_s'], 0)} | "
                   f"{f1(med['start_to_stored_s'], 2)} | {f1((med['end_read_to_stored_s'] or 0) * 1000, 0)} | | | "
                   f"{f1(dd, 0)} | {f1(refs['dd_dsync_1m_mb_s'], 0)} | {f1(pipe, 0)} | {f1(refs['generator_mb_s'], 0)} |")
        out.append("")
        out.append("CPU over the same interval (cores = CPU seconds / interval; *other*: the machine's busy time "
                   "minus the columns before it: other jobs, the kernel's flusher, this script):")
        out.append("")
        out.append("| run | **berthd** | berthd's busiest threads | berth-monitor | task (sh, cat) | other | "
                   "machine busy (of " + str(res["machine"]["nproc"]) + ") |")
        out.append("|---|---:|---|---:|---:|---:|---:|")
        for i, r in enumerate(runs):
            c = r["cores"]
            threads = " / ".join(f"{x:.2f}" for x in r.get("berthd_thread_cores", [])[:3]) or "—"
            out.append(f"| {i + 1} | **{f1(c['berthd'], 2)}** | {threads} | {f1(c['monitor'], 2)} | "
                       f"{f1(c['task'], 2)} | {f1(c.get('other'), 2)} | {f1(c['system'], 2)} |")
        out.append(f"| **median** | **{f1(cores['berthd'], 2)}** | | {f1(cores['monitor'], 2)} | "
                   f"{f1(cores['task'], 2)} | {f1(cores['other'], 2)} | {f1(cores['system'], 2)} |")
        out.append("")
        out.append(f"- berth / dd fdatasync: {med['mb_s'] / dd:.2f}×; berth / serial O_DSYNC 1 MiB writes: "
                   f"{med['mb_s'] / refs['dd_dsync_1m_mb_s']:.2f}×; berth / the bare pipe: {med['mb_s'] / pipe:.3f}×")
        cpu_per_mb = median([r["cores"]["berthd"] / r["mb_s"] * 1000 for r in runs
                             if r["cores"].get("berthd") is not None and r["mb_s"]])
        mon_per_mb = median([r["cores"]["monitor"] / r["mb_s"] * 1000 for r in runs
                             if r["cores"].get("monitor") is not None and r["mb_s"]])
        if cpu_per_mb:
            out.append(f"- CPU per MB ingested (median; moves less with the machine's load than MB/s does): berthd "
                       f"{cpu_per_mb:.1f} ms, i.e. one core of berthd would carry at most {1000 / cpu_per_mb:.0f} MB/s; "
                       f"berth-monitor {f1(mon_per_mb)} ms")
        out.append(f"- RunTask → every line stored (task start and the generation of the file in the container "
                   f"included): {f1(med['runtask_to_stored_s'], 2)} s median")
        out.append(f"- read back: {sum(r['verify']['events'] for r in runs):,} events in "
                   f"{sum(r['verify']['pages'] for r in runs)} GetLogEvents pages; completion polled with "
                   f"GetLogEvents(startFromHead=false, limit=1) every 50 ms")
        out.append(f"- after the runs: the group's storedBytes {f1((g['stored_bytes'] or 0) / MB, 0)} MB, the store's "
                   f"directory {g['store_bytes_on_disk'] / MB:,.0f} MB on disk, for {len(runs) * g['bytes'] / MB:,.0f} MB "
                   f"of lines; berthd VmRSS {g['berthd_rss_kb'] / 1024:.1f} MiB")
        for i, r in enumerate(runs):
            for p in r["verify"]["problems"][:5]:
                out.append(f"- run {i + 1}: {p}")
        out.append("")
        goals.append(("ingestion ≥ 100 MB/s", f"{f1(med['mb_s'])} MB/s", med["mb_s"] is not None and med["mb_s"] >= 100))
        goals.append(("… using at most one core (berthd)", f"{f1(cores['berthd'], 2)} cores (+ berth-monitor "
                      f"{f1(cores['monitor'], 2)})", cores["berthd"] is not None and cores["berthd"] <= 1))
        goals.append(("… i.e. berthd ≤ 10 ms CPU per MB ingested (100 MB/s on one core; less load-sensitive than MB/s)",
                      f"{f1(cpu_per_mb)} ms/MB → ≤ {f1(1000 / cpu_per_mb if cpu_per_mb else None, 0)} MB/s per core",
                      cpu_per_mb is not None and cpu_per_mb <= 10))
        goals.append(("zero lines lost", "0 lost, 0 repeated, 0 mangled" if lost_ok else "lines lost or wrong",
                      lost_ok))
    if "put" in res:
        p = res["put"]
        out.append("### PutLogEvents throughput")
        out.append("")
        n = a["put_clients"]
        out.append(f"{n} client process{'es' if n != 1 else ''}, one log stream each, {a['put_seconds']:g} s each way; batches of "
                   f"{PUT_EVENTS:,} events of {PUT_MESSAGE_BYTES} bytes ({PUT_EVENTS * (PUT_MESSAGE_BYTES + 26):,} "
                   f"bytes as AWS counts a batch). *boto3*: `put_log_events` with its validation and serialization; "
                   f"*signed JSON*: the same body built by hand, signed with botocore's SigV4Auth, over http.client "
                   f"(keep-alive).")
        out.append("")
        out.append("| client | server | MB/s (messages) | events/s | batch p50 ms | server cores | server CPU ms/MB | "
                   "berthd's busiest threads | clients' cores | other cores | machine busy |")
        out.append("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        for mode, label in (("boto3", "boto3"), ("raw", "signed JSON")):
            for name, r in p.get(mode, {}).items():
                threads = " / ".join(f"{x:.2f}" for x in r["server_thread_cores"][:3]) if name == "berth" else "—"
                per_mb = r["server_cores"] / r["mb_s"] * 1000 if r["mb_s"] else None
                out.append(f"| {label} | {name} | {r['mb_s']:.1f} | {r['events_s']:,.0f} | {f1(r['latency_p50_ms'])} | "
                           f"{r['server_cores']:.2f} | {f1(per_mb, 0)} | {threads} | {r['clients_cores']:.2f} | {r['other_cores']:.2f} | "
                           f"{r['system_cores']:.2f} |")
            rows = p.get(mode, {})
            if "berth" in rows and "moto" in rows and rows["moto"]["mb_s"]:
                out.append(f"| {label} | **berth/moto** | **{rows['berth']['mb_s'] / rows['moto']['mb_s']:.1f}×** | | | | | | | | |")
        out.append("")
    if "filter" in res:
        fl = res["filter"]
        out.append("### FilterLogEvents")
        out.append("")
        lg = fl["groups"]["large"]["berth"]["load"]
        out.append(f"Data: 100-byte JSON messages in one group over {lg['streams']} streams; every 1,000th carries "
                   f"`needle-{fl['rid']}`, another every 1,000th `\"status\":503`. Loaded with signed PutLogEvents "
                   f"({LOAD_EVENTS:,} events per batch) from {lg['clients']} processes: {lg['message_bytes'] / MB:,.0f} MB in "
                   f"{lg['seconds']:.1f} s ({lg['mb_s']:.1f} MB/s, berthd {lg['server_cores']:.2f} cores); "
                   f"the group's storedBytes {f1((lg['stored_bytes'] or 0) / MB, 0)} MB; berthd VmRSS "
                   f"{lg['berthd_rss_kb'] / 1024:.1f} MiB after the load. Each query: every page, boto3's paginator, "
                   f"{a['filter_runs']} runs, page cache warm (the data was just written).")
        out.append("")
        out.append("| data | server | pattern | median s | min–max s | pages | matched | expected | berthd CPU s |")
        out.append("|---|---|---|---:|---|---:|---:|---:|---:|")
        sizes = [("large", f"{a['gb']:g} GB")]
        sizes.insert(0, ("small", f"{a['moto_filter_mb']:g} MB"))
        for key, label in sizes:
            for name, g in fl["groups"].get(key, {}).items():
                for pname, q in g["queries"].items():
                    matched = ", ".join(f"{x:,}" for x in q["events"])
                    if not q["correct"]:
                        matched = f"**{matched} (wrong)**"
                    out.append(f"| {label} | {name} | `{q['pattern']}` | {q['median_s']:.3f} | "
                               f"{q['min_s']:.3f}–{q['max_s']:.3f} | {q['pages']:g} | {matched} | {q['expected']:,} | "
                               f"{q['server_cpu_median_s']:.2f}{'' if name == 'berth' else ' (moto)'} |")
            sm = fl["groups"].get("small", {})
            if key == "small" and "berth" in sm and "moto" in sm:
                for pname in sm["berth"]["queries"]:
                    b, mo = sm["berth"]["queries"][pname], sm["moto"]["queries"][pname]
                    if b["correct"] and mo["correct"]:
                        out.append(f"| {label} | **moto/berth time** | `{b['pattern']}` | "
                                   f"**{mo['median_s'] / b['median_s']:.1f}×** | | | | | |")
                    else:
                        out.append(f"| {label} | moto/berth time | `{b['pattern']}` | no ratio: "
                                   f"{'moto' if b['correct'] else 'berth'}'s count is wrong | | | | | |")
        out.append("")
        q = fl["groups"]["large"]["berth"]["queries"]["needle"]
        goals.append((f"FilterLogEvents, 0.1 % term over {a['gb']:g} GB < 1 s", f"{q['median_s']:.3f} s "
                      f"({'correct' if q['correct'] else 'WRONG'} count)", q["median_s"] < 1 and q["correct"]))
    other = (res.get("ingest") or {}).get("berthd_log_other") or []
    if other:
        out.append("berthd (real agent) logged, beyond start and stop:")
        out.append("")
        out.append("```")
        out += [line[:300] for line in other[:30]]
        out.append("```")
        out.append("")
    if goals:
        out.append("### Goals")
        out.append("")
        out.append("| goal | measured | |")
        out.append("|---|---|---|")
        for name, value, ok in goals:
            out.append(f"| {name} | {value} | {verdict(ok)} |")
        out.append("")
    return "\n".join(out)


def problems_of(res):
    problems = []
    g = res.get("ingest", {})
    for i, r in enumerate(g.get("runs", [])):
        for p in r["verify"]["problems"]:
            problems.append(f"ingest run {i + 1}: {p}")
    for key, by_server in res.get("filter", {}).get("groups", {}).items():
        for name, gr in by_server.items():
            for pname, q in gr["queries"].items():
                if not q["correct"] and name == "berth":
                    problems.append(f"filter {key} {name} {q['pattern']}: matched {q['events']}, expected {q['expected']}"
                                    + (f"; wrong matches {q.get('wrong_matches')}" if q.get("wrong_matches") else ""))
    for name, code in res.get("server_exit", {}).items():
        if code not in (0, None):
            problems.append(f"{name} exited with {code} on SIGTERM")
    return problems


def reproduce_command(parts):
    """The bench/logs.sh command line that reproduces this run (logs.sh
    adds --berthd and --berth itself)."""
    argv, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a in ("--berthd", "--berth"):
            skip = True
            continue
        if a.startswith("--berthd=") or a.startswith("--berth="):
            continue
        argv.append(a if a and all(c.isalnum() or c in "-_./=:," for c in a) else "'" + a + "'")
    sudo = "sudo " if os.geteuid() == 0 and "ingest" in parts else ""
    return sudo + " ".join(["bench/logs.sh"] + argv)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berthd")
    ap.add_argument("--berth")
    ap.add_argument("--report-from", metavar="JSON", help="print the report of an earlier --json result, and exit")
    ap.add_argument("--moto-server", default="/root/.pyenv/versions/3.11.7/bin/moto_server")
    ap.add_argument("--no-moto", action="store_true")
    ap.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--only", choices=["ingest", "put", "filter"], action="append")
    ap.add_argument("--ingest-mb", type=float, default=200, help="MB of lines per ingestion run")
    ap.add_argument("--ingest-runs", type=int, default=3)
    ap.add_argument("--task-cpu", type=int, default=4096, help="CPU units of the ingestion task (its CFS quota)")
    ap.add_argument("--task-memory", type=int, default=8192)
    ap.add_argument("--put-clients", type=int, default=4, help="client processes for PutLogEvents")
    ap.add_argument("--put-seconds", type=float, default=10)
    ap.add_argument("--gb", type=float, default=1.0, help="GB of events for FilterLogEvents")
    ap.add_argument("--moto-filter-mb", type=float, default=10, help="MB loaded into moto (and berth) to compare")
    ap.add_argument("--filter-streams", type=int, default=4)
    ap.add_argument("--load-clients", type=int, default=4)
    ap.add_argument("--filter-runs", type=int, default=5)
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("--json", help="write every raw number here")
    args = ap.parse_args()
    if args.report_from:
        with open(args.report_from) as f:
            res = json.load(f)
        print(report(res))
        problems = problems_of(res)
        for p in problems:
            print(f"- PROBLEM: {p}")
        return 1 if problems else 0
    if not args.berthd or not args.berth:
        ap.error("--berthd and --berth are required")
    parts = args.only or ["ingest", "put", "filter"]
    for p in (args.berthd, args.berth):
        if not os.path.exists(p):
            raise RuntimeError(f"{p} not found")

    res = {"command": reproduce_command(parts),
           "machine": machine(args), "load_start": loadavg(), "args": vars(args)}
    if "ingest" in parts:
        if os.geteuid() != 0:
            res["ingest"] = {"skipped": "needs root (real tasks: namespaces, cgroups, runc, a bridge); run "
                                        "`sudo bench/logs.sh`"}
            log("ingest: SKIPPED — needs root (real tasks); run `sudo bench/logs.sh --only ingest`")
        else:
            res["ingest"] = bench_ingest(args, res)
    if "put" in parts or "filter" in parts:
        workdir = tempfile.mkdtemp(prefix="berth-logs-bench-", dir=args.tmp)
        servers = []
        try:
            bindir = os.path.join(workdir, "bin")
            os.makedirs(bindir)
            berthd = shutil.copy2(args.berthd, os.path.join(bindir, "berthd"))
            data_dir = os.path.join(workdir, "berth-data")
            servers.append(start_berthd(berthd, data_dir, os.path.join(workdir, "berthd.log")))
            if not args.no_moto:
                servers.append(start_moto(args.moto_server, os.path.join(workdir, "moto.log")))
                res["moto_version"] = subprocess.run(
                    [sys.executable, "-c", "import moto; print(moto.__version__)"],
                    capture_output=True, text=True).stdout.strip()
            if "put" in parts:
                res["put"] = bench_put(args, servers)
            if "filter" in parts:
                res["filter"] = bench_filter(args, servers, data_dir)
            for s in servers:
                if s.proc.poll() is not None:
                    raise RuntimeError(f"{s.name} died during the run (exit {s.proc.returncode})")
        except BaseException:
            log(f"berthd log tail:\n{log_tail(os.path.join(workdir, 'berthd.log'), 30)}")
            raise
        finally:
            res["server_exit"] = {s.name: s.stop() for s in servers}
            if args.keep:
                log(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    res["load_end"] = loadavg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
        log(f"raw results in {args.json}")
    print(report(res))
    problems = problems_of(res)
    if problems:
        print("\nPROBLEMS (these numbers are not valid as they stand):")
        for p in problems:
            print(f"- {p}")
        return 1
    return 0


if __name__ == "__main__":
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001
        log(f"FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
