#!/usr/bin/env python3
"""DNS benchmark (issue 7): dnsperf against berthd's DNS server and against
NSD serving an equivalent zone, side by side in one run, on 127.0.0.1.

1. berthd --agent fake (fresh data dir, --dns-listen 127.0.0.1:0,
   --dns-upstream off, --dns-threads 2) gets, through the Cloud Map API, a
   private DNS namespace dev.local with a MULTIVALUE service `backend`
   (A TTL 10, SRV TTL 10) and --instances (3) registered instances.
2. NSD (Debian's nsd; 2 server processes, reuseport, rrl-ratelimit: 0) serves
   a dev.local zone file with the same records: SOA, NS, ns1 A, backend A and
   SRV, <instance>.backend A.
3. One query file for both (--mix): backend A, backend SRV, an instance's A,
   a missing name (NXDOMAIN) and the apex SOA; every answer is checked once
   with dig on both servers before measuring.
4. Throughput: dnsperf -c 16 -T 2 -q 200 -l --seconds, by turns (berth, NSD,
   berth, ...) --reps times: q/s, lost queries, average latency, and the
   CPU seconds of the server over the run (/proc), also per query.
5. Latency: dnsperf at a fixed rate (--rate, -Q) with -v (one line per
   answer with its latency): p50/p99/p99.9 and lost queries, by turns.

Medians over the repetitions and the berth/NSD ratios are printed as
Markdown; --json keeps every raw number. Exits 1 on a wrong answer, lost
queries beyond 0.1 % in a throughput run, or a server that died.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def log(msg):
    print(f"[dns_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    # One port free for both UDP and TCP.
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()


def cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except FileNotFoundError:
            pass
    return total


def children(pid):
    out = [pid]
    try:
        for line in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split():
            out += children(int(line))
    except Exception:
        pass
    return out


class Berthd:
    def __init__(self, berthd, tmp, instances):
        self.data = os.path.join(tmp, "berth-data")
        os.makedirs(self.data)
        self.log_path = os.path.join(tmp, "berthd.log")
        self.proc = subprocess.Popen(
            [berthd, "--data-dir", self.data, "--listen", "127.0.0.1:0", "--agent", "fake", "--auth", "off",
             "--dns-listen", "127.0.0.1:0", "--dns-upstream", "off", "--dns-threads", "2"],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not (os.path.exists(os.path.join(self.data, "endpoint")) and
                   os.path.exists(os.path.join(self.data, "dns-endpoint"))):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"berthd did not start; see {self.log_path}")
            time.sleep(0.05)
        self.endpoint = open(os.path.join(self.data, "endpoint")).read().strip()
        self.port = int(open(os.path.join(self.data, "dns-endpoint")).read().strip().rsplit(":", 1)[1])
        self.populate(instances)

    def populate(self, instances):
        import boto3
        sd = boto3.client("servicediscovery", endpoint_url=self.endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        op = sd.create_private_dns_namespace(Name="dev.local", Vpc="vpc-bench")["OperationId"]
        deadline = time.monotonic() + 10
        while True:
            o = sd.get_operation(OperationId=op)["Operation"]
            if o["Status"] == "SUCCESS":
                ns = o["Targets"]["NAMESPACE"]
                break
            if o["Status"] == "FAIL" or time.monotonic() > deadline:
                raise RuntimeError(f"CreatePrivateDnsNamespace: {o}")
            time.sleep(0.05)
        svc = sd.create_service(Name="backend", NamespaceId=ns, DnsConfig={
            "RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 10}]})
        for i in range(instances):
            sd.register_instance(ServiceId=svc["Service"]["Id"], InstanceId=f"task{i}", Attributes={
                "AWS_INSTANCE_IPV4": f"172.31.0.{4 + i}", "AWS_INSTANCE_PORT": "8000"})

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Nsd:
    def __init__(self, tmp, instances):
        d = os.path.join(tmp, "nsd")
        os.makedirs(d)
        self.port = free_port()
        zone = [
            "$ORIGIN dev.local.",
            "$TTL 15",
            "@ 15 IN SOA ns1.dev.local. hostmaster.dev.local. 1 7200 900 1209600 86400",
            "@ 172800 IN NS ns1.dev.local.",
            "ns1 172800 IN A 127.0.0.1",
        ]
        for i in range(instances):
            zone.append(f"backend 10 IN A 172.31.0.{4 + i}")
            zone.append(f"backend 10 IN SRV 1 1 8000 task{i}.backend.dev.local.")
            zone.append(f"task{i}.backend 10 IN A 172.31.0.{4 + i}")
        with open(os.path.join(d, "dev.local.zone"), "w") as f:
            f.write("\n".join(zone) + "\n")
        conf = os.path.join(d, "nsd.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  ip-address: 127.0.0.1
  port: {self.port}
  server-count: 2
  reuseport: yes
  username: ""
  chroot: ""
  zonesdir: "{d}"
  database: ""
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  pidfile: "{d}/nsd.pid"
  logfile: "{d}/nsd.log"
  hide-version: yes
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: dev.local
  zonefile: dev.local.zone
""")
        subprocess.run(["nsd-checkconf", conf], check=True)
        self.proc = subprocess.Popen(["nsd", "-d", "-c", conf], stdout=open(os.path.join(d, "stdout"), "w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            out = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.port), "+short", "+time=1", "+tries=1",
                                  "dev.local", "SOA"], capture_output=True, text=True).stdout
            if "ns1.dev.local." in out:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nsd did not start; see {d}")
            time.sleep(0.1)

    def pids(self):
        return children(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


QUERIES = {
    "a": ("backend.dev.local", "A"),
    "srv": ("backend.dev.local", "SRV"),
    "instance": ("task0.backend.dev.local", "A"),
    "nxdomain": ("nope.dev.local", "A"),
    "soa": ("dev.local", "SOA"),
}


def write_queries(path, mix):
    lines = []
    for part in mix.split(","):
        kind, count = part.split(":")
        name, qtype = QUERIES[kind]
        lines += [f"{name} {qtype}"] * int(count)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def check_answers(port, instances):
    """The same answers from both servers (as sets; order is the server's)."""
    out = {}
    for kind, (name, qtype) in QUERIES.items():
        r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=2", "+tries=1", "+nocookie", name, qtype],
                           capture_output=True, text=True).stdout
        status = re.search(r"status: (\w+)", r)
        answers = sorted(" ".join(line.split()[3:]) for line in
                         r.split("ANSWER SECTION:")[1].split("\n\n")[0].strip().splitlines()) if "ANSWER SECTION:" in r else []
        # The SOA serial is each server's own.
        answers = [re.sub(r"^(SOA \S+ \S+) \d+", r"\1 SERIAL", a) for a in answers]
        out[kind] = (status.group(1) if status else None, answers)
    return out


def parse_dnsperf(text):
    def num(pattern, cast=float):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else None
    return {
        "sent": num(r"Queries sent:\s+(\d+)", int),
        "completed": num(r"Queries completed:\s+(\d+)", int),
        "lost": num(r"Queries lost:\s+(\d+)", int),
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "avg_latency_ms": (num(r"Average Latency \(s\):\s+([\d.]+)") or 0) * 1000,
    }


def throughput(server, qfile, seconds, clients, threads, outstanding):
    before = cpu_seconds(server.pids())
    t0 = time.monotonic()
    r = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(server.port), "-d", qfile, "-l", str(seconds),
                        "-c", str(clients), "-T", str(threads), "-q", str(outstanding)], capture_output=True, text=True)
    wall = time.monotonic() - t0
    res = parse_dnsperf(r.stdout)
    cpu = cpu_seconds(server.pids()) - before
    res["server_cpu_per_s"] = cpu / wall
    res["server_cpu_us_per_query"] = cpu / res["completed"] * 1e6 if res.get("completed") else None
    return res


def latency(server, qfile, seconds, rate, tmp):
    out_path = os.path.join(tmp, "dnsperf-v.txt")
    with open(out_path, "w") as out:
        subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(server.port), "-d", qfile, "-l", str(seconds),
                        "-c", "4", "-T", "1", "-Q", str(rate), "-v"], stdout=out, stderr=subprocess.DEVNULL)
    lat = []
    text = open(out_path).read()
    # -v lines: "> NOERROR backend.dev.local A 0.000123"
    for line in text.splitlines():
        if line.startswith(">"):
            parts = line.split()
            try:
                lat.append(float(parts[-1]) * 1000)
            except ValueError:
                pass
    res = parse_dnsperf(text)
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else None
    res.update({"answers": len(lat), "p50_ms": pct(50), "p99_ms": pct(99), "p999_ms": pct(99.9),
                "max_ms": lat[-1] if lat else None})
    return res


def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berthd", default=os.path.join(ROOT, "build", "bin", "berthd"))
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--mix", default="a:6,srv:2,instance:1,nxdomain:1",
                    help="query file: kind:count,... of " + ", ".join(QUERIES))
    ap.add_argument("--seconds", type=int, default=10, help="each throughput run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="dnsperf threads")
    ap.add_argument("--outstanding", type=int, default=200)
    ap.add_argument("--rate", type=int, default=50000, help="queries/s of the latency runs")
    ap.add_argument("--latency-seconds", type=int, default=5)
    ap.add_argument("--json", help="write every raw number here")
    args = ap.parse_args()
    for tool in ("dnsperf", "nsd", "dig"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"dns_bench: {tool} is not installed (scripts/install-deps.sh)")

    tmp = tempfile.mkdtemp(prefix="berth-dns-bench-")
    servers = {}
    problems = []
    res = {"args": vars(args), "machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()},
           "throughput": {"berth": [], "nsd": []}, "latency": {"berth": [], "nsd": []}}
    try:
        log("starting berthd and nsd")
        servers["berth"] = Berthd(args.berthd, tmp, args.instances)
        servers["nsd"] = Nsd(tmp, args.instances)
        qfile = os.path.join(tmp, "queries.txt")
        write_queries(qfile, args.mix)
        answers = {name: check_answers(s.port, args.instances) for name, s in servers.items()}
        res["answers"] = answers
        if answers["berth"] != answers["nsd"]:
            problems.append(f"different answers: berth {answers['berth']} nsd {answers['nsd']}")
        order = ["berth", "nsd"]
        for rep in range(args.reps):
            for name in (order if rep % 2 == 0 else order[::-1]):
                log(f"throughput {name} rep {rep + 1}/{args.reps}")
                r = throughput(servers[name], qfile, args.seconds, args.clients, args.threads, args.outstanding)
                res["throughput"][name].append(r)
                if not r["sent"] or (r["lost"] or 0) > 0.001 * r["sent"]:
                    problems.append(f"{name} throughput run {rep + 1}: {r}")
        for rep in range(args.reps):
            for name in (order if rep % 2 == 0 else order[::-1]):
                log(f"latency {name} at {args.rate} q/s rep {rep + 1}/{args.reps}")
                r = latency(servers[name], qfile, args.latency_seconds, args.rate, tmp)
                res["latency"][name].append(r)
        for name, s in servers.items():
            if s.proc.poll() is not None:
                problems.append(f"{name} died")
    finally:
        for s in servers.values():
            s.stop()
        res["machine"]["loadavg_after"] = os.getloadavg()
        shutil.rmtree(tmp, ignore_errors=True)

    t, lat = res["throughput"], res["latency"]
    bq, nq = med(t["berth"], "qps"), med(t["nsd"], "qps")
    print(f"### DNS: dnsperf against berthd and NSD ({args.reps} runs by turns, medians)\n")
    print(f"Query mix `{args.mix}` over {args.instances} instances; dnsperf -c {args.clients} -T {args.threads} -q "
          f"{args.outstanding} -l {args.seconds}; both servers 2 threads/processes, SO_REUSEPORT.\n")
    print("| | berth | NSD | berth/NSD |")
    print("|---|---:|---:|---:|")
    print(f"| queries/s (max) | {fmt(bq)} | {fmt(nq)} | {fmt(bq / nq if bq and nq else None, 2)} |")
    print(f"| avg latency at max (ms) | {fmt(med(t['berth'], 'avg_latency_ms'), 3)} | "
          f"{fmt(med(t['nsd'], 'avg_latency_ms'), 3)} | |")
    print(f"| server CPU at max (cores) | {fmt(med(t['berth'], 'server_cpu_per_s'), 2)} | "
          f"{fmt(med(t['nsd'], 'server_cpu_per_s'), 2)} | |")
    bc, nc = med(t["berth"], "server_cpu_us_per_query"), med(t["nsd"], "server_cpu_us_per_query")
    print(f"| server CPU per query (µs) | {fmt(bc, 2)} | {fmt(nc, 2)} | {fmt(bc / nc if bc and nc else None, 2)} |")
    print(f"| lost at max | {fmt(med(t['berth'], 'lost'))} | {fmt(med(t['nsd'], 'lost'))} | |")
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9")):
        b, n = med(lat["berth"], key), med(lat["nsd"], key)
        print(f"| {label} latency at {args.rate:,} q/s (ms) | {fmt(b, 3)} | {fmt(n, 3)} | "
              f"{fmt(b / n if b and n else None, 2)} |")
    print(f"| lost at {args.rate:,} q/s | {fmt(med(lat['berth'], 'lost'))} | {fmt(med(lat['nsd'], 'lost'))} | |")
    print(f"\nload average before/after: {res['machine']['loadavg_before']} / {res['machine']['loadavg_after']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    if problems:
        print("\nPROBLEMS (these numbers are not valid as they stand):")
        for p in problems:
            print(f"- {p}")
        sys.exit(1)


if __name__ == "__main__":
    main()
