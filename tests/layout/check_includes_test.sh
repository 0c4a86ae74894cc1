#!/usr/bin/env bash
# The checker itself: it passes on a clean tree and fails, naming the file,
# on a tree where the client includes a server header.
set -euo pipefail
checker=$(dirname "$0")/check_includes.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/models/base" "$tmp/client" "$tmp/server/common"
echo '#include "models/base/status_macros.h"' > "$tmp/client/ok.cc"
"$checker" "$tmp" > /dev/null
echo '#include "server/common/clock.h"' > "$tmp/client/bad.cc"
if out=$("$checker" "$tmp"); then
  echo "FAIL: a client include of server/ passed"; exit 1
fi
grep -q 'client/bad.cc' <<< "$out" || { echo "FAIL: offender not named"; exit 1; }
echo "checker fails on a forbidden include, as it should"
