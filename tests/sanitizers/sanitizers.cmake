# The environment every test and fuzz target runs with in a sanitized build
# (LINESERVE_SANITIZE, or LINESERVE_FUZZ): LINESERVE_SANITIZER_ENV, a list of
# VAR=value that tests/CMakeLists.txt and tests/fuzz put on each test.
#
# - Any report fails the test: the code is compiled with
#   -fno-sanitize-recover=all (top-level CMakeLists.txt) and the runtimes are
#   told to stop at the first report (halt_on_error) with a stack.
# - Suppressions are files beside this one, each documented there. They
#   name third-party libraries only (LibTorch, OpenMP, BLAS, gRPC,
#   protobuf, libmicrohttpd), never our code: a report in lineserve's own
#   code is a bug to fix.
set(LINESERVE_SANITIZER_ENV)
set(_dir ${CMAKE_CURRENT_LIST_DIR})
if(LINESERVE_SANITIZE MATCHES "address")
  # Leak checking at exit is on (LeakSanitizer); lsan.supp lists the
  # libraries whose one-time allocations are never freed by design.
  list(APPEND LINESERVE_SANITIZER_ENV
       "ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:print_suppressions=0"
       "LSAN_OPTIONS=suppressions=${_dir}/lsan.supp:print_suppressions=0")
endif()
if(LINESERVE_SANITIZE MATCHES "undefined")
  list(APPEND LINESERVE_SANITIZER_ENV
       "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_suppressions=0")
endif()
if(LINESERVE_SANITIZE MATCHES "thread")
  # second_deadlock_stack: both stacks of a lock-order inversion.
  list(APPEND LINESERVE_SANITIZER_ENV
       "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=${_dir}/tsan.supp:print_suppressions=0")
endif()
