#!/usr/bin/env bash
# The main job, end to end on one machine: install dependencies, build,
# generate the bundled synthetic data, train both models on it and show
# their evaluation. A second run reuses the build, the data and the models
# (delete var/ to start over).
set -euo pipefail
cd "$(dirname "$0")/../.."

VAR=${LINESERVE_VAR:-var}
BUILD_DIR=${BUILD_DIR:-build}
TRAIN="$BUILD_DIR/models/lineserve-train"
REPO="$VAR/model_repository"

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies (Debian packages)"
deploy/scripts/install-deps.sh
step "building (first build takes several minutes on 2 cores)"
deploy/scripts/build.sh

if [[ ! -f "$VAR/data/production.csv" ]]; then
  step "generating synthetic data into $VAR/data"
  "$TRAIN" datagen --out "$VAR/data" --seed 7
fi
if [[ ! -d "$REPO/quality_inspection/1" ]]; then
  step "training the quality-inspection model (small: 64 px, 12 epochs)"
  "$TRAIN" quality --data "$VAR/data/tiles/images" --repo "$REPO" \
    --image-size 64 --channels 16,32,64 --epochs 12 --seed 7
fi
if [[ ! -d "$REPO/efficiency_prediction/1" ]]; then
  step "training the efficiency model"
  "$TRAIN" efficiency --csv "$VAR/data/production.csv" \
    --target actual_productivity --repo "$REPO" --seed 7
fi

step "trained models in $REPO"
"$TRAIN" report --repo "$REPO"
cat <<EOM

The model repository above is what lineserve-server loads (the server and
its /metrics endpoint land with the next issue). Train on real data with
  $TRAIN quality --data DIR --repo $REPO
  $TRAIN efficiency --csv FILE --target COLUMN --repo $REPO
EOM
