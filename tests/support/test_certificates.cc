#include "tests/support/test_certificates.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace lineserve::testing {

std::string TestCertificates::Path(const std::string& name) const {
  return absl::StrCat(dir, "/", name);
}

std::string TestCertificates::Pem(const std::string& name) const {
  std::ifstream in(Path(name), std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void TestCertificates::Remove() const {
  if (owned) std::filesystem::remove_all(dir);
}

absl::StatusOr<TestCertificates> MakeTestCertificates() {
  if (const char* shared = std::getenv("LINESERVE_TEST_CERTS");
      shared != nullptr && *shared != '\0') {
    TestCertificates certificates;
    certificates.dir = shared;
    if (std::filesystem::exists(certificates.Path("junk.pem"))) {
      return certificates;
    }
  }
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir =
      ((base != nullptr ? std::filesystem::path(base)
                        : std::filesystem::temp_directory_path()) /
       "certs-XXXXXX")
          .string();
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot make ", dir));
  }
  TestCertificates certificates;
  certificates.dir = dir;
  certificates.owned = true;
  const std::string command = absl::StrCat(
      "bash '", LINESERVE_SOURCE_DIR, "/tests/support/make_test_certs.sh' '",
      certificates.dir, "'");
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("failed: ", command));
  }
  return certificates;
}

}  // namespace lineserve::testing
