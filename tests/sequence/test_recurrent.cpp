// SimpleRNN, LSTM and GRU: forward against a naive double-precision reference of Keras'
// equations, gradient checks, masking invariance, config round trips, and an LSTM/GRU that
// learns UCI digits read row by row.
#include <catch2/catch.hpp>

#include <cmath>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/recurrent.hpp>

#include "layers/layer_test_helpers.hpp"
#include "sequence/rnn_reference.hpp"
#include "model/helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using layer_test::check_close;
using layer_test::require_gradients;
using layer_test::randomize;
using rnn_test::reference;

namespace {

using rnn_test::Case;
using rnn_test::kCases;
using rnn_test::make;

/// Runs forward (and optionally backward) with a mask set on the context.
Tensor run(RNN& l, const Tensor& x, const Tensor* mask, CallContext& ctx) {
  l.ensure_built({x.shape()});
  ctx.input_masks = {mask};
  Tensor y(l.compute_output_shape({x.shape()}));
  l.forward(ctx, {&x}, y);
  return y;
}

}  // namespace

TEST_CASE("recurrent layers match a naive reference of Keras' equations", "[sequence][rnn]") {
  for (const Case& c : kCases) {
    SECTION(c.what) {
      auto l = make(c, 5);
      const Tensor x = Tensor::uniform({3, 4, 6}, -1.f, 1.f, 11);
      l->ensure_built({x.shape()});
      randomize(*l, 20);
      CallContext ctx;
      check_close(run(*l, x, nullptr, ctx), reference(*l, x), 1e-4, 1e-5);
    }
  }
}

TEST_CASE("recurrent layers pass gradient checks", "[sequence][rnn][gradients]") {
  for (const Case& c : kCases) {
    SECTION(c.what) {
      auto l = make(c, 4);
      const Tensor x = Tensor::uniform({2, 3, 5}, -1.f, 1.f, 12);
      l->ensure_built({x.shape()});
      randomize(*l, 30);
      require_gradients(*l, {x}, {.epsilon = 1e-2, .tolerance = 2e-2});
    }
  }
}

TEST_CASE("Keras' weight shapes and the LSTM forget bias", "[sequence][rnn]") {
  LSTM lstm(3);
  lstm.ensure_built({Shape{-1, 7, 2}});
  CHECK(lstm.kernel()->value.shape() == Shape{2, 12});
  CHECK(lstm.recurrent_kernel()->value.shape() == Shape{3, 12});
  CHECK(lstm.bias()->value.to_vector() ==
        std::vector<float>{0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0});
  CHECK(lstm.kernel()->path == lstm.name() + "/lstm_cell/kernel");
  GRU gru(3);
  gru.ensure_built({Shape{-1, 7, 2}});
  CHECK(gru.bias()->value.shape() == Shape{2, 9});
  GRU gru_before(3, {.reset_after = false});
  gru_before.ensure_built({Shape{-1, 7, 2}});
  CHECK(gru_before.bias()->value.shape() == Shape{9});
  // The recurrent kernel starts orthogonal (Keras' default): UᵀU = I per gate block's columns.
  SimpleRNN rnn(4);
  rnn.ensure_built({Shape{-1, 7, 2}});
  const Tensor& U = rnn.recurrent_kernel()->value;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) {
      double dot = 0;
      for (int k = 0; k < 4; ++k) dot += U.at({k, a}) * U.at({k, b});
      CHECK(dot == Approx(a == b ? 1.0 : 0.0).margin(1e-5));
    }
}

TEST_CASE("masked timesteps change neither outputs nor gradients", "[sequence][rnn][mask]") {
  for (const Case& c : kCases) {
    SECTION(c.what) {
      // Sample 0 keeps steps {0, 2, 3}, sample 1 keeps {1}; masked steps hold garbage.
      const Tensor mask = Tensor::from_vector({1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 0.f, 0.f}, {2, 4});
      const Tensor x = Tensor::uniform({2, 4, 3}, -1.f, 1.f, 13);
      auto l = make(c, 4);
      l->ensure_built({x.shape()});
      randomize(*l, 40);
      CallContext ctx;
      const Tensor y = run(*l, x, &mask, ctx);
      check_close(y, reference(*l, x, &mask), 1e-4, 1e-5);
      if (c.return_sequences) continue;
      // The same samples with the masked steps removed give the same output and gradients.
      const std::vector<std::vector<int64_t>> kept = {{0, 2, 3}, {1}};
      const Tensor dy = Tensor::uniform(y.shape(), -1.f, 1.f, 14);
      Tensor dx(x.shape());
      l->backward(ctx, {&x}, y, dy, {&dx});
      std::vector<Tensor> grads;
      for (auto& w : l->weights()) grads.push_back(w->grad.clone());
      for (int64_t i = 0; i < 2; ++i) {
        for (int64_t t = 0; t < 4; ++t)
          if (mask.at({i, t}) == 0)
            for (int64_t k = 0; k < 3; ++k) CHECK(dx.at({i, t, k}) == 0.0);
      }
      // Sum over the two compact samples of their weight gradients = the masked batch's.
      std::vector<Tensor> sum;
      for (auto& w : l->weights()) sum.push_back(Tensor::zeros(w->value.shape()));
      for (int64_t i = 0; i < 2; ++i) {
        const auto& steps = kept[static_cast<size_t>(i)];
        Tensor xi({1, static_cast<int64_t>(steps.size()), 3});
        for (size_t s = 0; s < steps.size(); ++s)
          for (int64_t k = 0; k < 3; ++k)
            xi.data<float>()[s * 3 + k] = static_cast<float>(x.at({i, steps[s], k}));
        auto li = make(c, 4);
        li->ensure_built({xi.shape()});
        for (size_t w = 0; w < li->weights().size(); ++w)
          li->weights()[w]->value.copy_from(l->weights()[w]->value);
        CallContext ci;
        const Tensor yi = run(*li, xi, nullptr, ci);
        for (int64_t k = 0; k < 4; ++k) CHECK(yi.flat(k) == Approx(y.at({i, k})).margin(1e-6));
        Tensor dyi = dy.slice(i, i + 1).clone();
        Tensor dxi(xi.shape());
        li->backward(ci, {&xi}, yi, dyi, {&dxi});
        for (size_t w = 0; w < sum.size(); ++w) ops::add_inplace(sum[w], li->weights()[w]->grad);
      }
      for (size_t w = 0; w < sum.size(); ++w)
        check_close(grads[w], layer_test::to_doubles(sum[w]), 1e-4, 1e-6);
    }
  }
}

TEST_CASE("recurrent configs round-trip and reject what is not implemented", "[sequence][rnn][config]") {
  LSTM lstm(7, {.recurrent_activation = "relu", .unit_forget_bias = false,
                .return_sequences = true, .go_backwards = true, .name = "enc"});
  const json c = lstm.get_config();
  auto back = layer_from_config("LSTM", c);
  CHECK(back->get_config() == c);
  CHECK(c["units"] == 7);
  CHECK(c["recurrent_activation"] == "relu");
  GRU gru(2, {.reset_after = false});
  CHECK(layer_from_config("GRU", gru.get_config())->get_config() == gru.get_config());
  SimpleRNN rnn(3, {.activation = "relu"});
  CHECK(layer_from_config("SimpleRNN", rnn.get_config())->get_config() == rnn.get_config());
  json with_state = c;
  with_state["return_state"] = true;
  LayerPtr stateful_out = layer_from_config("LSTM", with_state);
  CHECK(stateful_out->num_outputs() == 3);
  CHECK(stateful_out->get_config() == with_state);
  json bad = c;
  bad["time_major"] = true;
  CHECK_THROWS_WITH(layer_from_config("LSTM", bad), Catch::Contains("time_major"));
  CHECK_THROWS_WITH(LSTM(4, {.activation = "softmax"}),
                    "recurrent layers: activation \"softmax\" is not supported (tanh, sigmoid, "
                    "relu, linear, elu, softplus, swish)");
  CHECK_THROWS_WITH(LSTM(0), "recurrent layer: units must be a positive integer, got 0");
}

TEST_CASE("LSTM and GRU read UCI digits row by row to >= 0.95 accuracy", "[sequence][rnn][learning]") {
  auto [train, test] = fitrun_test::digits();
  auto rows = [](const Tensor& x) { return x.reshape({x.dim(0), 8, 8}); };
  for (int kind = 0; kind < 2; ++kind) {
    SECTION(kind == 0 ? "LSTM" : "GRU") {
      set_seed(3);
      clear_session();
      Sequential model({Input({8, 8}),
                        kind == 0 ? LayerRef(LSTM(48)) : LayerRef(GRU(32)),
                        Dense(10)});
      model.compile(optimizers::Adam({.learning_rate = 1e-2}),
                    losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
      model.fit(rows(train.x), train.y, {.batch_size = 32, .epochs = 12, .verbose = 0});
      Logs r = model.evaluate(rows(test.x), test.y, {.verbose = 0});
      INFO("test accuracy " << r["accuracy"]);
      CHECK(r["accuracy"] >= 0.95);
    }
  }
}
