#!/usr/bin/env bash
# Served answers do not change with the code around the models: a server
# built from this tree serves testdata/golden/repo (a quality and an
# efficiency model from lineserve-train), and every probability, verdict
# and efficiency must equal, bit for bit, what the server of commit be40943
# (before the typed-tensor pipeline) answered for the same images and rows
# (testdata/golden/*_answers.jsonl). Loopback only; stops what it starts.
set -euo pipefail
server=${1:?usage: golden_answers_test.sh SERVER CLI}
cli=${2:?usage: golden_answers_test.sh SERVER CLI}
golden=$(cd "$(dirname "$0")/testdata/golden" && pwd)
# shellcheck source=../support/golden_kernels.sh
source "$(dirname "$0")/../support/golden_kernels.sh"
work=$(mktemp -d)
pid=
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cp -r "$golden/repo" "$work/repo"
"$server" --model-repository "$work/repo" --grpc-address 127.0.0.1:0 \
  --port-file "$work/port" --metrics-address "" --log-level warning &
pid=$!
for _ in $(seq 300); do
  [[ -s "$work/port" ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "server exited"; exit 1; }
  sleep 0.1
done
address=127.0.0.1:$(cat "$work/port")

cd "$golden"
"$cli" inspect --server "$address" --json images/*.png > "$work/inspect.jsonl"
"$cli" predict --server "$address" --json --csv rows.csv > "$work/predict.jsonl"

python3 - "$work" <<'PY'
import json, struct, sys
work = sys.argv[1]

def f32(x):  # the float the server sent (the CLI widens it to double)
    return struct.pack('<f', x)

def compare(golden_file, served_file, key, fields, float_fields):
    golden = [json.loads(l) for l in open(golden_file)]
    served = {json.loads(l)[key]: json.loads(l) for l in open(served_file)}
    failures = 0
    for want in golden:
        got = served.get(want[key])
        if got is None:
            print(f"missing answer for {want[key]}"); failures += 1; continue
        for field in fields:
            if got[field] != want[field]:
                print(f"{want[key]}: {field} {got[field]!r} != {want[field]!r}")
                failures += 1
        for field in float_fields:
            a, b = got[field], want[field]
            pairs = a.items() if isinstance(a, dict) else [(field, a)]
            for label, value in pairs:
                expected = b[label] if isinstance(b, dict) else b
                if f32(value) != f32(expected):
                    print(f"{want[key]}: {field} {label} {value!r} != {expected!r}")
                    failures += 1
    return failures, len(golden)

f1, n1 = compare('inspect_answers.jsonl', f'{work}/inspect.jsonl', 'file',
                 ['verdict', 'defect_class', 'model', 'model_version'],
                 ['defect_probability', 'scores'])
f2, n2 = compare('predict_answers.jsonl', f'{work}/predict.jsonl', 'row',
                 ['model', 'model_version'], ['efficiency'])
if f1 + f2:
    print(f"{f1 + f2} differences"); sys.exit(1)
print(f"{n1} inspections and {n2} predictions bit-identical to the golden answers")
PY
