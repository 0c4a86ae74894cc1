#!/usr/bin/env bash
# The server process under model control, driven as an operator would:
# SIGHUP rescans the repository (a new version is served, the process
# lives), the CLI's control commands need the admin token, unloading a
# model makes its service NOT_SERVING while liveness stays SERVING, and
# SIGTERM still exits 0. Loopback only; stops what it starts.
set -euo pipefail
server=${1:?usage: model_control_process_test.sh SERVER CLI}
cli=${2:?usage: model_control_process_test.sh SERVER CLI}
golden=$(cd "$(dirname "$0")/testdata/golden" && pwd)
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"

cp -r "$golden/repo" "$work/repo"
printf 'operator-token-0123456789\n' > "$work/token"
printf 'not-the-token-0123456789\n' > "$work/wrong"
"$server" --model-repository "$work/repo" --grpc-address 127.0.0.1:0 \
  --port-file "$work/port" --metrics-address "" \
  --model-control-mode explicit --admin-token-file "$work/token" \
  > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do [[ -s "$work/port" ]] && break; sleep 0.1; done
[[ -s "$work/port" ]] || fail "server did not start"
addr=127.0.0.1:$(cat "$work/port")
default_version() {
  "$cli" models --server "$addr" --json |
    python3 -c "import json,sys; print({m['model']: m['default_version'] for m in map(json.loads, sys.stdin)}['$1'])"
}
[[ $(default_version quality_inspection) == 1 ]] || fail "version 1 not serving"

# A new version, published atomically, then SIGHUP.
cp -r "$work/repo/quality_inspection/1" "$work/repo/quality_inspection/.staging-2"
mv "$work/repo/quality_inspection/.staging-2" "$work/repo/quality_inspection/2"
kill -HUP "$pid"
for _ in $(seq 100); do
  [[ $(default_version quality_inspection) == 2 ]] && break; sleep 0.1
done
[[ $(default_version quality_inspection) == 2 ]] || fail "SIGHUP did not load version 2"
kill -0 "$pid" || fail "SIGHUP ended the process"
grep -q "SIGHUP: rescanning" "$work/server.log" || fail "no SIGHUP log line"

# Control needs the token.
if "$cli" unload quality_inspection --server "$addr" --admin-token-file "$work/wrong" \
    > "$work/out" 2>&1; then fail "a wrong token unloaded a model"; fi
grep -q UNAUTHENTICATED "$work/out" || fail "wrong token: $(cat "$work/out")"
if grep -q operator-token "$work/server.log" "$work/out"; then fail "token leaked"; fi
"$cli" health lineserve.v1.QualityInspection --server "$addr" > /dev/null ||
  fail "QualityInspection not SERVING before unload"
"$cli" unload quality_inspection --server "$addr" --admin-token-file "$work/token" \
  > /dev/null || fail "unload with the token"
if "$cli" health lineserve.v1.QualityInspection --server "$addr" > /dev/null; then
  fail "QualityInspection still SERVING without its model"
fi
"$cli" health lineserve.liveness --server "$addr" > /dev/null || fail "liveness"
"$cli" index --server "$addr" | grep -q "quality_inspection (not loaded)" ||
  fail "index does not show the unloaded model"
"$cli" load quality_inspection --server "$addr" --admin-token-file "$work/token" \
  > /dev/null || fail "load with the token"
"$cli" health lineserve.v1.QualityInspection --server "$addr" > /dev/null ||
  fail "QualityInspection not SERVING after load"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[[ $status == 0 ]] || fail "SIGTERM exit status $status"
# --exit-on-load-failure: a model without a ready version ends start-up.
cp -r "$golden/repo" "$work/broken"
echo junk > "$work/broken/efficiency_prediction/1/model.pt"
status=0
timeout 60 "$server" --model-repository "$work/broken" --grpc-address 127.0.0.1:0 \
  --metrics-address "" --exit-on-load-failure > "$work/strict.log" 2>&1 || status=$?
[[ $status == 1 ]] || fail "--exit-on-load-failure exit status $status"
grep -q "efficiency_prediction has no ready version" "$work/strict.log" ||
  fail "--exit-on-load-failure: $(tail -n 2 "$work/strict.log")"

# Without it the server serves what loaded; `models` says the broken model
# has no ready version (never "version 0").
"$server" --model-repository "$work/broken" --grpc-address 127.0.0.1:0 \
  --port-file "$work/broken.port" --metrics-address "" > "$work/broken.log" 2>&1 &
pid=$!
wait_for_ports "$work/broken.port"
"$cli" models --server "127.0.0.1:$(cat "$work/broken.port")" > "$work/models.txt" ||
  fail "models"
grep -q "^efficiency_prediction (no ready version, max batch " "$work/models.txt" ||
  fail "models: $(cat "$work/models.txt")"
if grep -q "version 0" "$work/models.txt"; then fail "models shows version 0"; fi
"$cli" models --json --server "127.0.0.1:$(cat "$work/broken.port")" |
  /usr/bin/python3 -c "import json,sys; m={j['model']: j for j in map(json.loads, sys.stdin)}; assert m['efficiency_prediction']['default_version'] is None, m" ||
  fail "models --json default_version of a model with no ready version"
kill "$pid"; wait "$pid" || true; pid=

echo "SIGHUP rescanned (version 2 served), control needed the token, health followed the model, SIGTERM exit 0, --exit-on-load-failure exit 1, no ready version shown as such"
