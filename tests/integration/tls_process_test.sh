#!/usr/bin/env bash
# lineserve-server with TLS flags, driven as an operator and clients would,
# with certificates made for the run (tests/support/make_test_certs.sh):
#   - bad TLS files end start-up with a message naming the problem (exit 2,
#     not a crash);
#   - TLS only: curl trusting the CA gets /metrics, plaintext does not;
#   - mutual TLS on gRPC, HTTP (/v2) and the metrics port: no client
#     certificate, an untrusted one and plaintext are refused, the trusted
#     one gets answers (curl for HTTP, lineserve-cli --tls-* for gRPC);
#   - a failed LoadModel (corrupt model.pt) answers without the repository's
#     path, which the server's log keeps;
#   - reflection is off without --grpc-reflection.
# Loopback only; stops what it starts.
set -euo pipefail
server=${1:?usage: tls_process_test.sh SERVER CLI SOURCE_DIR}
cli=${2:?usage: tls_process_test.sh SERVER CLI SOURCE_DIR}
source_dir=${3:?usage: tls_process_test.sh SERVER CLI SOURCE_DIR}
golden=$source_dir/tests/integration/testdata/golden
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"

certs=$work/certs
bash "$source_dir/tests/support/make_test_certs.sh" "$certs"
cp -r "$golden/repo" "$work/repo"
printf 'operator-token-0123456789\n' > "$work/token"
echo "not a certificate" > "$work/junk.pem"

# Starts the server with "$@" on free loopback ports (gRPC, HTTP, metrics)
# and waits for them.
start() {
  rm -f "$work"/*port
  "$server" --model-repository "$work/repo" --grpc-address 127.0.0.1:0 \
    --port-file "$work/port" --http-address 127.0.0.1:0 \
    --http-port-file "$work/http_port" --metrics-address 127.0.0.1:0 \
    --metrics-port-file "$work/metrics_port" "$@" > "$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    [[ -s "$work/port" && -s "$work/http_port" && -s "$work/metrics_port" ]] && break
    kill -0 "$pid" 2>/dev/null || fail "server exited"
    sleep 0.1
  done
  [[ -s "$work/port" ]] || fail "server did not start"
  grpc=127.0.0.1:$(cat "$work/port")
  http=127.0.0.1:$(cat "$work/http_port")
  metrics=127.0.0.1:$(cat "$work/metrics_port")
}
stop() { kill -TERM "$pid"; wait "$pid" || fail "exit status $?"; pid=; }

# The HTTP status curl gets for "$@", or "refused" when the connection or
# the handshake fails.
status_of() {
  local code
  if code=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 10 "$@" 2>/dev/null); then
    echo "$code"
  else
    echo refused
  fi
}

# 1. Bad TLS files: a clear start-up error, exit 2, never a crash.
refuses_to_start() {  # refuses_to_start WHAT EXPECTED_MESSAGE FLAGS...
  local what=$1 expected=$2 status=0
  shift 2
  timeout 60 "$server" --model-repository "$work/repo" --grpc-address 127.0.0.1:0 \
    --metrics-address "" "$@" > "$work/start.log" 2>&1 || status=$?
  [[ $status == 2 ]] || fail "$what: exit status $status: $(cat "$work/start.log")"
  grep -q -- "$expected" "$work/start.log" || fail "$what: $(cat "$work/start.log")"
}
refuses_to_start "missing certificate" "$work/absent.pem" \
  --tls-cert "$work/absent.pem" --tls-key "$certs/server.key"
refuses_to_start "not a certificate" "junk.pem holds no PEM certificate" \
  --tls-cert "$work/junk.pem" --tls-key "$certs/server.key"
refuses_to_start "not a key" "junk.pem holds no unencrypted PEM private key" \
  --tls-cert "$certs/server.pem" --tls-key "$work/junk.pem"
refuses_to_start "another certificate's key" "does not go with" \
  --tls-cert "$certs/server.pem" --tls-key "$certs/client.key"
refuses_to_start "certificate without key" "both a certificate and its private key" \
  --tls-cert "$certs/server.pem"
refuses_to_start "client CA without certificate" "needs the server's TLS certificate" \
  --tls-client-ca "$certs/ca.pem"
refuses_to_start "client CA that is no certificate" "client CA $work/junk.pem" \
  --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
  --tls-client-ca "$work/junk.pem"

# 2. TLS only: the CA is enough; plaintext is not served.
start --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"
[[ $(status_of --cacert "$certs/ca.pem" "https://$metrics/metrics") == 200 ]] ||
  fail "TLS: /metrics with the CA"
grep -q '^lineserve_' "$work/body" || fail "TLS: /metrics body"
[[ $(status_of --cacert "$certs/ca.pem" "https://$http/v2/health/ready") == 200 ]] ||
  fail "TLS: /v2/health/ready with the CA"
[[ $(status_of --cacert "$certs/rogue_ca.pem" "https://$http/v2/health/ready") == refused ]] ||
  fail "TLS: curl trusted a server certificate its CA did not sign"
[[ $(status_of "http://$metrics/metrics") != 200 ]] || fail "TLS: plaintext /metrics answered"
"$cli" health --server "$grpc" --tls-ca "$certs/ca.pem" > /dev/null || fail "TLS: cli health"
if "$cli" health --server "$grpc" > /dev/null 2>&1; then fail "TLS: plaintext cli answered"; fi
# Reflection is for development: off unless --grpc-reflection.
grep -q "reflection on" "$work/server.log" && fail "reflection on by default"
stop

# 3. Mutual TLS on every port.
start --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
  --tls-client-ca "$certs/ca.pem" --model-control-mode explicit \
  --admin-token-file "$work/token" --grpc-reflection
grep -q "reflection on" "$work/server.log" || fail "--grpc-reflection not taken"
trusted=(--cacert "$certs/ca.pem" --cert "$certs/client.pem" --key "$certs/client.key")
untrusted=(--cacert "$certs/ca.pem" --cert "$certs/rogue_client.pem" --key "$certs/rogue_client.key")
for url in "https://$http/v2/health/ready" "https://$metrics/metrics" "https://$http/metrics"; do
  code=$(status_of --cacert "$certs/ca.pem" "$url")
  [[ $code == 403 || $code == refused ]] || fail "mTLS: no client certificate: $url answered $code"
  code=$(status_of "${untrusted[@]}" "$url")
  [[ $code == 403 || $code == refused ]] || fail "mTLS: untrusted certificate: $url answered $code"
  [[ $(status_of "${trusted[@]}" "$url") == 200 ]] || fail "mTLS: trusted certificate: $url"
  [[ $(status_of "http://${url#https://}") != 200 ]] || fail "mTLS: plaintext $url answered"
done
[[ $(status_of "${trusted[@]}" "https://$http/v2/models/quality_inspection/ready") == 200 ]] ||
  fail "mTLS: model ready"

tls=(--server "$grpc" --tls-ca "$certs/ca.pem")
"$cli" health "${tls[@]}" --tls-cert "$certs/client.pem" --tls-key "$certs/client.key" \
  > /dev/null || fail "mTLS: cli with the trusted certificate"
"$cli" inspect "${tls[@]}" --tls-cert "$certs/client.pem" --tls-key "$certs/client.key" \
  --json "$golden/images/ok.png" > "$work/inspect.json" || fail "mTLS: cli inspect"
grep -q '"verdict"' "$work/inspect.json" || fail "mTLS: inspect answer: $(cat "$work/inspect.json")"
# The name in the certificate, checked instead of the address.
"$cli" health "${tls[@]}" --tls-cert "$certs/client.pem" --tls-key "$certs/client.key" \
  --tls-server-name localhost > /dev/null || fail "mTLS: --tls-server-name localhost"
if "$cli" health "${tls[@]}" --tls-cert "$certs/client.pem" --tls-key "$certs/client.key" \
    --tls-server-name line7.example > /dev/null 2>&1; then
  fail "mTLS: a server name the certificate does not hold was accepted"
fi
if "$cli" health "${tls[@]}" > /dev/null 2>&1; then
  fail "mTLS: cli without a certificate answered"
fi
if "$cli" health "${tls[@]}" --tls-cert "$certs/rogue_client.pem" \
    --tls-key "$certs/rogue_client.key" > /dev/null 2>&1; then
  fail "mTLS: cli with an untrusted certificate answered"
fi
if "$cli" health --server "$grpc" > /dev/null 2>&1; then fail "mTLS: plaintext cli answered"; fi
# The CLI's own usage errors.
status=0
"$cli" health "${tls[@]}" --tls-cert "$certs/client.pem" > "$work/out" 2>&1 || status=$?
[[ $status == 2 ]] && grep -q "needs its key" "$work/out" || fail "cli: cert without key: $status $(cat "$work/out")"
status=0
"$cli" health --server "$grpc" --tls-ca "$work/absent.pem" > "$work/out" 2>&1 || status=$?
[[ $status == 2 ]] && grep -q "absent.pem" "$work/out" || fail "cli: missing CA: $status $(cat "$work/out")"

# 4. A failed load answers with the model and version, not the path.
mkdir "$work/repo/quality_inspection/.staging-2"
echo "not a TorchScript archive" > "$work/repo/quality_inspection/.staging-2/model.pt"
mv "$work/repo/quality_inspection/.staging-2" "$work/repo/quality_inspection/2"
trusted_cli=("${tls[@]}" --tls-cert "$certs/client.pem" --tls-key "$certs/client.key")
if "$cli" load quality_inspection "${trusted_cli[@]}" --admin-token-file "$work/token" \
    > "$work/load.out" 2>&1; then
  fail "a corrupt model.pt loaded"
fi
grep -q "version 2" "$work/load.out" || fail "load: $(cat "$work/load.out")"
grep -q "$work" "$work/load.out" && fail "the repository path reached the client: $(cat "$work/load.out")"
"$cli" models "${trusted_cli[@]}" --json > "$work/models.json" || fail "models"
grep -q "$work" "$work/models.json" && fail "the repository path is in ListModels: $(cat "$work/models.json")"
grep -q "$work/repo/quality_inspection/2/model.pt" "$work/server.log" ||
  fail "the server log lacks the failed artifact's path"
stop

echo "bad TLS files refused at start-up; TLS and mutual TLS held on gRPC, HTTP and metrics (curl, lineserve-cli); failed loads answered without paths"
