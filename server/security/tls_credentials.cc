#include "server/security/tls_credentials.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"

namespace lineserve {
namespace {

// PEM files are small; a larger one is not what the flag meant.
constexpr size_t kMaxPemBytes = 1 << 20;

gnutls_datum_t Datum(const std::string& text) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
          static_cast<unsigned int>(text.size())};
}

absl::StatusOr<std::string> ReadPem(const std::string& what,
                                    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path, kMaxPemBytes);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(),
                        absl::StrCat(what, ": ", pem.status().message()));
  }
  return pem;
}

// OK when `pem` holds at least one certificate and every one parses.
absl::Status CheckCertificates(const std::string& what, const std::string& path,
                               const std::string& pem) {
  gnutls_x509_crt_t* certificates = nullptr;
  unsigned int count = 0;
  const gnutls_datum_t data = Datum(pem);
  const int rc = gnutls_x509_crt_list_import2(&certificates, &count, &data,
                                              GNUTLS_X509_FMT_PEM, 0);
  for (unsigned int i = 0; rc >= 0 && i < count; ++i) {
    gnutls_x509_crt_deinit(certificates[i]);
  }
  gnutls_free(certificates);
  if (rc < 0 || count == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", path, " holds no PEM certificate",
        rc < 0 ? absl::StrCat(" (", gnutls_strerror(rc), ")") : ""));
  }
  return absl::OkStatus();
}

absl::Status CheckPrivateKey(const std::string& path, const std::string& pem) {
  gnutls_x509_privkey_t key = nullptr;
  if (gnutls_x509_privkey_init(&key) < 0) {
    return absl::ResourceExhaustedError("cannot allocate a private key");
  }
  absl::Cleanup release = [key] { gnutls_x509_privkey_deinit(key); };
  const gnutls_datum_t data = Datum(pem);
  if (const int rc = gnutls_x509_privkey_import2(
          key, &data, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN);
      rc < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS key ", path, " holds no unencrypted PEM private key (",
        gnutls_strerror(rc), ")"));
  }
  return absl::OkStatus();
}

// The key must belong to the first certificate of the chain.
absl::Status CheckKeyMatches(const TlsFiles& files,
                             const TlsCredentials& credentials) {
  gnutls_certificate_credentials_t pair = nullptr;
  if (gnutls_certificate_allocate_credentials(&pair) < 0) {
    return absl::ResourceExhaustedError("cannot allocate TLS credentials");
  }
  absl::Cleanup release = [pair] { gnutls_certificate_free_credentials(pair); };
  const gnutls_datum_t cert = Datum(credentials.cert_chain_pem);
  const gnutls_datum_t key = Datum(credentials.private_key_pem);
  if (const int rc = gnutls_certificate_set_x509_key_mem2(
          pair, &cert, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
      rc < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS key ", files.key_path, " does not go with TLS ", "certificate ",
        files.cert_path, " (", gnutls_strerror(rc), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsCredentials> LoadTlsCredentials(const TlsFiles& files) {
  TlsCredentials credentials;
  if (files.cert_path.empty() && files.key_path.empty()) {
    if (!files.client_ca_path.empty()) {
      return absl::InvalidArgumentError(
          "a TLS client CA needs the server's TLS certificate and key too");
    }
    return credentials;
  }
  if (files.cert_path.empty() || files.key_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and its private key");
  }
  ASSIGN_OR_RETURN(credentials.cert_chain_pem,
                   ReadPem("TLS certificate", files.cert_path));
  ASSIGN_OR_RETURN(credentials.private_key_pem,
                   ReadPem("TLS key", files.key_path));
  RETURN_IF_ERROR(CheckCertificates("TLS certificate", files.cert_path,
                                    credentials.cert_chain_pem));
  RETURN_IF_ERROR(CheckPrivateKey(files.key_path, credentials.private_key_pem));
  RETURN_IF_ERROR(CheckKeyMatches(files, credentials));
  if (!files.client_ca_path.empty()) {
    ASSIGN_OR_RETURN(credentials.client_ca_pem,
                     ReadPem("TLS client CA", files.client_ca_path));
    RETURN_IF_ERROR(CheckCertificates("TLS client CA", files.client_ca_path,
                                      credentials.client_ca_pem));
  }
  return credentials;
}

}  // namespace lineserve
