#include "server/http/http_server.h"

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace lineserve {

const std::string& HttpRequest::Header(const std::string& name) const {
  static const std::string* const kEmpty = new std::string();
  const auto found = headers.find(name);
  return found == headers.end() ? *kEmpty : found->second;
}

// One request being received.
struct HttpServer::Connection {
  HttpRequest request;
  bool too_large = false;
};

namespace {

MHD_Result Queue(MHD_Connection* connection, const HttpResponse& response) {
  MHD_Response* out = MHD_create_response_from_buffer(
      response.body.size(), const_cast<char*>(response.body.data()),
      MHD_RESPMEM_MUST_COPY);
  if (out == nullptr) return MHD_NO;
  MHD_add_response_header(out, MHD_HTTP_HEADER_CONTENT_TYPE,
                          response.content_type.c_str());
  const MHD_Result queued = MHD_queue_response(
      connection, static_cast<unsigned int>(response.status), out);
  MHD_destroy_response(out);
  return queued;
}

// Mutual TLS: libmicrohttpd asks for a client certificate but lets a
// connection through without one (or with any one); the handshake's
// certificate is verified here against the client CA it was given.
bool HasTrustedClientCertificate(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return false;
  const auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned int presented = 0;
  if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509 ||
      gnutls_certificate_get_peers(session, &presented) == nullptr ||
      presented == 0) {
    return false;
  }
  unsigned int verification = 0;
  return gnutls_certificate_verify_peers2(session, &verification) ==
             GNUTLS_E_SUCCESS &&
         verification == 0;
}

MHD_Result RefuseClient(MHD_Connection* connection) {
  static constexpr char kBody[] =
      "{\"error\": \"a client certificate signed by the server's client CA "
      "is required\"}";
  MHD_Response* out = MHD_create_response_from_buffer(
      sizeof(kBody) - 1, const_cast<char*>(kBody), MHD_RESPMEM_PERSISTENT);
  if (out == nullptr) return MHD_NO;
  MHD_add_response_header(out, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "application/json");
  MHD_add_response_header(out, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result queued =
      MHD_queue_response(connection, MHD_HTTP_FORBIDDEN, out);
  MHD_destroy_response(out);
  return queued;
}

// The client's address in gRPC's spelling, for logs.
std::string PeerOf(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "";
  const sockaddr* address = info->client_addr;
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  const socklen_t length = address->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                                          : sizeof(sockaddr_in);
  if (getnameinfo(address, length, host, sizeof(host), port, sizeof(port),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "";
  }
  return address->sa_family == AF_INET6
             ? absl::StrCat("ipv6:[", host, "]:", port)
             : absl::StrCat("ipv4:", host, ":", port);
}

MHD_Result AddHeader(void* cls, MHD_ValueKind /*kind*/, const char* key,
                     const char* value) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(cls);
  if (key != nullptr) {
    (*headers)[absl::AsciiStrToLower(key)] = value == nullptr ? "" : value;
  }
  return MHD_YES;
}

MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                     const char* method, const char* /*version*/,
                     const char* upload_data, size_t* upload_data_size,
                     void** state) {
  auto* server = static_cast<HttpServer*>(cls);
  if (*state == nullptr) {
    if (server->options().tls.mutual() &&
        !HasTrustedClientCertificate(connection)) {
      return RefuseClient(connection);
    }
    auto* fresh = new HttpServer::Connection();
    fresh->request.method = method;
    fresh->request.path = url;
    fresh->request.peer = PeerOf(connection);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &AddHeader,
                              &fresh->request.headers);
    *state = fresh;
    return MHD_YES;  // the body, if any, comes in the next calls
  }
  auto* current = static_cast<HttpServer::Connection*>(*state);
  if (*upload_data_size > 0) {
    if (current->request.body.size() + *upload_data_size >
        server->options().max_body_bytes) {
      current->too_large = true;
    } else if (!current->too_large) {
      current->request.body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (current->too_large) {
    return Queue(connection,
                 {413, "application/json",
                  absl::StrCat("{\"error\": \"request body above ",
                               server->options().max_body_bytes, " bytes\"}")});
  }
  return Queue(connection, server->handler()(current->request));
}

void OnCompleted(void* /*cls*/, MHD_Connection* /*connection*/, void** state,
                 MHD_RequestTerminationCode /*code*/) {
  delete static_cast<HttpServer::Connection*>(*state);
  *state = nullptr;
}

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// "host:port", "[ipv6]:port" or ":port" (every interface) -> host, port.
absl::Status SplitAddress(const std::string& address, std::string* host,
                          std::string* port) {
  const size_t colon = address.rfind(':');
  int number = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &number) || number < 0 ||
      number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address \"", address, "\" is not host:port"));
  }
  absl::string_view host_part = absl::string_view(address).substr(0, colon);
  if (absl::ConsumePrefix(&host_part, "[") &&
      !absl::ConsumeSuffix(&host_part, "]")) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address \"", address, "\" lacks a ']'"));
  }
  *host = std::string(host_part);
  *port = std::to_string(number);
  return absl::OkStatus();
}

// A bound, listening socket for `address` (IPv4, IPv6 or a name), or why
// not: INVALID_ARGUMENT when it does not parse or resolve, UNAVAILABLE when
// it cannot be bound.
absl::StatusOr<int> Listen(const std::string& address) {
  std::string host;
  std::string port;
  if (absl::Status status = SplitAddress(address, &host, &port); !status.ok()) {
    return status;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int error = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                              port.c_str(), &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address \"", address, "\": ", gai_strerror(error)));
  }
  absl::Status last = absl::UnavailableError("no address to bind");
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                ai->ai_protocol);
    if (fd < 0) {
      last = Errno("socket");
      continue;
    }
    // A restarted server rebinds at once despite connections in TIME_WAIT.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      last = Errno(absl::StrCat("cannot listen on ", address));
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return last;
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return 0;
  }
  if (bound.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler handler) {
  absl::StatusOr<int> listen_fd = Listen(options.address);
  if (!listen_fd.ok()) return listen_fd.status();
  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(handler)));
  // The PEM text is the server's own copy: libmicrohttpd keeps pointers.
  const TlsCredentials& tls = server->options_.tls;
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
  std::vector<MHD_OptionItem> tls_options;
  if (tls.enabled()) {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      close(*listen_fd);
      return absl::UnavailableError(
          "this libmicrohttpd was built without TLS support");
    }
    flags |= MHD_USE_TLS;
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0,
                           const_cast<char*>(tls.cert_chain_pem.c_str())});
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0,
                           const_cast<char*>(tls.private_key_pem.c_str())});
    if (tls.mutual()) {
      tls_options.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0,
                             const_cast<char*>(tls.client_ca_pem.c_str())});
    }
  }
  tls_options.push_back({MHD_OPTION_END, 0, nullptr});
  server->daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &OnRequest, server.get(),
      MHD_OPTION_LISTEN_SOCKET, *listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned int>(std::max(1, options.threads)),
      MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(std::max(1, options.max_connections)),
      MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned int>(
          std::max<int64_t>(1, absl::ToInt64Seconds(options.idle_timeout))),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.connection_memory_bytes,
      MHD_OPTION_THREAD_STACK_SIZE, options.thread_stack_bytes,
      MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, nullptr, MHD_OPTION_ARRAY,
      tls_options.data(), MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    close(*listen_fd);
    return absl::UnavailableError(absl::StrCat("cannot serve HTTP",
                                               tls.enabled() ? "S" : "", " on ",
                                               options.address));
  }
  // The daemon owns the socket from here (MHD_stop_daemon closes it).
  server->port_ = BoundPort(*listen_fd);
  return server;
}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace lineserve
