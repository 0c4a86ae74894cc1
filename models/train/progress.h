// Epoch progress lines with an estimate of the time left.
#ifndef LINESERVE_MODELS_TRAIN_PROGRESS_H_
#define LINESERVE_MODELS_TRAIN_PROGRESS_H_

#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

namespace lineserve::train {

class EpochProgress {
 public:
  EpochProgress(std::ostream& out, int max_epochs)
      : out_(out),
        max_epochs_(max_epochs),
        start_(std::chrono::steady_clock::now()) {}

  double ElapsedSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start_)
        .count();
  }

  // Prints "epoch 3/40  <detail>  12.1 s/epoch, about 7m26s left (at most)".
  // The estimate assumes every remaining epoch runs: early stopping can only
  // make it shorter.
  void Report(int epoch, const std::string& detail) {
    const double per_epoch = ElapsedSeconds() / epoch;
    const int left = static_cast<int>(per_epoch * (max_epochs_ - epoch));
    char line[256];
    std::snprintf(line, sizeof(line),
                  "epoch %3d/%d  %s  %.1f s/epoch, at most %dm%02ds left",
                  epoch, max_epochs_, detail.c_str(), per_epoch, left / 60,
                  left % 60);
    out_ << line << std::endl;
  }

 private:
  std::ostream& out_;
  int max_epochs_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_PROGRESS_H_
