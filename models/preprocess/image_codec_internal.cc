#include "models/preprocess/image_codec_internal.h"

#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>

namespace lineserve::preprocess::internal {
namespace {

extern "C" [[noreturn]] void JpegErrorExit(j_common_ptr cinfo) {
  auto* manager = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  manager->last_code = cinfo->err->msg_code;
  (*cinfo->err->format_message)(cinfo, manager->message);
  std::longjmp(manager->jump, 1);
}

// libjpeg reports corrupt or truncated entropy data as warnings and carries
// on with made-up pixels (for a truncated file it inserts an end marker and
// greys the rest). An inspection model must not score invented pixels, so
// such warnings end decoding like errors; only warnings about metadata that
// does not change the pixels are tolerated.
extern "C" void JpegEmitMessage(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_ICC:
      ++cinfo->err->num_warnings;
      return;
    default:
      JpegErrorExit(cinfo);
  }
}

extern "C" void JpegOutputMessage(j_common_ptr) {}

}  // namespace

void CopyMessage(char* destination, size_t size, const char* message) {
  std::snprintf(destination, size, "%s", message ? message : "unknown error");
}

void InstallJpegErrorManager(JpegErrorManager* manager) {
  jpeg_std_error(&manager->pub);
  manager->pub.error_exit = &JpegErrorExit;
  manager->pub.emit_message = &JpegEmitMessage;
  manager->pub.output_message = &JpegOutputMessage;
}

}  // namespace lineserve::preprocess::internal
