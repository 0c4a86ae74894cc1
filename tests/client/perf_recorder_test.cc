#include "client/cli/perf_recorder.h"

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace lineserve::cli::perf {
namespace {

// A clock the test moves by hand; read from the recorder under its lock.
class ManualTime {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ = absl::UnixEpoch();
};

Call WithLatency(int ms) {
  Call call;
  call.latency = absl::Milliseconds(ms);
  return call;
}

TEST(PerfRecorderTest, CutTakesTheCallsSinceTheLastCut) {
  ManualTime time;
  Recorder recorder([&time] { return time.Now(); });
  time.Advance(absl::Milliseconds(10));
  recorder.Add(WithLatency(1));
  time.Advance(absl::Milliseconds(10));
  recorder.Add(WithLatency(2));
  time.Advance(absl::Milliseconds(10));
  Window first = recorder.Cut();
  EXPECT_EQ(first.start, absl::UnixEpoch());
  EXPECT_EQ(first.end, absl::UnixEpoch() + absl::Milliseconds(30));
  ASSERT_EQ(first.calls.size(), 2u);
  EXPECT_EQ(first.calls[0].done, absl::UnixEpoch() + absl::Milliseconds(10));
  EXPECT_EQ(first.calls[1].latency, absl::Milliseconds(2));

  time.Advance(absl::Milliseconds(5));
  Window second = recorder.Cut();
  EXPECT_EQ(second.start, first.end);
  EXPECT_TRUE(second.calls.empty());
}

TEST(PerfRecorderTest, CutAfterEndsAtTheCountedCallAndKeepsTheRest) {
  ManualTime time;
  Recorder recorder([&time] { return time.Now(); });
  for (int i = 1; i <= 5; ++i) {
    time.Advance(absl::Milliseconds(10));
    recorder.Add(WithLatency(i));
  }
  Window first = recorder.CutAfter(3);
  ASSERT_EQ(first.calls.size(), 3u);
  EXPECT_EQ(first.end, absl::UnixEpoch() + absl::Milliseconds(30));
  EXPECT_EQ(first.calls[2].latency, absl::Milliseconds(3));

  Window second = recorder.CutAfter(2);
  EXPECT_EQ(second.start, first.end);
  ASSERT_EQ(second.calls.size(), 2u);
  EXPECT_EQ(second.calls[0].latency, absl::Milliseconds(4));
  EXPECT_EQ(second.end, absl::UnixEpoch() + absl::Milliseconds(50));
}

TEST(PerfRecorderTest, CutAfterWaitsForCallsFromOtherThreads) {
  ManualTime time;
  Recorder recorder([&time] { return time.Now(); });
  std::thread worker([&] {
    for (int i = 1; i <= 4; ++i) recorder.Add(WithLatency(i));
  });
  Window window = recorder.CutAfter(4);
  worker.join();
  EXPECT_EQ(window.calls.size(), 4u);
}

TEST(PerfRecorderTest, CutAfterNothingIsCut) {
  ManualTime time;
  Recorder recorder([&time] { return time.Now(); });
  recorder.Add(WithLatency(1));
  EXPECT_EQ(recorder.CutAfter(0).calls.size(), 1u);
}

}  // namespace
}  // namespace lineserve::cli::perf
