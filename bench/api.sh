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

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BERTH_BUILD_DIR:-$root/build}"
python="${BERTH_BENCH_PYTHON:-/root/.pyenv/versions/3.11.7/bin/python3}"
[[ -x "$python" ]] || python="$(command -v python3)"

if [[ -z "${BERTH_BENCH_NO_BUILD:-}" ]]; then
  if [[ ! -f "$build/build.ninja" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  if ! log="$(ninja -C "$build" berthd paced_load 2>&1)"; then
    printf '%s\n' "$log" | tail -20 >&2
    echo "api.sh: the build failed (BERTH_BENCH_NO_BUILD=1 runs the binaries already in $build/bin)" >&2
    exit 2
  fi
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" ||
   grep -q '^BERTH_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
  echo "api.sh: $build is not a plain Release build; its numbers would not mean much" >&2
  exit 2
fi
command -v wrk >/dev/null || { echo "api.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

exec "$python" "$root/bench/api_bench.py" \
  --berthd "$build/bin/berthd" --paced-load "$build/bin/paced_load" "$@"
