// GPU memory per device, for the lineserve_gpu_memory_* gauges.
//
// GpuMemoryReader is the seam: ServerMetrics exports GPU families only when
// it was given a reader, and main gives it one only when NVML could be
// opened. NvmlGpuMemoryReader binds NVIDIA's management library at run time
// with dlopen, so the server has no build-time CUDA dependency and runs
// unchanged on machines without a GPU or driver.
//
// Thread-safety: Read() may be called from any thread concurrently (scrapes
// run on the HTTP server's threads); NVML itself is thread-safe.
#ifndef LINESERVE_SERVER_METRICS_GPU_MEMORY_H_
#define LINESERVE_SERVER_METRICS_GPU_MEMORY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lineserve {

struct GpuMemory {
  int device = 0;  // index, as in cuda:N
  uint64_t used_bytes = 0;
  uint64_t total_bytes = 0;
};

class GpuMemoryReader {
 public:
  virtual ~GpuMemoryReader() = default;
  // The devices that answered; a device that fails to answer is left out
  // rather than failing the scrape.
  virtual std::vector<GpuMemory> Read() const = 0;
};

// The driver's library, present wherever an NVIDIA driver is installed.
inline constexpr char kNvmlLibrary[] = "libnvidia-ml.so.1";

class NvmlGpuMemoryReader final : public GpuMemoryReader {
 public:
  // Loads `library` and initialises NVML. NOT_FOUND when the library cannot
  // be loaded or reports no device (the usual case without a GPU);
  // FAILED_PRECONDITION when it lacks a function or will not initialise.
  static absl::StatusOr<std::unique_ptr<GpuMemoryReader>> Open(
      const std::string& library = kNvmlLibrary);

  // Shuts NVML down and unloads the library.
  ~NvmlGpuMemoryReader() override;

  std::vector<GpuMemory> Read() const override;

 private:
  struct Api;  // the resolved NVML functions
  NvmlGpuMemoryReader(void* handle, std::unique_ptr<Api> api);

  void* const handle_;
  const std::unique_ptr<Api> api_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_METRICS_GPU_MEMORY_H_
