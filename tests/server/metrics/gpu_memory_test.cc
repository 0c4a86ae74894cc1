#include "server/metrics/gpu_memory.h"

#include "gtest/gtest.h"

namespace lineserve {
namespace {

TEST(NvmlGpuMemoryReaderTest, MissingLibraryIsNotFound) {
  auto reader = NvmlGpuMemoryReader::Open("libnvidia-ml-absent.so.1");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
}

TEST(NvmlGpuMemoryReaderTest, ReadsEveryDeviceWhenTheDriverIsThere) {
  auto reader = NvmlGpuMemoryReader::Open();
  if (!reader.ok()) {
    // No NVIDIA driver here (the usual CI machine): the server then exports
    // no GPU families, which server_metrics_test checks.
    EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound)
        << reader.status();
    return;
  }
  const std::vector<GpuMemory> devices = (*reader)->Read();
  ASSERT_FALSE(devices.empty());
  for (const GpuMemory& device : devices) {
    EXPECT_GT(device.total_bytes, 0u);
    EXPECT_LE(device.used_bytes, device.total_bytes);
  }
}

}  // namespace
}  // namespace lineserve
