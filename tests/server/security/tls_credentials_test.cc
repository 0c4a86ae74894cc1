#include "server/security/tls_credentials.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_certificates.h"

namespace lineserve {
namespace {

using ::lineserve::testing::TestCertificates;
using ::testing::HasSubstr;

class TlsCredentialsTest : public ::lineserve::testing::WithTestCertificates {
 protected:
  static TlsFiles Files(const std::string& cert, const std::string& key,
                        const std::string& client_ca = "") {
    TlsFiles files;
    if (!cert.empty()) files.cert_path = certificates_->Path(cert);
    if (!key.empty()) files.key_path = certificates_->Path(key);
    if (!client_ca.empty())
      files.client_ca_path = certificates_->Path(client_ca);
    return files;
  }
};

TEST_F(TlsCredentialsTest, NoFilesMeansPlaintext) {
  auto tls = LoadTlsCredentials(TlsFiles());
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_FALSE(tls->enabled());
  EXPECT_FALSE(tls->mutual());
}

TEST_F(TlsCredentialsTest, LoadsCertificateKeyAndClientCa) {
  auto tls = LoadTlsCredentials(Files("server.pem", "server.key"));
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->enabled());
  EXPECT_FALSE(tls->mutual());
  EXPECT_EQ(tls->cert_chain_pem, certificates_->Pem("server.pem"));
  EXPECT_EQ(tls->private_key_pem, certificates_->Pem("server.key"));

  auto mutual = LoadTlsCredentials(Files("server.pem", "server.key", "ca.pem"));
  ASSERT_TRUE(mutual.ok()) << mutual.status();
  EXPECT_TRUE(mutual->mutual());
  EXPECT_EQ(mutual->client_ca_pem, certificates_->Pem("ca.pem"));
}

TEST_F(TlsCredentialsTest, RefusesMissingFileNamingIt) {
  auto tls = LoadTlsCredentials(Files("absent.pem", "server.key"));
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tls.status().message(), HasSubstr("absent.pem"));
}

TEST_F(TlsCredentialsTest, RefusesFilesThatHoldNoCertificate) {
  auto cert = LoadTlsCredentials(Files("junk.pem", "server.key"));
  EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cert.status().message(), HasSubstr("junk.pem"));
  // A key where the certificate belongs.
  auto swapped = LoadTlsCredentials(Files("server.key", "server.pem"));
  EXPECT_EQ(swapped.status().code(), absl::StatusCode::kInvalidArgument);
  auto client_ca =
      LoadTlsCredentials(Files("server.pem", "server.key", "junk.pem"));
  EXPECT_EQ(client_ca.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client_ca.status().message(), HasSubstr("client CA"));
}

TEST_F(TlsCredentialsTest, RefusesFileThatHoldsNoKey) {
  auto tls = LoadTlsCredentials(Files("server.pem", "junk.pem"));
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("junk.pem"));
}

TEST_F(TlsCredentialsTest, RefusesKeyOfAnotherCertificate) {
  auto tls = LoadTlsCredentials(Files("server.pem", "client.key"));
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("does not go with"));
}

TEST_F(TlsCredentialsTest, RefusesHalfAConfiguration) {
  EXPECT_EQ(LoadTlsCredentials(Files("server.pem", "")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadTlsCredentials(Files("", "server.key")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadTlsCredentials(Files("", "", "ca.pem")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lineserve
