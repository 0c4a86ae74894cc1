#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test with
# CTest. Extra arguments go to ctest (e.g. -R Preprocess, -L unit).
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/scripts/install-deps.sh
deploy/scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j "${JOBS:-$(nproc)}" "$@"
