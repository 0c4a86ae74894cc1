#!/usr/bin/env bash
# Builds a ThreadSanitizer-instrumented Abseil for the TSan build:
#   deploy/scripts/tsan-abseil.sh --fetch    (install time: install-deps.sh)
#   deploy/scripts/tsan-abseil.sh DEST       (test time: sanitize.sh tsan)
# The first downloads Debian's source of the installed libabsl into
# .cache/abseil-source/; the second builds it, offline, and puts
# libabsl_synchronization.so.20220623, libabsl_status.so.20220623 and the
# libraries they depend on (base, spinlock_wait, time, strings, cord,
# stacktrace, ...) in DEST.
#
# Why: lineserve guards its state with absl::Mutex, absl::CondVar and
# absl::Notification, which Debian ships uninstrumented. TSan cannot see
# their lock and unlock, so every access they order looks like a race (each
# test of the batcher reports dozens). Abseil annotates its primitives for
# TSan when it is compiled with -fsanitize=thread (and absl::Status counts
# its references inside libabsl_status, where TSan must see them too: a
# status shared by two threads is freed by the last), so the TSan build runs on
# this build of it: CMakeLists.txt links the TSan build with a DT_RPATH to
# DEST (LINESERVE_TSAN_ABSEIL_DIR), which the libraries' own dependencies
# follow too, so gRPC and protobuf use the same instrumented copy. Same
# version, options and patches as the system's (Debian's source package of
# the installed libabsl), hence the same ABI; the libraries not built here
# load from the system as usual.
#
# The download uses a private sources list and state folder under .cache/
# (the system's apt configuration is not touched). Both steps are
# idempotent: nothing is done when the source, or DEST's build, of this
# version is already there. The build is ~2 min of compile on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(dpkg-query -W -f='${Version}' libabsl20220623)
source_dir=$PWD/.cache/abseil-source/$version

fetch() {
  if [[ -f $source_dir/.complete ]]; then
    return 0
  fi
  local work=$PWD/.cache/abseil-source/apt
  rm -rf "$source_dir" "$work"
  mkdir -p "$work/lists/partial" "$work/sources" "$source_dir"
  cat >"$work/sources/debian-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  local apt_options=(-q -o Dir::Etc::SourceList=/dev/null
    -o "Dir::Etc::SourceParts=$work/sources"
    -o "Dir::State::Lists=$work/lists"
    -o APT::Sandbox::User=root)
  echo "tsan-abseil: fetching Debian's abseil $version source"
  apt-get "${apt_options[@]}" update >/dev/null
  (cd "$source_dir" &&
    apt-get "${apt_options[@]}" source --download-only "abseil=$version" \
      >/dev/null)
  rm -rf "$work"
  touch "$source_dir/.complete"
}

build() {
  local dest=$1
  if [[ -f $dest/.version && $(cat "$dest/.version") == "$version" ]]; then
    return 0
  fi
  if [[ ! -f $source_dir/.complete ]]; then
    echo "tsan-abseil: no source of abseil $version in $source_dir;" \
      "deploy/scripts/install-deps.sh downloads it" >&2
    exit 1
  fi
  local work
  work=$(dirname "$dest")/abseil-work
  rm -rf "$work" "$dest"
  mkdir -p "$work" "$dest"
  dpkg-source -x --no-check "$source_dir"/abseil_*.dsc "$work/absl" >/dev/null

  # Debian's configuration (debian/rules: C++17, shared libraries).
  echo "tsan-abseil: building with -fsanitize=thread"
  local log=$work/build.log
  if ! { cmake -S "$work/absl" -B "$work/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_STANDARD=17 \
    -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF \
    "-DCMAKE_CXX_FLAGS=-fsanitize=thread -O1 -g1" \
    "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread" &&
    cmake --build "$work/build" --target synchronization status \
      -j "${JOBS:-$(nproc)}"; } >"$log" 2>&1; then
    tail -30 "$log" >&2
    exit 1
  fi
  find "$work/build/absl" -name 'libabsl_*.so.*' -exec cp -P {} "$dest/" \;
  rm -rf "$work"
  echo "$version" >"$dest/.version"
  echo "tsan-abseil: $(find "$dest" -name '*.so.*.*' | wc -l) libraries in $dest"
}

case ${1:?usage: tsan-abseil.sh --fetch | DEST} in
  --fetch) fetch ;;
  *) build "$1" ;;
esac
