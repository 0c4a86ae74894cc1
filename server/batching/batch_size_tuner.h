// Which batch sizes pay for a model on this machine, measured when a version
// loads: forward passes of zeros at 1, 2, 4, ... up to the config's
// max_batch_size, timed per sample, and the batcher's largest batch capped
// at the smallest size that runs within a tolerance of the fastest per
// sample. A batch that is no cheaper per sample only makes each of its
// requests wait for the others' compute: on a CPU a small CNN often costs
// as much per image at batch 16 as at batch 1, while a GPU (or the tree
// model) gains up to the largest size.
//
// Time comes from an injected Clock, so tests time a fake backend exactly.
#ifndef LINESERVE_SERVER_BATCHING_BATCH_SIZE_TUNER_H_
#define LINESERVE_SERVER_BATCHING_BATCH_SIZE_TUNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/backends/backend.h"
#include "server/common/clock.h"

namespace lineserve {

struct BatchSizeTunerOptions {
  // Untimed passes per size first (TorchScript optimises a graph for a
  // shape after its first runs), then timed ones; the median counts.
  int untimed_runs = 2;
  int timed_runs = 3;
  // A size is "as fast" when its time per sample is at most the fastest's
  // times (1 + tolerance).
  double tolerance = 0.10;
};

struct BatchSizeTiming {
  int batch_size = 0;
  absl::Duration per_sample;  // median pass / batch_size
};

struct BatchSizeChoice {
  // The largest batch the batcher should form: in [1, max_batch_size].
  int max_batch_size = 1;
  // Every size measured, ascending.
  std::vector<BatchSizeTiming> timings;
};

// 1, 2, 4, ... below `max_batch_size`, then `max_batch_size` (>= 1).
std::vector<int> SweepBatchSizes(int max_batch_size);

// The smallest measured size whose time per sample is within `tolerance`
// of the fastest. `timings` must not be empty.
int ChooseMaxBatchSize(const std::vector<BatchSizeTiming>& timings,
                       double tolerance);

// Times `backend` on zero inputs (dims of -1 as 1) at SweepBatchSizes(
// max_batch_size) and chooses. A failed pass is FAILED_PRECONDITION naming
// the size. `clock` is read around each timed pass.
absl::StatusOr<BatchSizeChoice> TuneMaxBatchSize(
    Backend& backend, int max_batch_size, const Clock& clock,
    const BatchSizeTunerOptions& options = {});

// "1: 14.0ms 2: 15.0ms 4: 13.0ms" (time per sample), for logs.
std::string TimingsText(const std::vector<BatchSizeTiming>& timings);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BATCHING_BATCH_SIZE_TUNER_H_
