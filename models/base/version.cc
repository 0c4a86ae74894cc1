#include "models/base/version.h"

#include "absl/strings/str_cat.h"

// Defined for this file alone (models/base/CMakeLists.txt), so a version
// bump rebuilds one translation unit.
#ifndef LINESERVE_VERSION
#error "LINESERVE_VERSION must be defined by the build"
#endif
#ifndef LINESERVE_BUILD_TYPE
#define LINESERVE_BUILD_TYPE ""
#endif

namespace lineserve {

const char* Version() { return LINESERVE_VERSION; }

const char* BuildType() {
  const char* type = LINESERVE_BUILD_TYPE;
  return type[0] != '\0' ? type : "unspecified";
}

std::string VersionLine(const std::string& program, const std::string& extra) {
  return absl::StrCat(program, " ", Version(), " (", BuildType(),
                      extra.empty() ? "" : ", ", extra, ")");
}

}  // namespace lineserve
