# Sourced by the bench/*.sh scripts: where things are, which Python runs
# the drivers, and one way to build what a benchmark needs.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#   bench_build tasks.sh berthd berth berth-monitor
#
# BERTH_BUILD_DIR: the build (default build/); BERTH_BENCH_PYTHON: the
# Python with boto3 (default the machine's pyenv 3.11.7, else python3);
# BERTH_BENCH_NO_BUILD=1: use the binaries already built;
# BERTH_BUILD_LOCK: the lock every build of a shared tree takes.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BERTH_BUILD_DIR:-$root/build}"
python="${BERTH_BENCH_PYTHON:-/root/.pyenv/versions/3.11.7/bin/python3}"
[[ -x "$python" ]] || python="$(command -v python3)"

# bench_build SCRIPT TARGET...: configures a Release build when there is
# none, builds TARGETs under the lock (unless BERTH_BENCH_NO_BUILD), and
# refuses a build that is not plain Release (its numbers would not mean
# much). Exits 2 on failure, naming SCRIPT.
bench_build() {
  local script="$1"
  shift
  if [[ -z "${BERTH_BENCH_NO_BUILD:-}" ]]; then
    if [[ ! -f "$build/build.ninja" ]]; then
      cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    local log
    if ! log="$(flock "${BERTH_BUILD_LOCK:-/tmp/berth-build.lock}" nice ninja -C "$build" -j2 "$@" 2>&1)"; then
      printf '%s\n' "$log" | tail -20 >&2
      echo "$script: the build failed (BERTH_BENCH_NO_BUILD=1 runs the binaries already in $build/bin)" >&2
      exit 2
    fi
  fi
  if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" ||
     grep -q '^BERTH_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
    echo "$script: $build is not a plain Release build; its numbers would not mean much" >&2
    exit 2
  fi
}
