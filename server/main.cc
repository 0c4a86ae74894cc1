// lineserve-server: serves the models of a model repository over gRPC.
//
//   lineserve-server --model-repository DIR [--grpc-address HOST:PORT]
//                    [--metrics-address HOST:PORT]
//                    [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
//
// Prometheus metrics are served over HTTP at /metrics on --metrics-address.
// With --tls-cert/--tls-key every port (gRPC, HTTP, metrics) serves TLS
// only; --tls-client-ca makes it mutual TLS on every port.
//
// SIGHUP: rescan the model repository (new versions load, removed models
// unload). SIGINT/SIGTERM: health goes NOT_SERVING, new calls are refused,
// accepted calls finish (within --shutdown-grace-seconds), models drain, exit
// 0.
#include <grpc/support/log.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/stubs/logging.h"
#include "models/base/allocator.h"
#include "models/base/file_util.h"
#include "models/base/log.h"
#include "models/base/status_macros.h"
#include "models/base/version.h"
#include "server/backends/backend_registry.h"
#include "server/backends/torchscript_backend.h"
#include "server/common/flag_sources.h"
#include "server/http/http_server.h"
#include "server/inference/inference_pipeline.h"
#include "server/inference/request_log.h"
#include "server/metrics/gpu_memory.h"
#include "server/metrics/server_metrics.h"
#include "server/repository/model_repository.h"
#include "server/repository/observer_list.h"
#include "server/repository/repository_poller.h"
#include "server/security/tls_credentials.h"
#include "server/service/domain_services.h"
#include "server/service/health_reporter.h"
#include "server/service/line_server.h"
#include "server/service/oip_http.h"

ABSL_FLAG(std::string, config, "",
          "file of settings, one `name = value` per line (flags and "
          "LINESERVE_* variables override it)");
ABSL_FLAG(std::string, grpc_address, "0.0.0.0:8500",
          "host:port to serve gRPC on; port 0 picks a free port (logged, and "
          "written to --port-file). The default listens on every interface "
          "(for containers); use 127.0.0.1:8500 or one interface's address "
          "elsewhere, and --tls-cert/--tls-key on untrusted networks");
ABSL_FLAG(std::string, model_repository, "",
          "model repository folder: <model>/config.pbtxt and "
          "<model>/<version>/model.pt (required)");
ABSL_FLAG(int, max_message_bytes, 16 << 20,
          "largest gRPC message in bytes, requests and responses; camera "
          "images must fit");
ABSL_FLAG(int, torch_threads, 1,
          "LibTorch intra-op threads per forward pass (0: one per core); a "
          "model whose instance_count is 0 runs cores / torch_threads "
          "forward passes at once");
ABSL_FLAG(std::string, device, "",
          "run every model on this device (auto, cpu, cuda:N) instead of "
          "each config's device");
ABSL_FLAG(bool, tune_batch_size, true,
          "time each model version at batch sizes 1, 2, 4, ... up to its "
          "max_batch_size when it loads and form batches no larger than the "
          "smallest size within 10% of the fastest per sample (false: the "
          "config's max_batch_size)");
ABSL_FLAG(int64_t, decode_memory_bytes, int64_t{512} << 20,
          "memory every image being decoded at once may take together "
          "(estimated from each image's header); an image that does not "
          "fit beside the others is refused with RESOURCE_EXHAUSTED. Each "
          "image alone is bounded by its model's image.max_pixels and "
          "image.max_decoded_bytes (64 MiB of samples by default)");
ABSL_FLAG(std::string, port_file, "",
          "write the port actually listened on to this file once serving");
ABSL_FLAG(double, shutdown_grace_seconds, 10.0,
          "on SIGTERM/SIGINT, how long accepted calls may take to finish");
ABSL_FLAG(std::string, metrics_address, "0.0.0.0:8502",
          "host:port to serve Prometheus metrics on (GET /metrics); port 0 "
          "picks a free port (logged, and written to --metrics-port-file); "
          "empty: no metrics port of their own (GET /metrics is still served "
          "on --http-address when that is set). The default listens on every "
          "interface (for containers); HTTPS with --tls-cert/--tls-key");
ABSL_FLAG(std::string, metrics_port_file, "",
          "write the port metrics are actually served on to this file");
ABSL_FLAG(std::vector<std::string>, metric_lines, {},
          "comma-separated production lines exported as the `line` label; "
          "others export as \"other\" (default: the first "
          "--max-label-values seen)");
ABSL_FLAG(std::vector<std::string>, metric_stations, {},
          "comma-separated stations exported as the `station` label; others "
          "export as \"other\" (default: the first --max-label-values seen)");
ABSL_FLAG(int, max_label_values, lineserve::kDefaultMaxLabelValues,
          "without an allow-list, how many distinct line (and station) "
          "values get their own series; later ones export as \"other\"");
ABSL_FLAG(std::string, http_address, "",
          "host:port for the Open Inference Protocol's HTTP/REST endpoints "
          "(/v2/...) and GET /metrics, one multi-threaded listener; port 0 "
          "picks a free port (logged, and written to --http-port-file); "
          "empty (the default) serves no HTTP; HTTPS with --tls-cert/"
          "--tls-key");
ABSL_FLAG(std::string, http_port_file, "",
          "write the port HTTP is actually served on to this file");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain (the server's certificate first): gRPC, "
          "--http-address and --metrics-address serve TLS only; needs "
          "--tls-key");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key (unencrypted) of --tls-cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM certificate authority for mutual TLS: every client (gRPC, "
          "HTTP, metrics scrapers) must present a certificate it signed, or "
          "is refused; needs --tls-cert and --tls-key");
ABSL_FLAG(bool, grpc_reflection, false,
          "serve gRPC server reflection (grpcurl list/describe without the "
          "protos); for development, off by default: it maps the API for "
          "anyone who can connect");
ABSL_FLAG(int64_t, http_max_body_bytes, 16 << 20,
          "larger HTTP request bodies are refused with 413");
ABSL_FLAG(int, http_max_connections, 256,
          "open HTTP connections at most; more are refused at accept");
ABSL_FLAG(std::string, model_control_mode, "none",
          "none: serve what the repository holds at start; poll: rescan the "
          "repository every --repository-poll-seconds (new versions load "
          "without a restart, ModelService.ReloadModel too); explicit: "
          "ModelService.LoadModel/UnloadModel/ReloadModel decide. SIGHUP "
          "rescans in every mode");
ABSL_FLAG(double, repository_poll_seconds, 5.0,
          "with --model-control-mode poll: seconds between rescans");
ABSL_FLAG(std::string, admin_token_file, "",
          "file holding the bearer token ModelService's control RPCs must "
          "present (authorization: Bearer <token>); without it they are "
          "refused");
ABSL_FLAG(bool, exit_on_load_failure, false,
          "exit 1 at start-up when a model has no ready version (for "
          "orchestrators that prefer a crash loop to a pod that is not "
          "ready)");
ABSL_FLAG(std::string, log_level, "info",
          "debug: also every request and model load details; info: "
          "start-up, models, failed requests (rate-limited) and shutdown; "
          "warning: problems only; error: failures only");
ABSL_FLAG(std::string, log_format, "text",
          "text: one line per event (time, level, component, message, "
          "key=value); json: one JSON object per line (ts, level, component, "
          "msg and the fields), for log shippers");

namespace lineserve {
namespace {

constexpr char kLogComponent[] = "main";

void Log(const std::string& message) { LogInfo(kLogComponent, message); }

// --log-level and --log-format on the process's logger, and gRPC's and
// protobuf's own messages through it, so every line has one format.
absl::Status ConfigureLogging() {
  ASSIGN_OR_RETURN(const LogLevel level,
                   ParseLogLevel(absl::GetFlag(FLAGS_log_level)));
  ASSIGN_OR_RETURN(const LogFormat format,
                   ParseLogFormat(absl::GetFlag(FLAGS_log_format)));
  Logger::Default().set_level(level);
  Logger::Default().set_format(format);
  gpr_set_log_function([](gpr_log_func_args* args) {
    const LogLevel level =
        args->severity == GPR_LOG_SEVERITY_ERROR  ? LogLevel::kError
        : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                  : LogLevel::kDebug;
    Logger::Default().Log(level, "grpc-core", args->message,
                          {{"file", args->file}, {"line", args->line}});
  });
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel severity,
                                     const char* file, int line,
                                     const std::string& message) {
    const LogLevel level =
        severity == google::protobuf::LOGLEVEL_INFO      ? LogLevel::kInfo
        : severity == google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarning
                                                         : LogLevel::kError;
    Logger::Default().Log(level, "protobuf", message,
                          {{"file", file}, {"line", line}});
  });
  return absl::OkStatus();
}

// Writes `port` to `path` atomically: a script polling the file never reads
// a half-written number.
void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

// The TLS material of --tls-cert, --tls-key and --tls-client-ca, checked;
// empty without them.
absl::StatusOr<TlsCredentials> LoadTls() {
  TlsFiles files;
  files.cert_path = absl::GetFlag(FLAGS_tls_cert);
  files.key_path = absl::GetFlag(FLAGS_tls_key);
  files.client_ca_path = absl::GetFlag(FLAGS_tls_client_ca);
  absl::StatusOr<TlsCredentials> tls = LoadTlsCredentials(files);
  if (!tls.ok()) {
    // A bad file is the operator's to fix: a usage error, not a crash.
    return absl::InvalidArgumentError(tls.status().message());
  }
  if (tls->enabled()) {
    Log(tls->mutual() ? "TLS on every port; clients need a certificate "
                        "signed by --tls-client-ca (mutual TLS)"
                      : "TLS on every port");
  }
  return tls;
}

// Metrics per the flags: on their own port (--metrics-address) and/or at
// /metrics of the HTTP listener (--http-address); null when neither is set.
absl::StatusOr<std::unique_ptr<ServerMetrics>> StartMetrics(
    const TlsCredentials& tls) {
  const std::string address = absl::GetFlag(FLAGS_metrics_address);
  if (address.empty() && absl::GetFlag(FLAGS_http_address).empty()) {
    return nullptr;
  }
  ServerMetricsOptions options;
  options.address = address;
  options.tls = tls;
  options.allowed_lines = absl::GetFlag(FLAGS_metric_lines);
  options.allowed_stations = absl::GetFlag(FLAGS_metric_stations);
  options.max_label_values = absl::GetFlag(FLAGS_max_label_values);
  // GPU memory only where NVIDIA's driver library is there to ask.
  auto gpu = NvmlGpuMemoryReader::Open();
  if (gpu.ok()) {
    options.gpu = *std::move(gpu);
  } else {
    Log(absl::StrCat("no GPU memory metrics: ", gpu.status().message()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ServerMetrics> metrics,
                   ServerMetrics::Create(std::move(options)));
  if (address.empty()) return metrics;
  const std::string host = address.substr(0, address.rfind(':'));
  Log(absl::StrCat("serving metrics on ", tls.enabled() ? "https" : "http",
                   "://", host, ":", metrics->port(), "/metrics"));
  WritePortFile(absl::GetFlag(FLAGS_metrics_port_file), metrics->port());
  return metrics;
}

// The server's own flags (this file's), by name, sorted; not Abseil's.
std::vector<absl::CommandLineFlag*> ServerFlags() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "server/main.cc")) {
      flags.push_back(flag);
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](auto* a, auto* b) { return a->Name() < b->Name(); });
  return flags;
}

constexpr char kUsage[] =
    "lineserve-server serves a model repository over gRPC (and optionally\n"
    "HTTP/REST), with Prometheus metrics.\n\n"
    "usage: lineserve-server --model-repository DIR [--grpc-address "
    "HOST:PORT] [flags]\n\n"
    "Every setting can come from, in rising precedence: its default, a\n"
    "config file (--config FILE or LINESERVE_CONFIG; one `name = value` per\n"
    "line, # comments), an environment variable LINESERVE_<NAME>\n"
    "(LINESERVE_MODEL_REPOSITORY), the command line. Names take dashes or\n"
    "underscores.\n\nflags:\n";

void PrintHelp() {
  std::cout << kUsage;
  for (const absl::CommandLineFlag* flag : ServerFlags()) {
    std::string name(flag->Name());
    std::replace(name.begin(), name.end(), '_', '-');
    std::cout << "  --" << name << "  (" << EnvironmentName(flag->Name())
              << ")\n      " << flag->Help();
    const std::string default_value = flag->DefaultValue();
    if (!default_value.empty())
      std::cout << " (default: " << default_value << ")";
    std::cout << "\n";
  }
  std::cout << "  --help, --version\n";
}

// Signals are taken by one thread with sigwait; every other thread,
// including gRPC's and LibTorch's, is created with them blocked.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// The admin token from --admin-token-file (trailing white space dropped);
// empty when the flag is.
absl::StatusOr<std::string> ReadAdminToken() {
  const std::string path = absl::GetFlag(FLAGS_admin_token_file);
  if (path.empty()) return std::string();
  ASSIGN_OR_RETURN(std::string token, ReadFile(path));
  token = std::string(absl::StripAsciiWhitespace(token));
  if (token.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin-token-file ", path,
                     ": the token must be at least 16 characters"));
  }
  return token;
}

// --exit-on-load-failure: every model must have a ready version.
absl::Status CheckEveryModelReady(const ModelRepository& repository) {
  for (const auto& model : repository.List()) {
    if (model.default_version() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("model ", model.name(),
                       " has no ready version (--exit-on-load-failure)"));
    }
  }
  return absl::OkStatus();
}

int TorchThreads() {
  return IntraOpThreads(absl::GetFlag(FLAGS_torch_threads));
}

absl::Status ConfigureThreads() {
  RETURN_IF_ERROR(ConfigureLibTorchThreads(TorchThreads(), 1));
  Log(absl::StrCat(
      "LibTorch intra-op threads: ", TorchThreads(),
      "; default instance_count: ", DefaultInstanceCount(TorchThreads()),
      "; allocator: ", AllocatorName()));
  return absl::OkStatus();
}

// The repository per the flags, every model loaded (or failed, logged).
absl::StatusOr<std::unique_ptr<ModelRepository>> LoadRepository(
    const BackendRegistry* backends, ServerMetrics* metrics,
    RepositoryObserver* observer) {
  ModelRepositoryOptions options;
  options.root = absl::GetFlag(FLAGS_model_repository);
  options.device_override = absl::GetFlag(FLAGS_device);
  options.backends = backends;
  options.observer = observer;
  options.default_instance_count = DefaultInstanceCount(TorchThreads());
  options.tune_max_batch_size = absl::GetFlag(FLAGS_tune_batch_size);
  // Lives as long as the process: servables may outlive the repository
  // briefly while their last calls finish.
  static auto* const decode_memory =
      new preprocess::DecodeMemory(static_cast<uint64_t>(
          std::max<int64_t>(1, absl::GetFlag(FLAGS_decode_memory_bytes))));
  options.decode_memory = decode_memory;
  if (metrics != nullptr) {
    options.observer_factory = metrics->batcher_observer_factory();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ModelRepository> repository,
                   ModelRepository::Create(options));
  RETURN_IF_ERROR(repository->LoadAll());
  for (const auto& model : repository->List()) {
    std::string versions;
    for (const auto& v : model.versions()) {
      absl::StrAppend(&versions, " v", v.version(), "=",
                      lineserve::v1::VersionState_Name(v.state()),
                      v.message().empty() ? "" : " (" + v.message() + ")");
    }
    Log(absl::StrCat("model ", model.name(), ":", versions));
  }
  return repository;
}

// Serves until SIGTERM/SIGINT, then drains: the server stops taking calls
// and waits for those in flight while the batchers flush their queues at
// once instead of waiting out their delays; then the models unload. SIGHUP
// rescans the repository and serving goes on.
void ServeUntilSignalled(LineServer& server, ModelRepository& repository,
                         std::unique_ptr<RepositoryPoller>& poller,
                         const sigset_t& signals) {
  const absl::Duration grace =
      absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds));
  std::thread watcher([&] {
    int signal_number = 0;
    while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
      Log("SIGHUP: rescanning the model repository");
      if (absl::Status status = repository.Rescan(); !status.ok()) {
        LogWarning(kLogComponent, "rescan failed",
                   {{"error", status.message()}});
      }
    }
    Log(absl::StrCat("signal ", signal_number,
                     ": draining (health NOT_SERVING, refusing new calls)"));
    std::thread stop_server([&] { server.Shutdown(grace); });
    poller.reset();  // no rescan races the unloading
    repository.Shutdown();
    stop_server.join();
  });
  server.Wait();
  watcher.join();
}

absl::Status Serve(const sigset_t& signals) {
  RETURN_IF_ERROR(ConfigureThreads());
  ASSIGN_OR_RETURN(
      const ModelControlMode mode,
      ParseModelControlMode(absl::GetFlag(FLAGS_model_control_mode)));
  ASSIGN_OR_RETURN(std::string admin_token, ReadAdminToken());
  ASSIGN_OR_RETURN(const TlsCredentials tls, LoadTls());
  BackendRegistry backends;
  RETURN_IF_ERROR(RegisterTorchScriptBackend(backends));
  // Before the repository: it reports every load to the metrics and to the
  // health reporter, and is destroyed before them.
  ASSIGN_OR_RETURN(std::unique_ptr<ServerMetrics> metrics, StartMetrics(tls));
  HealthReporter health;
  RepositoryObserverList observers({metrics.get(), &health});
  // Forgotten before the repository goes, on every way out: a scrape must
  // not list a repository that is gone.
  absl::Cleanup forget_repository = [&metrics, &health] {
    health.Detach();
    if (metrics != nullptr) metrics->SetModelStatusSource(nullptr);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<ModelRepository> repository,
                   LoadRepository(&backends, metrics.get(), &observers));
  if (absl::GetFlag(FLAGS_exit_on_load_failure)) {
    RETURN_IF_ERROR(CheckEveryModelReady(*repository));
  }
  if (metrics != nullptr) {
    metrics->SetModelStatusSource(
        [repo = repository.get()] { return repo->List(); });
  }

  RequestLog request_log;
  InferencePipelineOptions pipeline_options;
  pipeline_options.repository = repository.get();
  pipeline_options.observer = metrics.get();
  pipeline_options.request_log = &request_log;
  InferencePipeline pipeline(pipeline_options);
  ModelServiceOptions model_service;
  model_service.repository = repository.get();
  model_service.mode = mode;
  model_service.admin_token = std::move(admin_token);
  model_service.observer = metrics.get();
  model_service.request_log = &request_log;
  DomainServices services(&pipeline, std::move(model_service), metrics.get());
  LineServerOptions options;
  options.address = absl::GetFlag(FLAGS_grpc_address);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.tls = tls;
  options.reflection = absl::GetFlag(FLAGS_grpc_reflection);
  ASSIGN_OR_RETURN(std::unique_ptr<LineServer> server,
                   LineServer::Start(options, services.hosted()));
  health.Attach(server.get(), repository.get(), services.hosted());
  const std::string host =
      options.address.substr(0, options.address.rfind(':'));
  Log(absl::StrCat("serving gRPC", tls.enabled() ? " (TLS)" : "", " on ", host,
                   ":", server->port(),
                   " (model control: ", ModelControlModeName(mode),
                   options.reflection ? "; reflection on" : "", ")"));
  WritePortFile(absl::GetFlag(FLAGS_port_file), server->port());

  std::unique_ptr<OipHttp> oip_http;
  std::unique_ptr<HttpServer> http;
  if (const std::string http_address = absl::GetFlag(FLAGS_http_address);
      !http_address.empty()) {
    oip_http = std::make_unique<OipHttp>(
        &services.oip(), metrics == nullptr
                             ? std::function<std::string()>()
                             : [m = metrics.get()] { return m->Render(); });
    HttpServerOptions http_options;
    http_options.address = http_address;
    http_options.max_body_bytes = static_cast<size_t>(
        std::max<int64_t>(0, absl::GetFlag(FLAGS_http_max_body_bytes)));
    http_options.max_connections = absl::GetFlag(FLAGS_http_max_connections);
    http_options.tls = tls;
    ASSIGN_OR_RETURN(
        http, HttpServer::Start(http_options, [h = oip_http.get()](
                                                  const HttpRequest& request) {
          HttpResponse response = h->Handle(request);
          // An access line at debug; failed inferences are also logged by
          // the request log at info.
          LogDebug("http", "request",
                   {{"method", TruncateForLog(request.method, 16)},
                    {"path", TruncateForLog(request.path, 128)},
                    {"status", response.status},
                    {"peer", request.peer},
                    {"bytes_in", request.body.size()},
                    {"bytes_out", response.body.size()}});
          return response;
        }));
    Log(absl::StrCat(
        "serving HTTP", tls.enabled() ? "S" : "", " (/v2, /metrics) on ",
        http_address.substr(0, http_address.rfind(':')), ":", http->port()));
    WritePortFile(absl::GetFlag(FLAGS_http_port_file), http->port());
  }
  std::unique_ptr<RepositoryPoller> poller;
  if (mode == ModelControlMode::kPoll) {
    const double seconds = absl::GetFlag(FLAGS_repository_poll_seconds);
    if (!(seconds > 0)) {
      return absl::InvalidArgumentError(
          "--repository-poll-seconds must be > 0");
    }
    poller = std::make_unique<RepositoryPoller>(repository.get(),
                                                absl::Seconds(seconds));
  }
  ServeUntilSignalled(*server, *repository, poller, signals);
  http.reset();
  health.Detach();
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  const std::vector<std::string> given(argv, argv + argc);
  for (size_t i = 1; i < given.size() && given[i] != "--"; ++i) {
    if (given[i] == "--help" || given[i] == "-h" || given[i] == "--helpfull") {
      PrintHelp();
      return 0;
    }
    if (given[i] == "--version") {
      std::cout << VersionLine("lineserve-server", LibTorchBuildText()) << "\n";
      return 0;
    }
  }
  std::vector<std::string> names;
  for (const absl::CommandLineFlag* flag : ServerFlags()) {
    names.emplace_back(flag->Name());
  }
  absl::StatusOr<FlagSources> sources = CollectFlagSources(
      given, names, [](const char* name) { return std::getenv(name); });
  if (!sources.ok()) {
    std::cerr << "lineserve-server: " << sources.status().message() << "\n";
    return 2;
  }
  std::vector<char*> args;
  for (std::string& arg : sources->arguments) args.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (absl::Status status = ConfigureLogging(); !status.ok()) {
    LogError(kLogComponent, status.message());
    return 2;
  }
  if (!sources->config_path.empty()) {
    Log(absl::StrCat("settings from config file ", sources->config_path,
                     " (LINESERVE_* variables and flags override it)"));
  }
  if (absl::GetFlag(FLAGS_model_repository).empty()) {
    LogError(kLogComponent, "--model-repository is required (see --help)");
    return 2;
  }
  const sigset_t signals = BlockShutdownSignals();
  if (absl::Status status = Serve(signals); !status.ok()) {
    LogError(kLogComponent, status.message(),
             {{"code", absl::StatusCodeToString(status.code())}});
    return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  Log("stopped");
  return 0;
}

}  // namespace
}  // namespace lineserve

int main(int argc, char** argv) {
  lineserve::ConfigureAllocator();  // before LibTorch allocates
  return lineserve::Main(argc, argv);
}
