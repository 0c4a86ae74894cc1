// Early-return helpers for absl::Status / absl::StatusOr.
//
// Debian's Abseil (20220623) ships no status macros, so lineserve keeps these
// two. They evaluate their argument once and add no context: callers that
// want context wrap the status themselves (see AnnotateStatus).
#ifndef LINESERVE_MODELS_BASE_STATUS_MACROS_H_
#define LINESERVE_MODELS_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace lineserve {

// Returns `status` with `context` prepended to its message, same code.
inline absl::Status AnnotateStatus(const absl::Status& status,
                                   absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(context, ": ", status.message()));
}

}  // namespace lineserve

#define LINESERVE_STATUS_CONCAT_INNER_(a, b) a##b
#define LINESERVE_STATUS_CONCAT_(a, b) LINESERVE_STATUS_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` when it is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status lineserve_status_ = (expr);             \
    if (!lineserve_status_.ok()) return lineserve_status_; \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): `expr` is a StatusOr; on error returns its
// status, otherwise moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(           \
      LINESERVE_STATUS_CONCAT_(lineserve_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // LINESERVE_MODELS_BASE_STATUS_MACROS_H_
