#include "models/train/networks.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lineserve::train {
namespace {

// A TorchScript float literal: "0" would be typed int, "0.000000" is float.
std::string FloatLiteral(double value) { return absl::StrFormat("%f", value); }

torch::Tensor KaimingNormal(std::vector<int64_t> shape, int64_t fan_in) {
  return torch::randn(shape) * std::sqrt(2.0 / static_cast<double>(fan_in));
}

void AddParameter(torch::jit::Module& m, const std::string& name,
                  torch::Tensor value) {
  m.register_parameter(name, value.set_requires_grad(true), false);
}

// Registers a batch norm over `channels` named bn<i> and returns its call.
std::string AddBatchNorm(torch::jit::Module& m, int i, int64_t channels,
                         const std::string& input) {
  const std::string p = absl::StrCat("bn", i);
  AddParameter(m, p + "_weight", torch::ones({channels}));
  AddParameter(m, p + "_bias", torch::zeros({channels}));
  m.register_buffer(p + "_mean", torch::zeros({channels}));
  m.register_buffer(p + "_var", torch::ones({channels}));
  return absl::StrCat("torch.batch_norm(", input, ", self.", p,
                      "_weight, self.", p, "_bias, self.", p, "_mean, self.", p,
                      "_var, self.training, 0.1, 1e-5, False)");
}

// Registers conv blocks (3x3 conv, batch norm, ReLU; `convs` per block, a
// 2x2 max pool between blocks and, with pool_last, after the last) and
// returns their TorchScript lines. `channels`: in, then out. Each block's
// output before its pool is also kept as skip<block> (for a decoder).
std::string AddConvBlocks(torch::jit::Module& m, const std::vector<int>& blocks,
                          int convs, bool pool_last, int64_t* channels) {
  std::string body;
  int layer = 0;
  for (size_t block = 0; block < blocks.size(); ++block) {
    const int64_t out = blocks[block];
    for (int c = 0; c < convs; ++c) {
      const std::string w = absl::StrCat("conv", layer, "_weight");
      AddParameter(m, w, KaimingNormal({out, *channels, 3, 3}, *channels * 9));
      absl::StrAppend(&body, "    x = torch.conv2d(x, self.", w,
                      ", None, [1, 1], [1, 1])\n");
      absl::StrAppend(&body, "    x = torch.relu(",
                      AddBatchNorm(m, layer, out, "x"), ")\n");
      *channels = out;
      ++layer;
    }
    if (pool_last || block + 1 < blocks.size()) {
      absl::StrAppend(&body, "    skip", block, " = x\n",
                      "    x = torch.max_pool2d(x, [2, 2], [2, 2])\n");
    }
  }
  return body;
}

// U-Net style decoder levels after AddConvBlocks (without pool_last): each
// upsamples x 2x (bilinear) to the size of the block before, concatenates
// that block's output (skip<block>) and mixes both with a 3x3 conv, batch
// norm and ReLU to that block's channel count. `channels`: in, then out.
std::string AddDecoder(torch::jit::Module& m, const std::vector<int>& blocks,
                       int convs, int levels, int64_t* channels) {
  std::string body;
  for (int level = 1; level <= levels; ++level) {
    const int block = static_cast<int>(blocks.size()) - 1 - level;
    const int64_t skip = blocks[block];
    const int64_t in = *channels + skip;
    const std::string w = absl::StrCat("decoder", level, "_weight");
    AddParameter(m, w, KaimingNormal({skip, in, 3, 3}, in * 9));
    const std::string s = absl::StrCat("skip", block);
    absl::StrAppend(
        &body, "    x = torch.upsample_bilinear2d(x, [", s, ".size(2), ", s,
        ".size(3)], False)\n", "    x = torch.cat([x, ", s, "], 1)\n",
        "    x = torch.conv2d(x, self.", w, ", None, [1, 1], [1, 1])\n",
        "    x = torch.relu(",
        AddBatchNorm(m, static_cast<int>(blocks.size()) * convs + level - 1,
                     skip, "x"),
        ")\n");
    *channels = skip;
  }
  return body;
}

}  // namespace

torch::jit::Module BuildInspectionCnn(const InspectionCnnOptions& options) {
  torch::jit::Module m("LineserveInspectionCnn");
  m.register_attribute("training", c10::BoolType::get(), true);
  c10::List<std::string> labels;
  for (const auto& label : options.labels) labels.push_back(label);
  m.register_attribute("labels", c10::ListType::ofStrings(), labels);

  int64_t channels = options.in_channels;
  const std::string body =
      AddConvBlocks(m, options.block_channels, options.convs_per_block,
                    /*pool_last=*/true, &channels);
  AddParameter(
      m, "fc_weight",
      KaimingNormal({options.num_classes, 2 * channels}, 2 * channels) * 0.5);
  AddParameter(m, "fc_bias", torch::zeros({options.num_classes}));

  // `logits` is the network; `forward`, what serving calls, averages it
  // over the flips of the image when flip_averaging is on (surface defects
  // have no orientation, and the average is steadier than one view).
  std::string forward =
      "def forward(self, x):\n"
      "    return self.logits(x)\n";
  if (options.flip_averaging) {
    forward =
        "def forward(self, x):\n"
        "    if self.training:\n"
        "        return self.logits(x)\n"
        "    return (self.logits(x) + self.logits(torch.flip(x, [3])) +\n"
        "            self.logits(torch.flip(x, [2])) +\n"
        "            self.logits(torch.flip(x, [2, 3]))) * 0.25\n";
  }
  m.define(absl::StrCat(
      "def logits(self, x):\n", body,
      "    pooled = torch.cat([torch.mean(x, [2, 3]), torch.amax(x, [2, 3])], "
      "1)\n",
      "    pooled = torch.dropout(pooled, ", FloatLiteral(options.dropout),
      ", self.training)\n",
      "    return torch.linear(pooled, self.fc_weight, self.fc_bias)\n",
      forward));
  return m;
}

torch::jit::Module BuildSegmentationInspector(
    const SegmentationInspectorOptions& options) {
  torch::jit::Module m("LineserveSegmentationInspector");
  m.register_attribute("training", c10::BoolType::get(), true);
  c10::List<std::string> labels;
  for (const auto& label : options.labels) labels.push_back(label);
  m.register_attribute("labels", c10::ListType::ofStrings(), labels);
  m.register_attribute("top_k", c10::IntType::get(),
                       static_cast<int64_t>(std::max(1, options.top_k)));
  m.register_attribute("ok_index", c10::IntType::get(),
                       static_cast<int64_t>(options.ok_index));
  torch::Tensor defect_mask = torch::ones({options.num_classes});
  defect_mask[options.ok_index] = 0.0f;
  m.register_buffer("defect_mask", defect_mask);
  m.register_buffer("ok_onehot", 1.0f - defect_mask);

  int64_t channels = options.in_channels;
  const int levels = std::clamp(
      options.decoder_levels, 0,
      std::max(0, static_cast<int>(options.block_channels.size()) - 1));
  // Two statements: the decoder starts from the encoder's channels.
  std::string body =
      AddConvBlocks(m, options.block_channels, options.convs_per_block,
                    /*pool_last=*/false, &channels);
  body += AddDecoder(m, options.block_channels, options.convs_per_block, levels,
                     &channels);
  AddParameter(
      m, "head_weight",
      KaimingNormal({options.num_classes, channels, 1, 1}, channels) * 0.5);
  // Cells start out confidently ok, as almost all of them are.
  torch::Tensor head_bias = torch::zeros({options.num_classes});
  head_bias[options.ok_index] = 4.0f;
  AddParameter(m, "head_bias", head_bias);

  // Calibration (CalibrateSegmentationInspector): off until the trainer
  // sets the references; empty buffers keep the saved module's shape.
  m.register_attribute("calibrated", c10::BoolType::get(), false);
  m.register_buffer("feature_mean", torch::zeros({0}));
  m.register_buffer("feature_inv_var", torch::zeros({0}));
  m.register_buffer("good_supervised", torch::zeros({0}));
  m.register_buffer("good_anomaly", torch::zeros({0}));

  // The image's probabilities and the cells' (the defect map) come from
  // the same passes; flip averaging maps each view's cells back first.
  std::string forward =
      "def forward(self, x):\n"
      "    f = self.features(x)\n"
      "    p = torch.softmax(self.head(f), 1)\n"
      "    image = self.pool(p)\n";
  if (options.flip_averaging) {
    absl::StrAppend(&forward, "    if not self.training:\n");
    for (const char* dims : {"[3]", "[2]", "[2, 3]"}) {
      absl::StrAppend(
          &forward, "        q = torch.softmax(self.cells(torch.flip(x, ", dims,
          ")), 1)\n", "        image = image + self.pool(q)\n",
          "        p = p + torch.flip(q, ", dims, ")\n");
    }
    absl::StrAppend(&forward,
                    "        image = image * 0.25\n"
                    "        p = p * 0.25\n");
  }
  absl::StrAppend(&forward,
                  "    if self.calibrated and not self.training:\n"
                  "        image = self.calibrate(f, image)\n"
                  "    return torch.log(torch.clamp(image, min=1e-7)), p\n");
  m.define(absl::StrCat(
      "def features(self, x):\n", body,
      "    return x\n"
      "def head(self, f):\n"
      "    f = torch.dropout(f, 0.1, self.training)\n"
      "    return torch.conv2d(f, self.head_weight, self.head_bias)\n"
      "def cells(self, x):\n"
      "    return self.head(self.features(x))\n"
      "def anomaly(self, f):\n"
      "    centre = self.feature_mean.view(1, -1, 1, 1)\n"
      "    scale = self.feature_inv_var.view(1, -1, 1, 1)\n"
      "    z = torch.mean((f - centre) * (f - centre) * scale, 1)\n"
      "    flat = z.reshape(z.size(0), -1)\n"
      "    top = min(self.top_k, flat.size(1))\n"
      "    worst, _ = torch.topk(flat, top, 1)\n"
      "    return torch.mean(worst, 1)\n"
      "def calibrate(self, f, image):\n"
      "    s = (1.0 - image[:, self.ok_index]).contiguous()\n"
      "    a = self.anomaly(f).contiguous()\n"
      "    below_s = torch.searchsorted(self.good_supervised, s)\n"
      "    below_a = torch.searchsorted(self.good_anomaly, a)\n"
      "    ps = (below_s.to(image.dtype) + s) / (self.good_supervised.size(0) "
      "+ 1)\n"
      "    pa = (below_a.to(image.dtype) + a / (1.0 + a)) / "
      "(self.good_anomaly.size(0) + 1)\n"
      "    d = torch.maximum(ps, pa).unsqueeze(1)\n"
      "    share = image * self.defect_mask\n"
      "    share = share / torch.clamp(torch.sum(share, 1, keepdim=True), "
      "min=1e-12)\n"
      "    return share * d + self.ok_onehot * (1.0 - d)\n"
      "def heatmap(self, x):\n"
      "    p = torch.softmax(self.cells(x), 1)\n"
      "    return 1.0 - p[:, self.ok_index]\n"
      "def aggregate(self, cells):\n"
      "    return self.pool(torch.softmax(cells, 1))\n"
      "def pool(self, p):\n"
      "    b = p.size(0)\n"
      "    k = p.size(1)\n"
      "    flat = p.reshape(b, k, -1)\n"
      "    defect = 1.0 - flat[:, self.ok_index]\n"
      "    top = min(self.top_k, defect.size(1))\n"
      "    worst, where = torch.topk(defect, top, 1)\n"
      "    score = torch.mean(worst, 1, keepdim=True)\n"
      "    votes = torch.gather(flat, 2, where.unsqueeze(1).expand(b, k, "
      "top))\n"
      "    votes = torch.sum(votes, 2) * self.defect_mask\n"
      "    votes = votes / torch.clamp(torch.sum(votes, 1, keepdim=True), "
      "min=1e-12)\n"
      "    return votes * score + (1.0 - score) * self.ok_onehot\n",
      forward));
  return m;
}

void SetInspectorFeatureStatistics(torch::jit::Module& module,
                                   const torch::Tensor& mean,
                                   const torch::Tensor& inv_var) {
  module.register_buffer("feature_mean", mean.to(torch::kFloat32).contiguous());
  module.register_buffer("feature_inv_var",
                         inv_var.to(torch::kFloat32).contiguous());
}

void CalibrateSegmentationInspector(torch::jit::Module& module,
                                    const InspectorCalibration& calibration) {
  SetInspectorFeatureStatistics(module, calibration.feature_mean,
                                calibration.feature_inv_var);
  auto sorted = [](std::vector<float> values) {
    std::sort(values.begin(), values.end());
    return torch::tensor(values, torch::kFloat32);
  };
  module.register_buffer("good_supervised",
                         sorted(calibration.good_supervised));
  module.register_buffer("good_anomaly", sorted(calibration.good_anomaly));
  module.setattr("calibrated", true);
}

torch::jit::Module BuildTabularMlp(const TabularMlpOptions& options) {
  torch::jit::Module m("LineserveTabularMlp");
  m.register_attribute("training", c10::BoolType::get(), true);
  const int64_t d = options.inputs;
  const int64_t k = std::max(1, options.ensemble);
  auto vec = [d](const std::vector<float>& v, float fill) {
    return v.empty() ? torch::full({d}, fill)
                     : torch::tensor(v, torch::kFloat32).clone();
  };
  std::vector<float> log_mask(d, 0.0f);
  for (int64_t i = 0;
       i < d && i < static_cast<int64_t>(options.log_transform.size()); ++i) {
    log_mask[i] = options.log_transform[i] ? 1.0f : 0.0f;
  }
  m.register_buffer("log_mask", torch::tensor(log_mask, torch::kFloat32));
  m.register_buffer("input_mean", vec(options.mean, 0.0f));
  m.register_buffer("input_std", vec(options.std, 1.0f));

  // The ensemble's members are stacked on a leading axis: one batched
  // matmul per layer runs all of them.
  std::string body =
      "    x = torch.where(self.log_mask > 0.5, "
      "torch.log1p(torch.clamp(x, min=0.0)), x)\n"
      "    x = (x - self.input_mean) / self.input_std\n"
      "    h = x.unsqueeze(0).expand(" +
      std::to_string(k) + ", -1, -1)\n";
  int64_t width = d;
  for (size_t i = 0; i < options.hidden.size(); ++i) {
    const int64_t out = options.hidden[i];
    const std::string w = absl::StrCat("w", i), b = absl::StrCat("b", i);
    AddParameter(m, w, KaimingNormal({k, width, out}, width));
    AddParameter(m, b, torch::zeros({k, 1, out}));
    absl::StrAppend(&body, "    h = torch.relu(torch.baddbmm(self.", b,
                    ", h, self.", w, "))\n", "    h = torch.dropout(h, ",
                    FloatLiteral(options.dropout), ", self.training)\n");
    width = out;
  }
  AddParameter(m, "w_out", KaimingNormal({k, width, 1}, width) * 0.1);
  AddParameter(m, "b_out", torch::zeros({k, 1, 1}));
  absl::StrAppend(&body,
                  "    y = torch.baddbmm(self.b_out, h, self.w_out)\n"
                  "    if self.training:\n"
                  "        return y.squeeze(2).transpose(0, 1)\n"
                  "    return torch.mean(y, 0)\n");
  // In training mode the output is [B, ensemble] so every member gets its
  // own loss; in eval mode [B, 1], the ensemble mean.
  m.define("def forward(self, x):\n" + body);
  return m;
}

torch::jit::Module BuildTreeEnsembleModel(const TreeEnsemble& ensemble) {
  const bool oblivious = ensemble.shape == TreeShape::kOblivious;
  torch::jit::Module m(oblivious ? "LineserveObliviousTrees"
                                 : "LineserveDepthwiseTrees");
  m.register_attribute("training", c10::BoolType::get(), false);
  TreeEnsemble e = ensemble;
  e.depth = std::max(1, e.depth);
  const int64_t depth = e.depth;
  const int64_t leaves = int64_t{1} << depth;
  const int64_t per_tree = e.splits_per_tree();
  if (e.num_trees() == 0) {
    // No tree helped: one tree that never splits and adds nothing keeps
    // the tensor shapes non-empty; the model answers the bias.
    e.split_features.assign(per_tree, 0);
    e.split_thresholds.assign(per_tree, std::numeric_limits<float>::infinity());
    e.leaf_values.assign(leaves, 0.0f);
  }
  const int64_t trees = e.num_trees();
  std::vector<int64_t> features(e.split_features.begin(),
                                e.split_features.end());
  std::vector<int64_t> powers(depth);
  for (int64_t j = 0; j < depth; ++j) powers[j] = int64_t{1} << j;
  std::vector<int64_t> leaf_offsets(trees);
  for (int64_t t = 0; t < trees; ++t) leaf_offsets[t] = t * leaves;
  m.register_buffer("split_features", torch::tensor(features));
  m.register_buffer("level_bits", torch::tensor(powers));
  m.register_buffer("tree_offsets", torch::tensor(leaf_offsets));
  m.register_buffer("leaf_values", torch::tensor(e.leaf_values));
  m.register_buffer("bias", torch::tensor({e.bias}));
  const std::string sum_leaves = absl::StrCat(R"(
    picked = torch.index_select(self.leaf_values, 0, leaf.view(-1)).view(b, )",
                                              trees, R"()
    return picked.sum(1, keepdim=True) + self.bias
)");
  if (oblivious) {
    m.register_buffer("split_thresholds",
                      torch::tensor(e.split_thresholds).view({trees, depth}));
    m.define(absl::StrCat(R"(
def forward(self, x):
    b = x.size(0)
    compared = torch.index_select(x, 1, self.split_features).view(b, )",
                          trees, ", ", depth, R"()
    bits = (compared > self.split_thresholds).long()
    leaf = (bits * self.level_bits).sum(2) + self.tree_offsets)",
                          sum_leaves));
    return m;
  }
  // Depth-wise: level by level, each row takes, per tree, the test of the
  // node on its path: the test of level j at path p of tree t is split
  // t * per_tree + (2^j - 1) + p (tree_boosting.h). (Answering every
  // node's test at once and picking the answers was 2-3x slower: the
  // comparisons grow with the nodes, 2^depth - 1 per tree, not depth.)
  std::vector<int64_t> level_starts(depth * trees);
  for (int64_t j = 0; j < depth; ++j) {
    for (int64_t t = 0; t < trees; ++t) {
      level_starts[j * trees + t] = t * per_tree + (int64_t{1} << j) - 1;
    }
  }
  m.register_buffer("split_thresholds", torch::tensor(e.split_thresholds));
  m.register_buffer("level_starts",
                    torch::tensor(level_starts).view({depth, trees}));
  m.define(absl::StrCat(R"(
def forward(self, x):
    b = x.size(0)
    path = torch.zeros_like(self.tree_offsets).repeat(b, 1)
    for j in range()",
                        depth, R"():
        test = self.level_starts[j] + path
        feature = torch.take(self.split_features, test)
        passed = torch.gather(x, 1, feature) > torch.take(self.split_thresholds, test)
        path = torch.add(path, passed.long(), alpha=1 << j)
    leaf = path + self.tree_offsets)",
                        sum_leaves));
  return m;
}

torch::Tensor ImageScores(const torch::IValue& result) {
  if (result.isTuple()) return result.toTupleRef().elements()[0].toTensor();
  return result.toTensor();
}

std::vector<torch::Tensor> SnapshotState(const torch::jit::Module& module) {
  std::vector<torch::Tensor> state;
  torch::NoGradGuard no_grad;
  for (const auto& p : module.parameters()) state.push_back(p.detach().clone());
  for (const auto& b : module.buffers()) state.push_back(b.detach().clone());
  return state;
}

void RestoreState(torch::jit::Module& module,
                  const std::vector<torch::Tensor>& snapshot) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto p : module.parameters()) p.copy_(snapshot[i++]);
  for (auto b : module.buffers()) b.copy_(snapshot[i++]);
}

std::vector<torch::Tensor> TrainableParameters(
    const torch::jit::Module& module) {
  std::vector<torch::Tensor> params;
  for (const auto& p : module.parameters()) params.push_back(p);
  return params;
}

}  // namespace lineserve::train
