#!/usr/bin/env bash
# The server's log as an operator and a log shipper read it: with
# --log-format json every line of the process's output is one JSON object
# (ts, level, component, msg); a failed request (an unknown model, over gRPC
# and over HTTP) is one line with its code, method, model, peer and request
# id, and a hostile request id cannot forge a line; --log-level debug shows
# more than info for the same traffic; text lines carry time, level and
# component. Loopback only; stops what it starts.
set -euo pipefail
server=${1:?usage: logging_process_test.sh SERVER CLI}
cli=${2:?usage: logging_process_test.sh SERVER CLI}
golden=$(cd "$(dirname "$0")/testdata/golden" && pwd)
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"

cp -r "$golden/repo" "$work/repo"
cp "$golden/images/ok.png" "$work/part-0042.png"

# Runs the server with `--log-level $1 --log-format $2`, sends the same
# traffic each time, stops it with SIGTERM; the output goes to $3.
run() {
  local level=$1 format=$2 log=$3
  rm -f "$work/port" "$work/http_port"
  "$server" --model-repository "$work/repo" --grpc-address 127.0.0.1:0 \
    --port-file "$work/port" --metrics-address "" \
    --http-address 127.0.0.1:0 --http-port-file "$work/http_port" \
    --log-level "$level" --log-format "$format" > "$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do [[ -s "$work/port" && -s "$work/http_port" ]] && break; sleep 0.1; done
  [[ -s "$work/port" && -s "$work/http_port" ]] || fail "server did not start ($level $format)"
  local addr=127.0.0.1:$(cat "$work/port")
  local http=http://127.0.0.1:$(cat "$work/http_port")

  # Answered: a debug line each.
  "$cli" inspect --server "$addr" "$work/part-0042.png" > /dev/null || fail "inspect"
  "$cli" inspect --server "$addr" "$work/part-0042.png" > /dev/null || fail "inspect"
  # Unknown model over gRPC: the CLI uses the file name as request_id.
  if "$cli" inspect --server "$addr" --model no_such_model "$work/part-0042.png" \
      > "$work/out" 2>&1; then fail "an unknown model answered"; fi
  grep -q NOT_FOUND "$work/out" || fail "unknown model: $(cat "$work/out")"
  # Unknown model over HTTP, with a request id that tries to start a line.
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    "$http/v2/models/no_such_model/infer" -H 'Content-Type: application/json' \
    --data '{"id": "http-7\n{\"level\":\"error\",\"forged\":true}\r\u2028", "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}')
  [[ $code == 404 ]] || fail "HTTP unknown model answered $code"
  curl -sf "$http/v2/health/ready" > /dev/null || fail "HTTP ready"

  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  pid=
  [[ $status == 0 ]] || fail "SIGTERM exit status $status ($level $format)"
}

run debug json "$work/debug.log"
run info json "$work/info.log"
run info text "$work/text.log"

python3 - "$work" <<'EOF' || fail "log checks"
import json, re, sys
work = sys.argv[1]
ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

def parse(name):
    lines = open(f"{work}/{name}", encoding="utf-8").read().splitlines()
    assert lines, f"{name} is empty"
    records = []
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            sys.exit(f"{name}:{n} is not JSON: {line!r}")
        assert isinstance(record, dict), line
        for key in ("ts", "level", "component", "msg"):
            assert key in record, f"{name}:{n} has no {key}: {line}"
        assert ts.match(record["ts"]), line
        assert record["level"] in ("debug", "info", "warning", "error"), line
        assert "forged" not in record, f"a client forged a line: {line}"
        records.append(record)
    return records

def failures(records):
    return [r for r in records if r["msg"] == "request failed"]

debug, info = parse("debug.log"), parse("info.log")
for name, records in (("debug", debug), ("info", info)):
    grpc = [r for r in failures(records) if r["component"] == "grpc"]
    assert len(grpc) == 1, f"{name}: gRPC failure lines: {grpc}"
    line = grpc[0]
    assert line["level"] == "warning", line
    assert line["code"] == "NOT_FOUND", line
    assert line["method"] == "Inspect", line
    assert line["model"] == "no_such_model", line
    assert line["request_id"].endswith("part-0042.png"), line
    assert line["peer"].startswith("ipv4:127.0.0.1:"), line
    assert "no_such_model" in line["error"], line
    http = [r for r in failures(records) if r["component"] == "http"]
    assert len(http) == 1, f"{name}: HTTP failure lines: {http}"
    line = http[0]
    assert line["code"] == "NOT_FOUND" and line["method"] == "ModelInfer", line
    assert line["model"] == "no_such_model", line
    assert line["request_id"] == 'http-7\n{"level":"error","forged":true}\r\u2028', line
    assert line["peer"].startswith("ipv4:127.0.0.1:"), line
    # Start-up and shutdown, by component.
    components = {r["component"] for r in records}
    assert {"main", "repository"} <= components, components

levels = lambda records: {r["level"] for r in records}
assert "debug" in levels(debug) and "debug" not in levels(info)
assert len(info) < len(debug), (len(info), len(debug))
done = [r for r in debug if r["msg"] == "request done"]
assert len(done) >= 2 and all(r["method"] == "Inspect" for r in done), done
assert any(r["msg"] == "loading model version" for r in debug)
assert any(r["component"] == "http" and r["msg"] == "request" for r in debug)
print(f"debug {len(debug)} lines, info {len(info)} lines")

text = open(f"{work}/text.log", encoding="utf-8").read().splitlines()
line_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) [a-z-]+: ")
for line in text:
    assert line_re.match(line), f"text line without time, level, component: {line!r}"
grpc = [l for l in text if " WARNING grpc: request failed " in l]
assert len(grpc) == 1 and "code=NOT_FOUND method=Inspect model=no_such_model" in grpc[0], grpc
http = [l for l in text if " WARNING http: request failed " in l]
assert len(http) == 1 and '\\n{\\"level\\":\\"error\\"' in http[0], http
EOF
# A bad flag value is refused before anything starts.
status=0
"$server" --model-repository "$work/repo" --log-level chatty > "$work/bad.log" 2>&1 || status=$?
[[ $status == 2 ]] || fail "--log-level chatty exit status $status"
grep -q "log level" "$work/bad.log" || fail "no message for a bad --log-level"
echo PASS
