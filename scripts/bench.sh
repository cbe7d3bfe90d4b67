#!/bin/sh
# Prints the benchmark figures (issue 7):
#   scripts/bench.sh [build-dir] [bench/run.py options...]
# e.g. scripts/bench.sh build/gcc --only pagetable,size
#      scripts/bench.sh build/gcc --markdown /tmp/figures.md
# The build dir must be configured (./dev.sh bench does it); run.py builds
# the targets it measures and configures build/bench-* for the sizes and
# compile costs. Exits non-zero when a figure cannot be measured.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build/gcc}; [ $# -gt 0 ] && shift
if [ ! -f "$build/build.ninja" ]; then
    echo "bench: $build is not a configured build directory (./dev.sh bench configures build/gcc)" >&2
    exit 1
fi
exec python3 bench/run.py "$build" "$@"
