#include "models/base/allocator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

#ifdef LINESERVE_WITH_MIMALLOC
TEST(AllocatorTest, MimallocServesMallocInThisProcess) {
  // Linked like every lineserve executable: mimalloc must be in front of
  // glibc, or the measured speed-up is not there.
  EXPECT_THAT(AllocatorName(), StartsWith("mimalloc 2."));
  EXPECT_THAT(AllocatorName(), Not(HasSubstr("not replaced")));
}
#else
TEST(AllocatorTest, SystemMallocIsNamed) {
  EXPECT_EQ(AllocatorName(), "glibc malloc");
}
#endif

}  // namespace
}  // namespace lineserve
