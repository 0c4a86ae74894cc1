// Internal to models/preprocess: what the decoders (image.cc) and the
// encoders (image_encode.cc) share around libpng and libjpeg. Not a public
// API; include it only from those two files.
//
// libpng and libjpeg report fatal errors by longjmp. The rules that keep that
// well defined in C++, followed by every user of this header:
//  - every function that calls setjmp is a small C-style "phase" that works on
//    a trivially destructible state struct and has no C++ object with a
//    non-trivial destructor in its frame, and reads no local variable after
//    the jump (only its pointer argument, which it never modifies);
//  - the C++ callers own the buffers (std::vector) and the library handles
//    (through a guard whose destructor frees them); they never call setjmp;
//  - the error callbacks record a message in the state struct and jump back,
//    they never return to the library and never exit().
//
// Everything here is stateless or works on caller-owned structs: safe to use
// from any thread, one struct per thread.
#ifndef LINESERVE_MODELS_PREPROCESS_IMAGE_CODEC_INTERNAL_H_
#define LINESERVE_MODELS_PREPROCESS_IMAGE_CODEC_INTERNAL_H_

// jpeglib.h needs size_t and FILE declared before it.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
// clang-format on

#include <csetjmp>

namespace lineserve::preprocess::internal {

// Copies `message` (or "unknown error" if null) into `destination`, always
// NUL-terminated, truncated to `size` bytes.
void CopyMessage(char* destination, size_t size, const char* message);

// libjpeg error manager that longjmps to `jump` instead of exiting. Owned by
// the caller's reader/writer struct, next to the libjpeg struct whose `err`
// points at `pub`.
struct JpegErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg hands back a pointer to it
  jmp_buf jump;
  int last_code;
  char message[JMSG_LENGTH_MAX];
};

// Fills `manager` with libjpeg's defaults, then routes errors to `jump`
// (recording last_code and message) and silences output. libjpeg reports
// corrupt or truncated entropy data as warnings and carries on with made-up
// pixels; such warnings end the operation like errors. Only warnings about
// metadata that does not change the pixels are tolerated.
void InstallJpegErrorManager(JpegErrorManager* manager);

}  // namespace lineserve::preprocess::internal

#endif  // LINESERVE_MODELS_PREPROCESS_IMAGE_CODEC_INTERNAL_H_
