#include "tests/support/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace lineserve::testing {
namespace {

// Closes the socket on every way out.
class Socket {
 public:
  Socket() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  const int fd_;
};

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(errno)));
}

// The Content-Length header's value, if there is one.
std::optional<size_t> ContentLength(absl::string_view headers) {
  for (absl::string_view line : absl::StrSplit(headers, "\r\n")) {
    const size_t colon = line.find(':');
    size_t length = 0;
    if (colon != absl::string_view::npos &&
        absl::EqualsIgnoreCase(line.substr(0, colon), "content-length") &&
        absl::SimpleAtoi(line.substr(colon + 1), &length)) {
      return length;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& target,
                                     absl::Duration timeout) {
  return HttpCall(port, "GET", target, "", timeout);
}

absl::StatusOr<HttpResponse> HttpCall(int port, const std::string& method,
                                      const std::string& target,
                                      const std::string& body,
                                      absl::Duration timeout) {
  Socket socket;
  if (socket.fd() < 0) return Errno("socket");
  const timeval tv = absl::ToTimeval(timeout);
  setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(socket.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const sockaddr_in address = Loopback(port);
  if (connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address),
              sizeof(address)) != 0) {
    return Errno(absl::StrCat("connect to 127.0.0.1:", port));
  }
  // HTTP/1.0: the server closes after the body, which is not chunked.
  const std::string request =
      absl::StrCat(method, " ", target, " HTTP/1.0\r\nHost: 127.0.0.1:", port,
                   body.empty() ? "" : "\r\nContent-Type: application/json",
                   "\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(socket.fd(), request.data() + sent,
                           request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return Errno("send");
    sent += static_cast<size_t>(n);
  }
  // Read until the body is complete (Content-Length) or the server closes.
  // Waiting for the close alone would stall: civetweb lingers until the
  // client closes first.
  std::string reply;
  size_t header_end = std::string::npos;
  std::optional<size_t> content_length;
  char buffer[16384];
  for (;;) {
    if (header_end != std::string::npos && content_length.has_value() &&
        reply.size() >= header_end + 4 + *content_length) {
      break;
    }
    const ssize_t n = recv(socket.fd(), buffer, sizeof(buffer), 0);
    if (n < 0) return Errno("recv");
    if (n == 0) break;
    reply.append(buffer, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = reply.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        content_length = ContentLength(reply.substr(0, header_end));
      }
    }
  }
  HttpResponse response;
  // "HTTP/1.x 200 OK"
  if (!absl::StartsWith(reply, "HTTP/") || header_end == std::string::npos ||
      reply.size() < 12 ||
      !absl::SimpleAtoi(reply.substr(9, 3), &response.status)) {
    return absl::InternalError(
        absl::StrCat("not an HTTP reply: ", reply.substr(0, 80)));
  }
  response.headers = reply.substr(0, header_end);
  response.body = reply.substr(header_end + 4);
  return response;
}

std::string UrlEncode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

absl::StatusOr<int> PickFreePort() {
  Socket socket;
  if (socket.fd() < 0) return Errno("socket");
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (bind(socket.fd(), reinterpret_cast<sockaddr*>(&address),
           sizeof(address)) != 0 ||
      getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address),
                  &length) != 0) {
    return Errno("bind 127.0.0.1:0");
  }
  return ntohs(address.sin_port);
}

}  // namespace lineserve::testing
