#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each over its corpus.
#   scripts/fuzz.sh [--seconds N] [TARGET...]
# A crash fails the run; the input is left in build-fuzz/crashes/. New
# inputs found are not written back to the corpus (run libFuzzer by hand
# with the corpus directory to grow it).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

# -O1 and line tables only: compiles faster than -O2 -g (task_definition.cc,
# the largest source, 33 s -> 27 s) and a crash still shows file:line.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++-19 -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF -DBERTH_BENCH=OFF >/dev/null
if ((${#targets[@]} == 0)); then
  for src in fuzz/*_fuzz.cc; do targets+=("$(basename "$src" .cc)"); done
fi
ninja -C build-fuzz "${targets[@]}"

mkdir -p build-fuzz/crashes
failed=0
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  [ -d "$corpus" ] || { echo "fuzz: $t has no corpus in $corpus"; failed=1; continue; }
  scratch=$(mktemp -d)
  echo "fuzz: $t for ${seconds}s over $(ls "$corpus" | wc -l) seed inputs"
  if ! build-fuzz/bin/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build-fuzz/crashes/"$t"- -print_final_stats=1 "$scratch" "$corpus" \
      >build-fuzz/"$t".log 2>&1; then
    echo "fuzz: $t FAILED; see build-fuzz/$t.log"
    tail -40 build-fuzz/"$t".log
    failed=1
  else
    grep -E "stat::number_of_executed_units" build-fuzz/"$t".log | sed "s/^/fuzz: $t /"
  fi
  rm -rf "$scratch"
done
exit $failed
