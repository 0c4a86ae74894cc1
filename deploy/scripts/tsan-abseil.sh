#!/usr/bin/env bash
# Builds a ThreadSanitizer-instrumented Abseil for the TSan build:
#   deploy/scripts/tsan-abseil.sh DEST
# puts libabsl_synchronization.so.20220623, libabsl_status.so.20220623 and
# the libraries they depend on (base, spinlock_wait, time, strings, cord,
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
# Source: `apt-get source` of the installed version, with a private
# sources list and state folder under DEST/.. (the system's apt
# configuration is not touched). Idempotent: nothing is done when DEST holds
# this version's build. ~2 min of compile on 2 cores.
set -euo pipefail
dest=${1:?usage: tsan-abseil.sh DEST}
version=$(dpkg-query -W -f='${Version}' libabsl20220623)
if [[ -f $dest/.version && $(cat "$dest/.version") == "$version" ]]; then
  exit 0
fi

work=$(dirname "$dest")/abseil-work
rm -rf "$work" "$dest"
mkdir -p "$work/apt/lists/partial" "$work/apt/sources" "$work/src" "$dest"
cat >"$work/apt/sources/debian-src.sources" <<EOF
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
EOF
apt_options=(-q -o Dir::Etc::SourceList=/dev/null
  -o "Dir::Etc::SourceParts=$work/apt/sources"
  -o "Dir::State::Lists=$work/apt/lists"
  -o APT::Sandbox::User=root)
echo "tsan-abseil: fetching Debian's abseil $version source"
apt-get "${apt_options[@]}" update >/dev/null
(cd "$work/src" &&
  apt-get "${apt_options[@]}" source --download-only "abseil=$version" \
    >/dev/null &&
  dpkg-source -x --no-check ./abseil_*.dsc absl >/dev/null)

# Debian's configuration (debian/rules: C++17, shared libraries).
echo "tsan-abseil: building with -fsanitize=thread"
log=$work/build.log
if ! { cmake -S "$work/src/absl" -B "$work/build" -G Ninja \
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
