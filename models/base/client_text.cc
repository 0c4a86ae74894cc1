#include "models/base/client_text.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace lineserve {

absl::Status CheckClientId(absl::string_view field, absl::string_view value,
                           size_t max_bytes) {
  if (value.size() <= max_bytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", value.size(), " bytes, at most ", max_bytes));
}

absl::Status CheckClientIds(
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>
        fields,
    size_t max_bytes) {
  for (const auto& [field, value] : fields) {
    absl::Status status = CheckClientId(field, value, max_bytes);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::string_view TruncateUtf8(absl::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return value;
  size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to a sequence start, which
  // then begins past the cut and is dropped whole.
  while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) {
    --end;
  }
  return value.substr(0, end);
}

std::string QuoteClientText(absl::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) {
    return absl::StrCat("\"", absl::CHexEscape(value), "\"");
  }
  return absl::StrCat("\"", absl::CHexEscape(TruncateUtf8(value, max_bytes)),
                      "...\" (", value.size(), " bytes)");
}

}  // namespace lineserve
