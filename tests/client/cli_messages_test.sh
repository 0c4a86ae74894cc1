#!/usr/bin/env bash
# What lineserve-cli says when something fails, word for word: plain text
# unless --json, a local failure marked local (nothing was sent), the
# context as words rather than JSON, and no "version 0" for a model with no
# ready version, and a bad row named by its row and file line, never by its
# index in a request. Loopback only; port 1 has no server, the golden
# repository is served on port 0.
set -euo pipefail
usage="usage: cli_messages_test.sh SERVER CLI GOLDEN"
server=${1:?$usage}
cli=${2:?$usage}
golden=${3:?$usage}
# shellcheck source=../support/server_process.sh
source "$(dirname "$0")/../support/server_process.sh"

# expect STDERR_LINE COMMAND...: the command fails and says exactly that.
expect() {
  local want=$1
  shift
  if "$@" > "$work/out" 2> "$work/err"; then fail "$* succeeded"; fi
  local got
  got=$(cat "$work/err")
  [[ "$got" == "$want" ]] || fail "$*: got '$got', want '$want'"
}

cd "$work"
expect "lineserve-cli: file nonexist.png: local error, nothing was sent: nonexist.png: no such file" \
  "$cli" inspect --server 127.0.0.1:1 nonexist.png
# Unreachable: the server named in words; gRPC's own wording follows.
"$cli" health --server 127.0.0.1:1 --timeout 2 2> "$work/err" && fail "health answered"
grep -q "^lineserve-cli: server 127.0.0.1:1: UNAVAILABLE: " "$work/err" ||
  fail "health: $(cat "$work/err")"
grep -qv "{" "$work/err" || fail "health message holds JSON: $(cat "$work/err")"
"$cli" health --server 127.0.0.1:1 --timeout 2 lineserve.v1.QualityInspection \
  2> "$work/err" && fail "health answered"
grep -q "^lineserve-cli: server 127.0.0.1:1, service lineserve.v1.QualityInspection: UNAVAILABLE: " \
  "$work/err" || fail "health service: $(cat "$work/err")"

# With --json the same failures are JSON objects on stdout.
"$cli" inspect --server 127.0.0.1:1 --json nonexist.png > "$work/out" 2> /dev/null &&
  fail "inspect --json succeeded"
/usr/bin/python3 - "$work/out" <<'PY'
import json, sys
answer = json.loads(open(sys.argv[1]).read())
assert answer == {"file": "nonexist.png", "error": {
    "code": "NOT_FOUND", "message": "nonexist.png: no such file",
    "local": True}}, answer
PY
# A row the model refuses: named as the file's row and line.
cp -r "$golden/repo" "$work/repo"
serve "$server" "$work/repo"
head -n 4 "$golden/rows.csv" | sed '3s/,Thursday,2,/,Thursday,two,/' > "$work/bad.csv"
if "$cli" predict --server "$address" --csv "$work/bad.csv" \
    > "$work/out" 2> "$work/err"; then fail "a bad row was predicted"; fi
grep -q "^lineserve-cli: csv $work/bad.csv, rows 1-3: INVALID_ARGUMENT: row 2 (line 3): " \
  "$work/err" || fail "bad row: $(cat "$work/err")"
if grep -q "rows\[" "$work/err"; then fail "request index in: $(cat "$work/err")"; fi
echo "cli messages test passed"
