#include "server/metrics/gpu_memory.h"

#include <dlfcn.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace lineserve {
namespace {

// The few NVML declarations needed, from the public nvml.h: the functions
// return nvmlReturn_t (an int enum, 0 = NVML_SUCCESS), devices are opaque
// handles and memory info is three unsigned long longs in this order.
using NvmlReturn = int;
constexpr NvmlReturn kNvmlSuccess = 0;
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

}  // namespace

struct NvmlGpuMemoryReader::Api {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*device_count)(unsigned int*) = nullptr;
  NvmlReturn (*device_handle)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*memory_info)(NvmlDevice, NvmlMemory*) = nullptr;
};

namespace {

template <typename Function>
bool Resolve(void* handle, const char* name, Function* function) {
  *function = reinterpret_cast<Function>(dlsym(handle, name));
  return *function != nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GpuMemoryReader>> NvmlGpuMemoryReader::Open(
    const std::string& library) {
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return absl::NotFoundError(absl::StrCat("cannot load ", library, ": ",
                                            why != nullptr ? why : "?"));
  }
  auto api = std::make_unique<Api>();
  // The _v2 entry points are the ones nvml.h maps the plain names to.
  if (!Resolve(handle, "nvmlInit_v2", &api->init) ||
      !Resolve(handle, "nvmlShutdown", &api->shutdown) ||
      !Resolve(handle, "nvmlDeviceGetCount_v2", &api->device_count) ||
      !Resolve(handle, "nvmlDeviceGetHandleByIndex_v2", &api->device_handle) ||
      !Resolve(handle, "nvmlDeviceGetMemoryInfo", &api->memory_info)) {
    dlclose(handle);
    return absl::FailedPreconditionError(
        absl::StrCat(library, " lacks an NVML function lineserve needs"));
  }
  if (NvmlReturn error = api->init(); error != kNvmlSuccess) {
    dlclose(handle);
    return absl::FailedPreconditionError(
        absl::StrCat("nvmlInit failed with NVML error ", error));
  }
  unsigned int count = 0;
  if (api->device_count(&count) != kNvmlSuccess || count == 0) {
    api->shutdown();
    dlclose(handle);
    return absl::NotFoundError("NVML reports no GPU");
  }
  return std::unique_ptr<GpuMemoryReader>(
      new NvmlGpuMemoryReader(handle, std::move(api)));
}

NvmlGpuMemoryReader::NvmlGpuMemoryReader(void* handle, std::unique_ptr<Api> api)
    : handle_(handle), api_(std::move(api)) {}

NvmlGpuMemoryReader::~NvmlGpuMemoryReader() {
  api_->shutdown();
  dlclose(handle_);
}

std::vector<GpuMemory> NvmlGpuMemoryReader::Read() const {
  std::vector<GpuMemory> devices;
  unsigned int count = 0;
  if (api_->device_count(&count) != kNvmlSuccess) return devices;
  for (unsigned int i = 0; i < count; ++i) {
    NvmlDevice device = nullptr;
    NvmlMemory memory{};
    if (api_->device_handle(i, &device) != kNvmlSuccess ||
        api_->memory_info(device, &memory) != kNvmlSuccess) {
      continue;
    }
    devices.push_back({static_cast<int>(i), memory.used, memory.total});
  }
  return devices;
}

}  // namespace lineserve
