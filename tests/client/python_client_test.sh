#!/usr/bin/env bash
# The Python client package and the Open Inference Protocol, as a user
# meets them: the package is pip-installed from a copy of the checkout into
# a venv over Debian's python3-grpcio (no index, no download), a real
# server serves the golden repository on loopback with gRPC and HTTP, and
# python/test_*.py run against it (package helpers and CLI; OIP over gRPC
# with a client built from the specification's facts; OIP over HTTP/REST
# with a real HTTP client); and TLS: a second server requires mutual TLS
# (certificates made for the run) and python/test_tls.py connects to it.
# Stops what it starts.
set -euo pipefail
server=${1:?usage: python_client_test.sh SERVER SOURCE_DIR}
source_dir=$(cd "${2:?usage: python_client_test.sh SERVER SOURCE_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
golden=$source_dir/tests/integration/testdata/golden
# shellcheck source=../support/golden_kernels.sh
source "$(dirname "$0")/../support/golden_kernels.sh"
python=/usr/bin/python3  # Debian's: python3-grpcio is installed for it
work=$(mktemp -d)
pid=
tls_pid=
cleanup() {
  for p in $pid $tls_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; tail -n 20 "$work/server.log" 2>/dev/null || true; exit 1; }

# The package builds its stubs from ../../proto: copy both, so the build
# leaves nothing in the checkout.
mkdir -p "$work/src/client"
cp -r "$source_dir/client/python" "$work/src/client/python"
cp -r "$source_dir/proto" "$work/src/proto"
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-index --no-deps \
  "$work/src/client/python" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; fail "pip install"; }

cp -r "$golden/repo" "$work/repo"
max_body=1048576
"$server" --model-repository "$work/repo" --grpc-address 127.0.0.1:0 \
  --port-file "$work/port" --metrics-address "" \
  --http-address 127.0.0.1:0 --http-port-file "$work/http_port" \
  --http-max-body-bytes "$max_body" --log-level warning \
  > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  [[ -s "$work/port" && -s "$work/http_port" ]] && break
  kill -0 "$pid" 2>/dev/null || fail "server exited"
  sleep 0.1
done
[[ -s "$work/http_port" ]] || fail "server did not start"

bash "$source_dir/tests/support/make_test_certs.sh" "$work/certs"
"$server" --model-repository "$work/repo" --grpc-address 127.0.0.1:0 \
  --port-file "$work/tls_port" --metrics-address "" --log-level warning \
  --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server.key" \
  --tls-client-ca "$work/certs/ca.pem" > "$work/tls_server.log" 2>&1 &
tls_pid=$!
for _ in $(seq 300); do
  [[ -s "$work/tls_port" ]] && break
  kill -0 "$tls_pid" 2>/dev/null || { cat "$work/tls_server.log"; fail "TLS server exited"; }
  sleep 0.1
done
[[ -s "$work/tls_port" ]] || fail "TLS server did not start"

cd "$here/python"
LINESERVE_GRPC=127.0.0.1:$(cat "$work/port") \
LINESERVE_HTTP_PORT=$(cat "$work/http_port") \
LINESERVE_HTTP_MAX_BODY=$max_body \
LINESERVE_GOLDEN=$golden \
LINESERVE_TLS_GRPC=127.0.0.1:$(cat "$work/tls_port") \
LINESERVE_TLS_CERTS=$work/certs \
PYTHONDONTWRITEBYTECODE=1 \
  "$work/venv/bin/python" -m unittest -v test_package test_oip_grpc test_rest test_tls ||
  fail "python tests"
kill -0 "$pid" || fail "the server died during the tests"
kill -0 "$tls_pid" || fail "the TLS server died during the tests"
