// Training under the mixed_bfloat16 policy on the CPU: a digits MLP and CNN reach the float32
// accuracy bar, and the steady-state step still allocates nothing (bfloat16 copies live in
// buffers the cached primitives own).
#include <catch2/catch.hpp>

#include "mixed_precision_helpers.hpp"
#include "model/helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;

namespace {
Tensor as_images(const Tensor& x) { return x.reshape({x.dim(0), 8, 8, 1}); }

/// Keras' mixed-precision recipe: every layer in the policy, the logits layer in float32.
Sequential mixed_digits_cnn() {
  mixed_precision::PolicyScope scope("mixed_bfloat16");
  ConvOptions same;
  same.padding = "same";
  return Sequential({Input({8, 8, 1}), Conv2D(16, 3, "relu", same), MaxPooling2D(2),
                     Conv2D(32, 3, "relu", same), MaxPooling2D(2), Flatten(),
                     Dense(64, "relu"), Dense(10).with_dtype_policy("float32")});
}
}  // namespace

TEST_CASE("a digits CNN trained under mixed_bfloat16 reaches >= 0.93 held-out accuracy",
          "[model][learning][mixed_precision]") {
  if (!fitrun_test::cpu_has_bfloat16()) return;
  set_seed(4);
  clear_session();
  auto [train, test] = fitrun_test::digits();
  Sequential model = mixed_digits_cnn();
  CHECK(model.get_layer("conv2d")->compute_dtype() == ComputeDType::bfloat16);
  model.compile(optimizers::Adam({.learning_rate = 3e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  auto& history =
      model.fit(as_images(train.x), train.y, {.batch_size = 32, .epochs = 10, .verbose = 0});
  CHECK(history.history["loss"].back() < 0.5 * history.history["loss"].front());
  Logs result = model.evaluate(as_images(test.x), test.y, {.verbose = 0});
  INFO("test accuracy " << result["accuracy"]);
  CHECK(result["accuracy"] >= 0.93);
}

TEST_CASE("the steady-state mixed_bfloat16 train step creates no tensors",
          "[model][performance][mixed_precision]") {
  if (!fitrun_test::cpu_has_bfloat16()) return;
  set_seed(5);
  Sequential model = mixed_digits_cnn();
  model.compile("adam", losses::SparseCategoricalCrossentropy({.from_logits = true}));
  const TensorList x = Tensor::normal({32, 8, 8, 1});
  const TensorList y = Tensor::zeros({32}, DType::int32);
  model.train_on_batch(x, y);
  model.train_step(x, y);
  const int64_t storages = debug::storage_allocations();
  for (int i = 0; i < 5; ++i) model.train_step(x, y);
  CHECK(debug::storage_allocations() == storages);
}

TEST_CASE("float16 compute is refused on the CPU, naming the op", "[model][mixed_precision]") {
  Tensor x = Tensor::normal({2, 3}), k = Tensor::normal({3, 4}), y({2, 4});
  CHECK(ops::compute_supported(ComputeDType::float32, Device::cpu()));
  CHECK(!ops::compute_supported(ComputeDType::float16, Device::cpu()));
  CHECK_THROWS_WITH(
      ops::dense_forward(x, k, Tensor(), ActivationFn::linear, y, ComputeDType::float16),
      "dense_forward: float16 compute (mixed_float16) is not supported on the CPU");
}
