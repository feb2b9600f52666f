#!/usr/bin/env python3
"""The seed's stack on berth, end to end on real tasks (issue 10): how long
`berth apply --env dev` takes from nothing to a steady state, a second
`berth plan` (no changes), and `berth destroy`, over --rounds rounds.

Driven by bench/stack.sh. Needs root, runc and busybox-static; berthd runs
with the real agent on a bridge, VPC and cgroup parent of its own (the
set-up and clean-up of bench/tasks_bench.py). Before each round (untimed)
the durableai images are built and pushed with examples/durableai/
build-images.sh (the previous destroy deleted their repositories, as
`berth destroy` of a whole environment does); every round works on a fresh
copy of examples/durableai/berth.yaml.

Each apply creates the 15 resources (ECR repositories, log groups, roles,
parameter, cluster, namespace, discovery services, task definitions,
services) and waits for both services to run their one task on a completed
deployment; the time is split into the resources (apply's own report) and
the wait. Then the frontend's page is fetched once and must show the
backend's greeting (the whole chain worked). Traffic goes only to
127.0.0.1 and the task namespaces.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import types
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tasks_bench  # noqa: E402
from tasks_bench import Env, log_tail  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "durableai")


def log(msg):
    print(f"[stack_bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def timed(env, workdir, *args, timeout=300):
    start = time.monotonic()
    p = subprocess.run([env.args.berth, "--data-dir", env.data_dir, *args], cwd=workdir, capture_output=True,
                       text=True, timeout=timeout, env=env.cli_env())
    took = time.monotonic() - start
    if p.returncode != 0:
        raise RuntimeError(f"berth {' '.join(args)} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr}")
    return took, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berthd", required=True)
    ap.add_argument("--berth", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runtime", default="native", choices=["native", "runc"])
    ap.add_argument("--tmp", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    # What tasks_bench.Env reads of its arguments.
    env_args = types.SimpleNamespace(
        berthd=args.berthd, berth=args.berth, tmp=args.tmp, keep=args.keep, runtime=args.runtime,
        runc=shutil.which("runc") or "/usr/sbin/runc", busybox="/bin/busybox", worker_threads=4,
        # The backend reads its task id and credentials at 169.254.170.2:80,
        # as on Fargate: one berthd on the machine can serve that port.
        task_endpoint_port=80, churn_client="python")
    env = Env(env_args)
    results = {"rounds": []}
    try:
        env.copy_binaries()
        env.start_berthd()
        for r in range(args.rounds):
            # Untimed: destroy deletes the repositories with their images.
            p = subprocess.run([os.path.join(EXAMPLE, "build-images.sh"), env.data_dir], capture_output=True,
                               text=True, timeout=300,
                               env={**env.cli_env(), "BERTH_BIN_DIR": os.path.dirname(args.berth),
                                    "ACCOUNT": tasks_bench.ACCOUNT, "REGION": tasks_bench.REGION})
            if p.returncode != 0:
                raise RuntimeError(f"build-images.sh failed:\n{p.stdout}\n{p.stderr}")
            workdir = tempfile.mkdtemp(prefix="stack-", dir=env.tmp)
            shutil.copy(os.path.join(EXAMPLE, "berth.yaml"), workdir)
            apply_s, out = timed(env, workdir, "apply", "--env", "dev", "--auto-approve")
            # apply prints "X: Creation complete after N.Ns" per resource.
            resources_s = sum(float(x) for x in re.findall(r"complete after ([0-9.]+)s", out))
            wait_at = out.index("Waiting for the services")
            outputs = json.loads(timed(env, workdir, "output", "--env", "dev", "--json")[1])
            [url] = outputs["services"]["frontend"]["endpoints"]
            with urllib.request.urlopen(url + "/", timeout=15) as resp:
                page = resp.read().decode()
            if "hello from durableai dev" not in page:
                raise RuntimeError(f"the frontend page lacks the backend's greeting:\n{page}")
            plan_s, plan = timed(env, workdir, "plan", "--env", "dev")
            if "No changes." not in plan:
                raise RuntimeError(f"a second plan has changes:\n{plan}")
            destroy_s, _ = timed(env, workdir, "destroy", "--env", "dev", "--auto-approve")
            row = {"apply_s": apply_s, "resources_s": resources_s, "plan_s": plan_s, "destroy_s": destroy_s,
                   "resources": out[:wait_at].count("Creation complete")}
            results["rounds"].append(row)
            log(f"round {r + 1}: apply {apply_s:.2f} s ({row['resources']} resources in {resources_s:.2f} s), "
                f"plan {plan_s:.2f} s, destroy {destroy_s:.2f} s")
    except Exception:
        log(f"berthd log tail:\n{log_tail(env.log_path, 30)}")
        raise
    finally:
        env.cleanup()

    def med(key):
        return statistics.median(r[key] for r in results["rounds"])
    summary = {k: med(k) for k in ("apply_s", "resources_s", "plan_s", "destroy_s")}
    results["median"] = summary
    print(f"berth stack, examples/durableai dev on real tasks ({args.runtime}), {args.rounds} rounds, medians:")
    print(f"  apply to a steady state  {summary['apply_s']:6.2f} s  "
          f"(resources {summary['resources_s']:.2f} s, the rest waiting for the two tasks)")
    print(f"  plan (no changes)        {summary['plan_s']:6.2f} s")
    print(f"  destroy                  {summary['destroy_s']:6.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        main()
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
