// Training throughput of LSTM(128) over 50 timesteps of 32 features, then Dense(10) (Adam,
// sparse CE from logits), batch 64; compare with PyTorch through bench/compare.py lstm:64.
#include "train_throughput.hpp"

using namespace fitrun;
using namespace fitrun::layers;

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv, {.batch = 64, .steps = 10});
  set_seed(0);
  Sequential model({Input({50, 32}), LSTM(128), Dense(10)});
  model.compile(optimizers::Adam({.learning_rate = 1e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}));
  bench::measure(model, "lstm", {50, 32}, args);
}
