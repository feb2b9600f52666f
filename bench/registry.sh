#!/usr/bin/env bash
# Registry and image benchmark of berthd (issue 3), with its references side
# by side in one run, each part repeated (--reps, default 3; medians):
#   1. push and pull of a 200 MB random gzip layer over loopback: curl against
#      berthd's registry (monolithic streamed upload, blob GET), skopeo
#      oci: → docker://berthd and back, skopeo oci: → dir: (no registry),
#      openssl dgst -sha256 and dd conv=fsync of the same bytes (the floors);
#   2. manifest GET under wrk (Basic auth + Accept), GET /health beside it,
#      and at a fixed rate with paced_load;
#   3. unpack of a ~200 MB layer of ~3,300 files: berth's unpackLayer
#      (bench/unpack_layer.cc) against `tar -xzf` of the same file.
# Numbers go in docs/performance.md.
#
#   bench/registry.sh                    # the whole run, ~5 minutes
#   bench/registry.sh --json out.json    # also keep every raw number
#   bench/registry.sh --only unpack      # one part (transfer, manifest, unpack)
#   BERTH_BENCH_NO_BUILD=1 bench/registry.sh   # use build/bin as it is
#
# Extra flags go to bench/registry_bench.py (--help lists them). Needs curl,
# skopeo, wrk, gzip, GNU tar, the machine's Python with boto3, a Release
# build in build/, and ~1.5 GB free in $TMPDIR (default /tmp). Runs berthd
# with its default auth: every registry request carries Basic credentials
# from GetAuthorizationToken. Talks only to 127.0.0.1. Exits 1 on any error.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_build registry.sh berthd paced_load unpack_layer
for tool in curl skopeo wrk gzip tar openssl dd; do
  command -v "$tool" >/dev/null || { echo "registry.sh: $tool is not installed" >&2; exit 2; }
done
for bin in berthd paced_load unpack_layer; do
  [[ -x "$build/bin/$bin" ]] || { echo "registry.sh: no $build/bin/$bin" >&2; exit 2; }
done

# exec: signals reach the Python driver, which stops berthd and removes its
# temp dir on SIGINT, SIGTERM and SIGHUP as on errors.
exec "$python" "$root/bench/registry_bench.py" \
  --berthd "$build/bin/berthd" --paced-load "$build/bin/paced_load" \
  --unpack-layer "$build/bin/unpack_layer" "$@"
