#!/usr/bin/env bash
# Starts a real lineserve-server on loopback with tiny models (trained here
# on synthetic data), sends one Inspect and one Predict, fetches GET /metrics
# from the metrics port and checks that every metric the Grafana dashboard
# and the Prometheus rules query is in that exposition.
#
#   live_metrics_test.sh SERVER CLI TRAIN SOURCE_DIR
set -euo pipefail
SERVER=$1 CLI=$2 TRAIN=$3 SRC=$4

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; [[ -f $tmp/server.log ]] && tail -n 20 "$tmp/server.log" >&2; exit 1; }

# Tiny data and models: seconds, not accuracy (--force: past the quality
# gate, which would rightly refuse them).
"$TRAIN" datagen --out "$tmp/data" --seed 3 --ok-count 12 --defect-count 4 \
  --min-side 64 --max-side 96 --rows 200 > "$tmp/train.log" 2>&1 || fail "datagen"
"$TRAIN" quality --data "$tmp/data/tiles/images" --repo "$tmp/repo" --seed 3 \
  --image-size 32 --channels 8,16 --epochs 2 --folds 1 --publish fold --threads 1 --force >> "$tmp/train.log" 2>&1 ||
  { cat "$tmp/train.log"; fail "quality training"; }
"$TRAIN" efficiency --csv "$tmp/data/production.csv" --target actual_productivity \
  --repo "$tmp/repo" --seed 3 --threads 1 --force >> "$tmp/train.log" 2>&1 ||
  { cat "$tmp/train.log"; fail "efficiency training"; }

"$SERVER" --model-repository "$tmp/repo" --torch-threads 1 \
  --grpc-address 127.0.0.1:0 --port-file "$tmp/port" \
  --metrics-address 127.0.0.1:0 --metrics-port-file "$tmp/metrics_port" \
  2> "$tmp/server.log" &
server_pid=$!
for _ in $(seq 1 300); do
  [[ -s $tmp/port && -s $tmp/metrics_port ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "server exited"
  sleep 0.1
done
[[ -s $tmp/port && -s $tmp/metrics_port ]] || fail "server did not write its port files in 30 s"
addr=127.0.0.1:$(cat "$tmp/port")
metrics_url=http://127.0.0.1:$(cat "$tmp/metrics_port")/metrics

image=$(find "$tmp/data/tiles/images/crack" -name '*.png' | sort | head -n 1)
"$CLI" inspect --server "$addr" --line line-1 --station cam-1 "$image" || fail "Inspect"
# A blank frame (flat grey 64x64 PNG): answered, and flagged by the camera
# check, so lineserve_image_quality_issues_total has a sample.
python3 "$SRC/tests/deploy/write_blank_png.py" "$tmp/blank.png"
"$CLI" inspect --server "$addr" --line line-1 --station cam-1 "$tmp/blank.png" ||
  fail "Inspect of a blank frame"
head -n 3 "$tmp/data/production.csv" > "$tmp/rows.csv"
"$CLI" predict --server "$addr" --csv "$tmp/rows.csv" || fail "Predict"

# Counters are updated as the calls finish; allow the last one a moment.
for _ in $(seq 1 50); do
  curl -sf --max-time 5 "$metrics_url" > "$tmp/metrics.txt" || fail "GET $metrics_url"
  grep -q '^lineserve_requests_total{.*method="Predict"' "$tmp/metrics.txt" && break
  sleep 0.1
done
echo "$(grep -c '^# TYPE' "$tmp/metrics.txt") families in the exposition"
python3 "$SRC/tests/deploy/check_metric_names.py" --exposition "$tmp/metrics.txt" \
  --dashboard "$SRC/deploy/grafana/dashboards/lineserve.json" \
  --rules "$SRC/deploy/prometheus/alerts.yml"
