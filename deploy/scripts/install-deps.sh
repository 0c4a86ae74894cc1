#!/usr/bin/env bash
# Installs everything lineserve needs to build, test and run, from Debian
# bookworm's archive. Idempotent: packages already present are left alone and
# nothing is fetched when all are installed.
#
# LINESERVE_DEPS_PROFILE=build installs only what compiling needs (the image's
# build stage); the default, "all", adds the deployment checks' tools
# (promtool, docker-compose, Node.js for the Kubernetes schema check) and the
# npm packages those checks use, into deploy/k8s/validate/node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE=${LINESERVE_DEPS_PROFILE:-all}

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
  # the HTTP listener (Open Inference Protocol REST, /metrics), and GnuTLS
  # (its TLS library) to check certificates and verify client certificates
  libmicrohttpd-dev libgnutls28-dev
  # the allocator every executable links (CMake's LINESERVE_ALLOCATOR)
  libmimalloc-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
)
if [[ $PROFILE == all ]]; then
  PACKAGES+=(
    # deployment checks (tests/deploy): promtool, compose schema, k8s schema,
    # and curl to scrape /metrics; openssl makes the TLS tests' certificates;
    # PyYAML renders the PrometheusRule from the alert rules
    prometheus docker-compose nodejs curl openssl python3 python3-yaml
    # headless Chromium renders the trainer's HTML report in a test
    chromium
    # the Python client package (client/python) and its tests: Debian's grpcio,
    # grpc-tools (protoc for Python) and pip to install the package
    python3-grpcio python3-grpc-tools python3-protobuf python3-pip python3-venv
    # the sanitizer and fuzz jobs (deploy/scripts/sanitize.sh): clang with
    # libFuzzer and its sanitizer runtimes (gcc's come with build-essential)
    clang-14 libclang-rt-14-dev
  )
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package.
  if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi
fi

# The Kubernetes schema check's npm packages (pinned by the lockfile). Runs at
# install time, never from a test: tests work offline.
install_npm_packages() {
  local dir=deploy/k8s/validate
  if [[ -d $dir/node_modules/kubernetes-models && -d $dir/node_modules/js-yaml &&
        $dir/node_modules/.package-lock.json -nt $dir/package-lock.json ]]; then
    return 0
  fi
  echo "install-deps: npm ci in $dir"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
}

# What the "all" profile fetches beside packages, at install time so that
# tests and the sanitizer jobs run offline: the npm packages above and the
# source of Debian's Abseil, which the TSan job builds instrumented
# (deploy/scripts/tsan-abseil.sh).
install_downloads() {
  [[ $PROFILE == all ]] || return 0
  install_npm_packages
  deploy/scripts/tsan-abseil.sh --fetch
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  install_downloads
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
install_downloads
