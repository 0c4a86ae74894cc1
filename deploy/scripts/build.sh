#!/usr/bin/env bash
# Configures and builds lineserve into ./build (override with BUILD_DIR).
# Re-running only rebuilds what changed; ccache (installed by install-deps.sh)
# makes a rebuild after `rm -rf build` cheap too.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=${JOBS:-$(nproc)}
# Paths under the checkout are hashed relative to the build folder, so every
# build folder beside this one (and every clone) shares the ccache entries.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@"
elif (($# > 0)); then
  cmake -S . -B "$BUILD_DIR" "$@"
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
