#include "client/cli/perf_load.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/cli/perf_recorder.h"

namespace lineserve::cli::perf {
namespace {

Call MakeCall(const absl::StatusOr<ServerSplit>& result, absl::Duration latency,
              absl::Duration send_delay) {
  Call call;
  call.latency = latency;
  call.send_delay = send_delay;
  call.status = result.status();
  if (result.ok()) call.server = *result;
  return call;
}

// The worker threads of one step, sending from construction until Stop().
// A worker in a call finishes it first, so Stop() may wait up to the
// caller's gRPC deadline.
class Load {
 public:
  Load(const StepOptions& options, const SendFn& send, Recorder& recorder)
      : send_(send), recorder_(recorder), start_(absl::Now()) {
    const bool open = options.request_rate > 0;
    if (open) {
      schedule_.emplace(options.request_rate, options.arrivals, options.seed);
    }
    for (int w = 0; w < Workers(options); ++w) {
      threads_.emplace_back([this, w, open] {
        if (open) {
          RunOpenLoop(w);
        } else {
          RunClosedLoop(w);
        }
      });
    }
  }

  ~Load() { Stop(); }

  void Stop() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  void RunClosedLoop(int worker) {
    while (!stop_.HasBeenNotified()) {
      const absl::Time sent = absl::Now();
      auto result = send_(worker);
      recorder_.Add(MakeCall(result, absl::Now() - sent, absl::ZeroDuration()));
    }
  }

  // Each worker takes the earliest unclaimed send time, sleeps until it and
  // sends. When every worker is busy the next free one sends late at once,
  // and the wait is charged to that call's latency.
  void RunOpenLoop(int worker) {
    while (true) {
      absl::Time due;
      {
        absl::MutexLock lock(&schedule_mu_);
        due = start_ + schedule_->Next();
      }
      if (stop_.WaitForNotificationWithDeadline(due)) return;
      const absl::Time sent = absl::Now();
      auto result = send_(worker);
      recorder_.Add(MakeCall(result, absl::Now() - due, sent - due));
    }
  }

  const SendFn& send_;
  Recorder& recorder_;
  const absl::Time start_;
  absl::Notification stop_;
  absl::Mutex schedule_mu_;
  std::optional<ArrivalSchedule> schedule_ ABSL_GUARDED_BY(schedule_mu_);
  std::vector<std::thread> threads_;
};

}  // namespace

int Workers(const StepOptions& options) {
  return options.request_rate > 0 ? options.max_threads : options.concurrency;
}

StepResult RunStep(const StepOptions& options, const SendFn& send) {
  Recorder recorder([] { return absl::Now(); });
  Load load(options, send, recorder);
  if (options.warmup_time > absl::ZeroDuration()) {
    absl::SleepFor(options.warmup_time);
    recorder.Cut();
  } else {
    recorder.CutAfter(options.warmup_calls);
  }
  StepResult result;
  std::vector<WindowMeasure> measures;
  // Only the windows the report may use are kept.
  std::deque<Window> kept;
  while (result.windows < std::max(1, options.max_windows)) {
    Window window;
    if (options.window_calls > 0) {
      window = recorder.CutAfter(options.window_calls);
    } else {
      absl::SleepFor(options.window);
      window = recorder.Cut();
    }
    ++result.windows;
    measures.push_back(Measure(window));
    kept.push_back(std::move(window));
    if (kept.size() > static_cast<size_t>(kStableWindows)) kept.pop_front();
    if (IsStable(measures, options.stability_percent)) {
      result.stable = true;
      break;
    }
  }
  load.Stop();
  result.stats =
      Summarise(std::vector<Window>(std::make_move_iterator(kept.begin()),
                                    std::make_move_iterator(kept.end())));
  return result;
}

}  // namespace lineserve::cli::perf
