// Training throughput of the MLP 784-512-512-10 (ReLU, Adam, sparse CE from logits) on random
// data; compare with PyTorch through bench/compare.py.
#include "train_throughput.hpp"

using namespace fitrun;
using namespace fitrun::layers;

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv, {.batch = 128, .steps = 50});
  set_seed(0);
  Sequential model({Input({784}), Dense(512, "relu"), Dense(512, "relu"), Dense(10)});
  model.compile(optimizers::Adam({.learning_rate = 1e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}));
  bench::measure(model, "mlp", {784}, args);
}
