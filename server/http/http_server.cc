#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace lineserve {

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

MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                     const char* method, const char* /*version*/,
                     const char* upload_data, size_t* upload_data_size,
                     void** state) {
  auto* server = static_cast<HttpServer*>(cls);
  if (*state == nullptr) {
    auto* fresh = new HttpServer::Connection();
    fresh->request.method = method;
    fresh->request.path = url;
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

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler handler) {
  const size_t colon = options.address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(options.address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP address \"", options.address, "\" is not host:port"));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  std::string host = options.address.substr(0, colon);
  if (host.empty() || host == "0.0.0.0") {
    address.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (host == "localhost" ||
             inet_pton(AF_INET, host.c_str(), &address.sin_addr) == 1) {
    if (host == "localhost") address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP address \"", options.address,
                     "\": host must be an IPv4 address"));
  }
  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(handler)));
  server->daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, nullptr, nullptr,
      &OnRequest, server.get(), MHD_OPTION_SOCK_ADDR, &address,
      MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned int>(std::max(1, options.threads)),
      MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(std::max(1, options.max_connections)),
      MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned int>(
          std::max<int64_t>(1, absl::ToInt64Seconds(options.idle_timeout))),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.connection_memory_bytes,
      MHD_OPTION_THREAD_STACK_SIZE, options.thread_stack_bytes,
      MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, nullptr, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", options.address));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : port;
  return server;
}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace lineserve
