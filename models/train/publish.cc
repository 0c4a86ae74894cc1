#include "models/train/publish.h"

#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/config/model_config.h"
#include "models/train/html_report.h"

namespace lineserve::train {

absl::StatusOr<TrainResult> PublishModel(
    torch::jit::Module& module, const torch::Tensor& sample,
    nlohmann::json metrics, const lineserve::v1::ModelConfig& config,
    const std::string& repository, bool overwrite_config) {
  module.eval();
  ASSIGN_OR_RETURN(VersionWriter writer,
                   VersionWriter::Create(repository, config.name()));
  const std::string model_path = writer.StagedPath("model.pt");
  module.save(model_path);

  // What the server will load must answer as the trained module does.
  torch::jit::Module reloaded = torch::jit::load(model_path);
  reloaded.eval();
  {
    torch::NoGradGuard no_grad;
    const auto outputs = [&sample](torch::jit::Module& m) {
      const torch::IValue result = m.forward({sample});
      return result.isTuple() ? result.toTupleRef().elements().vec()
                              : std::vector<torch::IValue>{result};
    };
    const std::vector<torch::IValue> trained = outputs(module);
    const std::vector<torch::IValue> saved = outputs(reloaded);
    bool same = trained.size() == saved.size();
    for (size_t i = 0; same && i < trained.size(); ++i) {
      same = torch::allclose(trained[i].toTensor(), saved[i].toTensor(), 1e-4,
                             1e-5);
    }
    if (!same) {
      return absl::InternalError("saved model answers differently on reload");
    }
  }
  RETURN_IF_ERROR(WriteFileAtomically(writer.StagedPath("metrics.json"),
                                      metrics.dump(2) + "\n"));
  // Everything this version's answers depend on travels with it.
  RETURN_IF_ERROR(
      WriteVersionContract(writer.StagedPath(kVersionContractFile), config));
  // The serving config first: a server that sees the new version must find
  // a config.pbtxt to serve it with.
  RETURN_IF_ERROR(
      ReconcileModelConfig(writer.model_dir(), config, overwrite_config));
  ASSIGN_OR_RETURN(int64_t version, writer.Publish());

  TrainResult result;
  result.version = version;
  result.version_dir = absl::StrCat(writer.model_dir(), "/", version);
  // The report names its version and compares it with the one before, so
  // it is written once the version has its number. The server never reads
  // it; a version without one is still whole.
  absl::StatusOr<std::string> report =
      WriteHtmlReport(writer.model_dir(), version);
  if (!report.ok()) {
    return absl::Status(
        report.status().code(),
        absl::StrCat("published version ", version,
                     ", but its HTML report could not be written: ",
                     report.status().message()));
  }
  result.report_path = *report;
  result.metrics = std::move(metrics);
  return result;
}

absl::Status CheckPublishChoice(const std::string& publish) {
  if (publish != "all" && publish != "fold") {
    return absl::InvalidArgumentError(
        absl::StrCat("--publish: \"", publish, "\" is not all or fold"));
  }
  return absl::OkStatus();
}

absl::Status ReportContractChange(const std::string& repository,
                                  const lineserve::v1::ModelConfig& proposed,
                                  std::ostream& log) {
  ASSIGN_OR_RETURN(
      std::optional<PublishedVersion> latest,
      LatestPublishedVersion(absl::StrCat(repository, "/", proposed.name())));
  if (!latest.has_value()) return absl::OkStatus();
  const std::string changes = ContractChanges(latest->config, proposed);
  if (changes.empty()) {
    log << "contract: same inputs, labels and features as version "
        << latest->version << std::endl;
  } else {
    log << "contract: clients of " << proposed.name()
        << " see these changes from version " << latest->version
        << " (older versions keep answering as before):\n"
        << changes << std::flush;
  }
  return absl::OkStatus();
}

}  // namespace lineserve::train
