#!/usr/bin/env bash
# DNS benchmark (issue 7): dnsperf against berthd's DNS server and against
# NSD serving an equivalent zone, side by side in one run, on 127.0.0.1;
# q/s, p99 latency and the berth/NSD ratio. See bench/dns_bench.py for what
# is measured. Numbers go in docs/performance.md ("DNS (issue 7)").
#
#   bench/dns.sh                         # ~2 minutes: 3 x 10 s per server + latency runs
#   bench/dns.sh --reps 5 --json r.json  # more runs, keep every raw number
#   bench/dns.sh --rate 100000           # latency at another fixed rate
#   BERTH_BENCH_NO_BUILD=1 bench/dns.sh  # use build/bin as it is
#
# Needs dnsperf, nsd and dig (scripts/install-deps.sh), the machine's Python
# with boto3, and a Release build in build/. No root. Traffic stays on
# 127.0.0.1; berthd runs with --dns-upstream off. Exits 1 on a wrong answer
# or lost queries.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_build dns.sh berthd
# A private copy: the shared build dir may be rebuilt while this runs.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$build/bin/berthd" "$tmp/berthd"
"$python" "$root/bench/dns_bench.py" --berthd "$tmp/berthd" "$@"
