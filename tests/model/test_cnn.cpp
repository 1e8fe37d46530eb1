// A convolutional network learns real images: UCI digits (8×8×1) through Conv2D,
// BatchNormalization, pooling and Dense reaches >= 0.97 held-out accuracy; and its steady-state
// train step creates no tensors.
#include <catch2/catch.hpp>

#include "model/helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;

namespace {
/// (n, 64) pixel rows as (n, 8, 8, 1) images (a view).
Tensor as_images(const Tensor& x) { return x.reshape({x.dim(0), 8, 8, 1}); }

Sequential digits_cnn() {
  ConvOptions same;
  same.padding = "same";
  return Sequential({Input({8, 8, 1}),
                     Conv2D(16, 3, "", same),
                     BatchNormalization(),
                     Activation("relu"),
                     MaxPooling2D(2),
                     Conv2D(32, 3, "relu", same),
                     MaxPooling2D(2),
                     Flatten(),
                     Dense(64, "relu"),
                     Dense(10)});
}
}  // namespace

TEST_CASE("CNN on UCI digits reaches >= 0.97 held-out accuracy", "[model][learning][cnn]") {
  set_seed(4);
  clear_session();
  auto [train, test] = fitrun_test::digits();
  Sequential model = digits_cnn();
  model.compile(optimizers::Adam({.learning_rate = 3e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  auto& history =
      model.fit(as_images(train.x), train.y, {.batch_size = 32, .epochs = 15, .verbose = 0});
  CHECK(history.history["loss"].back() < history.history["loss"].front());
  Logs result = model.evaluate(as_images(test.x), test.y, {.verbose = 0});
  INFO("test accuracy " << result["accuracy"]);
  CHECK(result["accuracy"] >= 0.97);
  // predict() runs BatchNormalization with its moving statistics: the same answers as evaluate.
  const Tensor logits = model.predict(as_images(test.x), {.batch_size = 64});
  int64_t correct = 0;
  for (int64_t i = 0; i < logits.dim(0); ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < 10; ++k)
      if (logits.at({i, k}) > logits.at({i, best})) best = k;
    correct += best == static_cast<int64_t>(test.y.flat(i));
  }
  CHECK(double(correct) / double(logits.dim(0)) == Approx(result["accuracy"]).margin(1e-6));
}

TEST_CASE("the steady-state CNN train step creates no tensors", "[model][performance][cnn]") {
  set_seed(5);
  Sequential model = digits_cnn();
  model.compile("adam", losses::SparseCategoricalCrossentropy({.from_logits = true}));
  const TensorList x = Tensor::normal({32, 8, 8, 1});
  const TensorList x_last = Tensor::normal({20, 8, 8, 1});  // an epoch's smaller last batch
  const TensorList y = Tensor::zeros({32}, DType::int32);
  const TensorList y_last = Tensor::zeros({20}, DType::int32);
  model.train_on_batch(x, y);  // plans, primitives, workspaces, optimizer slots
  model.train_on_batch(x_last, y_last);
  model.train_step(x, y);
  const int64_t storages = debug::storage_allocations();
  for (int i = 0; i < 5; ++i) {
    model.train_step(x, y);
    model.train_step(x_last, y_last);
  }
  CHECK(debug::storage_allocations() == storages);
}
