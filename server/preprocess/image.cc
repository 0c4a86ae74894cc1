#include "server/preprocess/image.h"

// libpng and libjpeg report fatal errors by longjmp. The rules that keep that
// well defined in C++:
//  - every function that calls setjmp is a small C-style "phase" that works on
//    a trivially destructible state struct and has no C++ object with a
//    non-trivial destructor in its frame, and reads no local variable after
//    the jump (only its pointer argument, which it never modifies);
//  - the C++ callers own the buffers (std::vector) and the library handles
//    (through a guard whose destructor frees them); they never call setjmp;
//  - the error callbacks record a message in the state struct and jump back,
//    they never return to the library and never exit().
// Nothing whose size comes from the input is allocated before the image size
// has been checked against the limits.

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
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lineserve::preprocess {
namespace {

constexpr unsigned char kPngSignature[] = {0x89, 'P',  'N',  'G',
                                           '\r', '\n', 0x1a, '\n'};
constexpr unsigned char kJpegSignature[] = {0xFF, 0xD8, 0xFF};

bool HasPrefix(absl::string_view bytes, const unsigned char* prefix,
               size_t size) {
  return bytes.size() >= size && std::memcmp(bytes.data(), prefix, size) == 0;
}

// Names formats clients commonly send by mistake, for a more useful message.
const char* KnownUnsupportedFormat(absl::string_view bytes) {
  if (absl::StartsWith(bytes, "GIF87a") || absl::StartsWith(bytes, "GIF89a")) {
    return "GIF";
  }
  if (absl::StartsWith(bytes, "BM")) return "BMP";
  if (absl::StartsWith(bytes, absl::string_view("II*\0", 4)) ||
      absl::StartsWith(bytes, absl::string_view("MM\0*", 4))) {
    return "TIFF";
  }
  if (bytes.size() >= 12 && absl::StartsWith(bytes, "RIFF") &&
      bytes.substr(8, 4) == "WEBP") {
    return "WebP";
  }
  return nullptr;
}

// Sizes as stored in the headers (32 bits at most): the product fits 64 bits.
absl::Status CheckPixelLimit(uint32_t width, uint32_t height,
                             const DecodeLimits& limits) {
  const uint64_t pixels = uint64_t{width} * height;
  if (limits.max_pixels < 0 ||
      pixels > static_cast<uint64_t>(limits.max_pixels)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("image is ", width, "x", height, " (", pixels,
                     " pixels), above the limit of ", limits.max_pixels));
  }
  return absl::OkStatus();
}

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
// PNG decoding.

struct PngReader {
  // Input, read by PngReadCallback.
  const unsigned char* data;
  size_t size;
  size_t position;
  uint64_t max_pixels;
  png_structp png;
  png_infop info;
  // Set by ReadPngHeader.
  png_uint_32 width;
  png_uint_32 height;
  int channels;   // after the transforms: 1 to 4
  int bit_depth;  // after the transforms: 8 or 16
  size_t row_bytes;
  // Failure details.
  bool truncated;
  bool too_large;
  char message[256];
};

void CopyMessage(char* destination, size_t size, const char* message) {
  std::snprintf(destination, size, "%s", message ? message : "unknown error");
}

extern "C" void PngErrorCallback(png_structp png, png_const_charp message) {
  auto* reader = static_cast<PngReader*>(png_get_error_ptr(png));
  // The truncation message is already recorded; keep it.
  if (!reader->truncated) {
    CopyMessage(reader->message, sizeof(reader->message), message);
  }
  png_longjmp(png, 1);
}

// Warnings concern ancillary data (bad gamma, text chunks, ...) that the
// decoder ignores anyway; they must not reach stderr.
extern "C" void PngWarningCallback(png_structp, png_const_charp) {}

extern "C" void PngReadCallback(png_structp png, png_bytep out, size_t length) {
  auto* reader = static_cast<PngReader*>(png_get_io_ptr(png));
  if (length > reader->size - reader->position) {
    reader->truncated = true;
    CopyMessage(reader->message, sizeof(reader->message),
                "data ends before the image does");
    png_error(png, "truncated");
  }
  std::memcpy(out, reader->data + reader->position, length);
  reader->position += length;
}

// Phase 1: reads the chunks before the pixels, checks the size (again: the
// caller has checked IHDR's bytes) before libpng allocates its row buffers,
// and sets up the transforms to 8- or 16-bit grey or RGB (alpha stripped,
// palette and low bit depths expanded, interlacing undone).
bool ReadPngHeader(PngReader* reader) {
  if (setjmp(png_jmpbuf(reader->png))) return false;
  png_read_info(reader->png, reader->info);
  const png_uint_32 width = png_get_image_width(reader->png, reader->info);
  const png_uint_32 height = png_get_image_height(reader->png, reader->info);
  reader->width = width;
  reader->height = height;
  if (uint64_t{width} * height > reader->max_pixels) {
    reader->too_large = true;
    return false;
  }
  const int color_type = png_get_color_type(reader->png, reader->info);
  const int bit_depth = png_get_bit_depth(reader->png, reader->info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(reader->png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(reader->png);
  }
  // A tRNS chunk only matters as alpha, which is dropped; palette expansion
  // turns it into an alpha channel, stripped here too.
  png_set_strip_alpha(reader->png);
  png_set_interlace_handling(reader->png);
  png_read_update_info(reader->png, reader->info);
  reader->channels = png_get_channels(reader->png, reader->info);
  reader->bit_depth = png_get_bit_depth(reader->png, reader->info);
  reader->row_bytes = png_get_rowbytes(reader->png, reader->info);
  return true;
}

// Phase 2: reads every row (all passes) and the chunks after the pixels, so
// truncation anywhere in the file is reported.
bool ReadPngPixels(PngReader* reader, png_bytepp rows) {
  if (setjmp(png_jmpbuf(reader->png))) return false;
  png_read_image(reader->png, rows);
  png_read_end(reader->png, nullptr);
  return true;
}

class PngReadGuard {
 public:
  explicit PngReadGuard(PngReader* reader) : reader_(reader) {}
  PngReadGuard(const PngReadGuard&) = delete;
  PngReadGuard& operator=(const PngReadGuard&) = delete;
  ~PngReadGuard() {
    png_destroy_read_struct(&reader_->png, &reader_->info, nullptr);
  }

 private:
  PngReader* reader_;
};

absl::Status PngError(const PngReader& reader) {
  if (reader.truncated) {
    return absl::InvalidArgumentError(
        absl::StrCat("truncated PNG: ", reader.message));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("corrupt PNG: ", reader.message));
}

uint32_t ReadBigEndian32(const unsigned char* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
         (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
}

absl::StatusOr<Image> DecodePng(absl::string_view bytes,
                                const DecodeLimits& limits) {
  // IHDR must be the first chunk, at a fixed offset. png_read_info only
  // returns once it reaches the pixel data, so the size is checked here
  // first: an oversized image is refused even if its ancillary chunks are
  // large or the data after the header is missing. libpng validates the
  // chunk (CRC included) afterwards.
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0) {
    absl::Status limit = CheckPixelLimit(ReadBigEndian32(data + 16),
                                         ReadBigEndian32(data + 20), limits);
    if (!limit.ok()) return limit;
  }
  PngReader reader{};
  reader.data = data;
  reader.size = bytes.size();
  reader.max_pixels =
      limits.max_pixels < 0 ? 0 : static_cast<uint64_t>(limits.max_pixels);
  reader.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader,
                                      &PngErrorCallback, &PngWarningCallback);
  if (reader.png == nullptr) {
    return absl::InternalError("cannot create a PNG decoder");
  }
  PngReadGuard guard(&reader);
  reader.info = png_create_info_struct(reader.png);
  if (reader.info == nullptr) {
    return absl::InternalError("cannot create a PNG decoder");
  }
  png_set_read_fn(reader.png, &reader, &PngReadCallback);
  // The pixel limit is ours to enforce (RESOURCE_EXHAUSTED), not libpng's
  // default per-axis limit of one million.
  png_set_user_limits(reader.png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);

  if (!ReadPngHeader(&reader)) {
    if (reader.too_large) {
      return CheckPixelLimit(reader.width, reader.height, limits);
    }
    return PngError(reader);
  }
  if ((reader.bit_depth != 8 && reader.bit_depth != 16) ||
      reader.channels < 1 || reader.channels > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported PNG layout: ", reader.channels,
                     " channels of ", reader.bit_depth, " bits"));
  }

  std::vector<unsigned char> raw(reader.row_bytes * reader.height);
  std::vector<png_bytep> rows(reader.height);
  for (png_uint_32 y = 0; y < reader.height; ++y) {
    rows[y] = raw.data() + y * reader.row_bytes;
  }
  if (!ReadPngPixels(&reader, rows.data())) return PngError(reader);

  Image image;
  image.width = static_cast<int>(reader.width);
  image.height = static_cast<int>(reader.height);
  // Grey+alpha keeps grey, RGB(A) keeps RGB: alpha is never a colour.
  image.channels = reader.channels >= 3 ? 3 : 1;
  image.data.resize(static_cast<size_t>(image.width) * image.height *
                    image.channels);
  const int bytes_per_sample = reader.bit_depth / 8;
  float* out = image.data.data();
  for (png_uint_32 y = 0; y < reader.height; ++y) {
    const unsigned char* row = rows[y];
    for (png_uint_32 x = 0; x < reader.width; ++x) {
      const unsigned char* pixel =
          row + static_cast<size_t>(x) * reader.channels * bytes_per_sample;
      for (int c = 0; c < image.channels; ++c) {
        const unsigned char* sample = pixel + c * bytes_per_sample;
        // PNG stores 16-bit samples big-endian; assembling them by hand
        // keeps this independent of the host's byte order.
        *out++ = bytes_per_sample == 1
                     ? sample[0] * (1.0f / 255.0f)
                     : ((sample[0] << 8) | sample[1]) * (1.0f / 65535.0f);
      }
    }
  }
  return image;
}

// ---------------------------------------------------------------------------
// JPEG error manager, shared by decoding and encoding.

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg hands back a pointer to it
  jmp_buf jump;
  int last_code;
  char message[JMSG_LENGTH_MAX];
};

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

void InstallJpegErrorManager(JpegErrorManager* manager) {
  jpeg_std_error(&manager->pub);
  manager->pub.error_exit = &JpegErrorExit;
  manager->pub.emit_message = &JpegEmitMessage;
  manager->pub.output_message = &JpegOutputMessage;
}

// ---------------------------------------------------------------------------
// JPEG decoding.

struct JpegReader {
  jpeg_decompress_struct cinfo;
  JpegErrorManager error;
  const unsigned char* data;
  size_t size;
};

// Phase 1: reads the markers up to the first scan. libjpeg allocates only
// small tables here; the frame buffers come with jpeg_start_decompress.
bool ReadJpegHeader(JpegReader* reader) {
  if (setjmp(reader->error.jump)) return false;
  jpeg_create_decompress(&reader->cinfo);
  jpeg_mem_src(&reader->cinfo, reader->data,
               static_cast<unsigned long>(reader->size));
  jpeg_read_header(&reader->cinfo, TRUE);
  return true;
}

// Phase 2: decodes every scanline into `out` (interleaved, [0, 1]) and reads
// up to the end marker. out_color_space is set by the caller.
bool ReadJpegPixels(JpegReader* reader, float* out) {
  if (setjmp(reader->error.jump)) return false;
  j_decompress_ptr cinfo = &reader->cinfo;
  jpeg_start_decompress(cinfo);
  const size_t row_samples =
      static_cast<size_t>(cinfo->output_width) * cinfo->output_components;
  float* cursor = out;  // `out` itself is never modified (see the top)
  JSAMPARRAY row = (*cinfo->mem->alloc_sarray)(
      reinterpret_cast<j_common_ptr>(cinfo), JPOOL_IMAGE,
      static_cast<JDIMENSION>(row_samples), 1);
  while (cinfo->output_scanline < cinfo->output_height) {
    if (jpeg_read_scanlines(cinfo, row, 1) != 1) {
      // Cannot happen with a memory source, which never suspends.
      cinfo->err->msg_code = JERR_INPUT_EOF;
      (*cinfo->err->error_exit)(reinterpret_cast<j_common_ptr>(cinfo));
    }
    for (size_t i = 0; i < row_samples; ++i) {
      *cursor++ = row[0][i] * (1.0f / 255.0f);
    }
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

class JpegReadGuard {
 public:
  explicit JpegReadGuard(JpegReader* reader) : reader_(reader) {}
  JpegReadGuard(const JpegReadGuard&) = delete;
  JpegReadGuard& operator=(const JpegReadGuard&) = delete;
  // Safe whatever state the decoder is in, including never created: the
  // struct starts zeroed and jpeg_destroy only frees what exists.
  ~JpegReadGuard() { jpeg_destroy_decompress(&reader_->cinfo); }

 private:
  JpegReader* reader_;
};

absl::Status JpegError(const JpegErrorManager& error) {
  if (error.last_code == JWRN_JPEG_EOF || error.last_code == JERR_INPUT_EOF) {
    return absl::InvalidArgumentError(
        absl::StrCat("truncated JPEG: ", error.message));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("corrupt JPEG: ", error.message));
}

absl::StatusOr<Image> DecodeJpeg(absl::string_view bytes,
                                 const DecodeLimits& limits) {
  JpegReader reader{};
  reader.data = reinterpret_cast<const unsigned char*>(bytes.data());
  reader.size = bytes.size();
  InstallJpegErrorManager(&reader.error);
  reader.cinfo.err = &reader.error.pub;
  JpegReadGuard guard(&reader);

  if (!ReadJpegHeader(&reader)) return JpegError(reader.error);
  jpeg_decompress_struct& cinfo = reader.cinfo;
  absl::Status limit =
      CheckPixelLimit(cinfo.image_width, cinfo.image_height, limits);
  if (!limit.ok()) return limit;

  int channels = 3;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      channels = 1;
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      return absl::InvalidArgumentError(
          "unsupported JPEG: CMYK images are not supported, send RGB or "
          "greyscale");
    default:
      cinfo.out_color_space = JCS_RGB;
      break;
  }

  Image image;
  image.width = static_cast<int>(cinfo.image_width);
  image.height = static_cast<int>(cinfo.image_height);
  image.channels = channels;
  image.data.resize(static_cast<size_t>(image.width) * image.height * channels);
  if (!ReadJpegPixels(&reader, image.data.data())) {
    return JpegError(reader.error);
  }
  if (cinfo.output_components != channels ||
      static_cast<int>(cinfo.output_width) != image.width ||
      static_cast<int>(cinfo.output_height) != image.height) {
    return absl::InternalError("JPEG decoder produced an unexpected layout");
  }
  return image;
}

// ---------------------------------------------------------------------------
// PNG encoding.

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

// ---------------------------------------------------------------------------
// Resampling.

// Contributions of source samples to one destination sample along one axis.
struct AxisWeights {
  // Taps of destination i are taps[begin[i] .. begin[i + 1]).
  std::vector<size_t> begin;
  std::vector<int> source;
  std::vector<float> weight;
};

AxisWeights ComputeAxisWeights(int source_size, int target_size) {
  AxisWeights weights;
  weights.begin.reserve(target_size + 1);
  const double scale = static_cast<double>(source_size) / target_size;
  for (int i = 0; i < target_size; ++i) {
    weights.begin.push_back(weights.source.size());
    const size_t first = weights.source.size();
    if (target_size < source_size) {
      // Area averaging: destination i covers [i, i + 1) * scale of the
      // source; each source sample counts by its overlap with that span.
      const double start = i * scale;
      const double end = (i + 1) * scale;
      const int last = std::min(source_size, static_cast<int>(std::ceil(end)));
      for (int s = static_cast<int>(std::floor(start)); s < last; ++s) {
        const double overlap =
            std::min<double>(end, s + 1) - std::max<double>(start, s);
        if (overlap <= 1e-9) continue;
        weights.source.push_back(s);
        weights.weight.push_back(static_cast<float>(overlap));
      }
    } else if (target_size > source_size) {
      // Bilinear with pixel centres aligned (half-pixel convention), the
      // border sample repeated beyond the edges.
      double position = (i + 0.5) * scale - 0.5;
      position = std::clamp(position, 0.0, source_size - 1.0);
      const int left = static_cast<int>(std::floor(position));
      const int right = std::min(left + 1, source_size - 1);
      const double fraction = position - left;
      weights.source.push_back(left);
      weights.weight.push_back(static_cast<float>(1.0 - fraction));
      if (right != left && fraction > 0.0) {
        weights.source.push_back(right);
        weights.weight.push_back(static_cast<float>(fraction));
      }
    } else {
      weights.source.push_back(i);
      weights.weight.push_back(1.0f);
    }
    // Normalised so that a constant image stays exactly constant whatever
    // the rounding in the spans above.
    float total = 0.0f;
    for (size_t t = first; t < weights.source.size(); ++t) {
      total += weights.weight[t];
    }
    for (size_t t = first; t < weights.source.size(); ++t) {
      weights.weight[t] /= total;
    }
  }
  weights.begin.push_back(weights.source.size());
  return weights;
}

}  // namespace

absl::StatusOr<ImageFormat> DetectImageFormat(absl::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("image is empty");
  if (HasPrefix(bytes, kPngSignature, sizeof(kPngSignature))) {
    return ImageFormat::kPng;
  }
  if (HasPrefix(bytes, kJpegSignature, sizeof(kJpegSignature))) {
    return ImageFormat::kJpeg;
  }
  if (const char* name = KnownUnsupportedFormat(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported image format ", name, ": send PNG or JPEG"));
  }
  return absl::InvalidArgumentError(
      "unsupported image format: not PNG or JPEG");
}

absl::StatusOr<Image> DecodeImage(absl::string_view bytes,
                                  const DecodeLimits& limits) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_encoded_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("encoded image is ", bytes.size(),
                     " bytes, above the limit of ", limits.max_encoded_bytes));
  }
  absl::StatusOr<ImageFormat> format = DetectImageFormat(bytes);
  if (!format.ok()) return format.status();
  switch (*format) {
    case ImageFormat::kPng:
      return DecodePng(bytes, limits);
    case ImageFormat::kJpeg:
      return DecodeJpeg(bytes, limits);
  }
  return absl::InternalError("unhandled image format");
}

Image ConvertChannels(const Image& image, int channels) {
  if (image.channels == channels) return image;
  Image result;
  result.width = image.width;
  result.height = image.height;
  result.channels = channels;
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  result.data.resize(pixels * channels);
  const float* in = image.data.data();
  float* out = result.data.data();
  for (size_t i = 0; i < pixels; ++i, in += image.channels) {
    const float grey = image.channels >= 3
                           ? 0.299f * in[0] + 0.587f * in[1] + 0.114f * in[2]
                           : in[0];
    for (int c = 0; c < channels; ++c) *out++ = grey;
  }
  return result;
}

Image Resize(const Image& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  if (image.width <= 0 || image.height <= 0 || width <= 0 || height <= 0) {
    // Outside the contract; an all-zero image is safer than reading nothing.
    Image empty;
    empty.width = std::max(width, 0);
    empty.height = std::max(height, 0);
    empty.channels = image.channels;
    empty.data.assign(static_cast<size_t>(empty.width) * empty.height *
                          std::max(image.channels, 0),
                      0.0f);
    return empty;
  }
  const int channels = image.channels;
  const AxisWeights columns = ComputeAxisWeights(image.width, width);
  const AxisWeights rows = ComputeAxisWeights(image.height, height);

  // Horizontal pass: image.height x width.
  std::vector<float> horizontal(static_cast<size_t>(image.height) * width *
                                channels);
  for (int y = 0; y < image.height; ++y) {
    const float* in =
        image.data.data() + static_cast<size_t>(y) * image.width * channels;
    float* out = horizontal.data() + static_cast<size_t>(y) * width * channels;
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        float sum = 0.0f;
        for (size_t t = columns.begin[x]; t < columns.begin[x + 1]; ++t) {
          sum += columns.weight[t] *
                 in[static_cast<size_t>(columns.source[t]) * channels + c];
        }
        out[static_cast<size_t>(x) * channels + c] = sum;
      }
    }
  }

  // Vertical pass: height x width.
  Image result;
  result.width = width;
  result.height = height;
  result.channels = channels;
  const size_t row_size = static_cast<size_t>(width) * channels;
  result.data.assign(static_cast<size_t>(height) * row_size, 0.0f);
  for (int y = 0; y < height; ++y) {
    float* out = result.data.data() + static_cast<size_t>(y) * row_size;
    for (size_t t = rows.begin[y]; t < rows.begin[y + 1]; ++t) {
      const float weight = rows.weight[t];
      const float* in =
          horizontal.data() + static_cast<size_t>(rows.source[t]) * row_size;
      for (size_t i = 0; i < row_size; ++i) out[i] += weight * in[i];
    }
  }
  return result;
}

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
                              &PngWriteErrorCallback, &PngWarningCallback);
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
