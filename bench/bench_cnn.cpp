// Training throughput of the CNN conv32(3x3, relu) - maxpool2 - conv64(3x3, relu) - maxpool2 -
// flatten - dense128(relu) - dense10 on 28x28x1 images (Adam, sparse CE from logits) on random
// data; compare with PyTorch through bench/compare.py.
//   --plain-weights 1   convolve with the Keras (hwio) kernel layout instead of oneDNN's own
#include "train_throughput.hpp"

using namespace fitrun;
using namespace fitrun::layers;

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv, {.batch = 64, .steps = 30});
  if (args.plain_weights) ops::set_conv_plain_weights(true);
  set_seed(0);
  Sequential model({Input({28, 28, 1}), Conv2D(32, 3, "relu"), MaxPooling2D(2),
                    Conv2D(64, 3, "relu"), MaxPooling2D(2), Flatten(), Dense(128, "relu"),
                    Dense(10)});
  model.compile(optimizers::Adam({.learning_rate = 1e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}));
  bench::measure(model, "cnn", {28, 28, 1}, args,
                 std::string("\"conv_weights\": \"") + (args.plain_weights ? "hwio" : "onednn") +
                     "\", ");
}
