#include "models/postprocess/classification.h"

#include <algorithm>
#include <cmath>

namespace lineserve::postprocess {

std::vector<float> Softmax(const float* logits, int count) {
  std::vector<float> out(count);
  if (count == 0) return out;
  const float top = *std::max_element(logits, logits + count);
  double sum = 0;
  for (int i = 0; i < count; ++i) {
    out[i] = std::exp(logits[i] - top);
    sum += out[i];
  }
  for (float& v : out) v = static_cast<float>(v / sum);
  return out;
}

Decision Decide(const float* probabilities, int count, int ok_index,
                float defect_threshold) {
  Decision decision;
  decision.defect_probability =
      std::clamp(1.0f - probabilities[ok_index], 0.0f, 1.0f);
  decision.defect = decision.defect_probability >= defect_threshold;
  decision.label = ok_index;
  if (decision.defect) {
    int best = -1;
    for (int i = 0; i < count; ++i) {
      if (i == ok_index) continue;
      if (best < 0 || probabilities[i] > probabilities[best]) best = i;
    }
    decision.label = best;
  }
  return decision;
}

}  // namespace lineserve::postprocess
