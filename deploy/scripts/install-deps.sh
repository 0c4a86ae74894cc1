#!/usr/bin/env bash
# Installs everything lineserve needs to build, test and run, from Debian
# bookworm's archive. Idempotent: packages already present are left alone and
# nothing is fetched when all are installed.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang-format
  # RPC and serialisation
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev
  protobuf-compiler
  # models: LibTorch, and a fast BLAS behind it (libblas.so.3 alternative)
  libtorch-dev libopenblas0-openmp
  # libraries
  libabsl-dev prometheus-cpp-dev nlohmann-json3-dev
  libjpeg62-turbo-dev libpng-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
