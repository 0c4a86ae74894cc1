// The server's TLS material: its certificate chain and private key and, for
// mutual TLS, the certificate authority its clients' certificates must be
// signed by. gRPC (LineServer) and the HTTP listeners (HttpServer, the
// metrics port) take the same material, so one set of flags secures every
// port.
//
// The material is PEM text, read and checked once at start-up
// (LoadTlsCredentials): a certificate that does not parse, a key that does
// not match it or an unreadable file is a start-up error naming the file,
// never a listener that fails later or a crash inside a TLS library.
#ifndef LINESERVE_SERVER_SECURITY_TLS_CREDENTIALS_H_
#define LINESERVE_SERVER_SECURITY_TLS_CREDENTIALS_H_

#include <string>

#include "absl/status/statusor.h"

namespace lineserve {

struct TlsCredentials {
  // The server's certificate, then any intermediates (PEM). Empty: the
  // listeners speak plaintext.
  std::string cert_chain_pem;
  // The private key of the first certificate (PEM, unencrypted).
  std::string private_key_pem;
  // Certificate authorities (PEM) that sign client certificates. Not empty:
  // mutual TLS, every client must present a certificate signed by one of
  // them, or it is refused.
  std::string client_ca_pem;

  bool enabled() const { return !cert_chain_pem.empty(); }
  bool mutual() const { return enabled() && !client_ca_pem.empty(); }
};

// Where the PEM files are; all empty: no TLS.
struct TlsFiles {
  std::string cert_path;
  std::string key_path;
  // Optional: mutual TLS when set.
  std::string client_ca_path;
};

// Reads and checks the files: each certificate parses, the key parses and
// belongs to the first certificate, the client CA holds at least one
// certificate. INVALID_ARGUMENT naming the file otherwise (or when only one
// of cert and key is given, or a client CA without them); NOT_FOUND for a
// missing file. All paths empty: empty credentials (plaintext).
absl::StatusOr<TlsCredentials> LoadTlsCredentials(const TlsFiles& files);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SECURITY_TLS_CREDENTIALS_H_
