#!/usr/bin/env bash
# Installs what is missing, builds, and runs berthd in the foreground.
#   ./run.sh [berthd flags...]
# For now berthd runs with the in-memory agent (containers come with the
# real agent); the durableai stack comes in a later issue.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build berthd berth

data_dir=${BERTH_DATA_DIR:-/var/lib/berth}
cat <<MSG
berthd is starting with data in $data_dir. In another shell:

  export AWS_SHARED_CREDENTIALS_FILE=$data_dir/credentials AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url http://127.0.0.1:4566 ecs create-cluster --cluster-name durableai-dev-cluster
  aws --endpoint-url http://127.0.0.1:4566 ecs describe-clusters --clusters durableai-dev-cluster

or: build/bin/berth --data-dir $data_dir aws ecs list-clusters
Stop berthd with Ctrl-C.
MSG
exec build/bin/berthd --data-dir "$data_dir" --agent fake "$@"
