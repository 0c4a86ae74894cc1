// Fuzz target: an image as a camera station sends it, through what
// QualityInspection.Inspect does with it (server/service/
// quality_inspection_service.cc: a non-empty image, then ImageSample of
// server/inference/model_io.h): decoding with the golden quality model's
// limits and preprocessing to its input (grey, letterbox, per-image
// normalisation). The decoded pixels also go through a second
// preprocessing (RGB, stretch, mean/std) for the colour paths.
//
// Checked beyond "no crash, no sanitizer report": an accepted image gives
// exactly the model's input size, every value finite; a refusal is
// INVALID_ARGUMENT or RESOURCE_EXHAUSTED (never INTERNAL or OK-with-junk).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/string_view.h"
#include "models/preprocess/image.h"
#include "models/preprocess/image_preprocessor.h"
#include "server/inference/model_io.h"
#include "tests/fuzz/fuzz_serving.h"

namespace lineserve::fuzzing {
namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "image_fuzzer: %s\n", what);
    std::abort();
  }
}

bool IsRefusal(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

const preprocess::ImagePreprocessor& ColourPreprocessor() {
  static const preprocess::ImagePreprocessor* const colour = [] {
    lineserve::v1::ImagePreprocessing config;
    config.set_width(7);
    config.set_height(5);
    config.set_color_mode(lineserve::v1::COLOR_MODE_RGB);
    config.set_resize_mode(lineserve::v1::RESIZE_MODE_STRETCH);
    config.set_normalization(lineserve::v1::NORMALIZATION_MEAN_STD);
    for (float mean : {0.485f, 0.456f, 0.406f}) config.add_mean(mean);
    for (float std : {0.229f, 0.224f, 0.225f}) config.add_std(std);
    auto preprocessor = preprocess::ImagePreprocessor::Create(config);
    Check(preprocessor.ok(), "the colour preprocessing config is refused");
    return new preprocess::ImagePreprocessor(*std::move(preprocessor));
  }();
  return *colour;
}

void AllFinite(const float* values, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    Check(std::isfinite(values[i]), "a model input value is not finite");
  }
}

}  // namespace
}  // namespace lineserve::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lineserve;
  using namespace lineserve::fuzzing;
  static const std::shared_ptr<const ServableModel> quality =
      FuzzServing::Get().Model(kQualityModel);
  const absl::string_view image(reinterpret_cast<const char*>(data), size);
  if (image.empty()) return 0;  // refused before decoding ("image: empty")

  absl::StatusOr<Sample> sample = ImageSample(*quality, image);
  if (sample.ok()) {
    Check(sample->size() == 1, "not one input tensor");
    const Tensor& input = (*sample)[0];
    const size_t expected = quality->image_preprocessor()->output_size();
    Check(static_cast<size_t>(input.ElementCount()) == expected,
          "input tensor of the wrong size");
    AllFinite(input.values<float>(), expected);
  } else {
    Check(IsRefusal(sample.status()), "a refusal that is not a client error");
  }

  // The colour paths, from the pixels decoded under the same limits.
  absl::StatusOr<preprocess::Image> decoded =
      preprocess::DecodeImage(image, quality->image_preprocessor()->limits());
  if (!decoded.ok()) {
    Check(IsRefusal(decoded.status()), "a refusal that is not a client error");
    Check(!sample.ok(), "served, yet decoding on its own fails");
    return 0;
  }
  Check(decoded->data.size() == static_cast<size_t>(decoded->width) *
                                    decoded->height * decoded->channels,
        "decoded size does not match width x height x channels");
  const preprocess::ImagePreprocessor& colour = ColourPreprocessor();
  std::vector<float> out(colour.output_size());
  absl::Status status = colour.ProcessDecoded(*decoded, out.data());
  if (status.ok()) {
    AllFinite(out.data(), out.size());
  } else {
    Check(IsRefusal(status), "a refusal that is not a client error");
  }
  return 0;
}
