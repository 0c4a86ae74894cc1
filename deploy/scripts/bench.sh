#!/usr/bin/env bash
# Serving benchmark on loopback: Inspect latency (1 client) and throughput
# (32 clients) with dynamic batching on and off, in one run against one
# server. Needs the demo's trained models (run deploy/scripts/demo.sh first).
# Bounded: every perf run sends a fixed number of requests to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."

VAR=${LINESERVE_VAR:-var}
BUILD_DIR=${BUILD_DIR:-build}
REQUESTS=${REQUESTS:-960}
CLIENTS=${CLIENTS:-32}
SRC="$VAR/model_repository/quality_inspection"
BENCH="$VAR/bench_repository"
CLI="$BUILD_DIR/client/lineserve-cli"

[[ -d "$SRC/1" ]] || { echo "no trained model in $SRC: run deploy/scripts/demo.sh"; exit 1; }
rm -rf "$BENCH"
mkdir -p "$BENCH"
# The same model twice; only the batching settings differ.
for name in batching_on batching_off; do
  mkdir -p "$BENCH/$name"
  cp -r "$SRC/1" "$BENCH/$name/1"
  sed -e "s/^name: .*/name: \"$name\"/" "$SRC/config.pbtxt" > "$BENCH/$name/config.pbtxt"
done
# Batching off: one request per forward pass.
sed -i -e 's/^max_batch_size: .*/max_batch_size: 1/' \
  -e '/^dynamic_batching {/,/^}/d' -e '/^warmup {/,/^}/d' \
  "$BENCH/batching_off/config.pbtxt"

mkdir -p "$VAR/run"
rm -f "$VAR/run/bench.port"
"$BUILD_DIR/server/lineserve-server" --model-repository "$BENCH" \
  --grpc-address 127.0.0.1:0 --port-file "$VAR/run/bench.port" \
  --log-level warning &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [[ -s "$VAR/run/bench.port" ]] && break; sleep 0.1; done
ADDR="127.0.0.1:$(cat "$VAR/run/bench.port")"
IMAGE=$(ls "$VAR/data/tiles/images/crack/"*.png | head -n 1)

run() {  # model clients requests
  "$CLI" perf --server "$ADDR" --file "$IMAGE" --model "$1" \
    --concurrency "$2" --requests "$3" --warmup 32 --json
}
echo "lineserve benchmark: $(nproc) cores, image $IMAGE"
results=()
for model in batching_on batching_off; do
  results+=("$(run "$model" 1 200)")
  results+=("$(run "$model" "$CLIENTS" "$REQUESTS")")
done
printf '%s\n' "${results[@]}" | tee "$VAR/run/bench.jsonl"
printf '%s\n' "${results[@]}" | awk -v clients="$CLIENTS" '
  function field(name,   r) {
    if (!match($0, "\"" name "\":[^,}]*")) return ""
    r = substr($0, RSTART, RLENGTH); sub(/^[^:]*:/, "", r); gsub(/"/, "", r)
    return r
  }
  { m = field("model"); c = field("concurrency"); t = field("throughput_rps")
    printf "%-13s clients %3d  %7.1f req/s  latency p50 %7.2f ms p99 %7.2f ms  mean batch %5.2f\n",
           m, c, t, field("latency_ms_p50"), field("latency_ms_p99"), field("mean_batch_size")
    tp[m "/" c] = t }
  END { if (tp["batching_off/" clients] > 0)
          printf "throughput at %d clients, batching on / off: %.2fx\n", clients,
                 tp["batching_on/" clients] / tp["batching_off/" clients] }'
