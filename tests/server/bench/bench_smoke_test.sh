#!/usr/bin/env bash
# lineserve-bench on the golden repository, a few passes per size, so the
# tool cannot rot: both models, JSON and table output, and its refusals.
# Checks shapes and counts, never timings.
set -euo pipefail
bench=${1:?usage: bench_smoke_test.sh LINESERVE_BENCH SOURCE_DIR}
golden=${2:?usage: bench_smoke_test.sh LINESERVE_BENCH SOURCE_DIR}/tests/integration/testdata/golden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
quick=(--model-repository "$golden/repo" --min-seconds 0 --min-iterations 2
       --warmup-runs 1)

"$bench" "${quick[@]}" --model quality_inspection --file "$golden/images/crack.png" \
  --batch-sizes 1,2,4 --json > "$work/quality.jsonl" 2> "$work/err" ||
  { cat "$work/err"; fail "quality_inspection"; }
"$bench" "${quick[@]}" --model efficiency_prediction --rows "$golden/rows.csv" \
  --batch-sizes 1,8 --streams 2 > "$work/efficiency.txt" 2> "$work/err" ||
  { cat "$work/err"; fail "efficiency_prediction"; }
cat "$work/quality.jsonl" "$work/efficiency.txt"

python3 - "$work/quality.jsonl" <<'PY' || fail "quality JSON"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["batch_size"] for l in lines] == [1, 2, 4], lines
for l in lines:
    assert l["model"] == "quality_inspection" and l["iterations"] >= 2, l
    for key in ("preprocess_us", "stack_us", "compute_us", "first_compute_us"):
        assert l[key] >= 0, (key, l)
    assert l["streams"] >= 1 and l["torch_threads"] == 1, l
    assert abs(l["per_sample_us"] * l["samples_per_second"] - 1e6) < 1e-3, l
assert sum(l["best"] for l in lines) == 1, lines
PY
grep -q "efficiency_prediction v1 on cpu, .*: 2 stream(s) of 1 LibTorch thread(s)" \
  "$work/efficiency.txt" || fail "table title"
[[ $(grep -c "^ *[18] " "$work/efficiency.txt") == 2 ]] || fail "one table row per size"
grep -q "<- best" "$work/efficiency.txt" || fail "best size marked"

refused() {  # expected-message args...
  local want=$1; shift
  if "$bench" "$@" > "$work/out" 2>&1; then fail "accepted: $*"; fi
  grep -q -- "$want" "$work/out" || { cat "$work/out"; fail "message '$want' for: $*"; }
}
refused "exactly one of --file and --rows" "${quick[@]}" --model quality_inspection
refused "not a positive count" "${quick[@]}" --model quality_inspection \
  --file "$golden/images/crack.png" --batch-sizes 0
refused "NOT_FOUND: model .nope. has no" "${quick[@]}" --model nope --file "$golden/images/crack.png"
refused "model-repository" --model quality_inspection
echo "lineserve-bench smoke test passed"
