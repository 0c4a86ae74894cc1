#!/usr/bin/env bash
# Every program's --help exits 0 and --version names the one version CMake
# sets. lineserve-server's configuration as an operator meets it: --help lists
# every flag with its LINESERVE_* variable and exits 0; --version names the
# version and what it computes with; a setting comes from a config file, a
# LINESERVE_* variable or a flag, the later overriding the earlier (seen by
# which port file the server writes); a bad config line stops it with the
# file and line. Serves the golden repository on loopback; stops what it
# starts.
set -euo pipefail
usage="usage: server_config_process_test.sh SERVER CLI TRAIN GOLDEN_REPO"
server=${1:?$usage}
cli=${2:?$usage}
train=${3:?$usage}
golden=${4:?$usage}
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"

"$server" --help > "$work/help.txt" || fail "--help exited $?"
for expected in "--model-repository" "(LINESERVE_MODEL_REPOSITORY)" \
    "--config" "--grpc-address" "(default: 0.0.0.0:8500)" "rising precedence"; do
  grep -qF -- "$expected" "$work/help.txt" || fail "--help lacks $expected"
done
"$server" --version > "$work/version.txt" || fail "--version exited $?"
grep -qE '^lineserve-server [0-9]+\.[0-9]+\.[0-9]+ \([^,]+, LibTorch [0-9.]+, (CPU \(no CUDA device\)|[0-9]+ CUDA device\(s\))\)$' \
  "$work/version.txt" || { cat "$work/version.txt"; fail "--version line"; }

cp -r "$golden" "$work/repo"
version=$(sed -E 's/^lineserve-server ([^ ]+) .*/\1/' "$work/version.txt")
"$cli" --version > "$work/cli_version.txt" || fail "cli --version"
grep -qx "lineserve-cli $version ([^,]*)" "$work/cli_version.txt" ||
  { cat "$work/cli_version.txt"; fail "cli --version line"; }
"$train" --version > "$work/train_version.txt" || fail "train --version"
grep -qE "^lineserve-train $version \([^,]+, LibTorch [0-9.]+\)$" \
  "$work/train_version.txt" || { cat "$work/train_version.txt"; fail "train --version line"; }
"$cli" --help > /dev/null || fail "cli --help exited $?"
"$train" --help > /dev/null || fail "train --help exited $?"

cat > "$work/lineserve.conf" <<CONF
# lineserve-server settings
model-repository = $work/repo
grpc_address = 127.0.0.1:0
metrics-address = ""
log-level = warning
port-file = $work/file.port
CONF

# start WHICH [ENV...] [-- FLAGS...]: starts the server, waits for the port
# file WHICH, checks no other was written, stops it.
start() {
  local which=$1
  shift
  local env=() flags=()
  while (($#)) && [[ $1 != -- ]]; do env+=("$1"); shift; done
  (($#)) && shift
  flags=("$@")
  rm -f "$work"/*.port
  env "${env[@]}" "$server" --config "$work/lineserve.conf" "${flags[@]}" \
    > "$work/server.log" 2>&1 &
  pid=$!
  wait_for_ports "$work/$which.port"
  for other in file env flag; do
    [[ $other == "$which" || ! -e "$work/$other.port" ]] ||
      fail "$other.port written, $which.port expected"
  done
  kill "$pid"
  wait "$pid" || fail "server exit status $?"
  pid=
}
start file
start env LINESERVE_PORT_FILE="$work/env.port"
start flag LINESERVE_PORT_FILE="$work/env.port" -- --port-file "$work/flag.port"
# The config file named by the environment, the flag spelled with underscores.
rm -f "$work"/*.port
LINESERVE_CONFIG="$work/lineserve.conf" "$server" --port_file="$work/flag.port" \
  > "$work/server.log" 2>&1 &
pid=$!
wait_for_ports "$work/flag.port"
kill "$pid"; wait "$pid"; pid=

echo "port = 1" >> "$work/lineserve.conf"
if "$server" --config "$work/lineserve.conf" > "$work/bad.log" 2>&1; then
  fail "a bad config line was accepted"
else
  status=$?
fi
[[ $status -eq 2 ]] || fail "bad config exit status $status, expected 2"
grep -qF "lineserve-server: $work/lineserve.conf:7: unknown setting \"port\"" \
  "$work/bad.log" || { cat "$work/bad.log"; fail "bad config message"; }
echo "server configuration process test passed"
