#!/usr/bin/env bash
# SIGTERM and SIGINT under load: 16 clients call Predict back to back on the
# golden model; mid-load the server gets the signal. It must exit 0 within
# its grace period, and every call in flight when the signal came must be
# answered OK. Calls made after it are refused: UNAVAILABLE from the server
# while it drains, or CANCELLED from gRPC itself for the few that reach the
# port in the instant it closes (gRPC core cancels calls it accepted but no
# longer hands to the application). Nothing may end INTERNAL, UNKNOWN or
# DEADLINE_EXCEEDED. Loopback only; stops what it starts.
set -euo pipefail
server=${1:?usage: signal_process_test.sh SERVER SOURCE_DIR}
source_dir=$(cd "${2:?usage: signal_process_test.sh SERVER SOURCE_DIR}" && pwd)
python=/usr/bin/python3  # Debian's, with python3-grpcio and grpc-tools
golden=$source_dir/tests/integration/testdata/golden
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"

mkdir -p "$work/py"
"$python" -m grpc_tools.protoc -I "$source_dir/proto" --python_out="$work/py" \
  --grpc_python_out="$work/py" "$source_dir"/proto/lineserve/v1/*.proto ||
  fail "protoc"

# Load: N threads, each calling Predict back to back until the server is
# gone; every call's start time (monotonic) and code go to a JSON file.
cat > "$work/load.py" <<'PY'
import csv, json, sys, threading, time
import grpc
sys.path.insert(0, sys.argv[1])
from lineserve.v1 import efficiency_prediction_pb2 as pb
from lineserve.v1 import efficiency_prediction_pb2_grpc as rpc
address, rows_csv, out, started_file = sys.argv[2:6]
request = pb.PredictRequest()
with open(rows_csv) as f:
    for i, row in enumerate(csv.DictReader(f)):
        if i == 8: break
        r = request.rows.add(row_id=str(i))
        for name, value in row.items():
            if name in ("date", "actual_productivity"): continue
            try: r.features[name].number = float(value)
            except ValueError: r.features[name].category = value
calls, lock = [], threading.Lock()
def worker():
    stub = rpc.EfficiencyPredictionStub(grpc.insecure_channel(address))
    refused = 0
    while refused < 20:
        start = time.monotonic()
        try:
            stub.Predict(request, timeout=30)
            code = "OK"
        except grpc.RpcError as e:
            code = e.code().name
        with lock: calls.append((start, code))
        if code != "OK":
            refused += 1
            time.sleep(0.01)
threads = [threading.Thread(target=worker) for _ in range(16)]
for t in threads: t.start()
open(started_file, "w").write("1")
for t in threads: t.join()
json.dump(calls, open(out, "w"))
PY

for sig in TERM INT; do
  rm -f "$work/port" "$work/started" "$work/calls.json"
  "$server" --model-repository "$golden/repo" --grpc-address 127.0.0.1:0 \
    --port-file "$work/port" --metrics-address "" \
    --shutdown-grace-seconds 10 2> "$work/server.log" &
  pid=$!
  for _ in $(seq 1 300); do
    [[ -s $work/port ]] && break
    kill -0 "$pid" 2>/dev/null || fail "server exited"
    sleep 0.1
  done
  [[ -s $work/port ]] || fail "no port file in 30 s"
  "$python" "$work/load.py" "$work/py" "127.0.0.1:$(cat "$work/port")" \
    "$golden/rows.csv" "$work/calls.json" "$work/started" &
  load=$!
  for _ in $(seq 1 100); do [[ -s $work/started ]] && break; sleep 0.1; done
  sleep 2  # load running
  signalled_at=$("$python" -c 'import time; print(time.monotonic())')
  kill "-$sig" "$pid"
  exited=0
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { exited=1; break; }
    sleep 0.1
  done
  ((exited)) || fail "SIG$sig: still running 15 s later"
  status=0
  wait "$pid" || status=$?
  pid=
  [[ $status == 0 ]] || fail "SIG$sig: exit status $status"
  wait "$load" || fail "load driver"
  "$python" - "$work/calls.json" "$signalled_at" "$sig" <<'PY' || fail "SIG$sig calls"
import collections, json, sys
calls, signalled, sig = json.load(open(sys.argv[1])), float(sys.argv[2]), sys.argv[3]
codes = collections.Counter(code for _, code in calls)
before = [code for start, code in calls if start < signalled - 0.1]
after = collections.Counter(code for start, code in calls if start >= signalled - 0.1)
print(f"SIG{sig}: {len(calls)} calls {dict(codes)}; "
      f"{len(before)} started before the signal, all OK: {set(before) == {'OK'}}; "
      f"later ones {dict(after)}")
bad = set(codes) - {"OK", "UNAVAILABLE", "CANCELLED"}
if bad: sys.exit(f"calls ended {sorted(bad)}")
if not before or set(before) != {"OK"}: sys.exit("a call in flight was not answered")
if codes["OK"] < 50: sys.exit("too little load to mean anything")
PY
done
echo "SIGTERM and SIGINT under load: exit 0, every call in flight answered"
