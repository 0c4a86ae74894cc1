#!/usr/bin/env bash
# Writes BENCHMARKS.md in one run (about 12 minutes on 2 cores): the machine,
# each model's in-process limit (lineserve-bench), served throughput and
# latency with dynamic batching on and off at concurrency 1..64
# (lineserve-cli perf, closed loop), Poisson arrivals at 70% of the best
# throughput, the server's overhead per Predict, and the quality trainer on
# glibc malloc against mimalloc. The figures are ratios measured
# in this one run; the report says which targets are met.
#
# Needs a build (deploy/scripts/build.sh). Trains the demo models first when
# $VAR/model_repository has none (as deploy/scripts/demo.sh does). Loopback
# only; every perf step is bounded (windows x window time).
#
# BENCH_QUICK=1: a few short windows at concurrency 1 and 2, the trainer
# comparison skipped (the CTest smoke run; its figures mean nothing).
# BENCH_REPO, BENCH_IMAGE, BENCH_ROWS: serve and send these instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

VAR=${LINESERVE_VAR:-var}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-BENCHMARKS.md}
WORK=${BENCH_WORK:-$VAR/bench}
QUICK=${BENCH_QUICK:-0}
TRAIN_EPOCHS=${BENCH_TRAIN_EPOCHS:-3}
TRAIN="$BUILD_DIR/models/lineserve-train"
SERVER="$BUILD_DIR/server/lineserve-server"
CLI="$BUILD_DIR/client/lineserve-cli"
BENCH="$BUILD_DIR/server/bench/lineserve-bench"
REPO=${BENCH_REPO:-$VAR/model_repository}

for tool in "$SERVER" "$CLI" "$BENCH"; do
  [[ -x $tool ]] || { echo "no $tool: run deploy/scripts/build.sh"; exit 1; }
done
rm -rf "$WORK"
mkdir -p "$WORK"

# The demo's data and models (the same commands and seeds as demo.sh).
train_demo_quality() {  # repo
  "$TRAIN" quality --data "$VAR/data/tiles/images" --repo "$1" \
    --image-size 128 --channels 16,32,64,128 --epochs 40 --folds 1 \
    --publish fold --seed 7
}
if [[ -z ${BENCH_REPO:-} ]]; then
  if [[ ! -f "$VAR/data/production.csv" ]]; then
    "$TRAIN" datagen --out "$VAR/data" --seed 7 --min-side 128 --max-side 192 --defect-count 80
  fi
  if [[ ! -d "$REPO/quality_inspection/1" ]]; then
    train_demo_quality "$REPO"
  fi
  if [[ ! -d "$REPO/efficiency_prediction/1" ]]; then
    "$TRAIN" efficiency --csv "$VAR/data/production.csv" \
      --target actual_productivity --repo "$REPO" --seed 7
  fi
fi
IMAGE=${BENCH_IMAGE:-$(ls "$VAR/data/tiles/images/crack/"*.png | head -n 1)}
ROWS=${BENCH_ROWS:-$VAR/data/production.csv}
latest() { ls "$REPO/$1" | grep -E '^[0-9]+$' | sort -n | tail -n 1; }

if [[ $QUICK == 1 ]]; then
  SETTLE=0
  sizes=1,2,4
  concurrencies="1 2"
  rows_range=1:2:x2
  perf_windows=(--window-ms 300 --max-windows 3 --warmup 4)
  poisson_windows=(--window-ms 500 --max-windows 3 --warmup 4)
  bench_time=(--min-seconds 0 --min-iterations 3)
else
  SETTLE=1
  sizes=1,2,4,8,16,32,64
  concurrencies="1 2 4 8 16 32 64"
  rows_range=1:4:x2  # x 64 rows fills the default queue of 256 at 4
  perf_windows=(--window-ms 2000 --max-windows 6 --warmup 32)
  poisson_windows=(--window-ms 5000 --max-windows 6 --warmup 32)
  bench_time=(--min-seconds 2 --min-iterations 5)
fi

echo "== machine"
{
  echo "cores=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo "memory=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "libtorch=$(dpkg-query -W -f '${Version}' libtorch-dev 2>/dev/null || echo unknown)"
  echo "grpc=$(dpkg-query -W -f '${Version}' libgrpc++-dev 2>/dev/null || echo unknown)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
} > "$WORK/machine.env"
cat "$WORK/machine.env"

echo "== in process (lineserve-bench)"
"$BENCH" --model-repository "$REPO" --model quality_inspection --file "$IMAGE" \
  --batch-sizes "$sizes" "${bench_time[@]}" --json | tee "$WORK/inprocess_quality.jsonl"
"$BENCH" --model-repository "$REPO" --model efficiency_prediction --rows "$ROWS" \
  --batch-sizes "$sizes" "${bench_time[@]}" --json | tee "$WORK/inprocess_efficiency.jsonl"

# Each model twice, only the batching differing: as trained (on), and one
# request per forward pass (off).
SERVED="$WORK/repository"
for model in quality_inspection efficiency_prediction; do
  version=$(latest "$model")
  for mode in on off; do
    name="${model}_batching_$mode"
    mkdir -p "$SERVED/$name"
    cp -r "$REPO/$model/$version" "$SERVED/$name/1"
    sed -e "s/^name: .*/name: \"$name\"/" "$REPO/$model/config.pbtxt" \
      > "$SERVED/$name/config.pbtxt"
  done
  sed -i -e 's/^max_batch_size: .*/max_batch_size: 1/' \
    -e '/^dynamic_batching {/,/^}/d' -e '/^warmup {/,/^}/d' \
    "$SERVED/${model}_batching_off/config.pbtxt"
done
grep -h 'max_queue_delay_microseconds' "$SERVED"/*_batching_on/config.pbtxt \
  | awk '{print $2}' > "$WORK/queue_delays"

"$SERVER" --model-repository "$SERVED" --grpc-address 127.0.0.1:0 \
  --port-file "$WORK/port" --metrics-address "" --log-level info \
  2> "$WORK/server.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [[ -s "$WORK/port" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.1
done
[[ -s "$WORK/port" ]] || { echo "server did not start"; exit 1; }
ADDR="127.0.0.1:$(cat "$WORK/port")"

perf() {  # out model what... : one perf run, its steps appended to out
  local out=$1 model=$2; shift 2
  # The previous run's connections close and the server's threads settle.
  sleep "$SETTLE"
  # A step with failed calls still reports them (and the report judges
  # them); perf's exit status 1 does not end the run.
  { "$CLI" perf --server "$ADDR" --model "$model" --json "$@" || true; } | tee -a "$out"
}
echo "== served, closed loop (lineserve-cli perf)"
# On and off alternate at each concurrency, so that both sides of a ratio
# are measured minutes apart at most, whatever the machine's drift.
for c in $concurrencies; do
  for mode in on off; do
    perf "$WORK/served.jsonl" "quality_inspection_batching_$mode" --file "$IMAGE" \
      --concurrency "$c" "${perf_windows[@]}"
  done
done
for c in $concurrencies; do
  for mode in on off; do
    perf "$WORK/served.jsonl" "efficiency_prediction_batching_$mode" --rows "$ROWS" \
      --concurrency "$c" "${perf_windows[@]}"
  done
done

# The floor under every call: grpc.health.v1 Check, no model and no queue,
# on the same channel settings, at 1 client.
sleep "$SETTLE"
{ "$CLI" perf --server "$ADDR" --health --concurrency 1 --json "${perf_windows[@]}" || true; } |
  tee -a "$WORK/health.jsonl"

# Rows per call as the in-process sweep batches them: the served side of
# the efficiency model's limit (one row per call measures the RPC instead).
rows_per_call=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(max(r, key=lambda x: x["samples_per_second"])["batch_size"])' \
  "$WORK/inprocess_efficiency.jsonl")
perf "$WORK/served_rows.jsonl" efficiency_prediction_batching_on --rows "$ROWS" \
  --rows-per-request "$rows_per_call" --concurrency-range "$rows_range" "${perf_windows[@]}"

echo "== served, Poisson arrivals at 70% of the best throughput"
best_rate() {  # model -> 0.7 x its best closed-loop throughput
  python3 - "$WORK/served.jsonl" "$1" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(round(0.7 * max(s["throughput_rps"] for s in steps if s["model"] == sys.argv[2]), 1))
PY
}
perf "$WORK/poisson.jsonl" quality_inspection_batching_on --file "$IMAGE" \
  --request-rate "$(best_rate quality_inspection_batching_on)" --arrivals poisson \
  --seed 7 "${poisson_windows[@]}"
perf "$WORK/poisson.jsonl" efficiency_prediction_batching_on --rows "$ROWS" \
  --request-rate "$(best_rate efficiency_prediction_batching_on)" --arrivals poisson \
  --seed 7 "${poisson_windows[@]}"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
trap - EXIT

# The quality trainer's default configuration (128 px, 16-128 channels,
# segmentation) for a few epochs on the demo tiles, as built (mimalloc) and
# on glibc's malloc: glibc preloaded wins the malloc symbol, which the
# trainer's first line shows.
if [[ $QUICK != 1 && -d "$VAR/data/tiles/images" ]]; then
  echo "== trainer: glibc malloc against mimalloc"
  # awk reads all of ldconfig's output: stopping at the first match would
  # end ldconfig with SIGPIPE, which pipefail turns into the script's exit.
  libc=$(ldconfig -p | awk '/libc\.so\.6 .*x86-64/ && !found {print $NF; found = 1}')
  for alloc in glibc mimalloc; do
    preload=""
    [[ $alloc == glibc ]] && preload=$libc
    rm -rf "$WORK/train_$alloc"
    TIMEFORMAT="%R %U %S"
    { time LD_PRELOAD=$preload "$TRAIN" quality --data "$VAR/data/tiles/images" \
        --repo "$WORK/train_$alloc" --seed 7 --epochs "$TRAIN_EPOCHS" --folds 1 --publish fold \
        > "$WORK/train_$alloc.log" 2>&1 ; } 2> "$WORK/train_$alloc.time"
    echo "$alloc: $(head -n 1 "$WORK/train_$alloc.log"); wall user sys: $(cat "$WORK/train_$alloc.time")"
  done
fi

python3 deploy/scripts/bench_report.py "$WORK" "$OUT"
echo "wrote $OUT"
