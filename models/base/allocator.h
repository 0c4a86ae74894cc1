// Which malloc the process runs on. lineserve's executables link mimalloc
// by default (CMake's LINESERVE_ALLOCATOR): LibTorch allocates and frees
// large buffers on every forward and backward pass, and glibc's malloc
// hands those back to the kernel each time, so the next pass page-faults
// them in again (BENCHMARKS.md has the figures that chose mimalloc).
#ifndef LINESERVE_MODELS_BASE_ALLOCATOR_H_
#define LINESERVE_MODELS_BASE_ALLOCATOR_H_

#include <string>

namespace lineserve {

// "mimalloc 2.0.9" or "glibc malloc"; for mimalloc, " (malloc not
// replaced)" is added when a block from malloc() is not mimalloc's (a
// library loaded before it won the symbol).
std::string AllocatorName();

}  // namespace lineserve

#endif  // LINESERVE_MODELS_BASE_ALLOCATOR_H_
