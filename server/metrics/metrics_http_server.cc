#include "server/metrics/metrics_http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace lineserve {
namespace {

// Longest request head read; a scrape's is a few hundred bytes.
constexpr size_t kMaxRequestBytes = 8192;
constexpr int kIoTimeoutSeconds = 5;

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// "host:port" -> (host, port); host "" (from ":port") means every interface.
absl::Status SplitAddress(const std::string& address, std::string* host,
                          std::string* port) {
  const size_t colon = address.rfind(':');
  int number = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &number) || number < 0 ||
      number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", address, "' is not host:port"));
  }
  absl::string_view host_part = absl::string_view(address).substr(0, colon);
  if (absl::ConsumePrefix(&host_part, "[")) {
    if (!absl::ConsumeSuffix(&host_part, "]")) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics address '", address, "' lacks a ']'"));
    }
  }
  *host = std::string(host_part);
  *port = std::to_string(number);
  return absl::OkStatus();
}

// A bound, listening socket for `address`, or why not.
absl::StatusOr<int> Listen(const std::string& address) {
  std::string host, port;
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
        absl::StrCat("metrics address '", address, "': ", gai_strerror(error)));
  }
  absl::Status last = absl::UnavailableError("no address to bind");
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = Errno("socket");
      continue;
    }
    // A restarted server rebinds at once despite connections in TIME_WAIT.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
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

void SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away: nothing to tell it
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void Reply(int fd, absl::string_view status, absl::string_view content_type,
           absl::string_view body, bool head_only) {
  SendAll(fd, absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ",
                           content_type, "\r\nContent-Length: ", body.size(),
                           "\r\nConnection: close\r\n\r\n"));
  if (!head_only) SendAll(fd, body);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, Render render) {
  absl::StatusOr<int> listen_fd = Listen(address);
  if (!listen_fd.ok()) return listen_fd.status();
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) {
    const absl::Status status = Errno("pipe");
    close(*listen_fd);
    return status;
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(
      *listen_fd, wake[0], wake[1], BoundPort(*listen_fd), std::move(render)));
  server->thread_ = std::thread([raw = server.get()] { raw->Serve(); });
  return server;
}

MetricsHttpServer::MetricsHttpServer(int listen_fd, int wake_read_fd,
                                     int wake_write_fd, int port, Render render)
    : listen_fd_(listen_fd),
      wake_read_fd_(wake_read_fd),
      wake_write_fd_(wake_write_fd),
      port_(port),
      render_(std::move(render)) {}

MetricsHttpServer::~MetricsHttpServer() {
  const char stop = 1;
  while (write(wake_write_fd_, &stop, 1) < 0 && errno == EINTR) {
  }
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_read_fd_);
  close(wake_write_fd_);
}

void MetricsHttpServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;  // stopping
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;  // e.g. the client already gave up
    Answer(connection);
    close(connection);
  }
}

void MetricsHttpServer::Answer(int connection) const {
  const timeval timeout{kIoTimeoutSeconds, 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  // Only the request line matters; read until the end of the head.
  std::string head;
  char buffer[2048];
  while (head.find("\r\n\r\n") == std::string::npos &&
         head.size() < kMaxRequestBytes) {
    const ssize_t n = recv(connection, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    head.append(buffer, static_cast<size_t>(n));
  }
  const absl::string_view request_line =
      absl::string_view(head).substr(0, head.find("\r\n"));
  const std::vector<absl::string_view> parts =
      absl::StrSplit(request_line, ' ', absl::SkipEmpty());
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/")) {
    Reply(connection, "400 Bad Request", "text/plain", "bad request\n", false);
    return;
  }
  const bool head_only = parts[0] == "HEAD";
  if (parts[0] != "GET" && !head_only) {
    Reply(connection, "405 Method Not Allowed", "text/plain",
          "only GET /metrics\n", false);
    return;
  }
  const absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path != "/metrics") {
    Reply(connection, "404 Not Found", "text/plain",
          "metrics are at /metrics\n", head_only);
    return;
  }
  Reply(connection, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
        render_(), head_only);
}

}  // namespace lineserve
