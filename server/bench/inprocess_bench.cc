// lineserve-bench: the in-process limit of a model, the yardstick served
// throughput is held against.
//
// The model is loaded exactly as the server loads it (the repository, the
// config in force, the TorchScript backend on the configured device, warm-up),
// and every batch size runs the server's own steps: decode and preprocess
// each sample (or encode each feature row), stack the samples into the batch
// tensor, one forward pass; on as many threads side by side as the server
// runs the model (instance_count). No gRPC, no batcher, no queue. Per batch
// size it reports where the time went and the samples per second of wall
// time; the best batch size is where that is highest.
//
//   lineserve-bench --model-repository DIR --model quality_inspection
//       --file tile.png [--batch-sizes 1,2,4,8,16,32,64] [--json]
#include <algorithm>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "models/base/allocator.h"
#include "models/base/command_line.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/data/csv_table.h"
#include "nlohmann/json.hpp"
#include "server/backends/backend_registry.h"
#include "server/backends/torchscript_backend.h"
#include "server/common/tensor.h"
#include "server/inference/model_io.h"
#include "server/repository/model_repository.h"

namespace lineserve {
namespace {

constexpr char kProgram[] = "lineserve-bench";

struct BenchOptions {
  std::string repository, model, file, rows, device;
  int version = 0;
  std::vector<std::string> batch_sizes = {"1", "2", "4", "8", "16", "32", "64"};
  double min_seconds = 1.0;
  int min_iterations = 3;
  int warmup_runs = 3;
  int torch_threads = 1;
  int streams = 0;
  bool json = false;
};

// The server's backend factories, with a window onto what they load: the
// repository owns each backend, the bench runs it directly.
class CapturingRegistry {
 public:
  absl::Status Init() {
    BackendRegistry real;
    RETURN_IF_ERROR(RegisterTorchScriptBackend(real));
    for (const std::string& name : real.platforms()) {
      ASSIGN_OR_RETURN(const BackendRegistry::Platform* platform,
                       real.Find(name));
      BackendFactory create = platform->create;
      RETURN_IF_ERROR(registry_.Register(
          name, platform->artifact_file,
          [this, create](const BackendLoadRequest& request)
              -> absl::StatusOr<std::unique_ptr<Backend>> {
            ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, create(request));
            loaded_ = backend.get();
            return backend;
          }));
    }
    return absl::OkStatus();
  }
  const BackendRegistry* registry() const { return &registry_; }
  // The backend loaded last; valid while its servable lives.
  Backend* loaded() const { return loaded_; }

 private:
  BackendRegistry registry_;
  Backend* loaded_ = nullptr;
};

// Turns the i-th input of the run into one sample, the server's way.
using MakeSample = std::function<absl::StatusOr<Sample>(int i)>;

absl::StatusOr<MakeSample> SampleSource(const BenchOptions& options,
                                        const ServableModel& model) {
  if (!options.file.empty() == !options.rows.empty()) {
    return absl::InvalidArgumentError("give exactly one of --file and --rows");
  }
  if (!options.file.empty()) {
    ASSIGN_OR_RETURN(std::string encoded, ReadFile(options.file));
    auto bytes = std::make_shared<const std::string>(std::move(encoded));
    return MakeSample(
        [&model, bytes](int) { return ImageSample(model, *bytes); });
  }
  ASSIGN_OR_RETURN(data::CsvTable table, data::ReadCsv(options.rows));
  if (table.rows.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rows: ", options.rows, " has no rows"));
  }
  auto rows = std::make_shared<std::vector<preprocess::FeatureRow>>();
  for (const auto& cells : table.rows) {
    rows->push_back(
        data::FeatureRowFromCsv(table, cells, model.config().tabular()));
  }
  return MakeSample([&model, rows](int i) {
    return FeatureSample(model, (*rows)[i % rows->size()]);
  });
}

// One batch size's figures; step times are medians over every pass.
struct Step {
  int batch_size = 0;
  int iterations = 0;        // measured passes, all streams together
  double preprocess_us = 0;  // all samples of the batch
  double stack_us = 0;
  double compute_us = 0;  // the forward pass
  // The first forward pass at this size (before the warm-up runs).
  double first_compute_us = 0;
  // Samples through all streams per second of wall time.
  double samples_per_second = 0;
  double per_sample_us() const { return 1e6 / samples_per_second; }
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// One pass at `batch_size`: the times of its three steps, in microseconds.
struct PassTimes {
  double preprocess = 0, stack = 0, compute = 0;
};

absl::StatusOr<PassTimes> RunPass(Backend& backend, const MakeSample& make,
                                  int batch_size, int& next) {
  const absl::Time t0 = absl::Now();
  std::vector<Sample> samples;
  for (int i = 0; i < batch_size; ++i) {
    ASSIGN_OR_RETURN(Sample sample, make(next++));
    samples.push_back(std::move(sample));
  }
  const absl::Time t1 = absl::Now();
  std::vector<Tensor> inputs;
  for (size_t input = 0; input < backend.inputs().size(); ++input) {
    std::vector<const Tensor*> parts;
    for (const Sample& sample : samples) parts.push_back(&sample[input]);
    ASSIGN_OR_RETURN(Tensor stacked, Stack(parts));
    inputs.push_back(std::move(stacked));
  }
  const absl::Time t2 = absl::Now();
  RETURN_IF_ERROR(backend.Run(inputs, batch_size).status());
  const absl::Time t3 = absl::Now();
  return PassTimes{absl::ToDoubleMicroseconds(t1 - t0),
                   absl::ToDoubleMicroseconds(t2 - t1),
                   absl::ToDoubleMicroseconds(t3 - t2)};
}

// Warms the size up, then runs `streams` threads of back-to-back passes
// for at least min_seconds and min_iterations each, as the batcher's
// workers (instance_count) run batches side by side.
absl::StatusOr<Step> RunStep(Backend& backend, const MakeSample& make,
                             int batch_size, int streams,
                             const BenchOptions& options) {
  Step step;
  step.batch_size = batch_size;
  int next = 0;
  // The first passes at a new size pay for TorchScript's re-optimisation
  // (the server's warm-up pays it for the sizes the config lists).
  for (int run = 0; run < options.warmup_runs; ++run) {
    ASSIGN_OR_RETURN(PassTimes pass, RunPass(backend, make, batch_size, next));
    if (run == 0) step.first_compute_us = pass.compute;
  }
  absl::Mutex mu;
  std::vector<PassTimes> passes;
  absl::Status failure;
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < streams; ++t) {
    threads.emplace_back([&, t] {
      int sample = t * 1000;  // streams take different rows
      for (int i = 0; i < options.min_iterations ||
                      absl::Now() - start < absl::Seconds(options.min_seconds);
           ++i) {
        absl::StatusOr<PassTimes> pass =
            RunPass(backend, make, batch_size, sample);
        absl::MutexLock lock(&mu);
        if (!pass.ok()) {
          failure.Update(pass.status());
          return;
        }
        passes.push_back(*pass);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  RETURN_IF_ERROR(failure);
  std::vector<double> preprocess, stack, compute;
  for (const PassTimes& pass : passes) {
    preprocess.push_back(pass.preprocess);
    stack.push_back(pass.stack);
    compute.push_back(pass.compute);
  }
  step.iterations = static_cast<int>(passes.size());
  step.preprocess_us = Median(preprocess);
  step.stack_us = Median(stack);
  step.compute_us = Median(compute);
  step.samples_per_second =
      static_cast<double>(passes.size()) * batch_size / seconds;
  return step;
}

absl::StatusOr<std::vector<int>> BatchSizes(const BenchOptions& options,
                                            int max_batch_size) {
  std::vector<int> sizes;
  for (const std::string& text : options.batch_sizes) {
    int size = 0;
    if (!absl::SimpleAtoi(text, &size) || size < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--batch-sizes: '", text, "' is not a positive count"));
    }
    // A model without batching (max_batch_size 0) takes batches of 1.
    if (size <= std::max(1, max_batch_size)) sizes.push_back(size);
  }
  if (sizes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch-sizes: none fits the model's max_batch_size ",
                     max_batch_size));
  }
  return sizes;
}

// How the run was set up: streams, LibTorch threads each, allocator.
struct Setup {
  int streams = 1;
  int torch_threads = 1;
};

void Print(const BenchOptions& options, const ServableModel& model,
           const Setup& setup, const std::vector<Step>& steps) {
  const Step& best = *std::min_element(
      steps.begin(), steps.end(), [](const Step& a, const Step& b) {
        return a.per_sample_us() < b.per_sample_us();
      });
  if (options.json) {
    for (const Step& s : steps) {
      nlohmann::json line = {{"model", model.name()},
                             {"version", model.version()},
                             {"device", model.device()},
                             {"batch_size", s.batch_size},
                             {"iterations", s.iterations},
                             {"preprocess_us", s.preprocess_us},
                             {"stack_us", s.stack_us},
                             {"compute_us", s.compute_us},
                             {"first_compute_us", s.first_compute_us},
                             {"streams", setup.streams},
                             {"torch_threads", setup.torch_threads},
                             {"per_sample_us", s.per_sample_us()},
                             {"samples_per_second", s.samples_per_second},
                             {"best", s.batch_size == best.batch_size}};
      std::cout << line.dump() << "\n";
    }
    return;
  }
  std::cout << absl::StrFormat(
      "%s v%d on %s, in process (preprocess + stack + forward): %d "
      "stream(s) of %d LibTorch thread(s), %s\n",
      model.name(), model.version(), model.device(), setup.streams,
      setup.torch_threads, AllocatorName());
  std::cout << absl::StrFormat("%6s %6s %14s %10s %12s %14s %10s %16s\n",
                               "batch", "iters", "preprocess us", "stack us",
                               "forward us", "per sample us", "samples/s",
                               "first forward us");
  for (const Step& s : steps) {
    std::cout << absl::StrFormat(
        "%6d %6d %14.0f %10.0f %12.0f %14.1f %10.1f %16.0f%s\n", s.batch_size,
        s.iterations, s.preprocess_us, s.stack_us, s.compute_us,
        s.per_sample_us(), s.samples_per_second, s.first_compute_us,
        s.batch_size == best.batch_size ? "  <- best" : "");
  }
}

absl::Status Run(const BenchOptions& options) {
  Setup setup;
  setup.torch_threads = IntraOpThreads(options.torch_threads);
  RETURN_IF_ERROR(ConfigureLibTorchThreads(setup.torch_threads, 1));
  CapturingRegistry backends;
  RETURN_IF_ERROR(backends.Init());
  ModelRepositoryOptions repository_options;
  repository_options.root = options.repository;
  repository_options.device_override = options.device;
  repository_options.backends = backends.registry();
  ASSIGN_OR_RETURN(std::unique_ptr<ModelRepository> repository,
                   ModelRepository::Create(repository_options));
  // Only the model asked for is loaded.
  RETURN_IF_ERROR(repository->Reload(options.model));
  ASSIGN_OR_RETURN(std::shared_ptr<const ServableModel> model,
                   repository->Get(options.model, options.version));
  if (backends.loaded() == nullptr) {
    return absl::InternalError("the backend of the model was not captured");
  }
  ASSIGN_OR_RETURN(MakeSample make, SampleSource(options, *model));
  ASSIGN_OR_RETURN(std::vector<int> sizes,
                   BatchSizes(options, model->config().max_batch_size()));
  // As the server runs it: instance_count workers, or when the config
  // leaves that to the server, one per core the LibTorch threads leave.
  setup.streams =
      options.streams > 0
          ? options.streams
          : InstanceCount(model->config(),
                          DefaultInstanceCount(setup.torch_threads));
  std::vector<Step> steps;
  for (int size : sizes) {
    ASSIGN_OR_RETURN(Step step, RunStep(*backends.loaded(), make, size,
                                        setup.streams, options));
    steps.push_back(step);
  }
  Print(options, *model, setup, steps);
  return absl::OkStatus();
}

}  // namespace
}  // namespace lineserve

int main(int argc, char** argv) {
  lineserve::ConfigureAllocator();  // as the server does
  using lineserve::BenchOptions;
  BenchOptions options;
  lineserve::CommandLine cli(
      "lineserve-bench --model-repository DIR --model NAME (--file IMG | "
      "--rows CSV) [options]",
      "Loads one model as the server does and runs the server's steps in\n"
      "process at each batch size: preprocess every sample, stack, one\n"
      "forward pass. Prints the median time of each step and the time per\n"
      "sample; the lowest marks the best batch size.");
  cli.AddString("model-repository", &options.repository, "repository directory",
                true);
  cli.AddString("model", &options.model, "model name", true);
  cli.AddInt("version", &options.version, "version (0: the newest ready)");
  cli.AddString("file", &options.file, "PNG or JPEG image (image models)");
  cli.AddString("rows", &options.rows, "CSV of feature rows (tabular models)");
  cli.AddList("batch-sizes", &options.batch_sizes,
              "batch sizes to run (those above max_batch_size are skipped)");
  cli.AddDouble("min-seconds", &options.min_seconds,
                "run each batch size at least this long");
  cli.AddInt("min-iterations", &options.min_iterations,
             "and at least this many forward passes");
  cli.AddInt("warmup-runs", &options.warmup_runs,
             "unmeasured passes at each batch size first");
  cli.AddString("device", &options.device,
                "override the config's device (cpu, cuda:N, auto)");
  cli.AddInt("torch-threads", &options.torch_threads,
             "LibTorch intra-op threads (0: one per core); the server's "
             "default is 1");
  cli.AddInt("streams", &options.streams,
             "passes side by side (0: as the server runs the model: its "
             "instance_count, or cores / torch-threads)");
  cli.AddBool("json", &options.json, "one JSON object per batch size");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (auto code = cli.ParseForMain(args, lineserve::kProgram)) return *code;
  if (options.min_iterations < 1) options.min_iterations = 1;
  if (absl::Status status = lineserve::Run(options); !status.ok()) {
    std::cerr << lineserve::kProgram << ": " << status << "\n";
    return 1;
  }
  return 0;
}
