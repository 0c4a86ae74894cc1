#!/usr/bin/env bash
# Builds the lineserve image and runs it for real on a machine without a
# registry (../shared/CONTAINERS.md): Debian's Docker engine started by hand
# (no default bridge: single containers use the host network on loopback;
# compose's own project network works), a local debian:bookworm-slim made
# with debootstrap.
#
#   1. installs docker.io, debootstrap, docker-compose (apt-get, idempotent)
#   2. starts dockerd with its own root, socket and pid file
#   3. makes the base image once (kept in the engine root between runs)
#   4. builds lineserve:dev (Dockerfile) and lineserve-prometheus:local
#   5. trains tiny models by running the image's trainer into a host folder,
#      starts the server container on 127.0.0.1:8500/8502, waits for gRPC
#      health, sends one Inspect and one Predict (the image's lineserve-cli),
#      scrapes /metrics, checks the dashboard and rules against it, waits for
#      the image HEALTHCHECK to report healthy, stops it (SIGTERM: exit 0)
#   6. brings up docker-compose.yml as it is (ports published on 127.0.0.1,
#      Prometheus image from Debian's package): trainer, server, Prometheus;
#      checks through Prometheus' HTTP API that the server target is up and
#      a Predict call's counter arrived; tears it down with its volumes.
#      Grafana is not started: its image comes only from a registry.
#   7. stops what it started: containers, volumes, dockerd (by pid), mounts.
#
# Needs root (dockerd) and the ports 8500, 8501, 8502 and 9090 free on loopback.
# Every wait is bounded; LINESERVE_BUILD_TIMEOUT (s) bounds the image build.
# LINESERVE_DOCKER_ROOT (default /var/tmp/lineserve-docker) keeps the engine's
# images and build cache between runs; delete it for a cold run.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE_ROOT=${LINESERVE_DOCKER_ROOT:-/var/tmp/lineserve-docker}
BUILD_TIMEOUT=${LINESERVE_BUILD_TIMEOUT:-3600}
IMAGE=lineserve:dev
PROM_IMAGE=lineserve-prometheus:local
PROJECT=lineserve-test
GRPC=127.0.0.1:8500
METRICS=127.0.0.1:8502
HTTP=127.0.0.1:8501
PROM=127.0.0.1:9090
# Tiny models: the point is the plumbing, not accuracy (seconds to train).
DATAGEN_ARGS="--ok-count 12 --defect-count 4 --min-side 64 --max-side 96 --rows 200"
# Smoke-test models (seconds, not accuracy): --force lets them past the
# trainer's quality gate, which would rightly refuse them.
QUALITY_ARGS="--image-size 32 --channels 8,16 --epochs 2 --folds 1 --publish fold --force"
EFFICIENCY_ARGS="--trees 30 --force"

export DOCKER_HOST="unix://$ENGINE_ROOT/docker.sock"
export DOCKER_BUILDKIT=0  # the classic builder honours --network host as is
# The docker.io CLI matches its daemon (20.10); a newer CLI elsewhere on PATH
# would ask for buildx.
DOCKER=/usr/bin/docker
COMPOSE=(docker-compose -p "$PROJECT" -f docker-compose.yml)

t0=$(date +%s)
phase_start=$t0
timings=()
step() { printf '\n==> [%4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
lap() {
  local now; now=$(date +%s)
  timings+=("$(printf '%-34s %5ss' "$1" "$((now - phase_start))")")
  phase_start=$now
}
die() { echo "test-image: FAILED: $*" >&2; exit 1; }

# Polls "$@" every second until it succeeds or LIMIT seconds pass.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || die "$what: not within ${limit}s"
    sleep 1
  done
}

[[ $(id -u) -eq 0 ]] || die "run as root (it starts dockerd)"
for port in 8500 8501 8502 9090; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "127.0.0.1:$port is in use; stop what listens there"
  fi
done

RUN=$(mktemp -d /tmp/lineserve-test-image.XXXXXX)
started_dockerd=""
container=""
compose_up=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n $container ]]; then
    $DOCKER rm -f "$container" >/dev/null 2>&1
  fi
  if [[ -n $compose_up ]]; then
    "${COMPOSE[@]}" down -v --timeout 20 >/dev/null 2>&1
  fi
  if [[ -n $started_dockerd ]]; then
    kill -TERM "$started_dockerd" 2>/dev/null
    for _ in $(seq 1 30); do
      kill -0 "$started_dockerd" 2>/dev/null || break
      sleep 1
    done
    kill -KILL "$started_dockerd" 2>/dev/null
    # dockerd leaves its network namespace mount (and, if killed, overlays).
    grep -o " $ENGINE_ROOT/[^ ]*" /proc/mounts | sort -r |
      while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  fi
  rm -rf "$RUN"
  if ((rc == 0)); then
    echo
    echo "timings:"
    printf '  %s\n' "${timings[@]}"
    echo "test-image: OK in $(( $(date +%s) - t0 ))s"
  fi
}
trap cleanup EXIT

step "packages: docker.io debootstrap docker-compose curl python3"
need=()
for p in docker.io debootstrap docker-compose curl python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    need+=("$p")
done
if ((${#need[@]})); then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
lap "packages"

step "dockerd (root $ENGINE_ROOT, no bridge, no iptables)"
mkdir -p "$ENGINE_ROOT"
if [[ -f $ENGINE_ROOT/pid ]] && kill -0 "$(cat "$ENGINE_ROOT/pid")" 2>/dev/null; then
  die "a dockerd of a previous run still runs (pid $(cat "$ENGINE_ROOT/pid")); stop it first"
fi
dockerd --data-root "$ENGINE_ROOT/root" --exec-root "$ENGINE_ROOT/exec" \
  --pidfile "$ENGINE_ROOT/pid" -H "$DOCKER_HOST" \
  --bridge=none --iptables=false --ip6tables=false \
  > "$ENGINE_ROOT/dockerd.log" 2>&1 &
started_dockerd=$!
wait_for 60 "dockerd answering" $DOCKER info
lap "dockerd start"

if ! $DOCKER image inspect debian:bookworm-slim >/dev/null 2>&1; then
  step "base image debian:bookworm-slim (debootstrap minbase)"
  rm -rf "$ENGINE_ROOT/rootfs"
  debootstrap --variant=minbase bookworm "$ENGINE_ROOT/rootfs" \
    > "$ENGINE_ROOT/debootstrap.log" 2>&1 ||
    { tail -20 "$ENGINE_ROOT/debootstrap.log"; die "debootstrap"; }
  tar -C "$ENGINE_ROOT/rootfs" -c . | $DOCKER import - debian:bookworm-slim >/dev/null
  rm -rf "$ENGINE_ROOT/rootfs"
  lap "base image (debootstrap)"
fi

step "docker build $IMAGE (log: $RUN/build.log; first build compiles everything)"
timeout "$BUILD_TIMEOUT" $DOCKER build --network host -t "$IMAGE" . \
  > "$RUN/build.log" 2>&1 || { tail -40 "$RUN/build.log"; die "image build"; }
$DOCKER image ls "$IMAGE" --format '{{.Repository}}:{{.Tag}} {{.Size}}'
lap "image build lineserve"
timeout "$BUILD_TIMEOUT" $DOCKER build --network host -t "$PROM_IMAGE" deploy/prometheus \
  > "$RUN/build-prometheus.log" 2>&1 ||
  { tail -40 "$RUN/build-prometheus.log"; die "prometheus image build"; }
lap "image build prometheus"

step "image: runs as non-root and ships the three binaries"
[[ $($DOCKER run --rm --network none "$IMAGE" id -u) == 10001 ]] || die "image user is not 10001"
$DOCKER run --rm --network none "$IMAGE" sh -c \
  'lineserve-server --help >/dev/null 2>&1; lineserve-train --help >/dev/null && lineserve-cli --help >/dev/null' ||
  die "binaries in the image do not start (missing runtime libraries?)"

step "train tiny models with the image's trainer into $RUN/models"
mkdir -p "$RUN/models"
chown 10001:10001 "$RUN/models"
timeout 600 $DOCKER run --rm --network none -v "$RUN/models:/var/lib/lineserve" "$IMAGE" \
  sh -ec "cd /var/lib/lineserve
    lineserve-train datagen --out data --seed 7 $DATAGEN_ARGS
    lineserve-train quality --data data/tiles/images --repo model_repository --seed 7 $QUALITY_ARGS
    lineserve-train efficiency --csv data/production.csv --target actual_productivity --repo model_repository --seed 7 $EFFICIENCY_ARGS" \
  > "$RUN/train.log" 2>&1 || { tail -30 "$RUN/train.log"; die "training in the image"; }
head -n 3 "$RUN/models/data/production.csv" > "$RUN/models/rows.csv"
image_file=$(cd "$RUN/models" && find data/tiles/images/crack -name "*.png" | sort | head -n 1)
lap "train tiny models (container)"

step "server container on $GRPC (gRPC) and $METRICS (metrics)"
container=lineserve-test-$$
$DOCKER run -d --name "$container" --network host --read-only --tmpfs /tmp \
  -v "$RUN/models:/var/lib/lineserve:ro" "$IMAGE" \
  lineserve-server --model-repository /var/lib/lineserve/model_repository \
  --grpc-address "$GRPC" --http-address "$HTTP" --metrics-address "$METRICS" >/dev/null
cli() {  # cli COMMAND [ARGS]: the image's lineserve-cli against the container
  local command=$1; shift
  $DOCKER exec "$container" lineserve-cli "$command" --server "$GRPC" "$@"
}
server_serving() { cli health; }
wait_for 60 "gRPC health SERVING" server_serving
cli health
cli models
cli inspect --line line-1 --station cam-1 "/var/lib/lineserve/$image_file"
# A blank frame: answered and flagged by the camera check (its counter must
# be in the exposition the dashboard and alerts are checked against).
python3 tests/deploy/write_blank_png.py "$RUN/models/blank.png"
cli inspect --line line-1 --station cam-1 /var/lib/lineserve/blank.png
cli predict --csv /var/lib/lineserve/rows.csv
lap "container start + health + calls"

step "Open Inference Protocol over HTTP on $HTTP"
curl -sf --max-time 10 "http://$HTTP/v2/health/ready" | grep -q '"ready":true' ||
  die "REST readiness"
curl -sf --max-time 10 "http://$HTTP/v2/models/efficiency_prediction" |
  grep -q '"name":"efficiency"' || die "REST model metadata"

step "scrape http://$METRICS/metrics"
curl -sf --max-time 10 "http://$METRICS/metrics" > "$RUN/metrics.txt" || die "scrape"
grep -E '^lineserve_requests_total\{.*method="Inspect".*\} 1$|^lineserve_requests_total\{.*method="Predict".*\} 1$' \
  "$RUN/metrics.txt" || die "request counters missing after one Inspect and one Predict"
python3 tests/deploy/check_metric_names.py --exposition "$RUN/metrics.txt" \
  --dashboard deploy/grafana/dashboards/lineserve.json --rules deploy/prometheus/alerts.yml

step "image HEALTHCHECK reports healthy (Docker runs it every 15 s)"
container_healthy() {
  [[ $($DOCKER inspect -f '{{.State.Health.Status}}' "$container") == healthy ]]
}
wait_for 45 "HEALTHCHECK healthy" container_healthy
$DOCKER inspect -f 'health: {{.State.Health.Status}} (last: exit {{(index .State.Health.Log 0).ExitCode}})' "$container"

step "docker stop (SIGTERM through tini: drain, exit 0)"
$DOCKER stop -t 20 "$container" >/dev/null
exit_code=$($DOCKER inspect -f '{{.State.ExitCode}}' "$container")
$DOCKER logs "$container" 2>&1 | tail -n 3
[[ $exit_code == 0 ]] || die "server exited $exit_code on SIGTERM"
$DOCKER rm "$container" >/dev/null
container=""
lap "scrape + healthcheck + stop"

step "compose: trainer -> server -> prometheus (no Grafana image here)"
export LINESERVE_IMAGE=$IMAGE PROMETHEUS_IMAGE=$PROM_IMAGE LINESERVE_PUBLISH_ADDRESS=127.0.0.1 \
  LINESERVE_DATAGEN_ARGS=$DATAGEN_ARGS LINESERVE_QUALITY_ARGS=$QUALITY_ARGS \
  LINESERVE_EFFICIENCY_ARGS=$EFFICIENCY_ARGS
compose_up=1
timeout 600 "${COMPOSE[@]}" up -d --no-build trainer server prometheus
"${COMPOSE[@]}" ps
"${COMPOSE[@]}" logs --no-color trainer | tail -n 4
prom_query() {  # prom_query PROMQL -> first sample value, or fails
  curl -sf --max-time 5 "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1]) if r else sys.exit(1)'
}
target_up() {
  curl -sf --max-time 5 "http://$PROM/api/v1/targets?state=active" |
    python3 -c 'import json,sys
t=[t for t in json.load(sys.stdin)["data"]["activeTargets"] if t["labels"]["job"]=="lineserve"]
print(t); sys.exit(0 if t and t[0]["health"]=="up" else 1)'
}
wait_for 60 "Prometheus ready" curl -sf --max-time 2 "http://$PROM/-/ready"
wait_for 60 "Prometheus scraping the server (target up)" target_up
target_up
$DOCKER run --rm --network host -v "${PROJECT}_models:/var/lib/lineserve:ro" "$IMAGE" \
  lineserve-cli predict --server "$GRPC" --csv /var/lib/lineserve/data/production.csv >/dev/null
requests_seen() {
  local v
  v=$(prom_query 'sum(lineserve_requests_total{method="Predict",code="OK"})') && [[ $v != 0 ]]
}
wait_for 45 "the Predict call counted in Prometheus" requests_seen
echo "Prometheus: up{job=\"lineserve\"} = $(prom_query 'up{job="lineserve"}')," \
  "Predict requests = $(prom_query 'sum(lineserve_requests_total{method="Predict",code="OK"})')," \
  "rules loaded = $(curl -sf "http://$PROM/api/v1/rules" | python3 -c 'import json,sys; print(sum(len(g["rules"]) for g in json.load(sys.stdin)["data"]["groups"]))')"
compose_healthy() {
  [[ $($DOCKER inspect -f '{{.State.Health.Status}}' "${PROJECT}_server_1") == healthy ]]
}
wait_for 45 "compose server healthy" compose_healthy
lap "compose up + Prometheus checks"

step "compose down (-v: volumes too)"
"${COMPOSE[@]}" down -v --timeout 20
compose_up=""
lap "compose down"
