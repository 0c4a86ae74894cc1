// Collects the calls of a running load from its worker threads and cuts
// them into measurement windows for the one thread that measures.
//
// Contract: Add() may be called from any thread; Cut() and CutAfter() only
// from the measuring thread. A call belongs to the window in which Add()
// stamped it (under the lock), so windows never overlap and no call is
// counted twice or lost between them.
#ifndef LINESERVE_CLIENT_CLI_PERF_RECORDER_H_
#define LINESERVE_CLIENT_CLI_PERF_RECORDER_H_

#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/cli/perf_stats.h"

namespace lineserve::cli::perf {

class Recorder {
 public:
  // `now` reads the clock (absl::Now in the CLI, a fake in tests). The first
  // window starts at construction.
  explicit Recorder(std::function<absl::Time()> now);

  // Stamps `call.done` and keeps the call for the current window.
  void Add(Call call);

  // Ends the current window now, with every call added since it started.
  Window Cut();

  // Blocks until `count` calls have been added since the current window
  // started, then ends it at the count-th call: the window holds exactly
  // `count` calls and any later ones begin the next window. A count <= 0
  // is Cut(). Waits for as long as it takes: the load generator keeps
  // adding calls, each bounded by its gRPC deadline.
  Window CutAfter(int count);

 private:
  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  absl::Time start_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);  // in order of `done`
};

}  // namespace lineserve::cli::perf

#endif  // LINESERVE_CLIENT_CLI_PERF_RECORDER_H_
