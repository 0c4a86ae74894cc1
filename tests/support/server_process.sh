# Sourced by the shell tests that run the real lineserve-server: a scratch
# folder $work (removed on exit), $pid for the server they start (stopped on
# exit if still running; set it to "" once it has been stopped), and
# fail MESSAGE, which prints the message and the tail of every *.log in
# $work and exits 1. A test may redefine fail after sourcing.
work=$(mktemp -d)
pid=
server_process_cleanup() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap server_process_cleanup EXIT
fail() {
  echo "FAILED: $*"
  tail -n 20 "$work"/*.log 2>/dev/null || true
  exit 1
}
# wait_for_ports FILE...: waits up to 30 s for the server ($pid) to write
# every port file; fails when it exits first or never does.
wait_for_ports() {
  local f missing
  for _ in $(seq 300); do
    missing=0
    for f in "$@"; do [[ -s "$f" ]] || missing=1; done
    ((missing == 0)) && return 0
    kill -0 "$pid" 2>/dev/null || fail "server exited"
    sleep 0.1
  done
  fail "server did not start"
}
# serve SERVER REPO: starts SERVER on 127.0.0.1:0 with REPO (no metrics
# port, warnings only, log in $work/server.log), waits for its port and sets
# $pid and $address.
serve() {
  "$1" --model-repository "$2" --grpc-address 127.0.0.1:0 \
    --port-file "$work/port" --metrics-address "" --log-level warning \
    > "$work/server.log" 2>&1 &
  pid=$!
  wait_for_ports "$work/port"
  address=127.0.0.1:$(cat "$work/port")
}
