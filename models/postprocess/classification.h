// From a classifier's logits to what a quality engineer acts on: per-class
// probabilities, the verdict (OK or defect) and the defect class.
//
// The verdict is a two-class decision, not the top class: a part is a defect
// when the probability of every defect class together, 1 - P(ok), reaches
// the threshold. The defect class is then the likeliest defect class. The
// trainer evaluates with this function and the server answers with it, so
// the figures in metrics.json are the behaviour clients get.
#ifndef LINESERVE_MODELS_POSTPROCESS_CLASSIFICATION_H_
#define LINESERVE_MODELS_POSTPROCESS_CLASSIFICATION_H_

#include <vector>

namespace lineserve::postprocess {

// Threshold on 1 - P(ok) when a config sets none.
inline constexpr float kDefaultDefectThreshold = 0.5f;

struct Decision {
  bool defect = false;
  // Index of the decided label: ok_index for OK parts, otherwise the
  // likeliest defect class.
  int label = 0;
  float defect_probability = 0.0f;  // 1 - P(ok)
};

// Numerically stable softmax of `count` logits.
std::vector<float> Softmax(const float* logits, int count);

// `probabilities` holds `count` >= 2 values summing to 1.
Decision Decide(const float* probabilities, int count, int ok_index,
                float defect_threshold);

}  // namespace lineserve::postprocess

#endif  // LINESERVE_MODELS_POSTPROCESS_CLASSIFICATION_H_
