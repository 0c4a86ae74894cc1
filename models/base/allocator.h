// The malloc lineserve's executables run on. They link mimalloc by default
// (CMake's LINESERVE_ALLOCATOR), set up by ConfigureAllocator() for
// LibTorch: every forward and backward pass allocates and frees the same
// large activation buffers, and an allocator that hands those back to the
// kernel makes the next pass page-fault them in again (glibc's malloc does,
// for blocks above 32 MiB; mimalloc does too unless they come from an
// arena). BENCHMARKS.md has the figures that chose this.
#ifndef LINESERVE_MODELS_BASE_ALLOCATOR_H_
#define LINESERVE_MODELS_BASE_ALLOCATOR_H_

#include <string>

namespace lineserve {

// First thing in main(): with mimalloc, maps an arena up front (backed by
// memory only as its pages are first written) so that large blocks are recycled
// in the process instead of being mapped and unmapped per call, and keeps freed
// memory committed: the process stays at its peak working set. The
// arena's size is min(4 GiB, half the physical memory), or
// MIMALLOC_RESERVE_OS_MEMORY when set (mimalloc reads its MIMALLOC_*
// variables itself; MIMALLOC_ALLOW_DECOMMIT=1 gives freed memory back).
// Does nothing with the system's malloc.
void ConfigureAllocator();

// "mimalloc 2.0.9, 4096 MiB arena" or "glibc malloc". With mimalloc,
// " (malloc not replaced)" is added when a block from malloc() is not
// mimalloc's (a library loaded before it won the symbol).
std::string AllocatorName();

}  // namespace lineserve

#endif  // LINESERVE_MODELS_BASE_ALLOCATOR_H_
