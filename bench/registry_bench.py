#!/usr/bin/env python3
"""Registry and image benchmark of berthd (issue 3), with its references
measured side by side in the same run.

Driven by bench/registry.sh (see it and bench/README.md). In order:

1. Data (in a fresh temp dir): two gzip layers of one file each with
   200,000,000 random bytes (incompressible), each in its own OCI layout, and
   an "unpack" layer of ~200 MB uncompressed: a few thousand files of
   realistic sizes (text-like and binary content, directories, symlinks,
   hard links) plus some large files, gzip -6 as docker writes layers.
2. Transfer, --reps times, each repetition on a fresh berthd (fresh data
   dir, so no blob is already there and nothing is skipped):
   - berth push: curl streams layer A to a monolithic upload
     (POST /v2/<repo>/blobs/uploads?digest=..., body from the file with -T);
     201 with the right Docker-Content-Digest is checked;
   - berth pull: curl GET /v2/<repo>/blobs/<digest> into a file (and once
     more to /dev/null); the file's sha256 is checked;
   - skopeo copy oci:B → docker://127.0.0.1:PORT (push through a real
     client: POST, PATCH, PUT; plus config and manifest);
   - skopeo copy docker://127.0.0.1:PORT → dir: (pull through a real client);
   - skopeo copy oci:B → dir: (no registry at all: the issue's reference);
   - references for the floor: openssl dgst -sha256 of layer A and dd of it
     to a file with conv=fsync (berthd hashes and fsyncs every blob it
     commits).
   With --berthd-alt, a second berthd binary gets the same berth and skopeo
   transfers in the same repetitions (the order alternating): an A/B of a
   proposed change.
3. Manifest GET on a fresh berthd holding one image: wrk (-t2 -cN, warm-up,
   then measured) with the Basic Authorization and the Accept header, --reps
   times, with GET /health (no auth, no registry) in the same turns as the
   HTTP floor; then paced_load at a fixed rate (latency from the scheduled
   send time) with an idle 1 ms sleeper beside it to record machine stalls.
4. Unpack of the unpack layer, --reps times, berth (build/bin/unpack_layer,
   i.e. image/unpack.h's unpackLayer) and `tar -xzf` by turns (the order
   alternates), each into a fresh directory after a `sync` (untimed), with
   `gzip -dc > /dev/null` as the decompression floor. Trees are compared
   once (paths, types, sizes, modes, link targets) and the diffID checked;
   they are removed after the last repetition (see bench_unpack).
   --unpack-dir /dev/shm takes the disk out of it.

Every answer is checked; any failure raises and the script exits 1.
Only 127.0.0.1 is contacted. Everything is removed at the end (--keep keeps
the temp dir).
"""

import argparse
import base64
import datetime
import gzip
import hashlib
import http.client
import io
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_bench import (StallProbe, loadavg, proc_cpu_seconds, read_credentials,  # noqa: E402
                       system_busy_seconds, wait_for, run_checked, children_cpu_seconds, log_tail)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

REGION = "us-east-1"
REPO = "bench/layer"
LAYER_BYTES = 200_000_000
MB = 1e6
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def log(msg):
    print(f"[registry_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)






def timed(cmd, **kw):
    """(wall seconds, children CPU seconds, CompletedProcess) of a command."""
    c0, t0 = children_cpu_seconds(), time.perf_counter()
    p = run_checked(cmd, **kw)
    return time.perf_counter() - t0, children_cpu_seconds() - c0, p


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()




def median(xs):
    return statistics.median(xs) if xs else float("nan")


# --- data ------------------------------------------------------------------------

def tar_info(name, size=0, mode=0o644, kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.type, ti.linkname = size, mode, kind, link
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 1_700_000_000, 0, 0, "root", "root"
    return ti


def gzip_file(src, dst, level):
    with open(dst, "wb") as out:
        p = subprocess.run(["gzip", "-n", f"-{level}", "-c", src], stdout=out, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError(f"gzip {src}: {p.stderr.decode()}")


def make_random_layer(workdir, name):
    """A gzip layer holding one file of LAYER_BYTES random bytes, in an OCI
    layout of its own. Returns (layout dir, layer path, layer digest, diff_id)."""
    tar_path = os.path.join(workdir, f"{name}.tar")
    with open(tar_path, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
        class Random:  # LAYER_BYTES from /dev/urandom, read as tarfile asks
            left = LAYER_BYTES

            def read(self, n=-1):
                n = self.left if n < 0 else min(n, self.left)
                self.left -= n
                return os.urandom(n)

        tar.addfile(tar_info("data/random.bin", LAYER_BYTES), Random())
    diff_id = sha256_file(tar_path)
    layer_path = os.path.join(workdir, f"{name}.tar.gz")
    gzip_file(tar_path, layer_path, 1)
    os.unlink(tar_path)
    digest = sha256_file(layer_path)
    layout = os.path.join(workdir, f"{name}-oci")
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs)
    size = os.path.getsize(layer_path)
    os.link(layer_path, os.path.join(blobs, digest[7:]))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                   "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": digest, "size": size}],
    }).encode()
    for blob in (config, manifest):
        with open(os.path.join(blobs, hashlib.sha256(blob).hexdigest()), "wb") as f:
            f.write(blob)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, f)
    return {"layout": layout, "path": layer_path, "digest": digest, "diff_id": diff_id, "size": size}


WORDS = ("the of and to in is for on that with as by this be are from at or an it not which have "
         "function return const static int void char struct include define if else while for "
         "value error result string buffer size data path file name type index node module "
         "require export import class public private self none true false null len get set").split()


def make_unpack_layer(workdir, seed, target_bytes):
    """A layer like a language runtime image: ~3,000 small files, a few
    hundred medium ones, a few large binaries filling up to `target_bytes` of
    file content, directories several levels deep, symlinks and hard links.
    Text-like files compress ~3-4x, binary ones not at all. Returns a dict."""
    rng = random.Random(seed)
    # Text: a 4 MiB corpus of words and code-like lines; files take slices.
    lines, total = [], 0
    while total < 4 << 20:
        n = rng.randint(3, 14)
        lines.append(" " * (4 * rng.randint(0, 3)) + " ".join(rng.choice(WORDS) for _ in range(n)) + "\n")
        total += len(lines[-1])
    corpus = "".join(lines).encode()

    def content(size, binary):
        if binary:
            return rng.randbytes(size)
        off = rng.randrange(0, len(corpus) - 1)
        out = bytearray()
        while len(out) < size:
            take = min(size - len(out), len(corpus) - off)
            out += corpus[off:off + take]
            off = 0
        return bytes(out)

    dirs = ["usr", "usr/lib", "usr/share", "usr/bin", "etc", "opt/app"]
    for top in ("usr/lib/python3/site-packages", "usr/share/doc", "opt/app/node_modules", "usr/include"):
        dirs.append(top)
        for i in range(rng.randint(25, 45)):
            d = f"{top}/pkg{i:03d}"
            dirs.append(d)
            for j in range(rng.randint(0, 3)):
                dirs.append(f"{d}/sub{j}")
    files = []  # (path, size, binary, mode)
    for i in range(3000):  # small: median ~3 KB, up to 256 KB
        size = min(int(rng.lognormvariate(8.0, 1.3)), 256 << 10)
        binary = rng.random() < 0.3
        files.append((f"{rng.choice(dirs)}/f{i:04d}{'.so' if binary else '.txt'}", size, binary,
                      0o755 if rng.random() < 0.1 else 0o644))
    for i in range(300):  # medium: 64 KB - 1 MB
        size = int(64 * 1024 * (16 ** rng.random()))
        binary = rng.random() < 0.6
        files.append((f"{rng.choice(dirs)}/m{i:03d}{'.bin' if binary else '.js'}", size, binary, 0o644))
    left = target_bytes - sum(f[1] for f in files)
    if left < 5 << 20:
        raise RuntimeError(f"--unpack-mb is too small: the small and medium files alone hold "
                           f"{sum(f[1] for f in files) / MB:.0f} MB")
    big = []
    for i in range(5):  # large: what remains, in 5 files of unequal size
        big.append(left // 15 * (i + 1) if i < 4 else left - sum(big))
    for i, size in enumerate(big):
        files.append((f"usr/lib/big{i}.so", size, i % 2 == 0, 0o755))
    tar_path = os.path.join(workdir, "unpack.tar")
    with open(tar_path, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(set(dirs) | {os.path.dirname(p) for p, *_ in files} | {"opt", "usr/lib/python3"}):
            tar.addfile(tar_info(d + "/", mode=0o755, kind=tarfile.DIRTYPE))
        for path, size, binary, mode in files:
            tar.addfile(tar_info(path, size, mode), io.BytesIO(content(size, binary)))
        for i in range(60):
            target, *_ = files[rng.randrange(len(files))]
            tar.addfile(tar_info(f"usr/bin/link{i:02d}", kind=tarfile.SYMTYPE, mode=0o777,
                                 link="../../" + target))
        for i in range(20):
            target, *_ = files[rng.randrange(3000)]
            tar.addfile(tar_info(f"usr/bin/hard{i:02d}", kind=tarfile.LNKTYPE, link=target))
    diff_id = sha256_file(tar_path)
    tar_bytes = os.path.getsize(tar_path)
    layer = os.path.join(workdir, "unpack.tar.gz")
    gzip_file(tar_path, layer, 6)
    os.unlink(tar_path)
    return {"path": layer, "diff_id": diff_id, "tar_bytes": tar_bytes, "size": os.path.getsize(layer),
            "file_bytes": sum(f[1] for f in files), "files": len(files), "dirs": len(set(dirs)),
            "symlinks": 60, "hardlinks": 20}


# --- berthd ------------------------------------------------------------------------

class Berthd:
    def __init__(self, binary, data_dir, log_path, io_threads):
        self.data_dir = data_dir
        os.makedirs(data_dir)
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([binary, "--data-dir", data_dir, "--listen", "127.0.0.1:0", "--agent", "fake",
                                      "--io-threads", str(io_threads)],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self._connect(data_dir, log_path)
        except BaseException:
            self.stop()
            raise

    def _connect(self, data_dir, log_path):
        endpoint_file = os.path.join(data_dir, "endpoint")

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"berthd exited with {self.proc.returncode}; its log:\n{log_tail(log_path)}")
            try:
                with open(endpoint_file) as f:
                    return f.read().strip() or None
            except FileNotFoundError:
                return None

        self.endpoint = wait_for(ready, 10, "berthd endpoint file")
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        self.host = f"127.0.0.1:{self.port}"
        ak, sk = read_credentials(os.path.join(data_dir, "credentials"))
        ecr = boto3.client("ecr", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ak,
                           aws_secret_access_key=sk, config=Config(retries={"max_attempts": 1}))
        ecr.create_repository(repositoryName=REPO)
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, self.password = base64.b64decode(token).decode().split(":", 1)
        if user != "AWS":
            raise RuntimeError(f"GetAuthorizationToken user {user!r}")
        self.authorization = "Basic " + token

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers={"Authorization": self.authorization, **(headers or {})})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def cpu(self):
        return proc_cpu_seconds(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


# --- 1. transfer ---------------------------------------------------------------------

def skopeo_env(home):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}


def curl_push(args, b, layer):
    url = f"http://{b.host}/v2/{REPO}/blobs/uploads?digest={layer['digest']}"  # no trailing "/": curl -T would append the file name
    cmd = [args.curl, "-sS", "--fail-with-body", "-X", "POST", "-T", layer["path"], "-H", "Expect:",
           "-H", "Content-Type: application/octet-stream", "-H", f"Authorization: {b.authorization}",
           "-D", "-", "-o", "/dev/null", "-w", "CURL %{http_code} %{size_upload} %{time_total}\\n", url]
    cpu0 = b.cpu()
    wall, cli_cpu, p = timed(cmd)
    cpu = b.cpu() - cpu0
    code, up, total = p.stdout.strip().splitlines()[-1].split()[1:]
    headers = p.stdout.lower()
    if code != "201" or int(up) != layer["size"] or f"docker-content-digest: {layer['digest']}" not in headers:
        raise RuntimeError(f"push: HTTP {code}, {up} bytes sent:\n{p.stdout}")
    return {"seconds": float(total), "wall": wall, "server_cpu": cpu, "client_cpu": cli_cpu,
            "mb_s": layer["size"] / float(total) / MB}


def curl_pull(args, b, layer, out):
    url = f"http://{b.host}/v2/{REPO}/blobs/{layer['digest']}"
    cmd = [args.curl, "-sS", "--fail-with-body", "-H", f"Authorization: {b.authorization}", "-o", out,
           "-w", "CURL %{http_code} %{size_download} %{time_total}\\n", url]
    cpu0 = b.cpu()
    wall, cli_cpu, p = timed(cmd)
    cpu = b.cpu() - cpu0
    code, down, total = p.stdout.strip().split()[1:]
    if code != "200" or int(down) != layer["size"]:
        raise RuntimeError(f"pull: HTTP {code}, {down} bytes:\n{p.stdout}")
    return {"seconds": float(total), "wall": wall, "server_cpu": cpu, "client_cpu": cli_cpu,
            "mb_s": layer["size"] / float(total) / MB}


def transfer_berthd(args, binary, d, layer_a, layer_b, prefix):
    """The registry transfers against one fresh berthd (`binary`), into `r`
    under keys starting with `prefix`."""
    r = {}
    b = Berthd(binary, os.path.join(d, "data"), os.path.join(d, "berthd.log"), args.io_threads)
    try:
        os.sync()
        r[prefix + "push"] = curl_push(args, b, layer_a)
        pulled = os.path.join(d, "pulled.blob")
        r[prefix + "pull"] = curl_pull(args, b, layer_a, pulled)
        if sha256_file(pulled) != layer_a["digest"]:
            raise RuntimeError("pull: the pulled blob has the wrong digest")
        os.unlink(pulled)
        r[prefix + "pull_devnull"] = curl_pull(args, b, layer_a, "/dev/null")
        env = skopeo_env(d)
        creds = f"AWS:{b.password}"
        ref = f"docker://{b.host}/{REPO}:v1"
        os.sync()
        cpu0 = b.cpu()
        wall, cli, _ = timed([args.skopeo, "copy", "-q", "--dest-tls-verify=false", "--dest-creds", creds,
                              f"oci:{layer_b['layout']}:v1", ref], env=env)
        r[prefix + "skopeo_push"] = {"seconds": wall, "client_cpu": cli, "server_cpu": b.cpu() - cpu0,
                                     "mb_s": layer_b["size"] / wall / MB}
        st, h, _ = b.request("HEAD", f"/v2/{REPO}/blobs/{layer_b['digest']}")
        if st != 200 or int(h.get("content-length", -1)) != layer_b["size"]:
            raise RuntimeError(f"after skopeo push: HEAD blob {st} {h}")
        out = os.path.join(d, "skopeo-pull")
        cpu0 = b.cpu()
        wall, cli, _ = timed([args.skopeo, "copy", "-q", "--src-tls-verify=false", "--src-creds", creds,
                              ref, f"dir:{out}"], env=env)
        r[prefix + "skopeo_pull"] = {"seconds": wall, "client_cpu": cli, "server_cpu": b.cpu() - cpu0,
                                     "mb_s": layer_b["size"] / wall / MB}
        if sha256_file(os.path.join(out, layer_b["digest"][7:])) != layer_b["digest"]:
            raise RuntimeError("skopeo pull: wrong layer digest")
        shutil.rmtree(out)
    finally:
        rc = b.stop()
    if rc not in (0, -signal.SIGTERM):
        raise RuntimeError(f"berthd exited with {rc}; its log:\n{log_tail(os.path.join(d, 'berthd.log'))}")
    shutil.rmtree(os.path.join(d, "data"))
    return r


def bench_transfer(args, work, layer_a, layer_b):
    reps = []
    for i in range(args.reps):
        d = os.path.join(work, f"xfer{i}")
        os.makedirs(d)
        r = {"load": loadavg()}
        turns = [(args.berthd, "berth_")]
        if args.berthd_alt:  # by turns, the order alternating between repetitions
            turns.insert(i % 2, (args.berthd_alt, "alt_berth_"))
        for binary, prefix in turns:
            r.update(transfer_berthd(args, binary, d, layer_a, layer_b, prefix))
        env = skopeo_env(d)
        out = os.path.join(d, "skopeo-local")
        os.sync()
        wall, cli, _ = timed([args.skopeo, "copy", "-q", f"oci:{layer_b['layout']}:v1", f"dir:{out}"], env=env)
        r["skopeo_local"] = {"seconds": wall, "client_cpu": cli, "mb_s": layer_b["size"] / wall / MB}
        if os.path.getsize(os.path.join(out, layer_b["digest"][7:])) != layer_b["size"]:
            raise RuntimeError("skopeo oci->dir: wrong layer size")
        shutil.rmtree(out)
        # OpenSSL's SHA-256 (SHA-NI where the CPU has it), as berthd uses;
        # coreutils' sha256sum is several times slower on the same CPU.
        wall, _, p = timed(["openssl", "dgst", "-sha256", "-r", layer_a["path"]])
        if p.stdout.split()[0] != layer_a["digest"][7:]:
            raise RuntimeError("openssl dgst disagrees with the layer digest")
        r["sha256"] = {"seconds": wall, "mb_s": layer_a["size"] / wall / MB}
        os.sync()
        wall, _, _ = timed(["dd", f"if={layer_a['path']}", f"of={os.path.join(d, 'dd.out')}", "bs=1M",
                            "conv=fsync", "status=none"])
        r["dd_fsync"] = {"seconds": wall, "mb_s": layer_a["size"] / wall / MB}
        shutil.rmtree(d)
        alt = ""
        if args.berthd_alt:
            alt = (f" | alt: push {r['alt_berth_push']['mb_s']:.0f}, pull {r['alt_berth_pull']['mb_s']:.0f}, "
                   f"skopeo push {r['alt_berth_skopeo_push']['mb_s']:.0f}")
        log(f"transfer {i + 1}/{args.reps}: berth push {r['berth_push']['mb_s']:.0f} MB/s, "
            f"pull {r['berth_pull']['mb_s']:.0f} MB/s (/dev/null {r['berth_pull_devnull']['mb_s']:.0f}); "
            f"skopeo push {r['berth_skopeo_push']['mb_s']:.0f}, pull {r['berth_skopeo_pull']['mb_s']:.0f}, "
            f"oci->dir {r['skopeo_local']['mb_s']:.0f}; openssl sha256 {r['sha256']['mb_s']:.0f}, "
            f"dd fsync {r['dd_fsync']['mb_s']:.0f} MB/s (load {r['load']}){alt}")
        reps.append(r)
    return reps


# --- 2. manifest GET ------------------------------------------------------------------

WRK_DONE = """
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
"""


def wrk_script(path, url_path, headers):
    lines = ['wrk.method = "GET"', f'wrk.path = "{url_path}"']
    for k, v in headers.items():
        lines.append(f"wrk.headers[ [==[{k}]==] ] = [==[{v}]==]")
    with open(path, "w") as f:
        f.write("\n".join(lines) + WRK_DONE)


def run_wrk(args, b, script, seconds):
    cmd = [args.wrk, f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency", "-s", script,
           b.endpoint + "/"]
    cpu0, busy0, w0 = b.cpu(), system_busy_seconds(), children_cpu_seconds()
    t0 = time.monotonic()
    p = run_checked(cmd)
    wall = time.monotonic() - t0
    cpu, busy, wrk_cpu = b.cpu() - cpu0, system_busy_seconds() - busy0, children_cpu_seconds() - w0
    line = next((l for l in p.stdout.splitlines() if l.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{p.stdout}\n{p.stderr}")
    r = json.loads(line[len("WRK_JSON "):])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["server_cpu_cores"] = cpu / wall
    r["server_cpu_us_per_request"] = cpu * 1e6 / max(r["requests"], 1)
    r["wrk_cpu_cores"] = wrk_cpu / wall
    r["other_cpu_cores"] = max(0.0, (busy - cpu - wrk_cpu) / wall)
    r["non2xx"] = r["errors"]["status"]
    r["socket_errors"] = sum(v for k, v in r["errors"].items() if k != "status")
    r["command"] = " ".join(cmd)
    if r["non2xx"] or r["socket_errors"]:
        raise RuntimeError(f"wrk {script}: {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
    return r


def push_small_image(b):
    """config + one small layer + an OCI manifest, pushed with plain HTTP.
    Returns (manifest bytes, digest)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b"hello from the manifest benchmark\n" * 100
        tar.addfile(tar_info("hello.txt", len(data)), io.BytesIO(data))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/hello"]},
                         "rootfs": {"type": "layers",
                                    "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]}}).encode()
    for blob in (config, layer):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        st, _, body = b.request("POST", f"/v2/{REPO}/blobs/uploads/?digest={digest}", body=blob,
                                headers={"Content-Type": "application/octet-stream"})
        if st != 201:
            raise RuntimeError(f"blob upload: {st} {body[:300]!r}")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                   "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                    "size": len(layer)}],
    }, indent=3).encode()
    st, h, body = b.request("PUT", f"/v2/{REPO}/manifests/v1", body=manifest, headers={"Content-Type": OCI_MANIFEST})
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    if st != 201 or h.get("docker-content-digest") != digest:
        raise RuntimeError(f"manifest PUT: {st} {h} {body[:300]!r}")
    return manifest, digest


def bench_manifest(args, work):
    d = os.path.join(work, "manifest")
    os.makedirs(d)
    b = Berthd(args.berthd, os.path.join(d, "data"), os.path.join(d, "berthd.log"), args.io_threads)
    try:
        manifest, digest = push_small_image(b)
        path = f"/v2/{REPO}/manifests/v1"
        headers = {"Host": b.host, "Authorization": b.authorization,
                   "Accept": f"{OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json, "
                             "application/vnd.oci.image.index.v1+json"}
        st, h, body = b.request("GET", path, headers={"Accept": headers["Accept"]})
        if st != 200 or body != manifest or h.get("docker-content-digest") != digest \
                or h.get("content-type") != OCI_MANIFEST:
            raise RuntimeError(f"manifest GET: {st} {h} {body[:200]!r}")
        st, _, _ = b.request("GET", path, headers={"Authorization": "Basic " + base64.b64encode(b"AWS:bad").decode()})
        if st != 401:
            raise RuntimeError(f"manifest GET with a bad password answered {st}, not 401")
        scripts = {"manifest": os.path.join(d, "manifest.lua"), "health": os.path.join(d, "health.lua")}
        wrk_script(scripts["manifest"], path, headers)
        wrk_script(scripts["health"], "/health", {"Host": b.host})
        out = {"manifest_bytes": len(manifest), "wrk": {"manifest": [], "health": []}}
        for i in range(args.reps):
            for name in ("manifest", "health"):
                run_wrk(args, b, scripts[name], args.warmup)
                r = run_wrk(args, b, scripts[name], args.duration)
                r["load"] = loadavg()
                out["wrk"][name].append(r)
                log(f"wrk {name} {i + 1}/{args.reps}: {r['rps']:.0f} req/s, p50 {r['latency_us']['p50'] / 1000:.3f} ms,"
                    f" p99 {r['latency_us']['p99'] / 1000:.3f} ms, berthd {r['server_cpu_cores']:.2f} CPUs, "
                    f"{r['server_cpu_us_per_request']:.0f} us/req (load {r['load']})")
        if args.paced_load:
            req = os.path.join(d, "manifest.http")
            with open(req, "wb") as f:
                f.write((f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) +
                         "\r\n").encode())
            out["paced"] = []
            for i in range(args.reps):
                cmd = [args.paced_load, "--port", str(b.port), "--request", req, "--rate", str(args.rate),
                       "--duration", str(args.paced_duration), "--warmup", "2", "--connections", "4",
                       "--drain-timeout", "10"]
                with StallProbe() as probe:
                    p = run_checked(cmd)
                r = json.loads(p.stdout)
                r["stall_probe"] = probe.summary()
                r["command"] = " ".join(cmd)
                if r["ok"] != r["intended"]:
                    raise RuntimeError(f"paced_load: {r['ok']} of {r['intended']} answered 2xx: {p.stdout}")
                out["paced"].append(r)
                log(f"paced {args.rate}/s {i + 1}/{args.reps}: p50 {r['latency_ms']['p50']:.3f} ms, "
                    f"p99 {r['latency_ms']['p99']:.3f} ms, max {r['latency_ms']['max']:.1f} ms, "
                    f"idle-probe stalls>10ms {r['stall_probe'].get('stalls_over_10ms')}")
        st, _, body = b.request("GET", path, headers={"Accept": headers["Accept"]})
        if st != 200 or body != manifest:
            raise RuntimeError(f"manifest GET after the load: {st}")
    finally:
        rc = b.stop()
    if rc not in (0, -signal.SIGTERM):
        raise RuntimeError(f"berthd exited with {rc}; its log:\n{log_tail(os.path.join(d, 'berthd.log'))}")
    shutil.rmtree(d)
    return out


# --- 3. unpack ------------------------------------------------------------------------

def tree(root):
    """{relative path: (type, size, mode, link target)} of a directory."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = ("l", 0, 0, os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("d", 0, st.st_mode & 0o7777, "")
            else:
                out[rel] = ("f", st.st_size, st.st_mode & 0o7777, st.st_nlink)
    return out


def bench_unpack(args, work, layer):
    # Trees are removed only after the last repetition: on ext4, creating
    # files right after thousands were deleted makes the inode allocator skip
    # the "recently deleted" inodes (recently_deleted(), find_inode_bit() in
    # perf), which slowed some runs several-fold.
    if args.unpack_dir:
        work = tempfile.mkdtemp(prefix="berth-unpack-bench-", dir=args.unpack_dir)
    try:
        return unpack_reps(args, work, layer)
    finally:
        for name in os.listdir(work):
            if name.startswith("unpack-berth") or name.startswith("unpack-tar"):
                shutil.rmtree(os.path.join(work, name), ignore_errors=True)
        if args.unpack_dir:
            shutil.rmtree(work, ignore_errors=True)


def unpack_reps(args, work, layer):
    reps = []
    for i in range(args.reps):
        r = {"load": loadavg()}
        berth_dir, tar_dir = os.path.join(work, f"unpack-berth{i}"), os.path.join(work, f"unpack-tar{i}")
        order = ["berth", "tar"] if i % 2 == 0 else ["tar", "berth"]
        for who in order:
            os.sync()
            if who == "berth":
                wall, cpu, p = timed([args.unpack_layer, "--layer", layer["path"], "--dest", berth_dir])
                u = json.loads(p.stdout)
                if u["diff_id"] != layer["diff_id"] or u["uncompressed_bytes"] != layer["tar_bytes"]:
                    raise RuntimeError(f"unpack_layer: diffID/size mismatch: {u}")
                r["berth"] = {"seconds": u["seconds"], "wall": wall, "cpu": u["cpu_seconds"],
                              "mb_s": layer["tar_bytes"] / u["seconds"] / MB, "entries": u["entries"]}
            else:
                os.makedirs(tar_dir)
                wall, cpu, _ = timed(["tar", "-xzf", layer["path"], "-C", tar_dir])
                r["tar"] = {"seconds": wall, "cpu": cpu, "mb_s": layer["tar_bytes"] / wall / MB}
        if i == 0:
            a, t = tree(berth_dir), tree(tar_dir)
            if a != t:
                diff = sorted(set(a.items()) ^ set(t.items()))[:10]
                raise RuntimeError(f"berth and tar unpacked different trees, e.g. {diff}")
            r["tree_entries"] = len(a)
        os.sync()
        wall, cpu, _ = timed(["sh", "-c", f"gzip -dc '{layer['path']}' > /dev/null"])
        r["gunzip"] = {"seconds": wall, "cpu": cpu, "mb_s": layer["tar_bytes"] / wall / MB}
        log(f"unpack {i + 1}/{args.reps}: berth {r['berth']['mb_s']:.0f} MB/s ({r['berth']['seconds']:.2f} s), "
            f"tar -xzf {r['tar']['mb_s']:.0f} MB/s ({r['tar']['seconds']:.2f} s, {r['tar']['cpu']:.2f} s CPU), "
            f"gzip -dc {r['gunzip']['mb_s']:.0f} MB/s (load {r['load']})")
        reps.append(r)
    return reps


# --- report -------------------------------------------------------------------------

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return {"nproc": os.cpu_count(), "cpu": model, "mem_mb": mem, "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def fmt_range(xs, f="{:.0f}"):
    return f"{f.format(median(xs))} [{f.format(min(xs))}–{f.format(max(xs))}]"


def report(res):
    out = []
    m = res["machine"]
    out.append(f"# berthd registry and images (issue 3): {m['date']}, {m['nproc']} CPUs ({m['cpu']}), "
               f"{m['mem_mb']} MB, Linux {m['kernel']}; load at start {res['load_start']}, at end {res['load_end']}")
    out.append(f"median [min–max] of {res['args']['reps']} repetitions; MB = 10^6 bytes\n")
    if "transfer" in res:
        t, la = res["transfer"], res["layers"]["a"]
        out.append(f"## Transfer of a {la['size'] / MB:.1f} MB gzip layer (random content) over loopback\n")
        out.append("| | MB/s | seconds | berthd CPU s | client CPU s |")
        out.append("|---|---|---|---|---|")
        berth_rows = [("push (curl -T, monolithic POST ?digest=)", "push"),
                      ("pull (curl GET → file)", "pull"),
                      ("pull (curl GET → /dev/null)", "pull_devnull"),
                      ("skopeo copy oci: → docker://berthd (push)", "skopeo_push"),
                      ("skopeo copy docker://berthd → dir: (pull)", "skopeo_pull")]
        rows = [(f"berth {label}", "berth_" + key) for label, key in berth_rows]
        if res["args"].get("berthd_alt"):
            rows += [(f"{res['args']['alt_label']}: {label}", "alt_berth_" + key) for label, key in berth_rows]
        rows += [("skopeo copy oci: → dir: (no registry; reference)", "skopeo_local"),
                ("openssl dgst -sha256 of the layer (floor: hashing)", "sha256"),
                ("dd of the layer to a file, conv=fsync (floor: disk)", "dd_fsync")]
        for label, key in rows:
            def col(k, f="{:.2f}"):
                xs = [r[key][k] for r in t if k in r[key]]
                return fmt_range(xs, f) if xs else "—"
            out.append(f"| {label} | {col('mb_s', '{:.0f}')} | {col('seconds')} | {col('server_cpu')} | "
                       f"{col('client_cpu')} |")
        pairs = [("berth_push", "skopeo_local"), ("berth_pull", "skopeo_local"),
                 ("berth_push", "berth_skopeo_push"), ("berth_pull", "berth_skopeo_pull")]
        if res["args"].get("berthd_alt"):
            pairs += [("alt_berth_push", "berth_push"), ("alt_berth_skopeo_push", "berth_skopeo_push")]
        names = {"berth_push": "berth push", "berth_pull": "berth pull", "skopeo_local": "skopeo oci: → dir:",
                 "berth_skopeo_push": "skopeo push to berthd", "berth_skopeo_pull": "skopeo pull from berthd",
                 "alt_berth_push": f"{res['args'].get('alt_label')} push",
                 "alt_berth_skopeo_push": f"skopeo push to {res['args'].get('alt_label')}"}
        out.append("")
        for a, b_ in pairs:
            ratios = [r[a]["mb_s"] / r[b_]["mb_s"] for r in t]
            out.append(f"- {names[a]} / {names[b_]}: {fmt_range(ratios, '{:.2f}')}×")
        out.append("")
    if "manifest" in res:
        mres = res["manifest"]
        out.append(f"## Manifest GET ({mres['manifest_bytes']} bytes, Basic auth, Accept) — wrk "
                   f"-t{res['args']['wrk_threads']} -c{res['args']['connections']} -d{res['args']['duration']}s\n")
        out.append("| | req/s | p50 ms | p99 ms | berthd CPUs | berthd µs/req | wrk CPUs | other CPUs |")
        out.append("|---|---|---|---|---|---|---|---|")
        for name, label in (("manifest", "GET /v2/bench/layer/manifests/v1"), ("health", "GET /health (HTTP floor)")):
            rs = mres["wrk"][name]
            out.append(f"| {label} | {fmt_range([r['rps'] for r in rs])} | "
                       f"{fmt_range([r['latency_us']['p50'] / 1000 for r in rs], '{:.3f}')} | "
                       f"{fmt_range([r['latency_us']['p99'] / 1000 for r in rs], '{:.3f}')} | "
                       f"{fmt_range([r['server_cpu_cores'] for r in rs], '{:.2f}')} | "
                       f"{fmt_range([r['server_cpu_us_per_request'] for r in rs], '{:.1f}')} | "
                       f"{fmt_range([r['wrk_cpu_cores'] for r in rs], '{:.2f}')} | "
                       f"{fmt_range([r['other_cpu_cores'] for r in rs], '{:.2f}')} |")
        if mres.get("paced"):
            ps = mres["paced"]
            out.append(f"\nPaced at {res['args']['rate']} req/s (4 connections, {res['args']['paced_duration']} s): "
                       f"p50 {fmt_range([p['latency_ms']['p50'] for p in ps], '{:.3f}')} ms, "
                       f"p99 {fmt_range([p['latency_ms']['p99'] for p in ps], '{:.3f}')} ms, "
                       f"max {fmt_range([p['latency_ms']['max'] for p in ps], '{:.1f}')} ms; "
                       f"service p50 {fmt_range([p['service_ms']['p50'] for p in ps], '{:.3f}')} ms; "
                       f"idle-probe stalls >10 ms: {[p['stall_probe'].get('stalls_over_10ms') for p in ps]}")
        out.append("")
    if "unpack" in res:
        u, lu = res["unpack"], res["layers"]["unpack"]
        where = res["args"].get("unpack_dir") or res["args"]["tmp"]
        out.append(f"## Unpack (into {where}) of a layer: {lu['tar_bytes'] / MB:.1f} MB tar ({lu['files']} files, {lu['dirs']} dirs, "
                   f"{lu['symlinks']} symlinks, {lu['hardlinks']} hard links), {lu['size'] / MB:.1f} MB gzip -6\n")
        out.append("| | MB/s (uncompressed) | seconds | CPU s |")
        out.append("|---|---|---|---|")
        for key, label in (("berth", "berth unpackLayer (both digests, chown, mtimes)"),
                           ("tar", "tar -xzf (GNU tar + gzip process)"),
                           ("gunzip", "gzip -dc > /dev/null (floor: inflate)")):
            out.append(f"| {label} | {fmt_range([r[key]['mb_s'] for r in u])} | "
                       f"{fmt_range([r[key]['seconds'] for r in u], '{:.2f}')} | "
                       f"{fmt_range([r[key]['cpu'] for r in u], '{:.2f}')} |")
        ratios = [r["berth"]["mb_s"] / r["tar"]["mb_s"] for r in u]
        out.append(f"\nberth / tar -xzf: {fmt_range(ratios, '{:.2f}')}×\n")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berthd", required=True)
    ap.add_argument("--unpack-layer", required=True)
    ap.add_argument("--berthd-alt", help="a second berthd binary (e.g. with a proposed change) measured in the "
                    "transfer part right after --berthd, in the same repetitions")
    ap.add_argument("--alt-label", default="berth (alt)", help="its name in the report")
    ap.add_argument("--paced-load", help="build/bin/paced_load; omitted: no paced run")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--curl", default=shutil.which("curl") or "curl")
    ap.add_argument("--skopeo", default=shutil.which("skopeo") or "skopeo")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", choices=["transfer", "manifest", "unpack"], action="append",
                    help="run only these parts (repeatable)")
    ap.add_argument("--io-threads", type=int, default=2, help="berthd --io-threads")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--paced-duration", type=int, default=10)
    ap.add_argument("--unpack-mb", type=int, default=200, help="file bytes in the unpack layer, MB")
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--unpack-dir", help="unpack into a temp dir made here (e.g. /dev/shm: no disk, no ext4 "
                    "inode allocator) instead of in --tmp; the layer file stays in --tmp")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--json", help="write every raw number here")
    args = ap.parse_args()
    parts = args.only or ["transfer", "manifest", "unpack"]

    res = {"machine": machine(), "load_start": loadavg(), "args": vars(args), "layers": {}}
    work = tempfile.mkdtemp(prefix="berth-registry-bench-", dir=args.tmp)
    log(f"temp dir {work}")
    try:
        if "transfer" in parts:
            t0 = time.monotonic()
            res["layers"]["a"] = make_random_layer(work, "a")
            res["layers"]["b"] = make_random_layer(work, "b")
            log(f"made two {res['layers']['a']['size'] / MB:.1f} MB random layers in {time.monotonic() - t0:.0f}s")
        if "unpack" in parts:
            t0 = time.monotonic()
            res["layers"]["unpack"] = make_unpack_layer(work, 3, args.unpack_mb * 1_000_000)
            lu = res["layers"]["unpack"]
            log(f"made the unpack layer ({lu['files']} files, {lu['tar_bytes'] / MB:.1f} MB tar, "
                f"{lu['size'] / MB:.1f} MB gz) in {time.monotonic() - t0:.0f}s")
        if "transfer" in parts:
            res["transfer"] = bench_transfer(args, work, res["layers"]["a"], res["layers"]["b"])
        if "manifest" in parts:
            res["manifest"] = bench_manifest(args, work)
        if "unpack" in parts:
            res["unpack"] = bench_unpack(args, work, res["layers"]["unpack"])
        res["load_end"] = loadavg()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    for layer in res["layers"].values():
        layer.pop("path", None)
        layer.pop("layout", None)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    print(report(res))


if __name__ == "__main__":
    # SIGTERM/SIGHUP unwind like Ctrl-C: berthd is stopped and the temp dir removed.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    try:
        main()
    except Exception as e:  # noqa: BLE001 — a benchmark that failed must say so and exit 1
        log(f"FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
