#!/usr/bin/env bash
# Installs what is missing, builds, and runs berthd in the foreground.
#   ./run.sh [berthd flags...]
# berthd runs tasks as real containers (runc) when started as root; otherwise
# it falls back to the in-memory agent and says so. The durableai stack comes
# in a later issue.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build berthd berth berth-monitor

data_dir=${BERTH_DATA_DIR:-/var/lib/berth}
cat <<MSG
berthd is starting with data in $data_dir. In another shell:

  export AWS_SHARED_CREDENTIALS_FILE=$data_dir/credentials AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url http://127.0.0.1:4566 ecs create-cluster --cluster-name durableai-dev-cluster
  aws --endpoint-url http://127.0.0.1:4566 ecs describe-clusters --clusters durableai-dev-cluster

or: build/bin/berth --data-dir $data_dir aws ecs list-clusters
Images: build/bin/berth --data-dir $data_dir image build DIR --tag app:1
Stop berthd with Ctrl-C.
MSG
agent=real
if [ "$(id -u)" -ne 0 ]; then
  agent=fake
  echo "run.sh: not root, so tasks are simulated (--agent fake); run as root for real containers" >&2
fi
exec build/bin/berthd --data-dir "$data_dir" --agent "$agent" "$@"
