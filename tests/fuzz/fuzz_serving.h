// The server's request-facing pieces for the fuzz targets, built once per
// process: a model repository whose models have the golden repository's
// configs (tests/integration/testdata/golden/repo: the decode limits, image
// preprocessing and features the server really runs with) on the fake
// backend, plus a tensor model; the inference pipeline over it; the Open
// Inference Protocol's logic (OipService) and its REST front end (OipHttp).
// No LibTorch, no sockets: a fuzz input goes through the same functions a
// request does, minus the transport.
//
// Get() builds it on first use and aborts when it cannot (a broken setup
// must not look like a fuzzing result). It is never destroyed: the batcher
// workers keep running until the process exits. Thread-safe after Get().
#ifndef LINESERVE_TESTS_FUZZ_FUZZ_SERVING_H_
#define LINESERVE_TESTS_FUZZ_FUZZ_SERVING_H_

#include <memory>
#include <string>

#include "server/backends/backend_registry.h"
#include "server/inference/inference_pipeline.h"
#include "server/repository/model_repository.h"
#include "server/repository/servable_model.h"
#include "server/service/oip_http.h"
#include "server/service/oip_service.h"
#include "tests/fuzz/golden_config.h"

namespace lineserve::fuzzing {

// Besides the golden kQualityModel and kEfficiencyModel, a tensor model
// (TASK_KIND_TENSOR): input "x" FP32 [3], output "total" FP32 [1].
inline constexpr char kTensorModel[] = "sum";

class FuzzServing {
 public:
  static const FuzzServing& Get();

  const ModelRepository& repository() const { return *repository_; }
  // The newest version of `name`; aborts when it is not loaded.
  std::shared_ptr<const ServableModel> Model(const std::string& name) const;
  const OipService& oip() const { return *oip_; }
  const OipHttp& oip_http() const { return *oip_http_; }

 private:
  FuzzServing() = default;

  BackendRegistry backends_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferencePipeline> pipeline_;
  std::unique_ptr<OipService> oip_;
  std::unique_ptr<OipHttp> oip_http_;
};

}  // namespace lineserve::fuzzing

#endif  // LINESERVE_TESTS_FUZZ_FUZZ_SERVING_H_
