#!/usr/bin/env bash
# `lineserve-cli perf` end to end: a real server serves the golden
# repository on loopback (port 0, reported in a port file) and perf runs a
# few calls of each kind against it: closed loop Inspect over a doubling
# range, Predict from CSV rows, Health.Check, an open Poisson loop, JSON and CSV output,
# and bad options. Counts windows (--requests), so only counts are checked,
# never timings. Stops what it starts.
set -euo pipefail
server=${1:?usage: perf_smoke_test.sh SERVER CLI SOURCE_DIR}
cli=${2:?usage: perf_smoke_test.sh SERVER CLI SOURCE_DIR}
source_dir=$(cd "${3:?usage: perf_smoke_test.sh SERVER CLI SOURCE_DIR}" && pwd)
golden=$source_dir/tests/integration/testdata/golden
python=/usr/bin/python3
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"
fail() {
  echo "FAILED: $*"
  cat "$work"/*.err 2>/dev/null || true
  tail -n 20 "$work/server.log" 2>/dev/null || true
  exit 1
}

cp -r "$golden/repo" "$work/repo"
serve "$server" "$work/repo"
# Few calls per window and at most 3 windows: every step measures exactly
# 3 windows (stability needs 3), so it reports 3 * --requests calls.
common=(--server "$address" --warmup 2 --max-windows 3)

# check.py FILE KIND EXPECTATIONS...: each step line (JSON) or row (CSV)
# must hold the expected values; answered + failed = 3 * per-window calls.
cat > "$work/check.py" <<'EOF'
import csv, json, sys
path, kind, per_window, levels_key, *levels = sys.argv[1:]
with open(path) as f:
    if kind == "json":
        steps = [json.loads(line) for line in f if line.strip()]
    else:
        steps = list(csv.DictReader(f))
        for s in steps:
            for k in ("requests", "failures", "windows", "concurrency"):
                s[k] = int(s[k])
            s["request_rate"] = float(s["request_rate"])
            s["stable"] = s["stable"] == "true"
got = [str(s[levels_key]) for s in steps]
assert got == levels, f"{path}: {levels_key} {got} != {levels}"
for s in steps:
    assert s["failures"] == 0, f"{path}: failures in {s}"
    assert s["windows"] == 3, f"{path}: windows in {s}"
    assert s["requests"] == 3 * int(per_window), f"{path}: requests in {s}"
    assert s["throughput_rps"] and float(s["throughput_rps"]) > 0, s
    if kind == "json":
        assert s["errors"] == [], s
    else:
        assert s["first_error"] == "", s
print(f"{path}: {len(steps)} step(s) ok")
EOF
check() { "$python" "$work/check.py" "$@" || fail "check $*"; }

# Closed loop, Inspect, concurrency 1, 2, 4.
"$cli" perf "${common[@]}" --file "$golden/images/crack.png" \
  --concurrency-range 1:4:x2 --requests 8 --json --csv "$work/closed.csv" \
  > "$work/closed.jsonl" 2> "$work/closed.err" || fail "closed loop inspect"
check "$work/closed.jsonl" json 8 concurrency 1 2 4
check "$work/closed.csv" csv 8 concurrency 1 2 4
grep -q '"api":"inspect"' "$work/closed.jsonl" || fail "api inspect"
[[ $(wc -l < "$work/closed.csv") -eq 4 ]] || fail "closed.csv: header + 3 rows"

# Predict: 2 rows per call taken from the CSV in turn.
"$cli" perf "${common[@]}" --rows "$golden/rows.csv" --rows-per-request 2 \
  --concurrency 2 --requests 5 --json > "$work/predict.jsonl" \
  2> "$work/predict.err" || fail "predict"
check "$work/predict.jsonl" json 5 concurrency 2
grep -q '"api":"predict","mode":"concurrency"' "$work/predict.jsonl" ||
  fail "api predict"
grep -q '"rows_per_request":2' "$work/predict.jsonl" || fail "rows per call"

# Health: grpc.health.v1 Check, no model; the floor under every call.
"$cli" perf "${common[@]}" --health --concurrency 2 --requests 4 --json \
  > "$work/health.jsonl" 2> "$work/health.err" || fail "health"
check "$work/health.jsonl" json 4 concurrency 2
grep -q '"api":"health"' "$work/health.jsonl" || fail "api health"

# Open loop: Poisson arrivals at 20 calls/s, seeded.
"$cli" perf "${common[@]}" --file "$golden/images/ok.png" --request-rate 20 \
  --arrivals poisson --seed 7 --requests 4 --json --csv "$work/open.csv" \
  > "$work/open.jsonl" 2> "$work/open.err" || fail "open loop"
check "$work/open.jsonl" json 4 request_rate 20.0
check "$work/open.csv" csv 4 request_rate 20.0
grep -q '"arrivals":"poisson"' "$work/open.jsonl" || fail "arrivals"

# The table for people: a header and one row.
"$cli" perf "${common[@]}" --file "$golden/images/ok.png" --requests 3 \
  > "$work/table.txt" || fail "table"
grep -q "answers/s" "$work/table.txt" || fail "table header"
[[ $(wc -l < "$work/table.txt") -ge 3 ]] || fail "table rows"

# Bad options: exit status 2 and a message naming the problem.
expect_usage_error() {
  local message=$1
  shift
  local code=0
  "$cli" perf "${common[@]}" "$@" > "$work/out.txt" 2> "$work/err.txt" ||
    code=$?
  [[ $code -eq 2 ]] || fail "exit $code, not 2, for: $*"
  grep -q "$message" "$work/err.txt" ||
    fail "no '$message' for $*: $(cat "$work/err.txt")"
}
expect_usage_error "exactly one of --file" \
  --file "$golden/images/ok.png" --rows "$golden/rows.csv"
expect_usage_error "exactly one of --file"
expect_usage_error "exactly one of --file" --rows "$golden/rows.csv" --health
expect_usage_error "START is greater than END" \
  --file "$golden/images/ok.png" --concurrency-range 4:1
expect_usage_error "not both" \
  --file "$golden/images/ok.png" --concurrency 2 --request-rate 5
expect_usage_error "expected constant or poisson" \
  --file "$golden/images/ok.png" --request-rate 5 --arrivals bursty

kill -0 "$pid" || fail "the server died during the tests"
echo "perf smoke test passed"
