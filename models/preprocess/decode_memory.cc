#include "models/preprocess/decode_memory.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lineserve::preprocess {

DecodeMemory::Lease::Lease(Lease&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

DecodeMemory::Lease& DecodeMemory::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

DecodeMemory::Lease::~Lease() { Release(); }

void DecodeMemory::Lease::Release() {
  if (owner_ != nullptr) owner_->Return(bytes_);
  owner_ = nullptr;
  bytes_ = 0;
}

DecodeMemory::DecodeMemory(uint64_t capacity_bytes)
    : capacity_(capacity_bytes) {}

absl::StatusOr<DecodeMemory::Lease> DecodeMemory::Reserve(uint64_t bytes) {
  if (bytes > capacity_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("decoding this image needs ", bytes,
                     " bytes, more than the server's decode memory of ",
                     capacity_, " bytes"));
  }
  absl::MutexLock lock(&mu_);
  if (bytes > capacity_ - in_use_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("decode memory is busy: this image needs ", bytes,
                     " bytes, ", capacity_ - in_use_, " of ", capacity_,
                     " are free while other images decode; retry"));
  }
  in_use_ += bytes;
  return Lease(this, bytes);
}

uint64_t DecodeMemory::in_use_bytes() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

void DecodeMemory::Return(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  in_use_ -= bytes;
}

}  // namespace lineserve::preprocess
