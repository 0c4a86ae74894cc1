#include "models/base/allocator.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#ifdef LINESERVE_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace lineserve {
namespace {

// The arena ConfigureAllocator() reserved, in MiB (0: none).
int64_t arena_mib = 0;

}  // namespace

void ConfigureAllocator() {
#ifdef LINESERVE_WITH_MIMALLOC
  if (std::getenv("MIMALLOC_ALLOW_DECOMMIT") == nullptr) {
    mi_option_disable(mi_option_allow_decommit);
  }
  if (std::getenv("MIMALLOC_RESERVE_OS_MEMORY") != nullptr) return;
  constexpr int64_t kMib = int64_t{1} << 20;
  const int64_t physical =
      static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  const int64_t size = std::min<int64_t>(int64_t{4} << 30, physical / 2);
  if (size > 0 && mi_reserve_os_memory(static_cast<size_t>(size),
                                       /*commit=*/true,
                                       /*allow_large=*/true) == 0) {
    arena_mib = size / kMib;
  }
#endif
}

std::string AllocatorName() {
#ifdef LINESERVE_WITH_MIMALLOC
  // mi_version() is 209 for 2.0.9.
  const int v = mi_version();
  std::string name = "mimalloc " + std::to_string(v / 100) + "." +
                     std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  if (arena_mib > 0) name += ", " + std::to_string(arena_mib) + " MiB arena";
  void* block = std::malloc(64);
  const bool replaced = mi_is_in_heap_region(block);
  std::free(block);
  return replaced ? name : name + " (malloc not replaced)";
#else
  return "glibc malloc";
#endif
}

}  // namespace lineserve
