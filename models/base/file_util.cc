#include "models/base/file_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace lineserve {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     size_t max_bytes) {
  // A folder opens as a stream on Linux and "sizes" to 2^63 - 1: it must
  // be refused by name before any read.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a folder, not a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT)
      return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open: ", std::strerror(err)));
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0 || !in) {
    return absl::DataLossError(absl::StrCat(path, ": cannot size"));
  }
  if (max_bytes > 0 && static_cast<size_t>(size) > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        path, ": ", size, " bytes exceeds the limit of ", max_bytes));
  }
  std::string contents(static_cast<size_t>(size), '\0');
  in.seekg(0);
  in.read(contents.data(), size);
  if (!in) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return contents;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::PermissionDeniedError(
          absl::StrCat(tmp, ": cannot create: ", std::strerror(errno)));
    }
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) return absl::DataLossError(absl::StrCat(tmp, ": write failed"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("rename ", tmp, " -> ", path, ": ", why));
  }
  return absl::OkStatus();
}

}  // namespace lineserve
