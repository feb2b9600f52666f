#!/usr/bin/env python3
"""API benchmark of berthd, side by side with moto_server in the same run.

Driven by bench/api.sh (see it for the knobs). What it does, in order:

1. Starts berthd (fake agent, fresh temp data dir, port 0) and moto_server
   (a free port), and creates the same resources on both with boto3: a
   cluster, a Fargate task definition, a service with desiredCount 3 and an
   awsvpc networkConfiguration, and RunTask tasks. On berth the subnet and
   security group come from ec2 DescribeSubnets/DescribeSecurityGroups; on
   moto they are created.
2. For DescribeServices and ListTasks: signs one request with botocore's
   SigV4Auth, checks it answers 200 with the expected content, then replays
   it with wrk (warm-up, then the measured run) against berth and moto in
   turn. wrk's Lua done() hook reports requests, non-2xx and socket errors
   and the latency percentiles as JSON; the servers' CPU time during the run
   comes from /proc. GET /health on berth is the reference for the HTTP
   layer alone.
3. Sends the same signed requests at a fixed rate with build/bin/paced_load
   (latency from the scheduled send time) to berth, and to moto if wrk showed
   it can take the rate, with an idle thread alongside that records the
   machine's own stalls.
4. Measures berthd start-up: exec to the port accepting a TCP connection and
   to the first 200 from GET /health, with a fresh data dir each run and with
   the populated data dir from step 1.
5. Reads VmRSS of berthd right after start, after the resources exist and
   after the load, and reports anything berthd logged beyond start and stop.

--extra-tasks N first runs N tasks in a second cluster on both servers, to
see how the measured calls scale with state they should not have to touch.

Prints a report (Markdown tables) and writes all raw numbers as JSON.
Only 127.0.0.1 is ever contacted.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REGION = "us-east-1"
ECS_TARGET = "AmazonEC2ContainerServiceV20141113"
CLUSTER = "bench"
SERVICE = "web"
RUN_TASK_COUNT = 3
HEALTH = "GET /health (reference)"
CLK_TCK = os.sysconf("SC_CLK_TCK")

OPERATIONS = {
    "DescribeServices": {"cluster": CLUSTER, "services": [SERVICE]},
    "ListTasks": {"cluster": CLUSTER},
}


def log(msg):
    print(f"[api_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_seconds(pid):
    """{tid: utime + stime in seconds} for every thread of a process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        except FileNotFoundError:
            pass
    return out


def system_busy_seconds():
    """CPU time all CPUs spent not idle since boot, in seconds (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_checked(cmd, **kw):
    """Runs a command; raises with the end of its output if it fails."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def log_tail(path, lines=20):
    """The end of a berthd log, for an error message (the temp dir goes away)."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"(no log: {e})"


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


class StallProbe:
    """Sleeps 1 ms in a loop on a thread and records how late it wakes.

    Run next to a latency measurement, it tells how much of a tail comes from
    the machine (other tenants, the hypervisor) rather than from the server:
    an idle thread that wakes 100 ms late means every process on the machine
    may have stalled that long.
    """

    def __init__(self):
        self.lateness_ms = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t = time.perf_counter()
            time.sleep(0.001)
            self.lateness_ms.append((time.perf_counter() - t) * 1000 - 1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        v = sorted(self.lateness_ms)
        if not v:
            return {}
        return {"samples": len(v), "p99_ms": v[int(len(v) * 0.99)], "max_ms": v[-1],
                "stalls_over_10ms": sum(1 for x in v if x > 10)}


def proc_memory(pid):
    """VmRSS, RssAnon, RssFile, VmHWM and thread count, from /proc/PID/status (kB)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(value.split()[0])
            elif key == "Threads":
                out[key] = int(value)
    return out


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


def read_credentials(path):
    ak = sk = None
    with open(path) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "aws_access_key_id":
                ak = value.strip()
            elif key.strip() == "aws_secret_access_key":
                sk = value.strip()
    if not ak or not sk:
        raise RuntimeError(f"no [default] keys in {path}")
    return ak, sk


class Server:
    """A server under test: endpoint, credentials, and its process."""

    def __init__(self, name, proc, endpoint, access_key, secret_key):
        self.name = name
        self.proc = proc
        self.endpoint = endpoint
        self.port = int(endpoint.rsplit(":", 1)[1])
        self.access_key = access_key
        self.secret_key = secret_key

    def client(self, service):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 1}),
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_berthd(berthd, data_dir, log_path):
    log_file = open(log_path, "wb")
    proc = subprocess.Popen(
        [berthd, "--data-dir", data_dir, "--listen", "127.0.0.1:0", "--agent", "fake"],
        stdout=log_file, stderr=subprocess.STDOUT)
    endpoint_file = os.path.join(data_dir, "endpoint")

    def ready():
        if proc.poll() is not None:
            raise RuntimeError(f"berthd exited with {proc.returncode}; see {log_path}")
        try:
            with open(endpoint_file) as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    endpoint = wait_for(ready, 10, "berthd endpoint file")
    ak, sk = read_credentials(os.path.join(data_dir, "credentials"))
    return Server("berth", proc, endpoint, ak, sk)


def start_moto(moto_server, log_path):
    port = free_port()
    log_file = open(log_path, "wb")
    proc = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log_file, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"

    def ready():
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    wait_for(ready, 30, "moto_server")
    return Server("moto", proc, endpoint, "testing", "testing")


# --- resources ---------------------------------------------------------------

TASK_DEFINITION = dict(
    family="web",
    networkMode="awsvpc",
    requiresCompatibilities=["FARGATE"],
    cpu="256",
    memory="512",
    containerDefinitions=[{
        "name": "web",
        "image": "public.ecr.aws/nginx/nginx:1.25",
        "essential": True,
        # moto needs container-level cpu/memory to place a task; AWS accepts them.
        "cpu": 256,
        "memory": 512,
        "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
    }],
)


def network_for(server):
    ec2 = server.client("ec2")
    if server.name == "berth":
        subnets = ec2.describe_subnets()["Subnets"]
        groups = ec2.describe_security_groups()["SecurityGroups"]
        subnet = sorted(subnets, key=lambda s: s["AvailabilityZone"])[0]["SubnetId"]
        group = next(g["GroupId"] for g in groups if g["GroupName"] == "default")
        return subnet, group
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # moto's RunTask needs DNS hostnames on the VPC to build the task's ENI.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
    return subnet, group


def create_extra_tasks(ecs, network, count):
    """`count` RunTask tasks in a second cluster: state the measured calls
    should not have to look at."""
    ecs.create_cluster(clusterName="other")
    for left in range(count, 0, -10):
        run = ecs.run_task(cluster="other", taskDefinition="web", count=min(10, left), launchType="FARGATE",
                           networkConfiguration=network)
        if run["failures"]:
            raise RuntimeError(f"RunTask in cluster other failed: {run['failures']}")


def create_resources(server, extra_tasks=0):
    subnet, group = network_for(server)
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}}
    ecs = server.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(**TASK_DEFINITION)
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="web", desiredCount=3,
                       launchType="FARGATE", networkConfiguration=network)
    run = ecs.run_task(cluster=CLUSTER, taskDefinition="web", count=RUN_TASK_COUNT, launchType="FARGATE",
                       networkConfiguration=network)
    if run["failures"] or len(run["tasks"]) != RUN_TASK_COUNT:
        raise RuntimeError(f"{server.name}: RunTask failed: {run['failures']}")
    if extra_tasks:
        t0 = time.monotonic()
        create_extra_tasks(ecs, network, extra_tasks)
        log(f"{server.name}: {extra_tasks} tasks in cluster other in {time.monotonic() - t0:.1f}s")
    # Let a reconciler (if any) act on the service before measuring.
    time.sleep(1.5)
    tasks = ecs.list_tasks(cluster=CLUSTER)["taskArns"]
    service = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    return {"subnet": subnet, "security_group": group, "tasks_listed": len(tasks),
            "service_running": service.get("runningCount"), "service_desired": service.get("desiredCount")}


# --- one signed request --------------------------------------------------------

class SignedRequest:
    """One ECS JSON 1.1 call signed with SigV4; valid for 5 minutes."""

    def __init__(self, server, operation):
        self.operation = operation
        self.body = json.dumps(OPERATIONS[operation], separators=(",", ":"))
        self.host = f"127.0.0.1:{server.port}"
        request = AWSRequest(method="POST", url=server.endpoint + "/", data=self.body, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{ECS_TARGET}.{operation}",
        })
        SigV4Auth(Credentials(server.access_key, server.secret_key), "ecs", REGION).add_auth(request)
        self.headers = {"Host": self.host}
        self.headers.update({k: v for k, v in request.headers.items()})

    method = "POST"
    path = "/"

    def raw(self):
        lines = [f"{self.method} {self.path} HTTP/1.1"] + [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n" + self.body).encode()

    def send_once(self):
        """Sends the request over a fresh connection; returns (status, body)."""
        with socket.create_connection(("127.0.0.1", int(self.host.rsplit(":", 1)[1])), timeout=10) as s:
            s.sendall(self.raw())
            response = http.client.HTTPResponse(s)
            response.begin()
            return response.status, response.read()

    def wrk_script(self, path):
        # Lua long brackets: no escaping needed for the JSON body or headers.
        lines = [f'wrk.method = "{self.method}"', f'wrk.path = "{self.path}"']
        if self.body:
            lines.append(f"wrk.body = [==[{self.body}]==]")
        for k, v in self.headers.items():
            lines.append(f"wrk.headers[ [==[{k}]==] ] = [==[{v}]==]")
        lines.append("""
done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
""")
        with open(path, "w") as f:
            f.write("\n".join(lines))


class HealthRequest(SignedRequest):
    """GET /health: berthd's HTTP layer without the AWS one (no SigV4, no
    JSON, no control thread). A reference for how much of a call's cost is
    the HTTP server itself."""

    method = "GET"
    path = "/health"

    def __init__(self, server):
        self.operation = HEALTH
        self.body = ""
        self.host = f"127.0.0.1:{server.port}"
        self.headers = {"Host": self.host}


def check_response(server, req, expected):
    status, body = req.send_once()
    if status != 200:
        raise RuntimeError(f"{server.name} {req.operation}: HTTP {status}: {body[:300]!r}")
    doc = json.loads(body)
    if req.operation == HEALTH:
        ok = doc.get("status") == "ok"
    elif req.operation == "DescribeServices":
        ok = len(doc.get("services", [])) == 1 and not doc.get("failures")
    else:
        ok = len(doc.get("taskArns", [])) == expected["tasks_listed"]
    if not ok:
        raise RuntimeError(f"{server.name} {req.operation}: unexpected answer {body[:300]!r}")
    return len(body)


# --- wrk --------------------------------------------------------------------------

def run_wrk(args, server, req, script, seconds):
    cmd = [args.wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency",
           "-s", script, server.endpoint + "/"]
    cpu0, wrk0, busy0 = proc_cpu_seconds(server.proc.pid), children_cpu_seconds(), system_busy_seconds()
    threads0 = thread_cpu_seconds(server.proc.pid)
    wall0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    wall = time.monotonic() - wall0
    cpu = proc_cpu_seconds(server.proc.pid) - cpu0
    threads1 = thread_cpu_seconds(server.proc.pid)
    wrk_cpu = children_cpu_seconds() - wrk0
    busy = system_busy_seconds() - busy0
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err}")
    line = next((l for l in out.splitlines() if l.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}\n{err}")
    r = json.loads(line[len("WRK_JSON "):])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["server_cpu_cores"] = cpu / wall
    r["server_cpu_us_per_request"] = cpu * 1e6 / max(r["requests"], 1)
    # Per thread, in thread-id (creation) order; berthd's first thread is
    # the main one. Threads are unnamed, so which is which comes from
    # src/daemon/daemon.cc.
    r["server_thread_cpu_cores"] = [round((threads1[t] - threads0.get(t, 0)) / wall, 3) for t in sorted(threads1)]
    r["wrk_cpu_cores"] = wrk_cpu / wall
    # Everything else on the machine (other tenants, the hypervisor's steal).
    r["other_cpu_cores"] = max(0.0, (busy - cpu - wrk_cpu) / wall)
    r["non2xx"] = r["errors"]["status"]
    r["socket_errors"] = sum(v for k, v in r["errors"].items() if k != "status")
    r["command"] = " ".join(cmd)
    r["wrk_output"] = out
    return r


def bench_wrk(args, servers, resources, workdir):
    results = {}
    runs = [(op, server) for op in OPERATIONS for server in servers] + [(HEALTH, servers[0])]
    for operation, server in runs:
        results.setdefault(operation, {})
        req = HealthRequest(server) if operation == HEALTH else SignedRequest(server, operation)
        size = check_response(server, req, resources[server.name])
        script = os.path.join(workdir, f"{server.name}-{operation.split()[-1].strip('()')}.lua")
        req.wrk_script(script)
        log(f"wrk {operation} on {server.name}: warm-up {args.warmup}s, then {args.duration}s")
        run_wrk(args, server, req, script, args.warmup)
        r = run_wrk(args, server, req, script, args.duration)
        r["response_bytes"] = size
        # The same signed request must still be accepted after the run.
        status, _ = req.send_once()
        r["status_after"] = status
        log(f"  {r['rps']:.0f} req/s, p50 {r['latency_us']['p50'] / 1000:.3f} ms, "
            f"p99 {r['latency_us']['p99'] / 1000:.3f} ms, non-2xx {r['non2xx']}, "
            f"socket errors {r['socket_errors']}, server CPU {r['server_cpu_cores']:.2f} cores")
        results[operation][server.name] = r
    return results


# --- paced ------------------------------------------------------------------------

def run_paced(args, server, req, workdir):
    path = os.path.join(workdir, f"{server.name}-{req.operation}.http")
    with open(path, "wb") as f:
        f.write(req.raw())
    cmd = [args.paced_load, "--port", str(server.port), "--request", path, "--rate", str(args.rate),
           "--duration", str(args.paced_duration), "--warmup", str(args.paced_warmup),
           "--connections", str(args.paced_connections), "--drain-timeout", "10"]
    cpu0 = proc_cpu_seconds(server.proc.pid)
    wall0 = time.monotonic()
    with StallProbe() as probe:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - wall0
    cpu = proc_cpu_seconds(server.proc.pid) - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"paced_load failed: {proc.stderr}")
    r = json.loads(proc.stdout)
    r["server_cpu_cores"] = cpu / wall
    r["command"] = " ".join(cmd)
    r["stall_probe"] = probe.summary()
    # "Holds the rate": every intended request answered 2xx, at the rate.
    r["held_rate"] = (r["ok"] == r["intended"] and r["achieved_rate"] >= 0.98 * args.rate)
    return r


def bench_paced(args, servers, wrk_results):
    results = {}
    for operation in OPERATIONS:
        results[operation] = {}
        for server in servers:
            best = wrk_results[operation][server.name]["rps"]
            if server.name == "moto" and best < args.rate and not args.paced_moto:
                # wrk (32 connections, as fast as it answers) already shows it
                # cannot; a paced run would only measure a growing queue.
                log(f"paced {operation} on moto: skipped, wrk got {best:.0f} req/s < {args.rate:.0f} "
                    f"(--paced-moto runs it anyway)")
                results[operation][server.name] = {"skipped": True, "wrk_rps": best}
                continue
            req = SignedRequest(server, operation)
            log(f"paced {operation} on {server.name}: {args.rate:.0f} req/s, "
                f"{args.paced_warmup}s warm-up + {args.paced_duration}s")
            r = run_paced(args, server, req, args.workdir)
            lat = r["latency_ms"]
            log(f"  achieved {r['achieved_rate']:.1f} req/s, ok {r['ok']}/{r['intended']}, "
                f"p50 {lat['p50']} p99 {lat['p99']} max {lat['max']} ms; service p99 {r['service_ms']['p99']} ms; "
                f"idle probe: {r['stall_probe']['stalls_over_10ms']} stalls > 10 ms, "
                f"max {r['stall_probe']['max_ms']:.1f} ms")
            results[operation][server.name] = r
    return results


# --- start-up ----------------------------------------------------------------------

def time_startup(berthd, data_dir, log_path):
    """exec -> TCP accept and exec -> first 200 on /health, in ms."""
    port = free_port()
    argv = [berthd, "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--agent", "fake"]
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    actions = [(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(berthd, argv, os.environ, file_actions=actions)
    os.close(fd)
    accept_ms = health_ms = None
    deadline = t0 + 5
    try:
        while time.perf_counter() < deadline:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", port))
            except ConnectionRefusedError:
                s.close()
                time.sleep(0.0001)
                continue
            accept_ms = (time.perf_counter() - t0) * 1000
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            if data.startswith(b"HTTP/1.1 200"):
                health_ms = (time.perf_counter() - t0) * 1000
            break
        rss = proc_memory(pid)
    finally:
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    if accept_ms is None:
        raise RuntimeError(f"berthd never accepted on port {port}; see {log_path}")
    return {"accept_ms": accept_ms, "health_ms": health_ms, "rss_kb": rss.get("VmRSS"),
            "exit_status": os.waitstatus_to_exitcode(status)}


def bench_startup(args, existing_dir):
    runs = {"fresh": [], "existing": []}
    log_path = os.path.join(args.workdir, "startup.log")
    for i in range(args.startup_runs):
        fresh = os.path.join(args.workdir, f"fresh-{i}")
        runs["fresh"].append(time_startup(args.berthd, fresh, log_path))
        shutil.rmtree(fresh, ignore_errors=True)
        runs["existing"].append(time_startup(args.berthd, existing_dir, log_path))
    summary = {}
    for kind, rs in runs.items():
        accept = [r["accept_ms"] for r in rs]
        health = [r["health_ms"] for r in rs if r["health_ms"] is not None]
        summary[kind] = {
            "runs": len(rs),
            "accept_ms_median": statistics.median(accept),
            "accept_ms_min": min(accept),
            "accept_ms_max": max(accept),
            "health_ms_median": statistics.median(health) if health else None,
            "health_failures": len(rs) - len(health),
            "bad_exits": sum(1 for r in rs if r["exit_status"] != 0),
            "raw": rs,
        }
        log(f"start-up ({kind} data dir, {len(rs)} runs): exec->accept median "
            f"{summary[kind]['accept_ms_median']:.2f} ms (min {min(accept):.2f}, max {max(accept):.2f}); "
            f"exec->/health 200 median {summary[kind]['health_ms_median']:.2f} ms")
    return summary


# --- report ------------------------------------------------------------------------

def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "botocore": botocore.__version__,
        "wrk": wrk_version[0] if wrk_version else "",
    }


def fmt_ms(us):
    return f"{us / 1000:.2f}"


def fmt(v, digits=3):
    return "—" if v is None else f"{v:.{digits}f}"


def verdict(ok):
    return "met" if ok else "NOT met"


def ratio(res, op):
    w = res["wrk"][op]
    return w["berth"]["rps"] / w["moto"]["rps"] if "moto" in w else None


def report(res):
    args = argparse.Namespace(**res["args"])
    m = res["machine"]
    out = []
    out.append(f"Machine: {m['nproc']} CPUs, {m['cpu_model']}, Linux {m['kernel']}; {m['date']}; load average "
               f"{res['loadavg_before']} before the run; moto {res['moto_version']}, botocore {m['botocore']}, "
               f"{m['wrk']}.")
    if getattr(args, "extra_tasks", 0):
        out.append(f"With {args.extra_tasks} extra tasks in a second cluster on each server.")
    out.append("")
    out.append(f"Throughput: wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, one SigV4-signed "
               f"request replayed, after a {args.warmup}s warm-up. wrk and the server share the machine; "
               "\"other CPU\" is what the rest of the machine used meanwhile; berthd's threads are listed in "
               "creation order (main = HTTP I/O, then the control thread, then the second HTTP I/O thread, "
               "per src/daemon/daemon.cc).")
    out.append("")
    out.append("| operation | server | req/s | p50 ms | p99 ms | non-2xx | socket errors | response bytes | "
               "server CPU cores | per thread | server CPU µs/req | wrk CPU cores | other CPU cores |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for op, by_server in res["wrk"].items():
        for name, r in by_server.items():
            per_thread = " / ".join(f"{c:.2f}" for c in r["server_thread_cpu_cores"])
            out.append(f"| {op} | {name} | {r['rps']:,.0f} | {fmt_ms(r['latency_us']['p50'])} | "
                       f"{fmt_ms(r['latency_us']['p99'])} | {r['non2xx']} | {r['socket_errors']} | "
                       f"{r['response_bytes']} | {r['server_cpu_cores']:.2f} | "
                       f"{per_thread if name == 'berth' else '—'} | {r['server_cpu_us_per_request']:.0f} | "
                       f"{r['wrk_cpu_cores']:.2f} | {r['other_cpu_cores']:.2f} |")
        if ratio(res, op) is not None:
            out.append(f"| {op} | **berth/moto** | **{ratio(res, op):.1f}×** | | | | | | | | | | |")
    out.append("")
    out.append(f"Fixed rate: paced_load at {args.rate:.0f} req/s over {args.paced_connections} keep-alive connections, "
               f"{args.paced_duration}s measured after {args.paced_warmup}s; latency from each request's scheduled "
               "send time; \"service\" from its actual send. The idle probe is a thread sleeping 1 ms in a loop "
               "during the run: its stalls are the machine's, not the server's.")
    out.append("")
    out.append("| operation | server | achieved req/s | ok / intended | p50 ms | p90 ms | p99 ms | max ms | "
               "service p99 ms | held rate | idle probe: stalls > 10 ms, max ms |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for op, by_server in res["paced"].items():
        for name, r in by_server.items():
            if r.get("skipped"):
                out.append(f"| {op} | {name} | not run: wrk's best was {r['wrk_rps']:,.0f} req/s | | | | | | | no | |")
                continue
            lat = r["latency_ms"]
            probe = r["stall_probe"]
            out.append(f"| {op} | {name} | {r['achieved_rate']:,.0f} | {r['ok']} / {r['intended']} | "
                       f"{fmt(lat['p50'])} | {fmt(lat['p90'])} | {fmt(lat['p99'])} | {fmt(lat['max'])} | "
                       f"{fmt(r['service_ms']['p99'])} | {'yes' if r['held_rate'] else 'no'} | "
                       f"{probe['stalls_over_10ms']}, {probe['max_ms']:.1f} |")
    out.append("")
    s = res["startup"]
    out.append(f"Start-up: exec of berthd → a TCP connect to its port succeeds, and → the first 200 from GET /health "
               f"({args.startup_runs} runs each, interleaved).")
    out.append("")
    out.append("| data dir | exec→accept median ms | min | max | exec→/health median ms |")
    out.append("|---|---:|---:|---:|---:|")
    for kind in ("fresh", "existing"):
        k = s[kind]
        out.append(f"| {kind} | {k['accept_ms_median']:.2f} | {k['accept_ms_min']:.2f} | {k['accept_ms_max']:.2f} | "
                   f"{fmt(k['health_ms_median'], 2)} |")
    out.append("")
    out.append("| memory | VmRSS MB | RssAnon MB | RssFile MB | threads |")
    out.append("|---|---:|---:|---:|---:|")
    for label, key in (("berthd right after start (idle 0.5 s)", "after_start"),
                       ("berthd after the resources exist", "after_resources"), ("berthd after the load", "after_load")):
        mem = res["memory"]["berth"][key]
        out.append(f"| {label} | {mem['VmRSS'] / 1024:.1f} | {mem['RssAnon'] / 1024:.1f} | "
                   f"{mem['RssFile'] / 1024:.1f} | {mem['Threads']} |")
    if "moto" in res["memory"]:
        mem = res["memory"]["moto"]["after_resources"]
        out.append(f"| moto_server after the resources exist | {mem['VmRSS'] / 1024:.1f} | "
                   f"{mem['RssAnon'] / 1024:.1f} | {mem['RssFile'] / 1024:.1f} | {mem['Threads']} |")
    out.append("")
    out.append("| goal (issue 2) | measured | |")
    out.append("|---|---|---|")
    for name, value, ok in goals(res):
        out.append(f"| {name} | {value} | {verdict(ok)} |")
    return "\n".join(out)


def goals(res):
    """(goal, measured value as text, met?) for the goals of issue 2."""
    rate = res["args"]["rate"]
    out = []
    for op in OPERATIONS:
        rps = res["wrk"][op]["berth"]["rps"]
        out.append((f"≥ 20,000 req/s ({op})", f"{rps:,.0f} req/s", rps >= 20000))
    for op in OPERATIONS:
        r = res["paced"][op]["berth"]
        p99 = r["latency_ms"]["p99"]
        out.append((f"p99 < 2 ms at {rate:.0f} req/s ({op})", f"{fmt(p99)} ms",
                    p99 is not None and p99 < 2 and r["held_rate"]))
    for op in OPERATIONS:
        if ratio(res, op) is not None:
            out.append((f"≥ 40× moto ({op})", f"{ratio(res, op):.1f}×", ratio(res, op) >= 40))
    for label, key in (("after start", "after_start"), ("with the resources", "after_resources")):
        rss = res["memory"]["berth"][key]["VmRSS"] / 1024
        out.append((f"idle RSS ≤ 20 MB ({label})", f"{rss:.1f} MB", rss <= 20))
    for kind in ("fresh", "existing"):
        ms = res["startup"][kind]["accept_ms_median"]
        out.append((f"exec→accepting ≤ 50 ms ({kind} data dir)", f"{ms:.1f} ms", ms <= 50))
    return out


def sanity(res):
    """Problems that make numbers worthless or point at a bug."""
    problems = []
    for op, by_server in res["wrk"].items():
        for name, r in by_server.items():
            if r["non2xx"]:
                problems.append(f"wrk {op} on {name}: {r['non2xx']} non-2xx responses")
            if r["socket_errors"]:
                problems.append(f"wrk {op} on {name}: socket errors {r['errors']}")
            if r["status_after"] != 200:
                problems.append(f"{op} on {name}: HTTP {r['status_after']} after the run")
    for op, by_server in res["paced"].items():
        for name, r in by_server.items():
            if r.get("skipped"):
                continue
            if r["non2xx"] or r["io_errors"] or r["protocol_errors"]:
                problems.append(f"paced {op} on {name}: non-2xx {r['non2xx']}, io errors {r['io_errors']}, "
                                f"protocol errors {r['protocol_errors']}")
    for kind, k in res["startup"].items():
        if k["health_failures"] or k["bad_exits"]:
            problems.append(f"start-up ({kind}): {k['health_failures']} /health failures, {k['bad_exits']} bad exits")
    for name, code in res.get("server_exit", {}).items():
        if code != 0:
            problems.append(f"{name} exited with {code} on SIGTERM")
    return problems


def summarize(paths):
    """Median [min–max] of the headline numbers over several --json results."""
    runs = [json.load(open(p)) for p in paths]

    def metric(get):
        values = []
        for r in runs:
            try:
                v = get(r)
            except (KeyError, TypeError):
                v = None
            if v is not None:
                values.append(v)
        return values

    rows = []
    for op in OPERATIONS:
        for name in ("berth", "moto"):
            rows.append((f"{op} {name}: req/s (wrk)", metric(lambda r: r["wrk"][op][name]["rps"]), 0))
            rows.append((f"{op} {name}: p50 / p99 ms (wrk)",
                         (metric(lambda r: r["wrk"][op][name]["latency_us"]["p50"] / 1000),
                          metric(lambda r: r["wrk"][op][name]["latency_us"]["p99"] / 1000)), 2))
            rows.append((f"{op} {name}: server CPU µs/req (wrk)",
                         metric(lambda r: r["wrk"][op][name]["server_cpu_us_per_request"]), 0))
        rows.append((f"{op}: berth/moto (wrk req/s)", metric(lambda r: ratio(r, op)), 1))
    rows.append((f"{HEALTH} berth: req/s (wrk)", metric(lambda r: r["wrk"][HEALTH]["berth"]["rps"]), 0))
    rows.append((f"{HEALTH} berth: server CPU µs/req (wrk)",
                 metric(lambda r: r["wrk"][HEALTH]["berth"]["server_cpu_us_per_request"]), 0))
    for op in OPERATIONS:
        rows.append((f"{op} berth at 1,000 req/s: p50 / p99 ms",
                     (metric(lambda r: r["paced"][op]["berth"]["latency_ms"]["p50"]),
                      metric(lambda r: r["paced"][op]["berth"]["latency_ms"]["p99"])), 3))
        rows.append((f"{op} berth at 1,000 req/s: max ms", metric(lambda r: r["paced"][op]["berth"]["latency_ms"]["max"]), 1))
        rows.append((f"{op} berth at 1,000 req/s: service p99 ms",
                     metric(lambda r: r["paced"][op]["berth"]["service_ms"]["p99"]), 3))
        rows.append((f"{op}: idle probe stalls > 10 ms during that run",
                     metric(lambda r: r["paced"][op]["berth"]["stall_probe"]["stalls_over_10ms"]), 0))
    for kind in ("fresh", "existing"):
        rows.append((f"exec→accept ms, {kind} data dir (median of the run)",
                     metric(lambda r: r["startup"][kind]["accept_ms_median"]), 1))
    for key in ("after_start", "after_resources", "after_load"):
        rows.append((f"berthd VmRSS MB {key.replace('_', ' ')}",
                     metric(lambda r: r["memory"]["berth"][key]["VmRSS"] / 1024), 1))
    rows.append(("moto_server VmRSS MB after resources",
                 metric(lambda r: r["memory"]["moto"]["after_resources"]["VmRSS"] / 1024), 0))

    def cell(values, digits):
        if not values:
            return "—"
        med = statistics.median(values)
        return f"{med:,.{digits}f} [{min(values):,.{digits}f}–{max(values):,.{digits}f}]"

    out = [f"{len(runs)} runs: " + ", ".join(f"{r['machine']['date']} (load {r['loadavg_before']})" for r in runs), "",
           "| metric | median [min–max] over the runs |", "|---|---|"]
    for label, values, digits in rows:
        if isinstance(values, tuple):
            text = " / ".join(cell(v, digits) for v in values)
        else:
            text = cell(values, digits)
        out.append(f"| {label} | {text} |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--berthd")
    p.add_argument("--paced-load")
    p.add_argument("--summarize", nargs="+", metavar="JSON",
                   help="print median [min-max] of the headline numbers of earlier --json results, and exit")
    p.add_argument("--moto-server", default="/root/.pyenv/versions/3.11.7/bin/moto_server")
    p.add_argument("--wrk", default="wrk")
    p.add_argument("--no-moto", action="store_true", help="berth only")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--paced-duration", type=float, default=10)
    p.add_argument("--paced-warmup", type=float, default=2)
    p.add_argument("--paced-connections", type=int, default=4)
    p.add_argument("--paced-moto", action="store_true",
                   help="run the paced test on moto even when wrk showed it cannot take the rate")
    p.add_argument("--startup-runs", type=int, default=20)
    p.add_argument("--extra-tasks", type=int, default=0,
                   help="also run this many tasks in a second cluster before measuring (scaling check)")
    p.add_argument("--json", help="write all raw results here")
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, scripts, data dirs)")
    args = p.parse_args()
    if args.summarize:
        print(summarize(args.summarize))
        return 0
    if not args.berthd or not args.paced_load:
        p.error("--berthd and --paced-load are required")

    args.workdir = tempfile.mkdtemp(prefix="berth-api-bench-")
    log(f"work dir {args.workdir}")
    res = {"machine": machine(), "args": {k: v for k, v in vars(args).items()}, "loadavg_before": loadavg()}
    servers = []
    try:
        berth_dir = os.path.join(args.workdir, "berth-data")
        berth = start_berthd(args.berthd, berth_dir, os.path.join(args.workdir, "berthd.log"))
        servers.append(berth)
        time.sleep(0.5)
        res["memory"] = {"berth": {"after_start": proc_memory(berth.proc.pid)}}
        if not args.no_moto:
            moto = start_moto(args.moto_server, os.path.join(args.workdir, "moto.log"))
            servers.append(moto)
            res["moto_version"] = subprocess.run(
                [sys.executable, "-c", "import moto; print(moto.__version__)"],
                capture_output=True, text=True).stdout.strip()
        else:
            res["moto_version"] = "not run"
        resources = {}
        for server in servers:
            resources[server.name] = create_resources(server, args.extra_tasks)
            log(f"{server.name}: resources created: {resources[server.name]}")
        res["resources"] = resources
        time.sleep(0.5)
        res["memory"]["berth"]["after_resources"] = proc_memory(berth.proc.pid)
        if not args.no_moto:
            res["memory"]["moto"] = {"after_resources": proc_memory(servers[1].proc.pid)}

        res["wrk"] = bench_wrk(args, servers, resources, args.workdir)
        res["paced"] = bench_paced(args, servers, res["wrk"])
        res["memory"]["berth"]["after_load"] = proc_memory(berth.proc.pid)
        for server in servers:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} died during the run (exit {server.proc.returncode})")
    finally:
        codes = {s.name: s.stop() for s in servers}
        log(f"servers stopped: {codes}")
    res["server_exit"] = codes
    with open(os.path.join(args.workdir, "berthd.log"), errors="replace") as f:
        routine = ("listening on", "signal 15: stopping", "stopped")
        res["berthd_log_other"] = [line.rstrip() for line in f
                                   if line.strip() and not any(r in line for r in routine)]
    res["startup"] = bench_startup(args, berth_dir)

    text = report(res)
    problems = sanity(res)
    print(text)
    if res["berthd_log_other"]:
        print("\nberthd logged:")
        for line in res["berthd_log_other"][:50]:
            print(f"    {line}")
    if problems:
        print("\nPROBLEMS (these numbers are not valid as they stand):")
        for problem in problems:
            print(f"- {problem}")
    if args.json:
        for by_server in res["wrk"].values():
            for r in by_server.values():
                r.pop("wrk_output", None)
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
        log(f"raw results in {args.json}")
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
