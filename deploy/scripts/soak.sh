#!/usr/bin/env bash
# A bounded soak on loopback: one lineserve-server, its Inspect peak measured
# briefly (closed loop, concurrency 1, 4, 16, 64; about 25 s), then Poisson
# arrivals at 70% of that peak on Inspect and a modest rate on Predict for
# SOAK_SECONDS (default 600), while the server's resident memory (VmRSS),
# threads and open file descriptors are sampled every SOAK_SAMPLE_SECONDS
# (default 5) into $WORK/samples.csv. Then SIGTERM. Writes SOAK_OUT (default
# $VAR/soak/SOAK.md) with the figures and the command, and exits 1 when:
#   - any call failed: a status other than OK or RESOURCE_EXHAUSTED (a full
#     queue refusing is by design), as the clients saw it (lineserve-cli perf
#     --json, errors by code) or as the server counted it
#     (lineserve_requests_total by code on /metrics, before/after delta);
#   - the server died, or did not exit 0 after SIGTERM;
#   - steady growth between the comparison window just after warm-up and the
#     last one (both SOAK_COMPARE_SECONDS long, default min(60, soak / 3);
#     warm-up SOAK_WARMUP_SECONDS, default min(60, soak / 9), after the peak
#     steps have already run the server at 64 clients):
#       RSS:  mean(last) > mean(baseline) + max(5%, 16 MiB). At the ~8
#             minutes of load between the two windows of the full soak,
#             16 MiB is a leak of about 100 bytes per request at 300 req/s
#             (or 35 KB per second): far above the noise of an allocator
#             that keeps freed pages (mimalloc's arena), far below any leak
#             that matters over a shift. 5% keeps the rule fair to a large
#             model whose RSS moves more in absolute terms.
#       threads: median(last) > median(baseline) + 4. gRPC's thread pool
#             grows and shrinks with load by a few threads; a thread per
#             request or per connection leaked outruns that within minutes.
#       fds:  median(last) > median(baseline) + 8. The server holds ~15
#             (listeners, epoll, one connection per client). Each perf
#             process (one per phase and API, below) is a new connection, so
#             a leak per connection adds ~28 fds between the windows of the
#             full soak, well over 8. The quick mode has too few phases to
#             catch that one; it still catches a leak per request.
#     Medians for threads and fds: a sample taken while one client
#     reconnects must not decide; a level that has moved does.
#
# Load: `lineserve-cli perf` reports only its last three windows, so the
# soak is consecutive bounded open-loop phases of three windows each
# (10 s windows; 5 s when SOAK_SECONDS < 120), every window of every phase
# reported and summed. Each phase is a new client process and connection,
# which the soak wants anyway (reconnects are part of a shift).
#
# SOAK_SECONDS < 120 is the quick mode (the CTest SoakSmoke run): peak steps
# at concurrency 1, 4, 16 with short windows; the growth rules apply as
# above over the shorter windows.
#
# Binaries from $BUILD_DIR (default build/) as bench.sh takes them, or
# SOAK_SERVER / SOAK_CLI / SOAK_TRAIN. Models: SOAK_REPO, SOAK_IMAGE and
# SOAK_ROWS, else the demo's (trained first when missing, as demo.sh does).
# The repository is copied into the work folder and served from there.
# Other knobs: SOAK_LOAD_PERCENT (70), SOAK_PREDICT_RATE (25 calls/s; 0: no
# Predict), SOAK_WORK ($VAR/soak/run, emptied first).
set -euo pipefail
cd "$(dirname "$0")/../.."

VAR=${LINESERVE_VAR:-var}
BUILD_DIR=${BUILD_DIR:-build}
SERVER=${SOAK_SERVER:-$BUILD_DIR/server/lineserve-server}
CLI=${SOAK_CLI:-$BUILD_DIR/client/lineserve-cli}
TRAIN=${SOAK_TRAIN:-$BUILD_DIR/models/lineserve-train}
OUT=${SOAK_OUT:-$VAR/soak/SOAK.md}
WORK=${SOAK_WORK:-$VAR/soak/run}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_SECONDS=${SOAK_SAMPLE_SECONDS:-5}
LOAD_PERCENT=${SOAK_LOAD_PERCENT:-70}
PREDICT_RATE=${SOAK_PREDICT_RATE:-25}
COMPARE_SECONDS=${SOAK_COMPARE_SECONDS:-$((SOAK_SECONDS / 3 < 60 ? SOAK_SECONDS / 3 : 60))}
WARMUP_SECONDS=${SOAK_WARMUP_SECONDS:-$((SOAK_SECONDS / 9 < 60 ? SOAK_SECONDS / 9 : 60))}
REPO=${SOAK_REPO:-$VAR/model_repository}
INSPECT_MODEL=quality_inspection
PREDICT_MODEL=efficiency_prediction

# The command as run, for the report (the settings that change it first).
command_line="$(env | grep -E '^(SOAK_[A-Z_]+|BUILD_DIR|LINESERVE_VAR)=' | sort |
  tr '\n' ' ')deploy/scripts/soak.sh"

tools=("$SERVER" "$CLI")
[[ -z ${SOAK_REPO:-} ]] && tools+=("$TRAIN")
for tool in "${tools[@]}"; do
  [[ -x $tool ]] || { echo "soak: no $tool: run deploy/scripts/build.sh"; exit 1; }
done
if ((WARMUP_SECONDS + 2 * COMPARE_SECONDS > SOAK_SECONDS)); then
  echo "soak: SOAK_SECONDS=$SOAK_SECONDS is shorter than the warm-up" \
    "($WARMUP_SECONDS s) and two comparison windows ($COMPARE_SECONDS s)"
  exit 1
fi

# The demo's data and models (the same commands and seeds as demo.sh).
if [[ -z ${SOAK_REPO:-} ]]; then
  if [[ ! -f "$VAR/data/production.csv" ]]; then
    "$TRAIN" datagen --out "$VAR/data" --seed 7 --min-side 128 --max-side 192 --defect-count 80
  fi
  if [[ ! -d "$REPO/$INSPECT_MODEL/1" ]]; then
    "$TRAIN" quality --data "$VAR/data/tiles/images" --repo "$REPO" \
      --image-size 128 --channels 16,32,64,128 --epochs 40 --folds 1 \
      --publish fold --seed 7
  fi
  if [[ ! -d "$REPO/$PREDICT_MODEL/1" ]]; then
    "$TRAIN" efficiency --csv "$VAR/data/production.csv" \
      --target actual_productivity --repo "$REPO" --seed 7
  fi
fi
IMAGE=${SOAK_IMAGE:-$(ls "$VAR/data/tiles/images/crack/"*.png | head -n 1)}
ROWS=${SOAK_ROWS:-$VAR/data/production.csv}

if ((SOAK_SECONDS < 120)); then
  peak_range=1:16:x4
  peak_windows=(--window-ms 500 --max-windows 3 --warmup 8)
  window_seconds=5
else
  peak_range=1:64:x4
  peak_windows=(--window-ms 1500 --max-windows 4 --warmup 16)
  window_seconds=10
fi

rm -rf "$WORK"
mkdir -p "$WORK" "$(dirname "$OUT")"
cp -r "$REPO" "$WORK/repository"
{
  echo "command=$command_line"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cores=$(nproc)"
  echo "server=$SERVER"
  echo "cli=$CLI"
  echo "repo=$REPO"
  echo "image=$IMAGE"
  echo "rows=$ROWS"
  echo "soak_seconds=$SOAK_SECONDS"
  echo "sample_seconds=$SAMPLE_SECONDS"
  echo "warmup_seconds=$WARMUP_SECONDS"
  echo "compare_seconds=$COMPARE_SECONDS"
  echo "window_seconds=$window_seconds"
  echo "load_percent=$LOAD_PERCENT"
  echo "predict_rate=$PREDICT_RATE"
  echo "peak_range=$peak_range"
} > "$WORK/run.env"

echo "== starting lineserve-server on 127.0.0.1"
"$SERVER" --model-repository "$WORK/repository" --grpc-address 127.0.0.1:0 \
  --port-file "$WORK/port" --metrics-address 127.0.0.1:0 \
  --metrics-port-file "$WORK/metrics_port" --log-level warning \
  2> "$WORK/server.log" &
pid=$!
background=()  # the sampler and the load loops
cleanup() {
  for job in "${background[@]}"; do kill -TERM "$job" 2>/dev/null || true; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  [[ -s "$WORK/port" && -s "$WORK/metrics_port" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$WORK/server.log"; echo "soak: server exited"; exit 1; }
  sleep 0.1
done
[[ -s "$WORK/port" && -s "$WORK/metrics_port" ]] || { echo "soak: server did not start"; exit 1; }
ADDR="127.0.0.1:$(cat "$WORK/port")"
METRICS="http://127.0.0.1:$(cat "$WORK/metrics_port")/metrics"
"$CLI" health --server "$ADDR" --timeout 10 > /dev/null ||
  { echo "soak: the server does not answer health checks"; exit 1; }
echo "serving on $ADDR, metrics on $METRICS (pid $pid)"

# One line per sample: unix time, phase, VmRSS (kB), threads, open fds.
echo peak > "$WORK/phase"
echo "time,phase,rss_kb,threads,fds" > "$WORK/samples.csv"
sample() {
  while kill -0 "$pid" 2>/dev/null; do
    local now status fds
    now=$(date +%s.%N)
    status=$(awk '/^VmRSS:/ {r = $2} /^Threads:/ {t = $2} END {print r "," t}' \
      "/proc/$pid/status" 2>/dev/null) || break
    fds=$(ls -U "/proc/$pid/fd" 2>/dev/null | wc -l)
    echo "$now,$(cat "$WORK/phase"),$status,$fds" >> "$WORK/samples.csv"
    sleep "$SAMPLE_SECONDS"
  done
}
sample &
background+=("$!")

scrape() {  # out: the server's request counters
  curl -sf --max-time 10 "$METRICS" | grep '^lineserve_requests_total{' > "$1" || true
}

echo "== peak: Inspect, closed loop at concurrency $peak_range"
# Failed calls are judged from the JSON; exit status 1 does not stop the run.
{ "$CLI" perf --server "$ADDR" --model "$INSPECT_MODEL" --file "$IMAGE" \
    --concurrency-range "$peak_range" "${peak_windows[@]}" --json || true; } |
  tee "$WORK/peak.jsonl"
rate=$(python3 - "$WORK/peak.jsonl" "$LOAD_PERCENT" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(round(float(sys.argv[2]) / 100 * max((s["throughput_rps"] for s in steps), default=0), 1))
PY
)
[[ $rate != 0.0 ]] || { echo "soak: no Inspect answered in the peak steps"; exit 1; }
echo "inspect_rate=$rate" >> "$WORK/run.env"

load_loop() {  # name model rate seed_base what... : phases until $load_until
  local name=$1 model=$2 rate=$3 seed=$4 left windows rc child
  shift 4
  trap '[[ -n ${child:-} ]] && kill -TERM "$child" 2>/dev/null; exit 1' TERM
  while :; do
    left=$((load_until - $(date +%s)))
    windows=$((left / window_seconds))
    ((windows >= 1)) || break
    ((windows <= 3)) || windows=3
    seed=$((seed + 1))
    "$CLI" perf --server "$ADDR" --model "$model" "$@" --request-rate "$rate" \
      --arrivals poisson --seed "$seed" --warmup 0 \
      --window-ms $((window_seconds * 1000)) --max-windows "$windows" --json \
      >> "$WORK/$name.jsonl" 2>> "$WORK/$name.log" &
    child=$!
    rc=0
    wait "$child" || rc=$?
    child=""
    echo "$rc" >> "$WORK/$name.rc"
  done
}

echo "== soak: Inspect at $rate/s (${LOAD_PERCENT}% of peak), Predict at" \
  "$PREDICT_RATE/s, Poisson, ${SOAK_SECONDS}s"
scrape "$WORK/metrics_before.txt"
echo soak > "$WORK/phase"
soak_start=$(date +%s.%N)
load_until=$(($(date +%s) + SOAK_SECONDS))
load_loop inspect "$INSPECT_MODEL" "$rate" 0 --file "$IMAGE" &
inspect_job=$!
background+=("$inspect_job")
predict_job=""
if [[ $PREDICT_RATE != 0 ]]; then
  load_loop predict "$PREDICT_MODEL" "$PREDICT_RATE" 1000 --rows "$ROWS" &
  predict_job=$!
  background+=("$predict_job")
fi
wait "$inspect_job" || true
[[ -z $predict_job ]] || wait "$predict_job" || true
soak_end=$(date +%s.%N)
echo drain > "$WORK/phase"
scrape "$WORK/metrics_after.txt"
{
  echo "soak_start=$soak_start"
  echo "soak_end=$soak_end"
} >> "$WORK/run.env"

echo "== SIGTERM"
alive=1
kill -0 "$pid" 2>/dev/null || alive=0
# One more sample, of the idle server, before it stops.
sleep "$SAMPLE_SECONDS"
kill -TERM "${background[0]}" 2>/dev/null || true
wait "${background[0]}" 2>/dev/null || true
background=()
exit_code=none
if ((alive)); then
  term_sent=$(date +%s.%N)
  kill -TERM "$pid"
  # The shutdown grace (10 s by default) and a margin.
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  term_done=$(date +%s.%N)
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    exit_code=hung
  fi
fi
rc=0
wait "$pid" 2>/dev/null || rc=$?
[[ $exit_code == hung ]] || exit_code=$rc
((alive)) || exit_code="died during the soak ($rc)"
trap - EXIT
echo "server_exit=$exit_code" >> "$WORK/run.env"
if ((alive)); then
  echo "shutdown_seconds=$(python3 -c "print(round($term_done - $term_sent, 1))")" \
    >> "$WORK/run.env"
fi

python3 deploy/scripts/soak_report.py "$WORK" "$OUT"
