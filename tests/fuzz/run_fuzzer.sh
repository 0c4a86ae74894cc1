#!/usr/bin/env bash
# One fuzz target's CTest run (tests/fuzz/CMakeLists.txt):
#   run_fuzzer.sh FUZZER CORPUS SECONDS ARTIFACTS
# Runs every input of CORPUS (seeds and regression inputs), then fuzzes for
# SECONDS. The checked-in corpus is only read: new inputs go to a temporary
# folder that is removed afterwards. A crash, a sanitizer report, a leak, an
# input slower than 30 s or above 2 GB fails the test; the input is kept
# in ARTIFACTS for reproduction (`FUZZER FILE` runs it once).
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3 artifacts=$4

work=$(mktemp -d "${TMPDIR:-/tmp}/lineserve-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

status=0
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$work" "$corpus" || status=$?
if ((status != 0)); then
  echo "run_fuzzer: $(basename "$fuzzer") failed (exit $status); the input is" \
    "in $artifacts/. Once fixed, keep it as $corpus/regression-<what>." >&2
fi
exit "$status"
