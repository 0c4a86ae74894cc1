// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) from
// the tests' data and small generated inputs. The corpora are checked in;
// run this by hand after changing what a target reads, from a fuzz build:
//
//   cmake --build build-fuzz --target fuzz_make_seeds
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
//
// It only adds or overwrites its own files ("seed-*"), so crash inputs kept
// as regression inputs ("regression-*") stay. Inputs are a few KB at most.
#include <png.h>
// jpeglib.h needs size_t and FILE declared before it.
#include <cstdio>
#include <cstdlib>
// clang-format off
#include <jpeglib.h>
// clang-format on

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "inference/grpc_service.pb.h"
#include "lineserve/v1/efficiency_prediction.pb.h"
#include "models/config/model_config.h"
#include "server/common/tensor.h"
#include "tests/fuzz/golden_config.h"
#include "tests/support/test_configs.h"

namespace lineserve::fuzzing {
namespace {

namespace fs = std::filesystem;

const fs::path kGolden =
    fs::path(LINESERVE_SOURCE_DIR) / "tests/integration/testdata/golden";

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "fuzz_make_seeds: %s\n", message.c_str());
  std::exit(1);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class Corpus {
 public:
  Corpus(const fs::path& root, const std::string& target)
      : dir_(root / target) {
    fs::create_directories(dir_);
  }
  void Add(const std::string& name, const std::string& bytes) {
    if (bytes.size() > 8192) Die(name + " is above 8 KB");
    std::ofstream out(dir_ / ("seed-" + name), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) Die("cannot write " + name);
  }

 private:
  fs::path dir_;
};

// ---------------------------------------------------------------------------
// Images: every PNG layout the decoder handles and the JPEG variants a
// camera may send, each a few pixels.

struct PngLayout {
  const char* name;
  int color_type;
  int bit_depth;
  bool interlaced;
  bool transparency;
};

void WriteCallback(png_structp png, png_bytep data, size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))
      ->append(reinterpret_cast<const char*>(data), length);
}

std::string Png(const PngLayout& layout, int width, int height) {
  std::string out;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) Die(std::string("libpng: ") + layout.name);
  png_set_write_fn(png, &out, &WriteCallback, nullptr);
  png_set_IHDR(png, info, width, height, layout.bit_depth, layout.color_type,
               layout.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  int channels = 1;
  switch (layout.color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      channels = 2;
      break;
    case PNG_COLOR_TYPE_RGB:
      channels = 3;
      break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      channels = 4;
      break;
  }
  if (layout.color_type == PNG_COLOR_TYPE_PALETTE) {
    png_color palette[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    png_set_PLTE(png, info, palette, 4);
    if (layout.transparency) {
      png_byte alpha[2] = {0, 128};
      png_set_tRNS(png, info, alpha, 2, nullptr);
    }
  } else if (layout.transparency) {
    png_color_16 colour{};
    png_set_tRNS(png, info, nullptr, 0, &colour);
  }
  png_write_info(png, info);
  const size_t row_bytes =
      (static_cast<size_t>(width) * channels * layout.bit_depth + 7) / 8;
  std::vector<png_byte> row(row_bytes);
  for (int pass = 0; pass < (layout.interlaced ? 7 : 1); ++pass) {
    for (int y = 0; y < height; ++y) {
      for (size_t i = 0; i < row_bytes; ++i) {
        // A gradient with a bright spot: values differ across the image.
        row[i] = static_cast<png_byte>(
            (y * 37 + static_cast<int>(i) * 11 + (y == 1 ? 200 : 0)) % 256);
        // Palette indices stay within the 4 colours.
        if (layout.color_type == PNG_COLOR_TYPE_PALETTE &&
            layout.bit_depth == 8) {
          row[i] %= 4;
        }
      }
      png_write_row(png, row.data());
    }
    if (!layout.interlaced) break;
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

struct JpegLayout {
  const char* name;
  J_COLOR_SPACE color;
  int components;
  bool progressive;
  int restart_rows;
  int h_sampling;  // of the first component: 2 subsamples chroma
  int quality;
};

std::string Jpeg(const JpegLayout& layout, int width, int height) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr error;
  cinfo.err = jpeg_std_error(&error);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = layout.components;
  cinfo.in_color_space = layout.color;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, layout.quality, TRUE);
  if (layout.progressive) jpeg_simple_progression(&cinfo);
  cinfo.restart_in_rows = layout.restart_rows;
  if (layout.components == 3) {
    cinfo.comp_info[0].h_samp_factor = layout.h_sampling;
    cinfo.comp_info[0].v_samp_factor = layout.h_sampling;
  }
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<JSAMPLE> row(static_cast<size_t>(width) * layout.components);
  while (cinfo.next_scanline < cinfo.image_height) {
    const int y = static_cast<int>(cinfo.next_scanline);
    for (size_t i = 0; i < row.size(); ++i) {
      row[i] = static_cast<JSAMPLE>((y * 29 + static_cast<int>(i) * 13) % 256);
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

std::vector<std::pair<std::string, std::string>> Images() {
  std::vector<std::pair<std::string, std::string>> images;
  for (const char* name : {"ok", "crack", "scratch", "spot"}) {
    images.emplace_back(
        absl::StrCat("golden-", name, ".png"),
        ReadFile(kGolden / "images" / (std::string(name) + ".png")));
  }
  const PngLayout pngs[] = {
      {"gray1", PNG_COLOR_TYPE_GRAY, 1, false, false},
      {"gray4", PNG_COLOR_TYPE_GRAY, 4, false, false},
      {"gray8-trns", PNG_COLOR_TYPE_GRAY, 8, false, true},
      {"gray16", PNG_COLOR_TYPE_GRAY, 16, false, false},
      {"gray-alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, false, false},
      {"gray-alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, false, false},
      {"rgb8", PNG_COLOR_TYPE_RGB, 8, false, false},
      {"rgb8-interlaced", PNG_COLOR_TYPE_RGB, 8, true, false},
      {"rgb16", PNG_COLOR_TYPE_RGB, 16, false, false},
      {"rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8, false, false},
      {"rgba16-interlaced", PNG_COLOR_TYPE_RGB_ALPHA, 16, true, false},
      {"palette2-trns", PNG_COLOR_TYPE_PALETTE, 2, false, true},
      {"palette8", PNG_COLOR_TYPE_PALETTE, 8, false, false},
  };
  for (const PngLayout& layout : pngs) {
    images.emplace_back(absl::StrCat(layout.name, ".png"), Png(layout, 5, 3));
  }
  images.emplace_back("1x1.png", Png(pngs[6], 1, 1));
  images.emplace_back("tall-40x3.png", Png(pngs[6], 3, 40));
  const JpegLayout jpegs[] = {
      {"gray", JCS_GRAYSCALE, 1, false, 0, 1, 90},
      {"rgb-444", JCS_RGB, 3, false, 0, 1, 90},
      {"rgb-420", JCS_RGB, 3, false, 0, 2, 75},
      {"rgb-progressive", JCS_RGB, 3, true, 0, 2, 80},
      {"gray-progressive", JCS_GRAYSCALE, 1, true, 0, 1, 80},
      {"rgb-restarts", JCS_RGB, 3, false, 1, 2, 85},
      {"cmyk", JCS_CMYK, 4, false, 0, 1, 90},
  };
  for (const JpegLayout& layout : jpegs) {
    images.emplace_back(absl::StrCat(layout.name, ".jpg"), Jpeg(layout, 11, 9));
  }
  // What the decoder names when refusing (GIF, BMP), and a truncated file.
  images.emplace_back("gif",
                      std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13));
  images.emplace_back("bmp", std::string("BM\x1e\x00\x00\x00", 6));
  images.emplace_back("truncated.png", Png(pngs[6], 5, 3).substr(0, 40));
  return images;
}

// ---------------------------------------------------------------------------
// Configs.

std::string ToJson(const lineserve::v1::ModelConfig& config) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(config, &json, options)
           .ok()) {
    Die("printing JSON");
  }
  return json;
}

void Configs(const fs::path& root) {
  Corpus corpus(root, "model_config");
  for (const char* model : {kQualityModel, kEfficiencyModel}) {
    corpus.Add(absl::StrCat("golden-", model, ".pbtxt"),
               ReadFile(kGolden / "repo" / model / "config.pbtxt"));
    const lineserve::v1::ModelConfig golden = GoldenConfig(model);
    corpus.Add(absl::StrCat("golden-", model, "-serving.pbtxt"),
               ModelConfigToText(ServingOf(golden)));
    corpus.Add(absl::StrCat("golden-", model, "-model.json"),
               ToJson(ContractOf(golden)));
  }
  corpus.Add("test-image.pbtxt",
             ModelConfigToText(::lineserve::testing::ImageConfig("image", 8)));
  corpus.Add(
      "test-tabular.pbtxt",
      ModelConfigToText(::lineserve::testing::TabularConfig("tabular", 4, 16)));
  lineserve::v1::ModelConfig specific = GoldenConfig(kEfficiencyModel);
  specific.mutable_version_policy()->mutable_specific()->add_versions(2);
  specific.mutable_version_policy()->mutable_specific()->add_versions(5);
  specific.set_device("cuda:1");
  corpus.Add("specific-versions-cuda.pbtxt", ModelConfigToText(specific));
  corpus.Add("minimal-tensor.pbtxt",
             "name: \"t\"\ntask: TASK_KIND_TENSOR\n"
             "input { name: \"x\" data_type: TYPE_INT64 dims: -1 dims: 4 }\n"
             "output { name: \"y\" data_type: TYPE_FP32 dims: 2 }\n");
  corpus.Add("syntax-error.pbtxt", "name: \"q\"\nimage {\n  width: 3\n");
}

// ---------------------------------------------------------------------------
// Feature rows.

void FeatureRows(const fs::path& root) {
  Corpus corpus(root, "feature_row");
  const std::string csv = ReadFile(kGolden / "rows.csv");
  // The header and a dozen rows: a few KB.
  std::vector<absl::string_view> lines = absl::StrSplit(csv, '\n');
  std::string head;
  for (size_t i = 0; i < lines.size() && i < 13; ++i) {
    absl::StrAppend(&head, lines[i], "\n");
  }
  corpus.Add("golden-rows.csv", head);
  corpus.Add("quoted-crlf-blank.csv",
             "quarter,department,day,team,smv,\"wip\",over_time,incentive,"
             "idle_time,idle_men,no_of_style_change,no_of_workers,"
             "targeted_productivity\r\n"
             "\" Quarter2 \",FINISHING,Monday,3,3.94,,960,0,0,0,0,8,0.8\r\n"
             "quarter1,\"sweing\",tuesday,1e1,\"2,5\",12,x,0,0,0,0,1,nan\r\n");
  corpus.Add("unterminated-quote.csv", "a,b\n\"1,2\n");
}

void PredictRequests(const fs::path& root) {
  Corpus corpus(root, "predict_request");
  lineserve::v1::PredictRequest request;
  auto* row = request.add_rows();
  row->set_row_id("r1");
  row->set_line_id("line-3");
  auto set_number = [](lineserve::v1::FeatureRow* r, const char* name,
                       double value) {
    (*r->mutable_features())[name].set_number(value);
  };
  auto set_category = [](lineserve::v1::FeatureRow* r, const char* name,
                         const char* value) {
    (*r->mutable_features())[name].set_category(value);
  };
  set_category(row, "quarter", "Quarter1");
  set_category(row, "department", "sweing");
  set_category(row, "day", "Thursday");
  set_number(row, "team", 11);
  set_number(row, "targeted_productivity", 0.35);
  set_number(row, "smv", 26.16);
  set_number(row, "wip", 1096);
  set_number(row, "over_time", 9900);
  set_number(row, "incentive", 88);
  set_number(row, "idle_time", 0);
  set_number(row, "idle_men", 0);
  set_number(row, "no_of_style_change", 1);
  set_number(row, "no_of_workers", 55);
  corpus.Add("golden-row.pb", request.SerializeAsString());

  lineserve::v1::PredictRequest several = request;
  auto* second = several.add_rows();
  *second = *row;
  second->mutable_features()->erase("wip");  // optional: takes its default
  set_number(second, "quarter", 2);          // a number for a category
  set_category(second, "team", "eleven");    // a category for a number
  several.mutable_model()->set_name(kEfficiencyModel);
  several.mutable_model()->set_version(1);
  corpus.Add("two-rows-mismatched.pb", several.SerializeAsString());

  lineserve::v1::PredictRequest odd = request;
  set_number(odd.mutable_rows(0), "smv", std::nan(""));
  set_number(odd.mutable_rows(0), "unknown_feature", 1);
  (*odd.mutable_rows(0)->mutable_features())["no_value"];
  corpus.Add("nan-unknown-unset.pb", odd.SerializeAsString());
  corpus.Add("empty.pb", lineserve::v1::PredictRequest().SerializeAsString());
}

// ---------------------------------------------------------------------------
// The Open Inference Protocol.

std::string RawFloats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(float));
}

void OipGrpc(const fs::path& root, const std::string& png) {
  Corpus corpus(root, "oip_grpc");
  {
    inference::ModelInferRequest request;
    request.set_model_name(kQualityModel);
    request.set_id("req-1");
    auto* input = request.add_inputs();
    input->set_name("image");
    input->set_datatype("BYTES");
    input->add_shape(2);
    input->mutable_contents()->add_bytes_contents(png);
    input->mutable_contents()->add_bytes_contents("not an image");
    corpus.Add("quality-bytes-typed.pb", request.SerializeAsString());

    input->clear_contents();
    input->set_shape(0, 1);
    const Tensor bytes = Tensor::FromStrings("image", {png});
    request.add_raw_input_contents(
        std::string(bytes.data.begin(), bytes.data.end()));
    request.add_outputs()->set_name("verdict");
    corpus.Add("quality-bytes-raw.pb", request.SerializeAsString());
  }
  {
    inference::ModelInferRequest request;
    request.set_model_name(kQualityModel);
    request.set_model_version("1");
    auto* input = request.add_inputs();
    input->set_name("image");
    input->set_datatype("FP32");
    for (int dim : {1, 1, 32, 32}) input->add_shape(dim);
    request.add_raw_input_contents(
        RawFloats(std::vector<float>(32 * 32, 0.5f)));
    corpus.Add("quality-preprocessed-raw.pb", request.SerializeAsString());
  }
  {
    inference::ModelInferRequest request;
    request.set_model_name(kEfficiencyModel);
    auto add = [&](const char* name, const char* datatype) {
      auto* input = request.add_inputs();
      input->set_name(name);
      input->set_datatype(datatype);
      input->add_shape(2);
      return input->mutable_contents();
    };
    const std::pair<const char*, const char*> categories[] = {
        {"quarter", "quarter1"},
        {"department", "finishing"},
        {"day", "Monday"}};
    for (const auto& [name, value] : categories) {
      auto* contents = add(name, "BYTES");
      contents->add_bytes_contents(value);
      contents->add_bytes_contents("Quarter9");  // unknown category
    }
    auto* team = add("team", "INT64");
    team->add_int64_contents(3);
    team->add_int64_contents(-7);
    auto* smv = add("smv", "FP64");
    smv->add_fp64_contents(3.5);
    smv->add_fp64_contents(1e300);
    auto* workers = add("no_of_workers", "INT32");
    workers->add_int_contents(8);
    workers->add_int_contents(9);
    for (const char* name : {"targeted_productivity", "over_time", "incentive",
                             "idle_time", "idle_men", "no_of_style_change"}) {
      auto* contents = add(name, "FP32");
      contents->add_fp32_contents(0.5f);
      contents->add_fp32_contents(1.0f);
    }
    corpus.Add("efficiency-features-typed.pb", request.SerializeAsString());
  }
  {
    inference::ModelInferRequest request;
    request.set_model_name(kEfficiencyModel);
    auto* input = request.add_inputs();
    input->set_name("features");
    input->set_datatype("FP32");
    input->add_shape(1);
    input->add_shape(23);
    request.add_raw_input_contents(RawFloats(std::vector<float>(23, 1.0f)));
    corpus.Add("efficiency-encoded-raw.pb", request.SerializeAsString());
  }
  {
    inference::ModelInferRequest request;
    request.set_model_name("sum");
    auto* input = request.add_inputs();
    input->set_name("x");
    input->set_datatype("FP32");
    input->add_shape(2);
    input->add_shape(3);
    for (float v : {1, 2, 3, 10, 20, 30}) {
      input->mutable_contents()->add_fp32_contents(v);
    }
    request.add_outputs()->set_name("total");
    corpus.Add("sum-typed.pb", request.SerializeAsString());
    for (const char* datatype : {"FP16", "INT8", "BOOL", "UINT8"}) {
      inference::ModelInferRequest other = request;
      other.mutable_inputs(0)->set_datatype(datatype);
      other.mutable_inputs(0)->clear_contents();
      other.add_raw_input_contents(
          std::string(6 * (std::string(datatype) == "FP16" ? 2 : 1), '\x01'));
      corpus.Add(absl::StrCat("sum-raw-", datatype, ".pb"),
                 other.SerializeAsString());
    }
  }
}

void OipHttp(const fs::path& root, const std::string& png) {
  Corpus corpus(root, "oip_http");
  // path \n Inference-Header-Content-Length \n body
  corpus.Add("sum-json",
             "/v2/models/sum/infer\n\n"
             "{\"id\": \"r-1\", \"inputs\": [{\"name\": \"x\", \"shape\": "
             "[2, 3], \"datatype\": \"FP32\", \"data\": [[1, 2, 3], [10, 20, "
             "30]]}], \"outputs\": [{\"name\": \"total\"}]}");
  corpus.Add("sum-json-int",
             "/v2/models/sum/versions/1/infer\n\n"
             "{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 3], "
             "\"datatype\": \"INT32\", \"data\": [1, -2, 300000]}]}");
  corpus.Add(
      "efficiency-json",
      "/v2/models/efficiency_prediction/infer\n\n"
      "{\"inputs\": ["
      "{\"name\": \"quarter\", \"shape\": [1], \"datatype\": \"BYTES\", "
      "\"data\": [\"Quarter1\"]},"
      "{\"name\": \"department\", \"shape\": [1], \"datatype\": "
      "\"BYTES\", \"data\": [\"sweing\"]},"
      "{\"name\": \"day\", \"shape\": [1], \"datatype\": \"BYTES\", "
      "\"data\": [\"Monday\"]},"
      "{\"name\": \"team\", \"shape\": [1, 1], \"datatype\": \"INT64\", "
      "\"data\": [[4]]},"
      "{\"name\": \"smv\", \"shape\": [1], \"datatype\": \"FP64\", "
      "\"data\": [11.6]},"
      "{\"name\": \"over_time\", \"shape\": [1], \"datatype\": \"FP32\", "
      "\"data\": [960]}]}");
  const std::string json =
      absl::StrCat("{\"inputs\": [{\"name\": \"image\", \"shape\": [1], ",
                   "\"datatype\": \"BYTES\", \"parameters\": ",
                   "{\"binary_data_size\": ", png.size() + 4, "}}]}");
  const Tensor bytes = Tensor::FromStrings("image", {png});
  corpus.Add(
      "quality-binary",
      absl::StrCat("/v2/models/quality_inspection/infer\n", json.size(), "\n",
                   json, std::string(bytes.data.begin(), bytes.data.end())));
  corpus.Add("metadata", "/v2/models/quality_inspection\n\n");
  corpus.Add("version-ready",
             "/v2/models/efficiency_prediction/versions/1/"
             "ready\n\n");
  corpus.Add("server", "/v2\n\n");
  corpus.Add("health", "/v2/health/ready\n\n");
  corpus.Add("not-json", "/v2/models/sum/infer\n\nnot json");
}

}  // namespace
}  // namespace lineserve::fuzzing

int main(int argc, char** argv) {
  using namespace lineserve::fuzzing;
  if (argc != 2) Die("usage: fuzz_make_seeds <corpus folder>");
  const fs::path root = argv[1];
  const std::vector<std::pair<std::string, std::string>> images = Images();
  Corpus image_corpus(root, "image");
  for (const auto& [name, bytes] : images) image_corpus.Add(name, bytes);
  const std::string& png = images[4].second;  // gray1.png: small
  Configs(root);
  FeatureRows(root);
  PredictRequests(root);
  OipGrpc(root, png);
  OipHttp(root, png);
  return 0;
}
