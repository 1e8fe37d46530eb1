// Embedding and Masking, and Keras masks flowing through a model: padded timesteps change
// neither an RNN's output nor a masked average.
#include <catch2/catch.hpp>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/embedding.hpp>
#include <fitrun/layers/masking.hpp>
#include <fitrun/layers/recurrent.hpp>

#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using layer_test::check_close;

namespace {
/// Copies every weight of `from` into the layer of the same class in `to`.
void copy_weights(const Model& from, const Model& to) {
  for (const auto& l : from.layers())
    for (const auto& m : to.layers())
      if (m->class_name() == l->class_name())
        for (size_t k = 0; k < l->weights().size(); ++k)
          m->weights()[k]->value.copy_from(l->weights()[k]->value);
}
}  // namespace

TEST_CASE("Embedding gathers rows and scatters their gradients", "[sequence][embedding]") {
  Embedding emb(4, 2);
  const Tensor ids = Tensor::from_vector({1, 3, 1, 0}, {2, 2});
  emb.ensure_built({ids.shape()});
  emb.embeddings()->value.copy_from(Tensor::from_vector({0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f}, {4, 2}));
  CallContext ctx;
  const Tensor y = layer_test::forward(emb, {ids}, ctx);
  CHECK(y.shape() == Shape{2, 2, 2});
  CHECK(y.to_vector() == std::vector<float>{2, 3, 6, 7, 2, 3, 0, 1});
  // Id 1 appears twice: its row's gradient is the sum of both.
  const Tensor dy = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f}, {2, 2, 2});
  emb.backward(ctx, {&ids}, y, dy, {nullptr});
  CHECK(emb.embeddings()->grad.to_vector() == std::vector<float>{7, 8, 6, 8, 0, 0, 3, 4});
  layer_test::require_gradients(emb, {ids});
  // Float ids (Keras casts) work too.
  CHECK(layer_test::forward(emb, {ids.astype(DType::float32)}).to_vector() == y.to_vector());
  CHECK_THROWS_WITH(layer_test::forward(emb, {Tensor::from_vector({1, 4}, {1, 2})}),
                    "layer \"" + emb.name() + "\" (Embedding): id 4 is outside [0, input_dim = 4)");
  CHECK_THROWS_WITH(Embedding(0, 3), "Embedding: input_dim must be a positive integer, got 0");
}

TEST_CASE("Masking zeroes and masks the timesteps equal to mask_value", "[sequence][mask]") {
  Masking m(-1.f);
  const Tensor x = Tensor::from_vector({1.f, -1.f, -1.f, -1.f, -1.f, 2.f}, {1, 3, 2});
  CallContext ctx;
  const Tensor y = layer_test::forward(m, {x}, ctx);
  CHECK(y.to_vector() == std::vector<float>{1, -1, 0, 0, -1, 2});
  Tensor mask({1, 3});
  m.compute_mask(ctx, {&x}, mask);
  CHECK(mask.to_vector() == std::vector<float>{1, 0, 1});
  const auto dx = layer_test::backward(m, {x}, Tensor::ones({1, 3, 2}));
  CHECK(dx[0].to_vector() == std::vector<float>{1, 1, 0, 0, 1, 1});
  // Away from mask_value, where the output is smooth.
  layer_test::require_gradients(m, {Tensor::uniform({2, 3, 2}, 0.f, 1.f, 5)});
}

TEST_CASE("a zero-padded sequence gives the same prediction as the unpadded one", "[sequence][mask]") {
  set_seed(21);
  // Embedding(mask_zero) -> Dense (passes the mask on) -> LSTM, at two sequence lengths that
  // share weights.
  auto build = [](int64_t steps) {
    KerasTensor in = Input({steps}, {.dtype = DType::int32});
    KerasTensor h = Embedding(10, 4, {.mask_zero = true})(in);
    h = Dense(5, "tanh")(h);
    h = LSTM(3)(h);
    return Model(in, h);
  };
  Model padded = build(6), plain = build(3);
  copy_weights(padded, plain);
  const Tensor x_pad = Tensor::from_vector({3, 0, 5, 2, 0, 0, 7, 1, 1, 0, 0, 0}, {2, 6});
  const Tensor x_plain = Tensor::from_vector({3, 5, 2, 7, 1, 1}, {2, 3});
  const Tensor a = padded.predict(x_pad)[0], b = plain.predict(x_plain)[0];
  check_close(a, layer_test::to_doubles(b), 1e-5, 1e-6);
  // Without the mask the padding would matter.
  KerasTensor in = Input({6}, {.dtype = DType::int32});
  Model unmasked(in, LSTM(3)(Dense(5, "tanh")(Embedding(10, 4)(in))));
  copy_weights(padded, unmasked);
  CHECK(std::abs(unmasked.predict(x_pad)[0].flat(0) - a.flat(0)) > 1e-4);
}

TEST_CASE("GlobalAveragePooling1D averages only the unmasked steps", "[sequence][mask]") {
  KerasTensor in = Input({4}, {.dtype = DType::int32});
  auto emb = fitrun::shared(Embedding(5, 2, {.mask_zero = true}));
  Model model(in, GlobalAveragePooling1D()(emb(in)));
  const Tensor x = Tensor::from_vector({1, 2, 0, 0, 4, 0, 4, 3}, {2, 4});
  const Tensor y = model.predict(x)[0];
  const Tensor& w = emb->embeddings()->value;
  auto e = [&](int id, int k) { return w.at({id, k}); };
  check_close(y, {(e(1, 0) + e(2, 0)) / 2, (e(1, 1) + e(2, 1)) / 2,
                  (2 * e(4, 0) + e(3, 0)) / 3, (2 * e(4, 1) + e(3, 1)) / 3});
  // Its gradient goes to the unmasked steps only: ids 0 get nothing.
  model.compile("sgd", "mse");
  model.train_on_batch(x, Tensor::ones({2, 2}));
  CHECK(emb->embeddings()->grad.at({0, 0}) == 0.0);
  CHECK(emb->embeddings()->grad.at({1, 0}) != 0.0);
}

TEST_CASE("Embedding and Masking configs round-trip", "[sequence][config]") {
  Embedding emb(100, 8, {.mask_zero = true, .name = "tok"});
  const json c = emb.get_config();
  CHECK(c["mask_zero"] == true);
  CHECK(c["embeddings_initializer"]["class_name"] == "RandomUniform");
  CHECK(layer_from_config("Embedding", c)->get_config() == c);
  Masking m(0.5f);
  CHECK(layer_from_config("Masking", m.get_config())->get_config() == m.get_config());
  json bad = c;
  bad["input_dim"] = 0;
  CHECK_THROWS_WITH(layer_from_config("Embedding", bad),
                    Catch::Contains("input_dim: expected a positive integer"));
}
