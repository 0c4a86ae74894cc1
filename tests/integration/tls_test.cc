// TLS and mutual TLS on the gRPC port, on loopback with certificates made
// for the test (tests/support/make_test_certs.sh), and reflection behind
// its option. The HTTP listeners and the programs' flags are tested with
// curl, lineserve-cli and the Python client in tls_process_test.sh and
// tests/client/python_client_test.sh.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/lineserve_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/config/model_config.h"
#include "server/security/tls_credentials.h"
#include "tests/support/fake_backend.h"
#include "tests/support/serving_stack.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_configs.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::lineserve::testing::kFakeArtifact;
using ::lineserve::testing::kFakePlatform;
using ::lineserve::testing::LinearModel;
using ::lineserve::testing::ServingStack;
using ::lineserve::testing::ServingStackOptions;
using ::lineserve::testing::TestCertificates;

constexpr char kEfficiency[] = "efficiency_prediction";

class TlsTest : public ::lineserve::testing::WithTestCertificates {
 protected:
  void SetUp() override {
    ASSERT_TRUE(::lineserve::testing::RegisterFakeBackend(backends_).ok());
    lineserve::v1::ModelConfig config =
        ::lineserve::testing::TabularConfig(kEfficiency, 3);
    config.set_platform(kFakePlatform);
    const fs::path version = fs::path(root_) / kEfficiency / "1";
    fs::create_directories(version);
    ASSERT_TRUE(
        WriteModelConfig(
            (fs::path(root_) / kEfficiency / "config.pbtxt").string(), config)
            .ok());
    LinearModel linear;
    linear.inputs = 3;
    linear.weights = {1, 0, 0};
    linear.bias = {0.5f};
    ASSERT_TRUE(::lineserve::testing::WriteFakeModel(
                    (version / kFakeArtifact).string(), linear)
                    .ok());
  }

  void TearDown() override {
    stack_.reset();
    fs::remove_all(root_);
  }

  // Serves with the test CA's server certificate; `mutual`: clients need a
  // certificate the test CA signed.
  void Start(bool mutual, bool reflection = false) {
    TlsFiles files;
    files.cert_path = certificates_->Path("server.pem");
    files.key_path = certificates_->Path("server.key");
    if (mutual) files.client_ca_path = certificates_->Path("ca.pem");
    auto tls = LoadTlsCredentials(files);
    ASSERT_TRUE(tls.ok()) << tls.status();
    StartWith(*std::move(tls), reflection);
  }

  void StartWith(TlsCredentials tls, bool reflection) {
    ServingStackOptions options;
    options.root = root_;
    options.backends = &backends_;
    options.tls = std::move(tls);
    options.reflection = reflection;
    auto stack = ServingStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // A client of the stack: plaintext without `ca`; trusting the PEM file
  // `ca` and presenting `cert`/`key` when given.
  LineserveClient Client(const std::string& ca, const std::string& cert = "",
                         const std::string& server_name = "") const {
    ClientOptions options;
    options.server = stack_->address();
    options.timeout = absl::Seconds(5);
    if (!ca.empty()) {
      options.tls.enabled = true;
      options.tls.root_certs_pem = certificates_->Pem(ca);
      options.tls.server_name = server_name;
    }
    if (!cert.empty()) {
      options.tls.cert_chain_pem = certificates_->Pem(cert + ".pem");
      options.tls.private_key_pem = certificates_->Pem(cert + ".key");
    }
    return LineserveClient(options);
  }

  // A Predict the model answers (x0 + 0.5).
  static absl::StatusOr<float> Predict(const LineserveClient& client) {
    lineserve::v1::PredictRequest request;
    auto& features = *request.add_rows()->mutable_features();
    features["f0"].set_number(2);
    features["f1"].set_number(0);
    features["f2"].set_number(0);
    auto response = client.Predict(request);
    if (!response.ok()) return response.status();
    if (response->predictions_size() != 1) {
      return absl::InternalError(response->DebugString());
    }
    return response->predictions(0).efficiency();
  }

  std::string root_ = ::lineserve::testing::MakeTempDir("tls");
  BackendRegistry backends_;
  std::unique_ptr<ServingStack> stack_;
};

TEST_F(TlsTest, ClientTrustingTheCaGetsAnswers) {
  Start(/*mutual=*/false);
  auto answer = Predict(Client("ca.pem"));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_FLOAT_EQ(*answer, 2.5f);
  auto serving = Client("ca.pem").Health();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);
}

TEST_F(TlsTest, PlaintextClientIsRefused) {
  Start(/*mutual=*/false);
  auto answer = Predict(Client(/*ca=*/""));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
}

TEST_F(TlsTest, ClientThatDoesNotTrustTheServerRefusesIt) {
  Start(/*mutual=*/false);
  auto answer = Predict(Client("rogue_ca.pem"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
}

TEST_F(TlsTest, ServerNameOverrideIsCheckedAgainstTheCertificate) {
  Start(/*mutual=*/false);
  // The certificate names localhost and 127.0.0.1.
  auto named = Predict(Client("ca.pem", "", "localhost"));
  EXPECT_TRUE(named.ok()) << named.status();
  auto misnamed = Predict(Client("ca.pem", "", "line7.example"));
  EXPECT_EQ(misnamed.status().code(), absl::StatusCode::kUnavailable)
      << misnamed.status();
}

TEST_F(TlsTest, MutualTlsRefusesClientWithoutCertificate) {
  Start(/*mutual=*/true);
  auto answer = Predict(Client("ca.pem"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
  auto serving = Client("ca.pem").Health();
  EXPECT_FALSE(serving.ok());
}

TEST_F(TlsTest, MutualTlsRefusesClientWithUntrustedCertificate) {
  Start(/*mutual=*/true);
  auto answer = Predict(Client("ca.pem", "rogue_client"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
}

TEST_F(TlsTest, MutualTlsRefusesPlaintextClient) {
  Start(/*mutual=*/true);
  auto answer = Predict(Client(/*ca=*/""));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
}

TEST_F(TlsTest, MutualTlsAnswersClientWithTrustedCertificate) {
  Start(/*mutual=*/true);
  auto answer = Predict(Client("ca.pem", "client"));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_FLOAT_EQ(*answer, 2.5f);
}

// grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo with
// list_services: the services' names, or the call's error.
absl::StatusOr<std::string> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::CompletionQueue queue;
  void* tag = nullptr;
  bool ok = false;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  call->StartCall(reinterpret_cast<void*>(1));
  queue.Next(&tag, &ok);
  // ServerReflectionRequest{list_services: ""}: field 7, length 0.
  const std::string request("\x3a\x00", 2);
  grpc::Slice slice(request);
  grpc::ByteBuffer message(&slice, 1);
  if (ok) {
    call->Write(message, reinterpret_cast<void*>(2));
    queue.Next(&tag, &ok);
  }
  grpc::ByteBuffer reply;
  bool got_reply = false;
  if (ok) {
    call->WritesDone(reinterpret_cast<void*>(3));
    queue.Next(&tag, &ok);
    call->Read(&reply, reinterpret_cast<void*>(4));
    queue.Next(&tag, &got_reply);
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  if (!status.ok()) return FromGrpcStatus(status);
  std::vector<grpc::Slice> slices;
  if (!got_reply || !reply.Dump(&slices).ok()) {
    return absl::InternalError("no reflection answer");
  }
  std::string names;
  for (const grpc::Slice& s : slices) {
    names.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return names;
}

TEST_F(TlsTest, ReflectionIsOffUnlessAskedFor) {
  StartWith(TlsCredentials(), /*reflection=*/false);
  auto off = ListServicesByReflection(Client("").channel());
  EXPECT_EQ(off.status().code(), absl::StatusCode::kUnimplemented)
      << off.status();
}

TEST_F(TlsTest, ReflectionListsTheServicesWhenAskedFor) {
  Start(/*mutual=*/true, /*reflection=*/true);
  auto on = ListServicesByReflection(Client("ca.pem", "client").channel());
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_THAT(*on, ::testing::HasSubstr("lineserve.v1.EfficiencyPrediction"));
}

}  // namespace
}  // namespace lineserve
