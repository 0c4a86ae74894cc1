// An image-folder data set (DIR/<class>/<file>.png|jpg|jpeg), listed and
// decoded through the same ImagePreprocessor the server uses.
#ifndef LINESERVE_MODELS_DATA_IMAGE_FOLDER_H_
#define LINESERVE_MODELS_DATA_IMAGE_FOLDER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/preprocess/image_preprocessor.h"

namespace lineserve::data {

struct ImageFolder {
  std::vector<std::string> classes;  // sorted folder names
  std::vector<std::string> paths;    // sorted within each class
  std::vector<int> labels;           // index into classes, per path

  int CountOf(int label) const;
};

// Lists DIR's class folders and their images (hidden files and other
// extensions are skipped). NOT_FOUND when DIR is missing; INVALID_ARGUMENT
// when fewer than two classes hold images.
absl::StatusOr<ImageFolder> ListImageFolder(const std::string& dir);

// The same data set's masks: `masks_dir`/<class>/<image stem>.png for every
// image, in the same order. NOT_FOUND naming the first missing file (or
// the folder).
absl::StatusOr<ImageFolder> MatchingMasks(const ImageFolder& images,
                                          const std::string& masks_dir);

// Decodes and preprocesses every image with `threads` threads into one
// contiguous buffer of paths.size() * preprocessor.output_size() floats.
// The first failing file's status is returned, naming the file.
absl::StatusOr<std::vector<float>> LoadImageFolder(
    const ImageFolder& folder,
    const preprocess::ImagePreprocessor& preprocessor, int threads);

}  // namespace lineserve::data

#endif  // LINESERVE_MODELS_DATA_IMAGE_FOLDER_H_
