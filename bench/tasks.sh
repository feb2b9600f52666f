#!/usr/bin/env bash
# Task execution benchmark of berthd with the real agent (issue 4), with a
# bare `runc run -d` of the same bundle side by side in one run:
#   1. task start: --tasks (200) sequential RunTask → RUNNING (image cached,
#      awsvpc, busybox `sleep 1000` with initProcessEnabled), client-observed
#      (DescribeTasks polled every 2 ms) and berthd-reported (startedAt −
#      createdAt, with its phases), p50/p99; interleaved `runc run -d` of the
#      same busybox rootfs; crun tried once;
#   2. memory per running task: berthd RSS growth 0 → 50 tasks + the PSS of
#      the berth-monitor processes, / 50;
#   3. throughput with churn: 4 clients keeping ~10 tasks in flight for 20 s,
#      tasks started and stopped per second. The clients are build/bin/
#      task_churn (C++, bench/task_churn.cc) when it is built, else boto3
#      threads; --churn-client python|cpp chooses.
# Numbers go in docs/performance.md ("Task execution (issue 4)").
#
#   sudo bench/tasks.sh                     # the whole run, ~2–3 minutes
#   bench/tasks.sh --tasks 500 --json r.json
#   bench/tasks.sh --only churn --clients 8
#   bench/tasks.sh --only churn --churn-client python   # boto3 instead of task_churn
#   BERTH_BENCH_NO_BUILD=1 bench/tasks.sh   # use build/bin as it is
#
# Extra flags go to bench/tasks_bench.py (--help lists them). Needs root,
# runc, busybox-static, the machine's Python with boto3 and a Release build
# in build/. Creates (and removes on exit, error or SIGINT/SIGTERM/SIGHUP) a
# bridge bbNNNNNN, a VPC 10.X.0.0/16 whose X no route uses, cgroup parents
# berth-bench-NNNNNN[-bare] and a temp dir in $TMPDIR. Traffic goes only to
# 127.0.0.1 and the task namespaces. Exits 1 on any error.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ "$(id -u)" != 0 ]]; then
  echo "tasks.sh: needs root (namespaces, cgroups, mounts, a bridge)" >&2
  exit 2
fi
bench_build tasks.sh berthd berth berth-monitor task_churn
command -v runc >/dev/null || [[ -x /usr/sbin/runc ]] || { echo "tasks.sh: runc is not installed" >&2; exit 2; }
[[ -x /bin/busybox ]] || { echo "tasks.sh: busybox-static is not installed" >&2; exit 2; }
for bin in berthd berth berth-monitor; do
  [[ -x "$build/bin/$bin" ]] || { echo "tasks.sh: no $build/bin/$bin" >&2; exit 2; }
done

# exec: signals reach the Python driver, which stops the tasks and berthd and
# removes the bridge, cgroups, mounts and temp dir on SIGINT/SIGTERM/SIGHUP.
exec "$python" "$root/bench/tasks_bench.py" \
  --berthd "$build/bin/berthd" --berth "$build/bin/berth" "$@"
