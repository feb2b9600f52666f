#!/usr/bin/env bash
# The seed's stack on berth (issue 10): `berth apply --env dev` of
# examples/durableai/berth.yaml from nothing to a steady state on real
# tasks, a second `berth plan` (no changes) and `berth destroy`, medians
# over --rounds (5) rounds (bench/stack_bench.py says what is measured).
# Numbers go in docs/performance.md ("Stacks (issue 10)").
#
#   sudo bench/stack.sh                  # ~2 minutes
#   sudo bench/stack.sh --rounds 10 --json r.json
#   BERTH_BENCH_NO_BUILD=1 sudo bench/stack.sh
#
# Needs root, runc, busybox-static, the machine's Python with boto3 and a
# Release build in build/. Creates (and removes on exit, error or signal) a
# bridge, a VPC 10.X.0.0/16 no route uses, a cgroup parent and a temp dir;
# its berthd serves the task endpoint on 169.254.170.2:80, so no other
# berthd with the real agent may run meanwhile.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ "$(id -u)" != 0 ]]; then
  echo "stack.sh: needs root (namespaces, cgroups, mounts, a bridge)" >&2
  exit 2
fi
bench_build stack.sh berthd berth berth-monitor durableai-backend durableai-frontend
[[ -x /bin/busybox ]] || { echo "stack.sh: busybox-static is not installed" >&2; exit 2; }
exec "$python" "$root/bench/stack_bench.py" --berthd "$build/bin/berthd" --berth "$build/bin/berth" "$@"
