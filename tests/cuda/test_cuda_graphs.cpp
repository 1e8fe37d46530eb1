// Whole-step CUDA graphs (CompileOptions::jit_compile, src/model/captured_step.hpp): a model
// whose step is captured and replayed trains exactly like the same model run kernel by kernel
// (the replay runs the same kernels on the same buffers, Dropout drawing each step's masks from
// the step register), recaptures when its weights move, and a step that cannot be captured
// runs eagerly and says why. [gpu] cases pass as skipped without a device; [cuda] runs anywhere.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fitrun/fitrun.hpp"
#include "gpu_helpers.hpp"
#include "model/helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using gpu_test::kGpu;
using gpu_test::relative_error;

namespace {

Sequential digits_cnn(bool jit_compile) {
  set_seed(4);
  clear_session();
  ConvOptions same;
  same.padding = "same";
  Sequential m({Input({8, 8, 1}), Conv2D(16, 3, "", same), BatchNormalization(),
                Activation("relu"), MaxPooling2D(2), Conv2D(32, 3, "relu", same), Flatten(),
                Dense(64, "relu"), Dropout(0.3f), Dense(10)});
  m.compile(optimizers::Adam({.learning_rate = 3e-3}),
            losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"},
            {.jit_compile = jit_compile});
  return m;
}

std::vector<Tensor> host_weights(const Model& m) {
  std::vector<Tensor> w;
  for (const auto& v : m.weights()) w.push_back(v->value.to(Device::cpu()));
  return w;
}

void check_same_weights(const Model& a, const Model& b) {
  const auto wa = host_weights(a), wb = host_weights(b);
  REQUIRE(wa.size() == wb.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    INFO("weight " << i);
    CHECK(relative_error(wa[i], wb[i]) <= 1e-6);
  }
}

}  // namespace

TEST_CASE("CUDA graphs: a CPU model never captures and says so", "[cuda]") {
  const Tensor x = Tensor::normal({8, 4}, 0.f, 1.f, 1);
  const Tensor y = Tensor::normal({8, 2}, 0.f, 1.f, 2);
  set_seed(1);
  Sequential m({Input({4}), Dense(2)});
  m.compile("sgd", "mse");
  for (int i = 0; i < 4; ++i) m.train_step({x}, {y});
  CHECK(m.cuda_graph_replays() == 0);
  CHECK(m.cuda_graph_refusal() == "the model is on the CPU");
}

TEST_CASE("CUDA graphs: replayed steps train exactly like eager ones", "[gpu][graphs]") {
  FITRUN_REQUIRE_GPU();
  auto [train, test] = fitrun_test::digits();
  const Tensor x = train.x.reshape({train.x.dim(0), 8, 8, 1});
  const Tensor xt = test.x.reshape({test.x.dim(0), 8, 8, 1});
  // 1438 samples in batches of 64: 22 full batches and one of 30 an epoch, two plans.
  REQUIRE(x.dim(0) == 1438);
  auto run = [&](bool jit) {
    Sequential m = digits_cnn(jit);
    m.to(kGpu);
    auto h = m.fit(x, train.y, {.batch_size = 64, .epochs = 3, .verbose = 0});
    const Logs eval = m.evaluate(xt, test.y, {.verbose = 0});
    return std::make_tuple(std::move(m), h.history, eval);
  };
  auto [graphed, graphed_history, graphed_eval] = run(true);
  auto [eager, eager_history, eager_eval] = run(false);
  INFO("refusal: " << graphed.cuda_graph_refusal());
  CHECK(graphed.cuda_graph_refusal().empty());
  // Full batches: 2 eager warm-up steps, then the capture and 63 more replays; the last batch
  // of each epoch: eager in epochs 1 and 2, captured and replayed in epoch 3.
  CHECK(graphed.cuda_graph_replays() == 64 + 1);
  CHECK(eager.cuda_graph_replays() == 0);
  CHECK(eager.cuda_graph_refusal() == "compiled with jit_compile=false");
  for (const char* key : {"loss", "accuracy"})
    for (size_t e = 0; e < 3; ++e) {
      INFO(key << " epoch " << e + 1);
      CHECK(graphed_history.at(key)[e] == Approx(eager_history.at(key)[e]).epsilon(1e-6));
    }
  CHECK(graphed_eval.at("accuracy") == Approx(eager_eval.at("accuracy")).epsilon(1e-6));
  CHECK(graphed_eval.at("accuracy") >= 0.9);
  check_same_weights(graphed, eager);
}

TEST_CASE("CUDA graphs: weights that move are recaptured", "[gpu][graphs]") {
  FITRUN_REQUIRE_GPU();
  const Tensor x = Tensor::uniform({32, 8, 8, 1}, 0.f, 1.f, 3);
  Tensor y({32}, DType::int32);
  for (int64_t i = 0; i < 32; ++i) y.data<int32_t>()[i] = static_cast<int32_t>(i % 10);
  auto run = [&](bool jit) {
    Sequential m = digits_cnn(jit);
    m.to(kGpu);
    for (int i = 0; i < 4; ++i) m.train_step({x}, {y});
    m.to(Device::cpu());  // the weights get new device buffers on the way back
    m.to(kGpu);
    for (int i = 0; i < 4; ++i) m.train_step({x}, {y});
    return m;
  };
  Sequential graphed = run(true), eager = run(false);
  // Two eager steps, a capture, a replay; after the move, the same again.
  CHECK(graphed.cuda_graph_replays() == 4);
  check_same_weights(graphed, eager);
}

TEST_CASE("CUDA graphs: a step that cannot be captured runs eagerly and says why",
          "[gpu][graphs]") {
  FITRUN_REQUIRE_GPU();
  const Tensor x = Tensor::normal({16, 6}, 0.f, 1.f, 7);
  const Tensor y = Tensor::normal({16, 3}, 0.f, 1.f, 8);
  set_seed(5);
  clear_session();
  DenseOptions noisy;
  noisy.activity_regularizer = regularizers::L2(0.01);
  Sequential m({Input({6}), Dense(8, "relu", noisy), Dense(3)});
  m.compile("adam", "mse");
  m.to(kGpu);
  for (int i = 0; i < 5; ++i) m.train_step({x}, {y});
  CHECK(m.cuda_graph_replays() == 0);
  CHECK(m.cuda_graph_refusal() == "layer \"dense\" has an activity regularizer");
}
