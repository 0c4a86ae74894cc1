#!/usr/bin/env bash
# CTest fixture of the integration tests: the real trainer trains small
# models once per test run (not once per test process) into OUT/repo, from
# the bundled synthetic data in OUT/data. The tests copy OUT before editing.
# The models are tiny (seconds, not accuracy): --force lets them past the
# trainer's quality gate.
set -euo pipefail
train=${1:?usage: train_test_models.sh LINESERVE_TRAIN OUT}
out=${2:?usage: train_test_models.sh LINESERVE_TRAIN OUT}
staging="$out.staging.$$"
rm -rf "$staging"
mkdir -p "$staging"
"$train" datagen --out "$staging/data" --ok-count 16 --defect-count 8 \
  --min-side 48 --max-side 64 --rows 150 --seed 1 > /dev/null
"$train" quality --data "$staging/data/tiles/images" --repo "$staging/repo" \
  --image-size 32 --channels 4,8 --epochs 2 --folds 1 --publish fold --max-batch-size 8 \
  --threads 1 --force > "$staging/quality.log"
"$train" efficiency --csv "$staging/data/production.csv" \
  --target actual_productivity --repo "$staging/repo" --trees 30 \
  --threads 1 --force > "$staging/efficiency.log"
rm -rf "$out"
mv "$staging" "$out"
echo "trained test models into $out/repo"
