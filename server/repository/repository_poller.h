// --model-control-mode poll: rescans the repository folder every interval
// on a thread of its own, so a version the trainer publishes is loaded,
// warmed up and swapped in without a restart (ModelRepository::Rescan).
//
// Time comes from the injected Clock: with a fake clock a test advances the
// interval and the poll happens, without real waiting. Destroying the
// poller stops and joins its thread (a rescan in progress finishes first).
#ifndef LINESERVE_SERVER_REPOSITORY_REPOSITORY_POLLER_H_
#define LINESERVE_SERVER_REPOSITORY_REPOSITORY_POLLER_H_

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/repository/model_repository.h"

namespace lineserve {

class RepositoryPoller {
 public:
  // `repository` and `clock` (null: the real one) must outlive the poller.
  // `interval` > 0.
  RepositoryPoller(ModelRepository* repository, absl::Duration interval,
                   Clock* clock = nullptr);
  ~RepositoryPoller();

  RepositoryPoller(const RepositoryPoller&) = delete;
  RepositoryPoller& operator=(const RepositoryPoller&) = delete;

  // Rescans finished so far.
  int64_t polls() const;
  // Blocks until more than `polls` rescans have finished, or `timeout`
  // (real time) passed; true when they have. For tests.
  bool WaitForPollsAbove(int64_t polls, absl::Duration timeout) const;

 private:
  void Loop();

  ModelRepository* const repository_;
  const absl::Duration interval_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  mutable absl::CondVar cv_;  // stop, and each finished poll
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t polls_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_REPOSITORY_REPOSITORY_POLLER_H_
