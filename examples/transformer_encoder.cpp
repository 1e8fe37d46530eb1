// A Transformer encoder built with the functional API from Embedding, MultiHeadAttention,
// LayerNormalization, Add and Dense: it learns to sort sequences of five digits (the target at
// position i is the i-th smallest digit). Run: build/examples/transformer_encoder
#include <fitrun/fitrun.hpp>

#include <algorithm>
#include <cstdio>

using namespace fitrun;
using namespace fitrun::layers;

/// One encoder block (post-norm): self-attention and a feed-forward network, each with a
/// residual connection and layer normalization.
KerasTensor encoder_block(const KerasTensor& x, int64_t d_model, int64_t heads, int64_t ff) {
  KerasTensor attention = MultiHeadAttention(heads, d_model / heads)({x, x});
  KerasTensor h = LayerNormalization()(Add()({x, attention}));
  KerasTensor f = Dense(d_model)(Dense(ff, "relu")(h));
  return LayerNormalization()(Add()({h, f}));
}

int main() try {
  set_seed(8);
  constexpr int64_t kSteps = 5, kSamples = 4096, kModel = 32;
  Generator gen(99);
  Tensor x({kSamples, kSteps}, DType::int32), pos({kSamples, kSteps}, DType::int32),
      y({kSamples, kSteps}, DType::int32);
  for (int64_t s = 0; s < kSamples; ++s) {
    std::vector<int32_t> v(kSteps);
    for (auto& d : v) d = static_cast<int32_t>(gen.uniform() * 10) % 10;
    for (int64_t i = 0; i < kSteps; ++i) {
      x.data<int32_t>()[s * kSteps + i] = v[i];
      pos.data<int32_t>()[s * kSteps + i] = static_cast<int32_t>(i);  // learned positions
    }
    std::sort(v.begin(), v.end());
    for (int64_t i = 0; i < kSteps; ++i) y.data<int32_t>()[s * kSteps + i] = v[i];
  }

  KerasTensor tokens = Input({kSteps}, {.name = "tokens", .dtype = DType::int32});
  KerasTensor positions = Input({kSteps}, {.name = "positions", .dtype = DType::int32});
  KerasTensor h = Add()({Embedding(10, kModel)(tokens), Embedding(kSteps, kModel)(positions)});
  h = encoder_block(h, kModel, 4, 64);
  h = encoder_block(h, kModel, 4, 64);
  Model model({tokens, positions}, Dense(10)(h), "sorter");
  model.summary();
  model.compile(optimizers::Adam({.learning_rate = 3e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  const int64_t train = kSamples * 3 / 4;
  model.fit({x.slice(0, train), pos.slice(0, train)}, y.slice(0, train),
            {.batch_size = 64, .epochs = 10});
  Logs r = model.evaluate({x.slice(train, kSamples), pos.slice(train, kSamples)},
                          y.slice(train, kSamples), {.verbose = 0});
  std::printf("held-out per-digit accuracy: %.4f\n", r["accuracy"]);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
