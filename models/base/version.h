// The product's version, set once in CMake (project VERSION), and the build
// it comes from, for every program's --version.
#ifndef LINESERVE_MODELS_BASE_VERSION_H_
#define LINESERVE_MODELS_BASE_VERSION_H_

#include <string>

namespace lineserve {

// "0.1.0".
const char* Version();

// CMake's build type ("RelWithDebInfo"), or "unspecified".
const char* BuildType();

// "<program> <version> (<build type>[, <extra>])": the --version line.
std::string VersionLine(const std::string& program,
                        const std::string& extra = "");

}  // namespace lineserve

#endif  // LINESERVE_MODELS_BASE_VERSION_H_
