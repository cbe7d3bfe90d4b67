#!/bin/sh
# Runs a libFuzzer target for a bounded time on a scratch copy of its seeds,
# so that nothing is written into the source or build trees.
#   run_fuzz.sh FUZZER SECONDS [-FLAG=VALUE...] SEED...
# Each SEED is a file or a directory of files; arguments that start with '-'
# go to libFuzzer (e.g. -max_len=65536).
# FUZZ_KEEP=DIR keeps any crashing inputs there.
set -eu
fuzzer=$1 seconds=$2; shift 2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir "$scratch/corpus" "$scratch/artifacts"
flags=""
for seed in "$@"; do
    case "$seed" in -*) flags="$flags $seed"; continue ;; esac
    if [ -d "$seed" ]; then
        find "$seed" -maxdepth 1 -type f -exec cp {} "$scratch/corpus/" \;
    elif [ -f "$seed" ]; then
        cp "$seed" "$scratch/corpus/"
    fi
done
echo "seeds: $(ls "$scratch/corpus" | wc -l)"
status=0
# $flags unquoted on purpose: each is one word without spaces.
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 $flags -artifact_prefix="$scratch/artifacts/" \
    "$scratch/corpus" || status=$?
if [ -n "$(ls "$scratch/artifacts")" ]; then
    echo "crashing inputs:"
    ls -l "$scratch/artifacts"
    if [ -n "${FUZZ_KEEP:-}" ]; then cp "$scratch/artifacts"/* "$FUZZ_KEEP/"; fi
fi
exit $status
