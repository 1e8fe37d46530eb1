// stateful=True: a batch continues from the state the previous one ended with, until
// reset_states(); gradients with a carried (nonzero) initial state.
#include <catch2/catch.hpp>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/bidirectional.hpp>
#include <fitrun/layers/recurrent.hpp>

#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;

namespace {

std::shared_ptr<RNN> make(int kind, RNNOptions o) {
  if (kind == 0) return std::make_shared<SimpleRNN>(3, o);
  if (kind == 1) return std::make_shared<LSTM>(3, o);
  return std::make_shared<GRU>(3, o);
}

/// Timesteps [a, b) of x (N, T, F).
Tensor steps_of(const Tensor& x, int64_t a, int64_t b) {
  Tensor out({x.dim(0), b - a, x.dim(2)});
  for (int64_t i = 0; i < x.dim(0); ++i)
    for (int64_t t = a; t < b; ++t)
      for (int64_t k = 0; k < x.dim(2); ++k)
        out.data<float>()[(i * (b - a) + t - a) * x.dim(2) + k] = static_cast<float>(x.at({i, t, k}));
  return out;
}

}  // namespace

TEST_CASE("a stateful layer continues each sample from the previous batch", "[sequence][rnn][stateful]") {
  const Tensor x = Tensor::uniform({2, 6, 3}, -1.f, 1.f, 31);
  const Tensor first = steps_of(x, 0, 4), second = steps_of(x, 4, 6);
  for (int kind = 0; kind < 3; ++kind)
    for (bool seq : {false, true}) {
      DYNAMIC_SECTION("cell " << kind << (seq ? " sequences" : " last")) {
        auto plain = make(kind, {.return_sequences = seq});
        auto stateful = make(kind, {.return_sequences = seq, .stateful = true});
        plain->ensure_built({x.shape()});
        stateful->ensure_built({x.shape()});
        for (size_t w = 0; w < plain->weights().size(); ++w)
          stateful->weights()[w]->value.copy_from(plain->weights()[w]->value);
        const Tensor full = layer_test::forward(*plain, {x});
        const Tensor y1 = layer_test::forward(*stateful, {first});
        const Tensor y2 = layer_test::forward(*stateful, {second});
        const Tensor expect = seq ? steps_of(full, 4, 6) : full;
        layer_test::check_close(y2, layer_test::to_doubles(expect), 1e-6, 1e-6);
        // The batch size is fixed until reset_states(), which starts over from zeros.
        CHECK_THROWS_WITH(layer_test::forward(*stateful, {steps_of(x, 0, 2).slice(0, 1).clone()}),
                          Catch::Contains("stateful: the state holds 2 samples but this batch has 1"));
        stateful->reset_states();
        CHECK(layer_test::forward(*stateful, {first}).to_vector() == y1.to_vector());
      }
    }
}

TEST_CASE("stateful gradients with a carried state match finite differences",
          "[sequence][rnn][stateful][gradients]") {
  const Tensor x = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 32);
  for (int kind = 0; kind < 3; ++kind) {
    DYNAMIC_SECTION("cell " << kind) {
      auto l = make(kind, {.return_sequences = true, .stateful = true});
      layer_test::forward(*l, {x});  // leaves a nonzero state
      const Tensor h0 = l->state_h().clone();
      const Tensor c0 = l->state_c().defined() ? l->state_c().clone() : Tensor();
      auto restore = [&] {
        l->state_h().copy_from(h0);
        if (c0.defined()) l->state_c().copy_from(c0);
      };
      const Tensor dy = Tensor::uniform({2, 3, 3}, -1.f, 1.f, 33);
      auto loss = [&] {
        restore();
        const Tensor y = layer_test::forward(*l, {x});
        double s = 0;
        for (int64_t i = 0; i < y.size(); ++i) s += y.flat(i) * dy.flat(i);
        return s;
      };
      restore();
      CallContext ctx;
      const Tensor y = layer_test::forward(*l, {x}, ctx);
      Tensor dx(x.shape());
      l->backward(ctx, {&x}, y, dy, {&dx});
      for (const auto& w : l->weights()) {
        const Tensor grad = w->grad.clone();
        for (int64_t e = 0; e < w->value.size(); e += 5) {
          float* p = w->value.data<float>() + e;
          const float keep = *p;
          *p = keep + 1e-2f;
          const double up = loss();
          *p = keep - 1e-2f;
          const double down = loss();
          *p = keep;
          INFO(w->path << " [" << e << "]");
          CHECK(grad.flat(e) == Approx((up - down) / 2e-2).margin(2e-3).epsilon(2e-2));
        }
      }
    }
  }
}

TEST_CASE("stateful configs round-trip, and Bidirectional resets both directions",
          "[sequence][rnn][stateful][config]") {
  LSTM l(3, {.stateful = true});
  const json c = l.get_config();
  CHECK(c["stateful"] == true);
  CHECK(layer_from_config("LSTM", c)->get_config() == c);
  CHECK(l.needs_step_loop(CallContext()));

  const Tensor x = Tensor::uniform({2, 4, 3}, -1.f, 1.f, 34);
  Bidirectional bi(GRU(2, {.stateful = true}));
  const Tensor y1 = layer_test::forward(bi, {x});
  CHECK(layer_test::forward(bi, {x}).to_vector() != y1.to_vector());
  bi.reset_states();
  CHECK(layer_test::forward(bi, {x}).to_vector() == y1.to_vector());
  CHECK(layer_from_config("Bidirectional", bi.get_config())->get_config() == bi.get_config());

  // In a model, predict carries the state too (as Keras).
  set_seed(2);
  clear_session();
  auto lstm = std::make_shared<LSTM>(3, RNNOptions{.stateful = true});
  Sequential model({Input({4, 3}), lstm, Dense(1)});
  const Tensor a = model.predict(x, {.batch_size = 2})[0];
  CHECK(model.predict(x, {.batch_size = 2})[0].to_vector() != a.to_vector());
  lstm->reset_states();
  CHECK(model.predict(x, {.batch_size = 2})[0].to_vector() == a.to_vector());
}
