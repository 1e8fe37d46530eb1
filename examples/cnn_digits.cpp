// A small convolutional network on the UCI handwritten digits, reshaped to 8x8x1 images:
// Conv2D, BatchNormalization, pooling and Dense, trained with Keras' API.
// Run from the repository root: build/examples/cnn_digits [path/to/digits.csv.gz]
#include <fitrun/fitrun.hpp>

#include <cstdio>

using namespace fitrun;
using namespace fitrun::layers;

int main(int argc, char** argv) try {
  const std::string path = argc > 1 ? argv[1] : "examples/data/digits.csv.gz";
  set_seed(42);
  std::printf("%s\n", build_info().c_str());

  auto data = datasets::load_csv(path);
  ops::scale(data.x, 1.f / 16.f, data.x);
  auto [train, test] = datasets::train_test_split(data, 0.2, /*seed=*/7);
  // (n, 64) rows of pixels as (n, height, width, channels) images: channels_last, as Keras.
  const Tensor train_x = train.x.reshape({train.x.dim(0), 8, 8, 1});
  const Tensor test_x = test.x.reshape({test.x.dim(0), 8, 8, 1});

  Sequential model({
      Input({8, 8, 1}),
      Conv2D(16, 3, "", {.padding = "same"}),
      BatchNormalization(),
      Activation("relu"),
      MaxPooling2D(2),
      Conv2D(32, 3, "relu", {.padding = "same"}),
      MaxPooling2D(2),
      Flatten(),
      Dense(64, "relu"),
      Dense(10),
  }, "digits_cnn");
  model.summary();

  model.compile(optimizers::Adam({.learning_rate = 3e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  model.fit(train_x, train.y, {.batch_size = 32, .epochs = 15, .validation_split = 0.1});

  Logs result = model.evaluate(test_x, test.y, {.verbose = 0});
  std::printf("test loss %.4f - test accuracy %.4f\n", result["loss"], result["accuracy"]);
  return result["accuracy"] >= 0.97 ? 0 : 1;
} catch (const fitrun::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
