#include "models/data/image_folder.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"

namespace lineserve::data {
namespace fs = std::filesystem;

int ImageFolder::CountOf(int label) const {
  return static_cast<int>(std::count(labels.begin(), labels.end(), label));
}

namespace {

bool IsImageFile(const fs::path& path) {
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool IsHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

}  // namespace

absl::StatusOr<ImageFolder> ListImageFolder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, ": not a directory"));
  }
  std::vector<fs::path> class_dirs;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory() && !IsHidden(entry.path())) {
      class_dirs.push_back(entry.path());
    }
  }
  if (ec) return absl::InternalError(absl::StrCat(dir, ": ", ec.message()));
  std::sort(class_dirs.begin(), class_dirs.end());

  ImageFolder folder;
  for (const fs::path& class_dir : class_dirs) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(class_dir, ec)) {
      if (entry.is_regular_file() && !IsHidden(entry.path()) &&
          IsImageFile(entry.path())) {
        files.push_back(entry.path().string());
      }
    }
    if (files.empty()) continue;
    std::sort(files.begin(), files.end());
    const int label = static_cast<int>(folder.classes.size());
    folder.classes.push_back(class_dir.filename().string());
    for (auto& file : files) {
      folder.paths.push_back(std::move(file));
      folder.labels.push_back(label);
    }
  }
  if (folder.classes.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, ": needs at least two class folders with .png/.jpg images, found ",
        folder.classes.size()));
  }
  return folder;
}

absl::StatusOr<ImageFolder> MatchingMasks(const ImageFolder& images,
                                          const std::string& masks_dir) {
  std::error_code ec;
  if (!fs::is_directory(masks_dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat(masks_dir, ": no such mask folder (--masks)"));
  }
  ImageFolder masks = images;
  for (size_t i = 0; i < images.paths.size(); ++i) {
    const fs::path image(images.paths[i]);
    fs::path mask =
        fs::path(masks_dir) / image.parent_path().filename() / image.filename();
    mask.replace_extension(".png");
    if (!fs::is_regular_file(mask, ec)) {
      return absl::NotFoundError(
          absl::StrCat(mask.string(), ": missing mask for ", images.paths[i]));
    }
    masks.paths[i] = mask.string();
  }
  return masks;
}

absl::StatusOr<std::vector<float>> LoadImageFolder(
    const ImageFolder& folder,
    const preprocess::ImagePreprocessor& preprocessor, int threads) {
  const size_t stride = preprocessor.output_size();
  std::vector<float> buffer(folder.paths.size() * stride);
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first_error;  // guarded by mu

  auto work = [&] {
    for (size_t i = next++; i < folder.paths.size(); i = next++) {
      absl::Status status;
      auto bytes = ReadFile(folder.paths[i]);
      if (!bytes.ok()) {
        status = bytes.status();
      } else {
        status = AnnotateStatus(
            preprocessor.Process(*bytes, buffer.data() + i * stride),
            folder.paths[i]);
      }
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = status;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  if (!first_error.ok()) return first_error;
  return buffer;
}

}  // namespace lineserve::data
