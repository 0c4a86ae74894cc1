// Bounds on text a client sends that the server keeps, echoes or reports:
// ids echoed in answers, names quoted in error messages, values that
// become metric labels. Without them one request with a megabyte-long id
// makes every answer, log line and scrape carry it.
#ifndef LINESERVE_MODELS_BASE_CLIENT_TEXT_H_
#define LINESERVE_MODELS_BASE_CLIENT_TEXT_H_

#include <cstddef>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace lineserve {

// Longest id or name a request may carry (request_id, part_id, line_id,
// station_id, row_id, model names): longer ones are refused.
inline constexpr size_t kMaxClientIdBytes = 256;

// Longest excerpt of client text quoted in an error message.
inline constexpr size_t kMaxQuotedBytes = 64;

// INVALID_ARGUMENT "<field>: <n> bytes, at most <max>" when `value` is
// longer than `max_bytes`; the value itself is not quoted.
absl::Status CheckClientId(absl::string_view field, absl::string_view value,
                           size_t max_bytes = kMaxClientIdBytes);

// The first failure of CheckClientId over (field, value) pairs, or OK.
absl::Status CheckClientIds(
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>
        fields,
    size_t max_bytes = kMaxClientIdBytes);

// The longest prefix of `value` of at most `max_bytes` that does not end
// inside a UTF-8 sequence.
absl::string_view TruncateUtf8(absl::string_view value, size_t max_bytes);

// `value` for an error message, in double quotes with control characters,
// quotes and non-ASCII bytes C-escaped (a client cannot garble a log line):
// whole when short, else its first `max_bytes` and `..." (<n> bytes)`.
std::string QuoteClientText(absl::string_view value,
                            size_t max_bytes = kMaxQuotedBytes);

}  // namespace lineserve

#endif  // LINESERVE_MODELS_BASE_CLIENT_TEXT_H_
