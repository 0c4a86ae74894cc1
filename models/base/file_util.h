// Small filesystem helpers that return statuses instead of throwing.
#ifndef LINESERVE_MODELS_BASE_FILE_UTIL_H_
#define LINESERVE_MODELS_BASE_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lineserve {

// Reads a whole file. NOT_FOUND when it does not exist, INVALID_ARGUMENT for
// a folder; `max_bytes` (when > 0) bounds the size, larger files are
// RESOURCE_EXHAUSTED.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     size_t max_bytes = 0);

// Writes `contents` to `path` atomically: a temporary file in the same
// directory is written, flushed and renamed over `path`.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents);

}  // namespace lineserve

#endif  // LINESERVE_MODELS_BASE_FILE_UTIL_H_
