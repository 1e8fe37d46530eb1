// The main example: an MLP on the UCI handwritten digits (8x8 images), trained with Keras'
// API. Run from the repository root: build/examples/mlp_digits [path/to/digits.csv.gz]
#include <fitrun/fitrun.hpp>

#include <cstdio>

using namespace fitrun;
using namespace fitrun::layers;

int main(int argc, char** argv) try {
  const std::string path = argc > 1 ? argv[1] : "examples/data/digits.csv.gz";
  set_seed(42);
  std::printf("%s\n", build_info().c_str());

  // 1797 images, 64 grey levels 0..16 each, label 0..9; hold out 20% for the final test.
  auto data = datasets::load_csv(path);
  ops::scale(data.x, 1.f / 16.f, data.x);
  auto [train, test] = datasets::train_test_split(data, 0.2, /*seed=*/7);

  Sequential model({
      Input({64}),
      Dense(128, "relu"),
      Dropout(0.1f),
      Dense(64, "relu"),
      Dense(10),
  }, "digits_mlp");
  model.summary();

  model.compile(optimizers::Adam({.learning_rate = 3e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  model.fit(train.x, train.y, {.batch_size = 32, .epochs = 15, .validation_split = 0.1});

  Logs result = model.evaluate(test.x, test.y, {.verbose = 0});
  std::printf("test loss %.4f - test accuracy %.4f\n", result["loss"], result["accuracy"]);
  return result["accuracy"] >= 0.95 ? 0 : 1;
} catch (const fitrun::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
