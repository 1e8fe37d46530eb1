// Training throughput of a 2-layer Transformer encoder (d_model 128, 4 heads, feed-forward
// 256, post-norm, no dropout) over 64 steps, mean-pooled into Dense(10), batch 32; compare with
// PyTorch's nn.TransformerEncoder through bench/compare.py transformer:32.
#include "train_throughput.hpp"

using namespace fitrun;
using namespace fitrun::layers;

namespace {
KerasTensor encoder_block(const KerasTensor& x) {
  // PyTorch's LayerNorm epsilon is 1e-5.
  LayerNormalizationOptions ln{.epsilon = 1e-5f};
  KerasTensor a = MultiHeadAttention(4, 32)({x, x});
  KerasTensor h = LayerNormalization(ln)(Add()({x, a}));
  KerasTensor f = Dense(128)(Dense(256, "relu")(h));
  return LayerNormalization(ln)(Add()({h, f}));
}
}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv, {.batch = 32, .steps = 5});
  set_seed(0);
  KerasTensor in = Input({64, 128});
  KerasTensor h = encoder_block(encoder_block(in));
  Model model(in, Dense(10)(GlobalAveragePooling1D()(h)));
  model.compile(optimizers::Adam({.learning_rate = 1e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}));
  bench::measure(model, "transformer", {64, 128}, args);
}
