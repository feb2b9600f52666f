#!/usr/bin/env bash
# Issue 6's scale test: services_scale_bench (1,000 services x 10 tasks on the
# fake agent, converge, then a deployment across all of them) at 100 and 1,000
# services, each run --reps times; prints every run's JSON and a Markdown
# table of medians. See bench/README.md.
#
#   bench/services_scale.sh                       # sqlite store (berthd's), 3 reps
#   bench/services_scale.sh --reps 5 --store memory --json out.jsonl
#   BERTH_BENCH_NO_BUILD=1 bench/services_scale.sh  # use build/bin as it is
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
reps=3
store=sqlite
sizes="100 1000"
tasks=10
json_out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --store) store="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --tasks) tasks="$2"; shift 2 ;;
    --json) json_out="$2"; shift 2 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bench_build services_scale.sh services_scale_bench
bin="$build/bin/services_scale_bench"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for n in $sizes; do
  for ((i = 1; i <= reps; i++)); do
    echo "# services=$n tasks=$tasks store=$store run $i/$reps" >&2
    "$bin" --services "$n" --tasks "$tasks" --store "$store" | tee -a "$out"
  done
done
[[ -n "$json_out" ]] && cp "$out" "$json_out"

python3 - "$out" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by_n = {}
for r in runs:
    by_n.setdefault(r["services"], []).append(r)
def med(rs, f):
    return statistics.median(f(r) for r in rs)
rows = [
    ("tasks (services x desiredCount)", lambda r: r["services"] * r["tasks_per_service"], "{:.0f}"),
    ("create all services, to every deployment COMPLETED: CPU s", lambda r: r["create"]["cpu_s"] + r["converge"]["total_cpu_s"], "{:.2f}"),
    ("  same, wall s", lambda r: r["create"]["wall_s"] + r["converge"]["total_wall_s"], "{:.1f}"),
    ("deploy all (UpdateService each) to COMPLETED: CPU s", lambda r: r["update_all"]["cpu_s"] + r["deploy_all"]["total_cpu_s"], "{:.2f}"),
    ("  same, wall s", lambda r: r["update_all"]["wall_s"] + r["deploy_all"]["total_wall_s"], "{:.1f}"),
    ("  CPU ms per task replaced", lambda r: 1e3 * (r["update_all"]["cpu_s"] + r["deploy_all"]["total_cpu_s"]) / (r["services"] * r["tasks_per_service"]), "{:.2f}"),
    ("idle scheduler pass: CPU ms, median", lambda r: r["idle_pass"]["cpu_ms_median"], "{:.3f}"),
    ("idle scheduler pass: CPU ms, mean", lambda r: r["idle_pass"]["cpu_ms_mean"], "{:.3f}"),
    ("idle scheduler pass: CPU ms, max", lambda r: r["idle_pass"]["cpu_ms_max"], "{:.1f}"),
    ("one service's forced deployment, end to end: CPU ms", lambda r: r["one_service_deployment_total"]["cpu_ms_median"], "{:.2f}"),
    ("control-plane heap per task, converged (B)", lambda r: r["memory"]["control_plane_heap_bytes_per_task_converged_est"], "{:.0f}"),
    ("control-plane heap per task known after the deployment (B)", lambda r: r["memory"]["control_plane_heap_bytes_per_known_task"], "{:.0f}"),
    ("RSS growth per task, converged, with the fake agent (B)", lambda r: r["memory"]["rss_bytes_per_task_converged"], "{:.0f}"),
    ("one task as DescribeTasks returns it (JSON bytes)", lambda r: r["task_json_bytes"], "{:.0f}"),
]
ns = sorted(by_n)
print(f"\nstore: {runs[0]['store']}; medians of {min(len(v) for v in by_n.values())} runs\n")
print("| | " + " | ".join(f"{n} services" for n in ns) + " |")
print("|---|" + "---|" * len(ns))
for label, f, fmt in rows:
    print(f"| {label} | " + " | ".join(fmt.format(med(by_n[n], f)) for n in ns) + " |")
EOF
