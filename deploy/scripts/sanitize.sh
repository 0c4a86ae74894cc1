#!/usr/bin/env bash
# The sanitizer and fuzz jobs of CI (.ci/run), each in its own build folder:
#   deploy/scripts/sanitize.sh [asan] [tsan] [fuzz]     (default: all three)
# Each job configures its preset (CMakePresets.json) once, builds only the
# binaries it runs and runs them with CTest; any sanitizer report fails the
# test (tests/sanitizers/). Extra CTest arguments: SANITIZE_CTEST_ARGS.
#
# What runs where, and why (CI must stay under 60 minutes on 2 cores, and
# test.sh + test-image.sh already take ~27 of them, cold):
#
#   asan  ASan+UBSan, gcc, build-asan (preset asan, -O0). Every unit test
#         binary that does not need LibTorch and the in-process integration
#         tests on fake backends (OIP, model control, metrics, faults, TLS:
#         the real gRPC and HTTP front ends on loopback), 441 tests. Left
#         out: the LibTorch suites (trainer, TorchScript backend, the
#         integration tests that need trained models): LibTorch is
#         uninstrumented, compiling against its headers dominates a build,
#         and what they add over the fake backends is LibTorch's own code.
#   tsan  ThreadSanitizer, gcc, build-tsan (preset tsan, -O1), on an
#         instrumented Abseil (deploy/scripts/tsan-abseil.sh). The suites
#         whose point is threads: the batcher and its queue, the servable
#         model and repository (reload, drain, unload, poller), the
#         inference pipeline (deadlines, cancellation) and its request log,
#         the rate limiter, the metrics and the HTTP listener, the load
#         generator, 156 tests. Not the gRPC integration tests: Debian's
#         gRPC is uninstrumented and its arena and slice reuse across
#         threads reads as races (tests/sanitizers/tsan.supp says which);
#         they run under ASan. Single-threaded suites (parsing, decoding)
#         would only repeat what ASan checks.
#   fuzz  libFuzzer with ASan+UBSan, clang 14, build-fuzz (preset fuzz):
#         the 6 targets of tests/fuzz, LINESERVE_FUZZ_SECONDS (30) each from
#         their checked-in corpora, two at a time; the build holds only what
#         the targets link (no LibTorch, no trainer).
#
# Measured on this 2-core machine, cold (CCACHE_DISABLE=1), while other
# engineers' builds shared it (load 5 to 11): compile CPU time, so wall time
# on 2 idle cores is about half of it:
#   asan  build ~1100 s CPU (~9 min), tests ~170 s wall   ~12 min
#   tsan  Abseil 120 s CPU, build ~350 s CPU (~4 min),
#         tests 45 s                                        ~5 min
#   fuzz  build 430 s CPU (~3.5 min), fuzzing 85 s wall    ~5 min
# about 22 minutes in all, beside the ~27 of test.sh and test-image.sh.
# A fresh clone's run (commit 45bf311, CCACHE_DISABLE=1, everything passed)
# took 1874 s (asan) + 828 s (tsan) + 437 s (fuzz) of wall time while a
# full build and a training run shared the 2 cores (load 3 to 5), which is
# the same ~22 minutes of machine at about half of it.
#
set -euo pipefail
cd "$(dirname "$0")/../.."

JOBS=${JOBS:-$(nproc)}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
read -r -a extra_ctest_args <<<"${SANITIZE_CTEST_ARGS:-}"

ASAN_TESTS=(
  # models/
  base_test log_test model_config_test preprocess_test postprocess_test
  models_data_test train_core_test synthetic_tiles_test
  synthetic_production_test deterministic_random_test
  # server/ and client/ on fake backends
  tensor_test rate_limiter_test backend_registry_test batching_test
  servable_model_test model_repository_test inference_pipeline_test
  request_log_test metrics_test tls_credentials_test perf_test
  flag_sources_test defect_overlay_test
  # in-process integration on fake backends
  oip_test model_control_test metrics_integration_test fault_test tls_test
)
TSAN_TESTS=(
  rate_limiter_test batching_test servable_model_test model_repository_test
  inference_pipeline_test request_log_test metrics_test perf_test
)

# `ctest -L` regex selecting the tests of these binaries (every test is
# labelled with its binary's name, tests/CMakeLists.txt).
labels_of() {
  local IFS='|'
  echo "^($*)\$"
}

configure() {  # preset folder
  if [[ ! -f $2/CMakeCache.txt ]]; then
    cmake --preset "$1" -G Ninja >/dev/null
  fi
}

run_ctest() {  # folder ctest-args...
  local dir=$1
  shift
  (cd "$dir" && ctest --output-on-failure --timeout 900 -j "$JOBS" "$@" \
    "${extra_ctest_args[@]}")
}

job_asan() {
  configure asan build-asan
  cmake --build build-asan -j "$JOBS" --target "${ASAN_TESTS[@]}"
  run_ctest build-asan -L "$(labels_of "${ASAN_TESTS[@]}")"
}

job_tsan() {
  deploy/scripts/tsan-abseil.sh "$PWD/build-tsan/abseil/lib"
  configure tsan build-tsan
  cmake --build build-tsan -j "$JOBS" --target "${TSAN_TESTS[@]}"
  run_ctest build-tsan -L "$(labels_of "${TSAN_TESTS[@]}")"
}

job_fuzz() {
  configure fuzz build-fuzz
  cmake --build build-fuzz -j "$JOBS" --target lineserve_fuzzers
  run_ctest build-fuzz -L '^fuzz$'
}

jobs=("$@")
if ((${#jobs[@]} == 0)); then jobs=(asan tsan fuzz); fi
for job in "${jobs[@]}"; do
  case $job in
    asan | tsan | fuzz)
      echo "sanitize: $job"
      start=$SECONDS
      "job_$job"
      echo "sanitize: $job done in $((SECONDS - start)) s"
      ;;
    *)
      echo "usage: sanitize.sh [asan] [tsan] [fuzz]" >&2
      exit 2
      ;;
  esac
done
