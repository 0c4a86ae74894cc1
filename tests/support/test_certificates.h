// Certificates for the TLS tests, made by make_test_certs.sh (the openssl
// CLI): a CA, a server certificate for localhost and 127.0.0.1, a client
// certificate signed by the CA, a rogue CA nobody trusts with a client and
// a server certificate of its own, and junk.pem (neither certificate nor
// key). Under CTest a fixture makes them once per run (LINESERVE_TEST_CERTS
// names the folder); a test binary run alone makes its own.
#ifndef LINESERVE_TESTS_SUPPORT_TEST_CERTIFICATES_H_
#define LINESERVE_TESTS_SUPPORT_TEST_CERTIFICATES_H_

#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace lineserve::testing {

struct TestCertificates {
  std::string dir;
  // True when this process made `dir` (and Remove() deletes it).
  bool owned = false;

  // "<dir>/<name>", e.g. Path("client.pem").
  std::string Path(const std::string& name) const;
  // The PEM text of Path(name); empty when it cannot be read.
  std::string Pem(const std::string& name) const;
  // Deletes the folder if this process made it.
  void Remove() const;
};

// The fixture's certificates when LINESERVE_TEST_CERTS names a folder
// that holds them; otherwise makes them in a new folder under the test temp
// dir. INTERNAL when the script fails (openssl missing, for one).
absl::StatusOr<TestCertificates> MakeTestCertificates();

// A fixture whose suite shares one set of certificates, made before its
// first test and removed after its last.
class WithTestCertificates : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto made = MakeTestCertificates();
    ASSERT_TRUE(made.ok()) << made.status();
    certificates_ = new TestCertificates(*std::move(made));
  }
  static void TearDownTestSuite() {
    certificates_->Remove();
    delete certificates_;
    certificates_ = nullptr;
  }

  inline static TestCertificates* certificates_ = nullptr;
};

}  // namespace lineserve::testing

#endif  // LINESERVE_TESTS_SUPPORT_TEST_CERTIFICATES_H_
