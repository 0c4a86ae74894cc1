// Fuzz target: the Open Inference Protocol's REST front end
// (server/service/oip_http.h, OipHttp::Handle) as the HTTP listener hands it
// a request: the path (routing, model name and version), the
// Inference-Header-Content-Length header (the binary tensor data extension)
// and the body (the JSON tensor format), through to OipService::Infer on the
// fake-backed golden models (tests/fuzz/fuzz_serving.h). The libmicrohttpd
// listener itself is not involved.
//
// Input layout, so seeds stay readable: the first line is the path, the
// second the header's value (empty: no header), the rest the body. Paths
// ending in /infer are POSTed, others are GETs.
//
// Checked beyond "no crash, no sanitizer report": every answer is JSON
// (an object), with a status that is never a server error (500).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_serving.h"

namespace lineserve::fuzzing {
namespace {

void Check(bool condition, const char* what, const std::string& detail = "") {
  if (!condition) {
    std::fprintf(stderr, "oip_http_fuzzer: %s %s\n", what, detail.c_str());
    std::abort();
  }
}

// The next line of `input` (without its '\n'); consumes it.
std::string NextLine(absl::string_view& input) {
  const size_t end = input.find('\n');
  const absl::string_view line = input.substr(0, end);
  input.remove_prefix(end == absl::string_view::npos ? input.size() : end + 1);
  return std::string(line);
}

}  // namespace
}  // namespace lineserve::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lineserve;
  using namespace lineserve::fuzzing;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  HttpRequest request;
  request.path = NextLine(input);
  const std::string header_length = NextLine(input);
  if (!header_length.empty()) {
    request.headers["inference-header-content-length"] = header_length;
  }
  request.body = std::string(input);
  request.method = absl::EndsWith(request.path, "/infer") ? "POST" : "GET";

  const HttpResponse response = FuzzServing::Get().oip_http().Handle(request);
  Check(response.status != 500, "a server error:", response.body);
  const nlohmann::json body =
      nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  Check(!body.is_discarded() && body.is_object(),
        "an answer that is not JSON:", response.body);
  return 0;
}
