#!/usr/bin/env bash
# IAM's cost (issue 8), in one run: the policy evaluator alone (Google
# Benchmark, bench/iam_policy_bench.cc: 10 policies of 20 statements per
# call), the front door's whole per-call check for a user with such
# policies (bench/iam_authorizer_bench.cc), then the ECS API under wrk
# signed by root against signed by that user (bench/iam_bench.py). Numbers
# go in docs/performance.md.
#
#   bench/iam.sh                      # ~2 minutes
#   bench/iam.sh --rounds 9           # more alternating rounds
#   BERTH_BENCH_NO_BUILD=1 bench/iam.sh
#
# Needs wrk, boto3 and a Release build in build/. Talks only to 127.0.0.1.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_build iam.sh berthd iam_policy_bench iam_authorizer_bench
command -v wrk >/dev/null || { echo "iam.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

echo "== policy evaluation alone (iam_policy_bench) =="
"$build/bin/iam_policy_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
echo
echo "== the front door's check per call (iam_authorizer_bench) =="
"$build/bin/iam_authorizer_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
echo
echo "== the ECS API as root and as an IAM user (iam_bench.py) =="
exec "$python" "$root/bench/iam_bench.py" --berthd "$build/bin/berthd" "$@"
