#!/usr/bin/env bash
# The dependency rules of the layout, checked on the sources (the build
# enforces them too: each library exports only its own folder's headers).
#   models/ (shared by every program, and the trainer) never includes
#           server/ or client/ code;
#   client/ never includes server/ code or the trainer (models/train);
#   server/ never includes client/ code or the trainer.
# Prints every offending include and exits 1 when there is one.
set -euo pipefail
root=${1:?usage: check_includes.sh REPOSITORY_ROOT}
cd "$root"

status=0
check() {  # check FOLDER PATTERN WHY
  local hits
  hits=$(grep -rnE --include='*.h' --include='*.cc' \
           "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"($2)" "$1" || true)
  if [[ -n "$hits" ]]; then
    echo "$1 must not include $3:"
    echo "$hits"
    status=1
  fi
}
check models 'server/|client/' 'server or client code'
check client 'server/|models/train/' 'server or trainer code'
check server 'client/|models/train/' 'client or trainer code'
if [[ $status -eq 0 ]]; then
  echo "include rules hold: models/ <- server/, client/, models/train/"
fi
exit $status
