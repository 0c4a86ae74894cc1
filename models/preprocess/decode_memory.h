// A process-wide budget for the memory image decoding holds at once. Each
// image's own size is bounded by DecodeLimits; this bounds their sum, so
// many large images arriving together cannot take the process's memory:
// a decode that does not fit is refused at once (RESOURCE_EXHAUSTED, the
// client retries) instead of queueing behind the others.
//
// Thread-safe.
#ifndef LINESERVE_MODELS_PREPROCESS_DECODE_MEMORY_H_
#define LINESERVE_MODELS_PREPROCESS_DECODE_MEMORY_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace lineserve::preprocess {

class DecodeMemory {
 public:
  // Bytes held until destroyed or moved from.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();

    uint64_t bytes() const { return bytes_; }

   private:
    friend class DecodeMemory;
    Lease(DecodeMemory* owner, uint64_t bytes) : owner_(owner), bytes_(bytes) {}
    void Release();

    DecodeMemory* owner_ = nullptr;
    uint64_t bytes_ = 0;
  };

  // `capacity_bytes` > 0.
  explicit DecodeMemory(uint64_t capacity_bytes);
  // Every lease must have been released.
  ~DecodeMemory() = default;

  DecodeMemory(const DecodeMemory&) = delete;
  DecodeMemory& operator=(const DecodeMemory&) = delete;

  // Reserves `bytes`, or RESOURCE_EXHAUSTED when they do not fit beside
  // what other decodes hold (saying how much is in use), or never could.
  absl::StatusOr<Lease> Reserve(uint64_t bytes);

  uint64_t capacity_bytes() const { return capacity_; }
  uint64_t in_use_bytes() const;

 private:
  void Return(uint64_t bytes);

  const uint64_t capacity_;
  mutable absl::Mutex mu_;
  uint64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lineserve::preprocess

#endif  // LINESERVE_MODELS_PREPROCESS_DECODE_MEMORY_H_
