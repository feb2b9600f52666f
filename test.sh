#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit and
# integration tests (Release build), the unit tests again under ASan+UBSan,
# and a short run of every fuzz target over its corpus. Exits non-zero on
# any failure.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh

jobs=$(nproc)
echo "== build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build

echo "== unit and integration tests"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== unit tests under ASan+UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON -DBERTH_BENCH=OFF >/dev/null
ninja -C build-asan berth_unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$jobs"

echo "== fuzz targets (short runs over the corpora)"
./scripts/fuzz.sh --seconds "${BERTH_FUZZ_SECONDS:-10}"
