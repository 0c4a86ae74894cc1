#include "models/base/allocator.h"

#include <cstdlib>
#include <string>

#ifdef LINESERVE_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace lineserve {

std::string AllocatorName() {
#ifdef LINESERVE_WITH_MIMALLOC
  // mi_version() is 209 for 2.0.9.
  const int v = mi_version();
  std::string name = "mimalloc " + std::to_string(v / 100) + "." +
                     std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  void* block = std::malloc(64);
  const bool replaced = mi_is_in_heap_region(block);
  std::free(block);
  return replaced ? name : name + " (malloc not replaced)";
#else
  return "glibc malloc";
#endif
}

}  // namespace lineserve
