#!/usr/bin/env bash
# The main job: brings up the durableai stack (examples/durableai/berth.yaml,
# the seed's) on this machine, for real.
#
#   ./run.sh [--env dev|prod]   install, build, start berthd in the background,
#                               build and push the example images, apply the
#                               stack, wait for a steady state, show it working
#   ./run.sh stop               stop the berthd this script started
#
# berthd keeps its data, log (berthd.log) and pid (berthd.pid) in
# $BERTH_DATA_DIR (default /var/lib/berth). As root, tasks are real
# containers; otherwise they are simulated (--agent fake) and the page
# fetch is skipped.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)

env=dev
command=up
while (($#)); do
  case "$1" in
    --env) env=$2; shift 2 ;;
    stop) command=stop; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see ./run.sh --help)" >&2; exit 2 ;;
  esac
done

data_dir=${BERTH_DATA_DIR:-/var/lib/berth}
pid_file=$data_dir/berthd.pid
log_file=$data_dir/berthd.log
berth() { "$root/build/bin/berth" --data-dir "$data_dir" "$@"; }
# `berth aws` runs the aws CLI; Debian's is v2 (logs tail needs it), which a
# pyenv shim earlier on the PATH may hide.
if [ -z "${BERTH_AWS_CLI:-}" ] && [ -x /usr/bin/aws ]; then export BERTH_AWS_CLI=/usr/bin/aws; fi

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

if [ "$command" = stop ]; then
  if running; then
    kill "$(cat "$pid_file")"
    for _ in $(seq 50); do running || break; sleep 0.2; done
    echo "berthd stopped"
  else
    echo "berthd is not running"
  fi
  rm -f "$pid_file"
  exit 0
fi

echo "== installing what is missing and building"
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build berthd berth berth-monitor durableai-backend durableai-frontend

mkdir -p "$data_dir"
if running; then
  echo "== berthd is already running (pid $(cat "$pid_file"))"
else
  agent=real
  if [ "$(id -u)" -ne 0 ]; then
    agent=fake
    echo "run.sh: not root, so tasks are simulated (--agent fake); run as root for real containers" >&2
  fi
  echo "== starting berthd (agent $agent, data in $data_dir, log $log_file)"
  rm -f "$data_dir/endpoint"
  nohup build/bin/berthd --data-dir "$data_dir" --agent "$agent" >>"$log_file" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 100); do [ -s "$data_dir/endpoint" ] && break; sleep 0.1; done
  [ -s "$data_dir/endpoint" ] || { echo "run.sh: berthd did not start; see $log_file" >&2; tail -20 "$log_file" >&2; exit 1; }
fi
endpoint=$(cat "$data_dir/endpoint")
echo "berthd: $endpoint"

echo "== building and pushing the example images"
BERTH_BIN_DIR="$root/build/bin" examples/durableai/build-images.sh "$data_dir"

echo "== berth apply --env $env"
cd examples/durableai
berth apply --env "$env" --auto-approve

echo
echo "== the frontend, through backend.$env.local"
url=$(berth output --env "$env" --json | python3 -c 'import json,sys; e=json.load(sys.stdin)["services"]["frontend"]["endpoints"]; print(e[0] if e else "")')
if [ -n "$url" ] && [ "$(id -u)" -eq 0 ]; then
  echo "GET $url/"
  page=""
  for _ in $(seq 30); do
    page=$(curl -fsS --max-time 5 "$url/" 2>/dev/null) && break
    sleep 1
  done
  echo "$page" | sed -e 's/<[^>]*>/ /g' -e 's/&quot;/"/g' -e 's/  */ /g' | grep -v '^ *$' | head -20
else
  echo "(no page: the tasks are simulated or have no address yet)"
fi

cat <<MSG

== the seed's test commands, through berth aws (the aws CLI with berthd's endpoint and credentials)
MSG
for args in "ecs describe-clusters --clusters durableai-$env-cluster --query clusters[0].[clusterName,status,runningTasksCount]" \
            "ecs list-services --cluster durableai-$env-cluster" \
            "ecs describe-services --cluster durableai-$env-cluster --services durableai-$env-backend durableai-$env-frontend --query services[].[serviceName,status,desiredCount,runningCount]" \
            "ecs list-tasks --cluster durableai-$env-cluster --service-name durableai-$env-backend" \
            "servicediscovery list-namespaces --query Namespaces[].Name"; do
  echo "\$ berth aws $args"
  # shellcheck disable=SC2086 # the arguments are words on purpose
  berth aws $args --output text || true
done
echo "\$ berth aws logs tail /ecs/durableai-$env/backend --since 10m"
berth aws logs tail "/ecs/durableai-$env/backend" --since 10m | tail -5 || true

echo
echo "== berth output --env $env"
berth output --env "$env"
echo
echo "== berth cost --env $env"
berth cost --env "$env"
cat <<MSG

The stack is up. Try:
  cd examples/durableai && ../../build/bin/berth --data-dir $data_dir plan --env $env
  build/bin/berth --data-dir $data_dir aws ecs update-service --cluster durableai-$env-cluster --service durableai-$env-backend --force-new-deployment
  ./run.sh stop
MSG
