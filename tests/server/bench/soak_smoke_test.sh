#!/usr/bin/env bash
# deploy/scripts/soak.sh in its quick mode (45 s of load, growth judged over
# 15 s windows) against the integration fixture's trained models: the soak
# must pass (no failed call, no growth, exit 0 on SIGTERM) and write its
# report. About 60 s on 2 cores.
set -euo pipefail
usage="usage: soak_smoke_test.sh SOURCE_DIR SERVER CLI TRAINED_DIR"
source_dir=$(cd "${1:?$usage}" && pwd)
server=${2:?$usage}
cli=${3:?$usage}
trained=$(cd "${4:?$usage}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAILED: $*"
  tail -n 40 "$work/log" 2>/dev/null || true
  cat "$work/SOAK.md" 2>/dev/null || true
  exit 1
}

SOAK_SECONDS=45 SOAK_SERVER=$server SOAK_CLI=$cli LINESERVE_VAR=$work/var \
  SOAK_REPO=$trained/repo SOAK_ROWS=$trained/data/production.csv \
  SOAK_IMAGE=$(ls "$trained/data/tiles/images/crack/"*.png | head -n 1) \
  SOAK_WORK=$work/run SOAK_OUT=$work/SOAK.md \
  bash "$source_dir/deploy/scripts/soak.sh" > "$work/log" 2>&1 || fail "soak.sh"
doc=$work/SOAK.md
for section in "## Requests during the soak" \
    "## Resident memory, threads and file descriptors" "## Peak" "## Rules"; do
  grep -q "$section" "$doc" || fail "no '$section' in SOAK.md"
done
grep -q '^passed: ' "$doc" || fail "SOAK.md has no verdict"
grep -qE '^\| \*\*all\*\* \| server \| \| \*\*[1-9][0-9]*\*\* ' "$doc" ||
  fail "no request counted by the server"
[[ $(wc -l < "$work/run/samples.csv") -ge 10 ]] || fail "too few samples"
echo "soak.sh smoke test passed"
grep -E '^\| (RSS|threads|open fds|\*\*all)' "$doc"
