#!/usr/bin/env bash
# Installs every Debian package that building, running and testing berth needs.
# Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # clang 19 for libFuzzer builds (clang 14 cannot use libstdc++ 12's std::expected)
  clang-19 libclang-rt-19-dev llvm-19
  clang-format clang-tidy ccache
  # libraries (docs/dependencies.md says why each one is here)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev libarchive-dev zlib1g-dev libzstd-dev
  libmnl-dev libseccomp-dev libyaml-cpp-dev libcli11-dev libfmt-dev
  libspdlog-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  # runtime
  runc crun iproute2 busybox-static
  # tests and benchmarks: real clients and reference peers
  awscli python3-boto3 python3-botocore skopeo dnsutils dnsperf nsd wrk curl
  sqlite3 procps psmisc
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi

# The HCL parser the Terraform export's tests use (tests/integration/hcl):
# an npm package, installed only where npm exists (nodejs from nodesource
# bundles it; Debian's npm package conflicts with that nodejs, so it is not
# in the list above). Without it test_export's Terraform checks skip.
hcl_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/hcl"
if [[ ! -d "$hcl_dir/node_modules" ]] && command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing the HCL parser in $hcl_dir"
  if [[ -f "$hcl_dir/package-lock.json" ]]; then
    npm ci --silent --no-audit --no-fund --prefix "$hcl_dir" || echo "install-deps: npm ci failed (the tests skip)"
  else
    npm install --silent --no-audit --no-fund --prefix "$hcl_dir" || echo "install-deps: npm install failed (the tests skip)"
  fi
fi
