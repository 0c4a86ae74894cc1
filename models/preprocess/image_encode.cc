#include "models/preprocess/image_encode.h"

// libpng and libjpeg report fatal errors by longjmp: this file follows the
// rules stated in image_codec_internal.h.

#include <png.h>
// jpeglib.h needs size_t and FILE declared before it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/preprocess/image_codec_internal.h"

namespace lineserve::preprocess {
namespace {

using internal::CopyMessage;
using internal::InstallJpegErrorManager;
using internal::JpegErrorManager;

// Maps [0, 1] to 0..max_value, rounding; out-of-range values and NaN clamp.
uint32_t Quantize(float value, uint32_t max_value) {
  if (!(value > 0.0f)) return 0;
  if (value >= 1.0f) return max_value;
  return static_cast<uint32_t>(std::lround(value * max_value));
}

absl::Status CheckEncodable(const Image& image) {
  if (image.width <= 0 || image.height <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot encode an image of ",
                                                   image.width, "x",
                                                   image.height, " pixels"));
  }
  if (image.channels != 1 && image.channels != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot encode an image with ", image.channels,
                     " channels (expected 1 or 3)"));
  }
  const size_t expected = static_cast<size_t>(image.width) * image.height *
                          static_cast<size_t>(image.channels);
  if (image.data.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image data has ", image.data.size(), " samples, expected ", expected));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Growable output buffer for the encoders, C-style so that the library
// callbacks appending to it can fail without throwing.

struct ByteSink {
  unsigned char* data;
  size_t size;
  size_t capacity;
};

bool SinkAppend(ByteSink* sink, const void* bytes, size_t size) {
  if (size > sink->capacity - sink->size) {
    size_t capacity = std::max<size_t>(sink->capacity * 2, 4096);
    capacity = std::max(capacity, sink->size + size);
    void* grown = std::realloc(sink->data, capacity);
    if (grown == nullptr) return false;
    sink->data = static_cast<unsigned char*>(grown);
    sink->capacity = capacity;
  }
  std::memcpy(sink->data + sink->size, bytes, size);
  sink->size += size;
  return true;
}

class SinkGuard {
 public:
  explicit SinkGuard(ByteSink* sink) : sink_(sink) {}
  SinkGuard(const SinkGuard&) = delete;
  SinkGuard& operator=(const SinkGuard&) = delete;
  ~SinkGuard() { std::free(sink_->data); }

 private:
  ByteSink* sink_;
};

// ---------------------------------------------------------------------------
// PNG encoding.

// libpng warnings must not reach stderr; as when decoding, they are ignored.
extern "C" void PngWriteWarningCallback(png_structp, png_const_charp) {}

struct PngWriter {
  png_structp png;
  png_infop info;
  ByteSink sink;
  char message[256];
};

extern "C" void PngWriteErrorCallback(png_structp png,
                                      png_const_charp message) {
  auto* writer = static_cast<PngWriter*>(png_get_error_ptr(png));
  CopyMessage(writer->message, sizeof(writer->message), message);
  png_longjmp(png, 1);
}

extern "C" void PngWriteCallback(png_structp png, png_bytep data,
                                 size_t length) {
  auto* writer = static_cast<PngWriter*>(png_get_io_ptr(png));
  if (!SinkAppend(&writer->sink, data, length)) png_error(png, "out of memory");
}

extern "C" void PngFlushCallback(png_structp) {}

bool WritePng(PngWriter* writer, png_uint_32 width, png_uint_32 height,
              int bit_depth, int color_type, png_bytepp rows) {
  if (setjmp(png_jmpbuf(writer->png))) return false;
  png_set_write_fn(writer->png, writer, &PngWriteCallback, &PngFlushCallback);
  png_set_IHDR(writer->png, writer->info, width, height, bit_depth, color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(writer->png, writer->info);
  png_write_image(writer->png, rows);
  png_write_end(writer->png, nullptr);
  return true;
}

class PngWriteGuard {
 public:
  explicit PngWriteGuard(PngWriter* writer) : writer_(writer) {}
  PngWriteGuard(const PngWriteGuard&) = delete;
  PngWriteGuard& operator=(const PngWriteGuard&) = delete;
  ~PngWriteGuard() { png_destroy_write_struct(&writer_->png, &writer_->info); }

 private:
  PngWriter* writer_;
};

// ---------------------------------------------------------------------------
// JPEG encoding.

constexpr size_t kJpegChunkBytes = 16384;

struct JpegWriter {
  jpeg_compress_struct cinfo;
  JpegErrorManager error;
  jpeg_destination_mgr destination;
  ByteSink sink;
  JOCTET chunk[kJpegChunkBytes];
};

JpegWriter* WriterOf(j_compress_ptr cinfo) {
  return static_cast<JpegWriter*>(cinfo->client_data);
}

extern "C" void JpegInitDestination(j_compress_ptr cinfo) {
  JpegWriter* writer = WriterOf(cinfo);
  writer->destination.next_output_byte = writer->chunk;
  writer->destination.free_in_buffer = kJpegChunkBytes;
}

void JpegOutOfMemory(j_compress_ptr cinfo) {
  cinfo->err->msg_code = JERR_OUT_OF_MEMORY;
  (*cinfo->err->error_exit)(reinterpret_cast<j_common_ptr>(cinfo));
}

// Called when the chunk is full (free_in_buffer is then meaningless: the
// whole chunk is data, per libjpeg's contract).
extern "C" boolean JpegEmptyOutputBuffer(j_compress_ptr cinfo) {
  JpegWriter* writer = WriterOf(cinfo);
  if (!SinkAppend(&writer->sink, writer->chunk, kJpegChunkBytes)) {
    JpegOutOfMemory(cinfo);
  }
  JpegInitDestination(cinfo);
  return TRUE;
}

extern "C" void JpegTermDestination(j_compress_ptr cinfo) {
  JpegWriter* writer = WriterOf(cinfo);
  const size_t used = kJpegChunkBytes - writer->destination.free_in_buffer;
  if (!SinkAppend(&writer->sink, writer->chunk, used)) JpegOutOfMemory(cinfo);
}

bool WriteJpeg(JpegWriter* writer, int width, int height, int channels,
               int quality, const unsigned char* pixels) {
  if (setjmp(writer->error.jump)) return false;
  j_compress_ptr cinfo = &writer->cinfo;
  jpeg_create_compress(cinfo);
  cinfo->client_data = writer;
  writer->destination.init_destination = &JpegInitDestination;
  writer->destination.empty_output_buffer = &JpegEmptyOutputBuffer;
  writer->destination.term_destination = &JpegTermDestination;
  cinfo->dest = &writer->destination;
  cinfo->image_width = static_cast<JDIMENSION>(width);
  cinfo->image_height = static_cast<JDIMENSION>(height);
  cinfo->input_components = channels;
  cinfo->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  jpeg_start_compress(cinfo, TRUE);
  const size_t stride = static_cast<size_t>(width) * channels;
  while (cinfo->next_scanline < cinfo->image_height) {
    // libjpeg's API takes non-const rows but only reads them.
    JSAMPROW row = const_cast<JSAMPROW>(pixels + cinfo->next_scanline * stride);
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

class JpegWriteGuard {
 public:
  explicit JpegWriteGuard(JpegWriter* writer) : writer_(writer) {}
  JpegWriteGuard(const JpegWriteGuard&) = delete;
  JpegWriteGuard& operator=(const JpegWriteGuard&) = delete;
  ~JpegWriteGuard() {
    jpeg_destroy_compress(&writer_->cinfo);
    std::free(writer_->sink.data);
  }

 private:
  JpegWriter* writer_;
};

}  // namespace

absl::StatusOr<std::string> EncodePng(const Image& image, int bit_depth) {
  absl::Status valid = CheckEncodable(image);
  if (!valid.ok()) return valid;
  if (bit_depth != 8 && bit_depth != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("PNG bit depth must be 8 or 16, got ", bit_depth));
  }
  const int bytes_per_sample = bit_depth / 8;
  const size_t row_bytes =
      static_cast<size_t>(image.width) * image.channels * bytes_per_sample;
  std::vector<unsigned char> raw(row_bytes * image.height);
  const uint32_t max_value = bit_depth == 8 ? 255 : 65535;
  for (size_t i = 0; i < image.data.size(); ++i) {
    const uint32_t value = Quantize(image.data[i], max_value);
    if (bytes_per_sample == 1) {
      raw[i] = static_cast<unsigned char>(value);
    } else {
      raw[2 * i] = static_cast<unsigned char>(value >> 8);  // big-endian
      raw[2 * i + 1] = static_cast<unsigned char>(value & 0xFF);
    }
  }
  std::vector<png_bytep> rows(image.height);
  for (int y = 0; y < image.height; ++y) rows[y] = raw.data() + y * row_bytes;

  PngWriter writer{};
  SinkGuard sink_guard(&writer.sink);
  writer.png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &writer,
                              &PngWriteErrorCallback, &PngWriteWarningCallback);
  if (writer.png == nullptr) {
    return absl::InternalError("cannot create a PNG encoder");
  }
  PngWriteGuard guard(&writer);
  writer.info = png_create_info_struct(writer.png);
  if (writer.info == nullptr) {
    return absl::InternalError("cannot create a PNG encoder");
  }
  const int color_type =
      image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
  if (!WritePng(&writer, image.width, image.height, bit_depth, color_type,
                rows.data())) {
    return absl::InternalError(
        absl::StrCat("PNG encoding failed: ", writer.message));
  }
  return std::string(reinterpret_cast<const char*>(writer.sink.data),
                     writer.sink.size);
}

absl::StatusOr<std::string> EncodeJpeg(const Image& image, int quality) {
  absl::Status valid = CheckEncodable(image);
  if (!valid.ok()) return valid;
  if (quality < 1 || quality > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG quality must be in 1..100, got ", quality));
  }
  if (image.width > JPEG_MAX_DIMENSION || image.height > JPEG_MAX_DIMENSION) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG cannot hold a ", image.width, "x", image.height,
                     " image (at most ", JPEG_MAX_DIMENSION, " per side)"));
  }
  std::vector<unsigned char> raw(image.data.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    raw[i] = static_cast<unsigned char>(Quantize(image.data[i], 255));
  }

  // Large (a chunk buffer): on the heap, not the stack.
  auto writer = std::make_unique<JpegWriter>();
  InstallJpegErrorManager(&writer->error);
  writer->cinfo.err = &writer->error.pub;
  JpegWriteGuard guard(writer.get());
  if (!WriteJpeg(writer.get(), image.width, image.height, image.channels,
                 quality, raw.data())) {
    return absl::InternalError(
        absl::StrCat("JPEG encoding failed: ", writer->error.message));
  }
  return std::string(reinterpret_cast<const char*>(writer->sink.data),
                     writer->sink.size);
}

}  // namespace lineserve::preprocess
