#!/usr/bin/env bash
# CloudWatch Logs benchmark of berthd, with its references side by side in
# one run:
#   1. ingest (root only; skipped with a message otherwise): a real task with
#      the awslogs driver cats --ingest-mb (200) MB of numbered 100-byte lines
#      to stdout; MB/s and CPU (berthd, berth-monitor) from the first line
#      read to the last one durable in the store; every line read back and
#      checked (none lost, repeated or mangled); next to `dd conv=fdatasync`
#      of the same size and the producer's bare pipe on the host. 3 runs.
#   2. put: PutLogEvents throughput, batches of 10,000 events (~1 MB), 4
#      client processes for 10 s, boto3 and hand-signed JSON, berthd and
#      moto_server by turns.
#   3. filter: --gb (1) GB of 100-byte events loaded, then FilterLogEvents
#      (every page) for a term in 0.1 % of them, a term in none, and a JSON
#      pattern; 5 runs each, median; berth and moto side by side on 10 MB.
# Numbers go in docs/performance.md ("CloudWatch Logs").
#
#   sudo bench/logs.sh                       # everything, ~5 minutes
#   bench/logs.sh --only put --only filter   # no root needed for these
#   sudo bench/logs.sh --only ingest --ingest-mb 500 --json r.json
#   bench/logs.sh --only filter --gb 0.2     # a smaller filter data set
#   BERTH_BENCH_NO_BUILD=1 bench/logs.sh     # use build/bin as it is
#
# Extra flags go to bench/logs_bench.py (--help lists them). Needs the
# machine's Python with boto3 and moto, a Release build in build/, dd, and
# ~(1.2 × --gb + 3 × 2.5 × --ingest-mb / 1000) GB free in $TMPDIR; for
# ingest also root, runc and busybox-static. Ingest creates (and removes on
# exit, error or SIGINT/SIGTERM/SIGHUP) a bridge bbNNNNNN, a VPC 10.X.0.0/16
# whose X no route uses, a cgroup parent berth-bench-NNNNNN and a temp dir.
# Traffic goes only to 127.0.0.1 and the task's namespace. Exits 1 on any
# error or wrong answer.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_build logs.sh berthd berth berth-monitor
for bin in berthd berth berth-monitor; do
  [[ -x "$build/bin/$bin" ]] || { echo "logs.sh: no $build/bin/$bin" >&2; exit 2; }
done
if [[ "$(id -u)" == 0 ]]; then
  command -v runc >/dev/null || [[ -x /usr/sbin/runc ]] || { echo "logs.sh: runc is not installed" >&2; exit 2; }
  [[ -x /bin/busybox ]] || { echo "logs.sh: busybox-static is not installed" >&2; exit 2; }
fi

# exec: signals reach the Python driver, which stops the tasks, berthd and
# moto and removes what it created on SIGINT/SIGTERM/SIGHUP.
exec "$python" "$root/bench/logs_bench.py" \
  --berthd "$build/bin/berthd" --berth "$build/bin/berth" "$@"
