#include "models/base/allocator.h"

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Page faults of writing a fresh `bytes` block, freed afterwards.
long FaultsOfALargeBlock(size_t bytes) {
  const long before = MinorFaults();
  void* block = std::malloc(bytes);
  std::memset(block, 1, bytes);
  // Keeps the compiler from dropping the block (malloc, memset and free of
  // an unread buffer are dead code to it).
  asm volatile("" : : "r"(block) : "memory");
  const long faults = MinorFaults() - before;
  std::free(block);
  return faults;
}

#ifdef LINESERVE_WITH_MIMALLOC
TEST(AllocatorTest, MimallocServesMallocInThisProcess) {
  // Linked like every lineserve executable: mimalloc must be in front of
  // glibc, or the measured speed-up is not there.
  ConfigureAllocator();
  EXPECT_THAT(AllocatorName(), StartsWith("mimalloc 2."));
  EXPECT_THAT(AllocatorName(), Not(HasSubstr("not replaced")));
  if (std::getenv("MIMALLOC_RESERVE_OS_MEMORY") == nullptr) {
    EXPECT_THAT(AllocatorName(), HasSubstr("MiB arena"));
  }
}

TEST(AllocatorTest, AFreedLargeBlockIsReusedWithoutPageFaults) {
  // What LibTorch does on every pass: a 64 MiB activation buffer freed and
  // allocated again. Configured, the second one reuses committed memory
  // (glibc would unmap it and fault all 16384 pages in again).
  ConfigureAllocator();
  constexpr size_t kBytes = size_t{64} << 20;
  const long pages = static_cast<long>(kBytes / 4096);
  FaultsOfALargeBlock(kBytes);
  EXPECT_LT(FaultsOfALargeBlock(kBytes), pages / 10);
}
#else
TEST(AllocatorTest, SystemMallocIsNamed) {
  ConfigureAllocator();
  EXPECT_EQ(AllocatorName(), "glibc malloc");
}
#endif

}  // namespace
}  // namespace lineserve
