#!/bin/sh
# Builds the durableai images and pushes them to berthd's registry:
#   <account>.dkr.ecr.<region>.amazonaws.com/durableai/backend:latest
#   <account>.dkr.ecr.<region>.amazonaws.com/durableai/frontend:latest
# Each is a busybox-static root (sh, wget, nslookup, ... for debugging with
# ECS Exec or a command override) plus the static binary as /app/<name>.
#
# usage: build-images.sh DATA_DIR_OR_ENDPOINT
#   DATA_DIR_OR_ENDPOINT  a local berthd's --data-dir (its root credentials
#                         are used), or berthd's URL (credentials from the
#                         usual AWS environment)
# environment: BERTH_BIN_DIR (default: build/bin of this checkout),
#   ACCOUNT (000000000000), REGION (AWS_REGION, else us-east-1),
#   TAG (latest), BUSYBOX (/bin/busybox; must be statically linked)
# `berth image build` creates the ECR repositories when they are missing.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 DATA_DIR_OR_ENDPOINT" >&2
  exit 2
fi
target=$1
here=$(cd "$(dirname "$0")" && pwd)
bin_dir=${BERTH_BIN_DIR:-$here/../../build/bin}
account=${ACCOUNT:-000000000000}
region=${REGION:-${AWS_REGION:-us-east-1}}
tag=${TAG:-latest}
busybox=${BUSYBOX:-/bin/busybox}

if [ -d "$target" ]; then
  connect="--data-dir $target"
else
  connect="--endpoint $target"
fi
for f in "$bin_dir/berth" "$bin_dir/durableai-backend" "$bin_dir/durableai-frontend" "$busybox"; do
  [ -x "$f" ] || { echo "$0: $f is missing (build: ninja -C build berth durableai-backend durableai-frontend)" >&2; exit 1; }
done
if file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked'; then
  echo "$0: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/durableai-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

for app in backend frontend; do
  root=$work/$app
  mkdir -p "$root/bin" "$root/app" "$root/tmp" "$root/etc"
  cp "$busybox" "$root/bin/busybox"
  for applet in sh cat echo env ls ps sleep wget nslookup grep sed; do
    ln -s busybox "$root/bin/$applet"
  done
  cp "$bin_dir/durableai-$app" "$root/app/$app"
  case $app in
    backend) port=8000 ;;
    frontend) port=3000 ;;
  esac
  image=$account.dkr.ecr.$region.amazonaws.com/durableai/$app:$tag
  # shellcheck disable=SC2086 # $connect is two words on purpose
  "$bin_dir/berth" $connect image build "$root" --tag "$image" --cmd "[\"/app/$app\"]" \
    --env "PORT=$port" --port "$port"
  echo "$image"
done
