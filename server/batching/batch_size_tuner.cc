#include "server/batching/batch_size_tuner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/tensor.h"

namespace lineserve {

std::vector<int> SweepBatchSizes(int max_batch_size) {
  std::vector<int> sizes;
  for (int size = 1; size < max_batch_size; size *= 2) sizes.push_back(size);
  sizes.push_back(std::max(1, max_batch_size));
  return sizes;
}

int ChooseMaxBatchSize(const std::vector<BatchSizeTiming>& timings,
                       double tolerance) {
  absl::Duration fastest = absl::InfiniteDuration();
  for (const BatchSizeTiming& t : timings) {
    fastest = std::min(fastest, t.per_sample);
  }
  const absl::Duration good_enough = fastest * (1.0 + tolerance);
  int choice = timings.back().batch_size;
  for (const BatchSizeTiming& t : timings) {
    if (t.per_sample <= good_enough) choice = std::min(choice, t.batch_size);
  }
  return choice;
}

absl::StatusOr<BatchSizeChoice> TuneMaxBatchSize(
    Backend& backend, int max_batch_size, const Clock& clock,
    const BatchSizeTunerOptions& options) {
  BatchSizeChoice choice;
  for (int size : SweepBatchSizes(max_batch_size)) {
    const std::vector<Tensor> inputs = ZeroInputs(backend.inputs(), size);
    std::vector<absl::Duration> passes;
    for (int run = 0; run < options.untimed_runs + options.timed_runs; ++run) {
      const absl::Time start = clock.Now();
      absl::StatusOr<std::vector<Tensor>> out = backend.Run(inputs, size);
      const absl::Duration took = clock.Now() - start;
      if (!out.ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "timing batch size ", size, ": ", out.status().message()));
      }
      if (run >= options.untimed_runs) passes.push_back(took);
    }
    if (passes.empty()) passes.push_back(absl::ZeroDuration());
    std::sort(passes.begin(), passes.end());
    choice.timings.push_back({size, passes[passes.size() / 2] / size});
  }
  choice.max_batch_size = ChooseMaxBatchSize(choice.timings, options.tolerance);
  return choice;
}

std::string TimingsText(const std::vector<BatchSizeTiming>& timings) {
  return absl::StrJoin(
      timings, " ", [](std::string* out, const BatchSizeTiming& t) {
        absl::StrAppend(out, t.batch_size, ": ",
                        absl::FormatDuration(
                            absl::Trunc(t.per_sample, absl::Microseconds(1))));
      });
}

}  // namespace lineserve
