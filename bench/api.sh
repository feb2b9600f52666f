#!/usr/bin/env bash
# API benchmark of berthd against moto_server, side by side in one run:
# DescribeServices and ListTasks under wrk (throughput, p50/p99), the same
# requests at a fixed 1,000 req/s (p99 without coordinated omission),
# berthd start-up time and idle RSS. Numbers go in docs/performance.md.
#
#   bench/api.sh                  # the whole run, ~3 minutes
#   bench/api.sh --json out.json  # also keep every raw number
#   bench/api.sh --no-moto        # berth only
#   BERTH_BENCH_NO_BUILD=1 bench/api.sh   # use build/bin as it is
#
# Extra flags go to bench/api_bench.py (--help lists them). Needs wrk, the
# machine's Python with boto3 and moto, and a Release build in build/.
# Talks only to 127.0.0.1.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_build api.sh berthd paced_load
command -v wrk >/dev/null || { echo "api.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

exec "$python" "$root/bench/api_bench.py" \
  --berthd "$build/bin/berthd" --paced-load "$build/bin/paced_load" "$@"
