#!/usr/bin/env bash
# Usage sampling's cost (issue 9): the agent reading 1,000 real task
# cgroups (and a network counter each) once a second, and the control plane
# turning 1,000 tasks' samples into per-minute CloudWatch metrics
# (bench/usage_bench.cc). Prints the CPU time per sampling round (median
# [min, max] over the rounds) and its share of one core at 1 Hz; the goal is
# under 2 % of one core. Numbers go in docs/performance.md.
#
#   sudo bench/usage.sh                       # ~40 s: 15 rounds a second apart, both parts
#   sudo bench/usage.sh --tasks 1000 --rounds 30
#   bench/usage.sh --control-only             # without root: the control side only
#   BERTH_BENCH_NO_BUILD=1 bench/usage.sh
#
# Needs root for the agent side (it makes and removes the cgroups under
# /sys/fs/cgroup/.../berth-usage-bench-<pid>) and a Release build in build/.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_build usage.sh usage_bench
exec "$build/bin/usage_bench" "$@"
