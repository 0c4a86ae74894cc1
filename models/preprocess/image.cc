#include "models/preprocess/image.h"

// libpng and libjpeg report fatal errors by longjmp: this file follows the
// rules stated in image_codec_internal.h. Nothing whose size comes from the
// input is allocated before the image size has been checked against the
// limits.

#include <png.h>
// jpeglib.h needs size_t and FILE declared before it.
#include <cstdio>
#include <cstring>
#include <optional>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "models/preprocess/image_codec_internal.h"

namespace lineserve::preprocess {
namespace {

using internal::CopyMessage;
using internal::InstallJpegErrorManager;
using internal::JpegErrorManager;

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

// What IHDR declares, when the file starts with one (PNG requires it first,
// at a fixed offset); libpng validates the chunk (CRC included) later.
std::optional<ImageInfo> PngInfoFromIhdr(absl::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 26 || std::memcmp(data + 12, "IHDR", 4) != 0) {
    return std::nullopt;
  }
  ImageInfo info;
  info.format = ImageFormat::kPng;
  info.width = ReadBigEndian32(data + 16);
  info.height = ReadBigEndian32(data + 20);
  info.bytes_per_sample = data[24] > 8 ? 2 : 1;
  switch (data[25]) {
    case PNG_COLOR_TYPE_GRAY:
      info.channels = 1;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      info.channels = 2;
      break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      info.channels = 4;
      break;
    default:  // RGB, and a palette expands to RGB
      info.channels = 3;
      break;
  }
  return info;
}

absl::StatusOr<Image> DecodePng(absl::string_view bytes,
                                const DecodeLimits& limits) {
  // IHDR must be the first chunk, at a fixed offset. png_read_info only
  // returns once it reaches the pixel data, so the size is checked here
  // first: an oversized image is refused even if its ancillary chunks are
  // large or the data after the header is missing. libpng validates the
  // chunk (CRC included) afterwards.
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (std::optional<ImageInfo> info = PngInfoFromIhdr(bytes)) {
    absl::Status limit = CheckDecodeLimits(*info, limits);
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
      ImageInfo info;
      info.width = reader.width;
      info.height = reader.height;
      info.channels = 1;
      return CheckDecodeLimits(info, limits);
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
// JPEG decoding.

struct JpegReader {
  jpeg_decompress_struct cinfo;
  JpegErrorManager error;
  const unsigned char* data;
  size_t size;
};

// Phase 1: sets the reader up on `bytes` and reads the markers up to the
// first scan. libjpeg allocates only small tables here; the frame buffers
// come with jpeg_start_decompress.
bool ReadJpegHeader(JpegReader* reader, absl::string_view bytes) {
  reader->data = reinterpret_cast<const unsigned char*>(bytes.data());
  reader->size = bytes.size();
  InstallJpegErrorManager(&reader->error);
  reader->cinfo.err = &reader->error.pub;
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

ImageInfo JpegInfo(const jpeg_decompress_struct& cinfo) {
  ImageInfo info;
  info.format = ImageFormat::kJpeg;
  info.width = cinfo.image_width;
  info.height = cinfo.image_height;
  info.channels = cinfo.num_components;
  info.bytes_per_sample = cinfo.data_precision > 8 ? 2 : 1;
  return info;
}

absl::StatusOr<Image> DecodeJpeg(absl::string_view bytes,
                                 const DecodeLimits& limits) {
  JpegReader reader{};
  JpegReadGuard guard(&reader);
  if (!ReadJpegHeader(&reader, bytes)) return JpegError(reader.error);
  jpeg_decompress_struct& cinfo = reader.cinfo;
  absl::Status limit = CheckDecodeLimits(JpegInfo(cinfo), limits);
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

}  // namespace

absl::Status CheckDecodeLimits(const ImageInfo& info,
                               const DecodeLimits& limits) {
  // Header sizes are 32 bits at most: the products fit 64 bits.
  if (limits.max_pixels < 0 ||
      info.pixels() > static_cast<uint64_t>(limits.max_pixels)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "image is ", info.width, "x", info.height, " (", info.pixels(),
        " pixels), above the limit of ", limits.max_pixels));
  }
  // Divided rather than multiplied: a configured max_pixels near 2^64 must
  // not let pixels * bytes per pixel wrap around.
  const uint64_t bytes_per_pixel = static_cast<uint64_t>(
      std::max(1, info.channels) * std::max(1, info.bytes_per_sample));
  if (limits.max_decoded_bytes < 0 ||
      info.pixels() >
          static_cast<uint64_t>(limits.max_decoded_bytes) / bytes_per_pixel) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "image is ", info.width, "x", info.height, " with ", info.channels,
        " channels of ", 8 * info.bytes_per_sample, " bits (",
        info.decoded_bytes(), " bytes decoded), above the limit of ",
        limits.max_decoded_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageInfo> ReadImageInfo(absl::string_view bytes) {
  absl::StatusOr<ImageFormat> format = DetectImageFormat(bytes);
  if (!format.ok()) return format.status();
  if (*format == ImageFormat::kPng) {
    std::optional<ImageInfo> info = PngInfoFromIhdr(bytes);
    if (!info.has_value()) {
      return absl::InvalidArgumentError(
          "corrupt PNG: no IHDR chunk after the signature");
    }
    return *info;
  }
  JpegReader reader{};
  JpegReadGuard guard(&reader);
  if (!ReadJpegHeader(&reader, bytes)) return JpegError(reader.error);
  return JpegInfo(reader.cinfo);
}

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

}  // namespace lineserve::preprocess
