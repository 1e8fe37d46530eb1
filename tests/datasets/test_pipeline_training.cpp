// A model learns from a Dataset pipeline: UCI digits through shuffle, map, batch and prefetch,
// trained with train_on_batch, reach the accuracy of fit() on tensors.
#include <catch2/catch.hpp>
#include <fitrun/fitrun.hpp>

using namespace fitrun;
using namespace fitrun::layers;
using namespace fitrun::datasets;

TEST_CASE("an MLP learns UCI digits from a shuffled prefetched Dataset", "[datasets][learning]") {
  set_seed(3);
  clear_session();
  auto data = load_csv(std::string(FITRUN_SOURCE_DIR) + "/examples/data/digits.csv.gz");
  auto [train, test] = train_test_split(data, 0.2, 7);
  auto pipeline = Dataset::from_tensors(train.x, train.y)
                      .shuffle(2000, 5)
                      .map(augment::rescale(1.f / 16))
                      .batch(32)
                      .prefetch(2);
  CHECK(pipeline.cardinality() == (train.y.dim(0) + 31) / 32);
  Sequential model({Input({64}), Dense(64, "relu"), Dense(10)});
  model.compile(optimizers::Adam({.learning_rate = 3e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  for (int epoch = 0; epoch < 8; ++epoch) {
    auto it = pipeline.iterate();
    Element batch;
    while (it.next(batch)) model.train_on_batch(batch.x, batch.y);
  }
  Tensor x_test = test.x.clone();
  ops::scale(x_test, 1.f / 16, x_test);
  Logs result = model.evaluate(x_test, test.y, {.verbose = 0});
  INFO("test accuracy " << result["accuracy"]);
  CHECK(result["accuracy"] >= 0.93);
}
