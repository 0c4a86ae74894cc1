// What `lineserve-cli inspect --overlay` draws: the image an Inspect answer
// judged, with the cells of its defect map at or above the threshold tinted
// red (the stronger the likelier) and the defective region outlined.
//
// Pure functions over values; thread-safe.
#ifndef LINESERVE_CLIENT_CLI_DEFECT_OVERLAY_H_
#define LINESERVE_CLIENT_CLI_DEFECT_OVERLAY_H_

#include <string>

#include "absl/status/statusor.h"
#include "lineserve/v1/quality_inspection.pb.h"
#include "models/preprocess/image.h"

namespace lineserve::cli {

// An RGB copy of `image` with `map` drawn on it, the same size.
// INVALID_ARGUMENT when the map was made for an image of another size.
absl::StatusOr<preprocess::Image> DrawDefectOverlay(
    const preprocess::Image& image, const lineserve::v1::DefectMap& map);

// Decodes `encoded` (PNG or JPEG), draws `map` on it and encodes the result
// as an 8-bit PNG.
absl::StatusOr<std::string> DefectOverlayPng(
    const std::string& encoded, const lineserve::v1::DefectMap& map);

}  // namespace lineserve::cli

#endif  // LINESERVE_CLIENT_CLI_DEFECT_OVERLAY_H_
