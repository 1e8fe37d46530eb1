// MultiHeadAttention against a naive double-precision reference (with query/value masks and
// the causal mask), gradient checks, config round trip, and a tiny Transformer encoder that
// learns to sort digits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/attention.hpp>
#include <fitrun/layers/embedding.hpp>

#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using layer_test::check_close;

using layer_test::randomize;

namespace {

/// Keras' MultiHeadAttention in double precision, head by head.
std::vector<double> reference(const MultiHeadAttention& l, const Tensor& q, const Tensor& v,
                              const Tensor* qmask, const Tensor* vmask, bool causal) {
  const auto w = l.weights();  // query k, b, key k, b, value k, b, output k, b
  const Tensor &Wq = w[0]->value, &bq = w[1]->value, &Wk = w[2]->value, &bk = w[3]->value,
               &Wv = w[4]->value, &bv = w[5]->value, &Wo = w[6]->value, &bo = w[7]->value;
  const int64_t n = q.dim(0), tq = q.dim(1), tv = v.dim(1), H = l.num_heads(),
                kd = l.key_dim(), vd = l.value_dim(), out = Wo.dim(2);
  std::vector<double> y(static_cast<size_t>(n * tq * out));
  for (int64_t b = 0; b < n; ++b) {
    std::vector<double> concat(static_cast<size_t>(tq * H * vd), 0.0);
    for (int64_t h = 0; h < H; ++h) {
      auto proj = [&](const Tensor& x, int64_t t, const Tensor& W, const Tensor& B, int64_t d) {
        double s = B.at({h, d});
        for (int64_t f = 0; f < x.dim(2); ++f) s += x.at({b, t, f}) * W.at({f, h, d});
        return s;
      };
      for (int64_t i = 0; i < tq; ++i) {
        std::vector<double> score(static_cast<size_t>(tv));
        for (int64_t j = 0; j < tv; ++j) {
          double s = 0;
          for (int64_t d = 0; d < kd; ++d) s += proj(q, i, Wq, bq, d) * proj(v, j, Wk, bk, d);
          s /= std::sqrt(double(kd));
          const bool keep = (!qmask || qmask->at({b, i}) != 0) &&
                            (!vmask || vmask->at({b, j}) != 0) && (!causal || j <= i);
          // In float32, s - 1e9 rounds to -1e9: a fully masked row attends uniformly (Keras).
          score[j] = keep ? s : -1e9;
        }
        const double m = *std::max_element(score.begin(), score.end());
        double z = 0;
        for (double& s : score) z += (s = std::exp(s - m));
        for (int64_t d = 0; d < vd; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < tv; ++j) acc += score[j] / z * proj(v, j, Wv, bv, d);
          concat[(i * H + h) * vd + d] = acc;
        }
      }
    }
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t o = 0; o < out; ++o) {
        double s = bo.flat(o);
        for (int64_t h = 0; h < H; ++h)
          for (int64_t d = 0; d < vd; ++d) s += concat[(i * H + h) * vd + d] * Wo.at({h, d, o});
        y[(b * tq + i) * out + o] = s;
      }
  }
  return y;
}

}  // namespace

TEST_CASE("MultiHeadAttention matches a naive reference with masks", "[sequence][attention]") {
  const Tensor q = Tensor::uniform({2, 3, 5}, -1.f, 1.f, 1);
  const Tensor v = Tensor::uniform({2, 4, 6}, -1.f, 1.f, 2);
  SECTION("cross attention with query and value masks") {
    MultiHeadAttention mha(2, 3, {.value_dim = 4});
    mha.ensure_built({q.shape(), v.shape()});
    randomize(mha, 10);
    CHECK(mha.weights()[0]->value.shape() == Shape{5, 2, 3});
    CHECK(mha.weights()[4]->value.shape() == Shape{6, 2, 4});
    CHECK(mha.weights()[6]->value.shape() == Shape{2, 4, 5});
    CHECK(mha.weights()[0]->path == mha.name() + "/query/kernel");
    const Tensor qm = Tensor::from_vector({1.f, 1.f, 0.f, 1.f, 1.f, 1.f}, {2, 3});
    const Tensor vm = Tensor::from_vector({1.f, 0.f, 1.f, 1.f, 1.f, 1.f, 1.f, 0.f}, {2, 4});
    CallContext plain;
    check_close(layer_test::forward(mha, {q, v}, plain), reference(mha, q, v, nullptr, nullptr, false),
                1e-4, 1e-5);
    CallContext masked;
    masked.input_masks = {&qm, &vm};
    check_close(layer_test::forward(mha, {q, v}, masked), reference(mha, q, v, &qm, &vm, false),
                1e-4, 1e-5);
  }
  SECTION("causal self attention") {
    MultiHeadAttention mha(3, 2, {.use_causal_mask = true});
    mha.ensure_built({v.shape(), v.shape()});
    randomize(mha, 20);
    CallContext ctx;
    check_close(layer_test::forward(mha, {v, v}, ctx), reference(mha, v, v, nullptr, nullptr, true),
                1e-4, 1e-5);
  }
}

TEST_CASE("MultiHeadAttention passes gradient checks", "[sequence][attention][gradients]") {
  const Tensor q = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 3);
  const Tensor v = Tensor::uniform({2, 5, 3}, -1.f, 1.f, 4);
  SECTION("query and value") {
    MultiHeadAttention mha(2, 3);
    mha.ensure_built({q.shape(), v.shape()});
    randomize(mha, 30);
    layer_test::require_gradients(mha, {q, v});
  }
  SECTION("separate key and causal") {
    const Tensor kq = Tensor::uniform({2, 3, 2}, -1.f, 1.f, 6);
    MultiHeadAttention mha2(2, 2, {.value_dim = 3, .output_shape = 6, .use_causal_mask = true});
    mha2.ensure_built({q.shape(), q.shape(), kq.shape()});
    randomize(mha2, 40);
    layer_test::require_gradients(mha2, {q, q, kq});
  }
}

TEST_CASE("MultiHeadAttention config round-trips and errors name the fault", "[sequence][attention][config]") {
  MultiHeadAttention mha(4, 16, {.value_dim = 8, .dropout = 0.1f, .output_shape = 32,
                                 .use_causal_mask = true, .name = "mha"});
  const json c = mha.get_config();
  CHECK(c["num_heads"] == 4);
  CHECK(c["output_shape"] == 32);
  CHECK(layer_from_config("MultiHeadAttention", c)->get_config() == c);
  json bad = c;
  // [1], what Keras 3's to_json() writes for (batch, steps, features) inputs, is the default.
  bad["attention_axes"] = json::array({1});
  CHECK(layer_from_config("MultiHeadAttention", bad)->get_config() == c);
  bad["attention_axes"] = json::array({1, 2});
  CHECK_THROWS_WITH(layer_from_config("MultiHeadAttention", bad), Catch::Contains("attention_axes"));
  MultiHeadAttention m(2, 4);
  CHECK_THROWS_WITH(m.compute_output_shape({Shape{-1, 3, 4}, Shape{-1, 5, 4}, Shape{-1, 6, 4}}),
                    Catch::Contains("key and value must have the same number of steps"));
}

namespace {
/// One Transformer encoder block (post-norm, as in "Attention is all you need").
KerasTensor encoder_block(const KerasTensor& x, int64_t d_model, int64_t heads, int64_t ff) {
  KerasTensor a = MultiHeadAttention(heads, d_model / heads)({x, x});
  KerasTensor h = LayerNormalization()(Add()({x, a}));
  KerasTensor f = Dense(d_model)(Dense(ff, "relu")(h));
  return LayerNormalization()(Add()({h, f}));
}
}  // namespace

TEST_CASE("a tiny Transformer encoder learns to sort digits", "[sequence][attention][learning]") {
  set_seed(8);
  clear_session();
  constexpr int64_t kSteps = 5, kSamples = 2048;
  // Sequences of 5 digits; the target at position i is the i-th smallest digit.
  Generator gen(99);
  Tensor x({kSamples, kSteps}, DType::int32), pos({kSamples, kSteps}, DType::int32),
      y({kSamples, kSteps}, DType::int32);
  for (int64_t s = 0; s < kSamples; ++s) {
    std::vector<int32_t> v(kSteps);
    for (auto& d : v) d = static_cast<int32_t>(gen.uniform() * 10) % 10;
    for (int64_t i = 0; i < kSteps; ++i) {
      x.data<int32_t>()[s * kSteps + i] = v[i];
      pos.data<int32_t>()[s * kSteps + i] = static_cast<int32_t>(i);
    }
    std::sort(v.begin(), v.end());
    for (int64_t i = 0; i < kSteps; ++i) y.data<int32_t>()[s * kSteps + i] = v[i];
  }
  KerasTensor tokens = Input({kSteps}, {.dtype = DType::int32});
  KerasTensor positions = Input({kSteps}, {.dtype = DType::int32});
  KerasTensor h = Add()({Embedding(10, 32)(tokens), Embedding(kSteps, 32)(positions)});
  h = encoder_block(h, 32, 4, 64);
  Model model({tokens, positions}, Dense(10)(h));
  model.compile(optimizers::Adam({.learning_rate = 3e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  const int64_t train = kSamples * 3 / 4;
  model.fit({x.slice(0, train), pos.slice(0, train)}, y.slice(0, train),
            {.batch_size = 64, .epochs = 25, .verbose = 0});
  Logs r = model.evaluate({x.slice(train, kSamples), pos.slice(train, kSamples)},
                          y.slice(train, kSamples), {.verbose = 0});
  INFO("held-out per-digit accuracy " << r["accuracy"]);
  CHECK(r["accuracy"] >= 0.95);
}
