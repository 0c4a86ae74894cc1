#!/usr/bin/env bash
# The main job, end to end on one machine: install dependencies, build,
# generate the bundled synthetic data, train both models on it and show
# their evaluation, then serve them and send them parts and rows they never
# saw. A second run reuses the build, the data and the models (delete var/
# to start over).
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

# The demo's recipe (also in bench.sh, soak.sh, docker-compose.yml and
# deploy/k8s/trainer-job.yaml): 360 synthetic surfaces of 128-192 px (120
# OK, 80 of each defect) and a 128 px segmentation model, under 3 minutes
# of training on 2 cores. On new parts it calls every OK surface OK and
# names about 9 in 10 defects right (scratches are the hardest: some are
# faint, some dark ones look like cracks); the figures it prints after
# training say what to expect.
SIDES=(--min-side 128 --max-side 192)
if [[ ! -f "$VAR/data/production.csv" ]]; then
  step "generating synthetic data into $VAR/data"
  "$TRAIN" datagen --out "$VAR/data" --seed 7 --defect-count 80 "${SIDES[@]}"
fi
# Parts and rows the models never see in training: the same generator with
# another seed, as a new batch from the line would be.
EXAMPLES="$VAR/examples"
if [[ ! -f "$EXAMPLES/production.csv" ]]; then
  step "generating new parts and rows for the examples into $EXAMPLES"
  "$TRAIN" datagen --out "$EXAMPLES" --seed 8 --ok-count 10 --defect-count 10 \
    --rows 40 "${SIDES[@]}"
fi
if [[ ! -d "$REPO/quality_inspection/1" ]]; then
  step "training the quality-inspection model (128 px, 40 epochs: under 3 minutes)"
  "$TRAIN" quality --data "$VAR/data/tiles/images" --repo "$REPO" \
    --image-size 128 --channels 16,32,64,128 --epochs 40 --folds 1 \
    --publish fold --seed 7
fi
if [[ ! -d "$REPO/efficiency_prediction/1" ]]; then
  step "training the efficiency model"
  "$TRAIN" efficiency --csv "$VAR/data/production.csv" \
    --target actual_productivity --repo "$REPO" --seed 7
fi

step "what to expect: each model's validation on data it never saw in training"
"$TRAIN" report --repo "$REPO"
echo "The evaluation reports to open in a browser:"
"$TRAIN" report --repo "$REPO" --html | sed 's/^/  /'

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

step "inspecting new parts, one of each class (the folder is the truth)"
images=()
for class in ok crack scratch spot; do
  images+=("$(ls "$EXAMPLES/tiles/images/$class"/*.png | head -n 1)")
done
"$CLI" inspect --server "$ADDR" --line line-1 --station cam-1 "${images[@]}"

step "all $(ls "$EXAMPLES"/tiles/images/*/*.png | wc -l) new parts: answers against the truth"
"$CLI" inspect --server "$ADDR" --json "$EXAMPLES"/tiles/images/*/*.png \
  > "$RUN/examples.jsonl"
# Each answer's file folder is its class. The verdict is right when an OK
# part is called OK and a defect DEFECT; the class when it is also named.
awk -F'"' '
  { cls = "ok"
    for (i = 1; i < NF; i++) {
      if ($i == "file") file = $(i + 2)
      if ($i == "verdict") verdict = $(i + 2)
      if ($i == "defect_class") cls = $(i + 2)
    }
    if (cls == "") cls = "ok"
    n = split(file, parts, "/"); truth = parts[n - 1]
    total[truth]++
    if ((truth == "ok") == (verdict == "OK")) verdicts[truth]++
    if (cls == truth) classes[truth]++ }
  END { for (t in total)
          printf "  %-8s verdict right %2d of %d, class right %2d of %d\n",
                 t, verdicts[t], total[t], classes[t], total[t] }
' "$RUN/examples.jsonl" | sort

step "predicting efficiency for new rows of the production table"
head -n 6 "$EXAMPLES/production.csv" > "$RUN/rows.csv"
"$CLI" predict --server "$ADDR" --csv "$RUN/rows.csv"
echo "what those rows actually achieved (actual_productivity):"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "actual_productivity") c = i; next }
         { printf "  row %d: %s\n", NR - 1, $c }' "$RUN/rows.csv"

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
