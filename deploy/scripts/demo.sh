#!/usr/bin/env bash
# The main job, end to end on one machine: install dependencies, build,
# generate the bundled synthetic data, train both models on it and show
# their evaluation. A second run reuses the build, the data and the models
# (delete var/ to start over).
set -euo pipefail
cd "$(dirname "$0")/../.."

VAR=${LINESERVE_VAR:-var}
BUILD_DIR=${BUILD_DIR:-build}
TRAIN="$BUILD_DIR/models/lineserve-train"
REPO="$VAR/model_repository"

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies (Debian packages)"
deploy/scripts/install-deps.sh
step "building (first build takes several minutes on 2 cores)"
deploy/scripts/build.sh

if [[ ! -f "$VAR/data/production.csv" ]]; then
  step "generating synthetic data into $VAR/data"
  "$TRAIN" datagen --out "$VAR/data" --seed 7
fi
if [[ ! -d "$REPO/quality_inspection/1" ]]; then
  step "training the quality-inspection model (small: 64 px, 25 epochs)"
  "$TRAIN" quality --data "$VAR/data/tiles/images" --repo "$REPO" \
    --image-size 64 --channels 16,32,64 --epochs 25 --folds 1 --publish fold \
    --seed 7
fi
if [[ ! -d "$REPO/efficiency_prediction/1" ]]; then
  step "training the efficiency model"
  "$TRAIN" efficiency --csv "$VAR/data/production.csv" \
    --target actual_productivity --repo "$REPO" --seed 7
fi

step "trained models in $REPO"
"$TRAIN" report --repo "$REPO"

SERVER="$BUILD_DIR/server/lineserve-server"
CLI="$BUILD_DIR/client/lineserve-cli"
RUN="$VAR/run"
mkdir -p "$RUN"
rm -f "$RUN/port" "$RUN/metrics-port"
step "starting lineserve-server on 127.0.0.1 (free ports for gRPC and metrics)"
"$SERVER" --model-repository "$REPO" --grpc-address 127.0.0.1:0 \
  --port-file "$RUN/port" --metrics-address 127.0.0.1:0 \
  --metrics-port-file "$RUN/metrics-port" 2> "$RUN/server.log" &
server_pid=$!
stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
}
trap stop_server EXIT
for _ in $(seq 1 200); do
  [[ -s "$RUN/port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$RUN/server.log"; exit 1; }
  sleep 0.1
done
[[ -s "$RUN/port" ]] || { echo "server did not start"; cat "$RUN/server.log"; exit 1; }
ADDR="127.0.0.1:$(cat "$RUN/port")"
METRICS_URL="http://127.0.0.1:$(cat "$RUN/metrics-port")/metrics"
echo "serving on $ADDR, metrics at $METRICS_URL (log: $RUN/server.log)"

step "health and models"
"$CLI" health --server "$ADDR"
"$CLI" models --server "$ADDR"

step "inspecting example images (one per class)"
images=()
for class in ok crack scratch spot; do
  images+=("$(ls "$VAR/data/tiles/images/$class"/*.png | head -n 1)")
done
"$CLI" inspect --server "$ADDR" --line line-1 --station cam-1 "${images[@]}"

step "predicting efficiency for the first rows of the production table"
head -n 6 "$VAR/data/production.csv" > "$RUN/rows.csv"
"$CLI" predict --server "$ADDR" --csv "$RUN/rows.csv"

step "Prometheus metrics after that traffic (GET $METRICS_URL, a few lines)"
curl -sf "$METRICS_URL" > "$RUN/metrics.txt"
grep -E '^lineserve_(requests_total|inferences_total|executions_total|model_ready|models_loaded|inspections_total)[{ ]' \
  "$RUN/metrics.txt" | head -n 20
grep -E '^lineserve_request_duration_seconds_(count|sum)' "$RUN/metrics.txt" | head -n 4
echo "($(grep -c '^# TYPE' "$RUN/metrics.txt") metric families; all of them in $RUN/metrics.txt)"

step "stopping the server (SIGTERM: drain, then exit 0)"
stop_server
trap - EXIT
tail -n 2 "$RUN/server.log"
cat <<EOM

Done. The server loads $REPO; start it yourself with
  $SERVER --model-repository $REPO --grpc-address 127.0.0.1:8500
and call it with $CLI (inspect, predict, models, health, perf).
Prometheus metrics are at http://HOST:8502/metrics (--metrics-address;
README.md, "Metrics", lists the families).
EOM
