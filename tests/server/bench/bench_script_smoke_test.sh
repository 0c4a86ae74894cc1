#!/usr/bin/env bash
# deploy/scripts/bench.sh in its quick mode on the golden repository, so the
# script that writes BENCHMARKS.md cannot rot: it must run end to end and
# write every section and the targets table. Checks the document's shape,
# never its figures.
set -euo pipefail
source_dir=$(cd "${1:?usage: bench_script_smoke_test.sh SOURCE_DIR BUILD_DIR}" && pwd)
build_dir=$(cd "${2:?usage: bench_script_smoke_test.sh SOURCE_DIR BUILD_DIR}" && pwd)
golden=$source_dir/tests/integration/testdata/golden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; tail -n 30 "$work/log" 2>/dev/null || true; exit 1; }

BENCH_QUICK=1 BUILD_DIR=$build_dir LINESERVE_VAR=$work/var \
  BENCH_REPO=$golden/repo BENCH_IMAGE=$golden/images/crack.png \
  BENCH_ROWS=$golden/rows.csv BENCH_WORK=$work/bench BENCH_OUT=$work/BENCHMARKS.md \
  bash "$source_dir/deploy/scripts/bench.sh" > "$work/log" 2>&1 || fail "bench.sh"
doc=$work/BENCHMARKS.md
for section in "## Machine" "## Targets" "## In-process limit" \
    "## Served: dynamic batching on and off" "rows per call" \
    "## Predict: the server's overhead per request" "## Poisson arrivals"; do
  grep -q "$section" "$doc" || fail "no '$section' in BENCHMARKS.md"
done
# The golden models are batched (max_batch_size 16 and 64): the server tunes
# both at load and the report lists what it chose.
[[ $(grep -cE "^- [a-z_]+_batching_on: [0-9]+ of max_batch_size [0-9]+ \(per sample at each size: 1: " "$doc") -eq 2 ]] ||
  fail "no tuned batch size for each batched model"
grep -qE "^The floor under it: a grpc.health.v1 Check .* takes [0-9]+ us at 1 client" "$doc" ||
  fail "no Health.Check floor beside the Predict overhead"
# Two concurrencies x two models in the served tables, one row per size in
# the in-process ones, and a verdict on every target.
[[ $(grep -cE '^\| [12] \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|' "$doc") -ge 4 ]] || fail "served rows"
[[ $(grep -cE '^\| [124]( \(best\))? \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \|' "$doc") == 6 ]] ||
  fail "in-process rows"
targets=$(sed -n '/^## Targets/,/^## /p' "$doc" | grep -cE '\| (met|\*\*not met\*\*) \|$')
[[ $targets -ge 15 ]] || fail "only $targets targets judged"
grep -qE "^[0-9]+ of $targets met in this run\.$" "$doc" || fail "targets count line"
echo "bench.sh smoke test passed ($targets targets judged)"
