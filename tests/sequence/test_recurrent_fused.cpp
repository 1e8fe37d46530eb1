// The fused oneDNN path of SimpleRNN, LSTM and GRU (src/backend/onednn/rnn.cpp) against the
// step loop (ops::set_fused_rnn_enabled(false)): outputs and every gradient, with
// return_sequences on and off and go_backwards, in training and inference, accumulating
// weight gradients (shared layers) and across repeated steps.
#include <catch2/catch.hpp>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/recurrent.hpp>

#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using layer_test::check_close;
using layer_test::to_doubles;

namespace {

/// Restores the fused path when a test ends, however it ends.
struct FusedOn {
  ~FusedOn() { ops::set_fused_rnn_enabled(true); }
};

struct Result {
  Tensor y, dx;
  std::vector<Tensor> grads;
};

/// Forward then backward of `l` on x with dy; `training` picks the forward's mode.
Result step(RNN& l, const Tensor& x, const Tensor& dy, bool training, CallContext& ctx,
            bool accumulate = false) {
  ctx.training = training;
  ctx.accumulate_grads = accumulate;
  Tensor y(l.compute_output_shape({x.shape()}));
  l.forward(ctx, {&x}, y);
  Tensor dx = Tensor::full(x.shape(), 12345.0);  // must be overwritten
  l.backward(ctx, {&x}, y, dy, {&dx});
  Result r{y.clone(), dx, {}};
  for (auto& w : l.weights()) r.grads.push_back(w->grad.clone());
  return r;
}

void check_same(const Result& fused, const Result& loop, double scale = 1.0) {
  check_close(fused.y, to_doubles(loop.y), 1e-5, 1e-6);
  check_close(fused.dx, to_doubles(loop.dx), 1e-5, 1e-6);
  REQUIRE(fused.grads.size() == loop.grads.size());
  for (size_t w = 0; w < fused.grads.size(); ++w) {
    INFO("weight " << w);
    std::vector<double> e = to_doubles(loop.grads[w]);
    for (double& v : e) v *= scale;
    check_close(fused.grads[w], e, 1e-5, 1e-6);
  }
}

struct Kind {
  const char* what;
  RNN::Cell cell;
  const char* activation;
  bool reset_after;
};
const Kind kKinds[] = {
    {"LSTM", RNN::Cell::lstm, "tanh", true},
    {"GRU reset_after (lbr_gru)", RNN::Cell::gru, "tanh", true},
    {"GRU reset_before (vanilla gru)", RNN::Cell::gru, "tanh", false},
    {"SimpleRNN tanh", RNN::Cell::simple, "tanh", true},
    {"SimpleRNN relu", RNN::Cell::simple, "relu", true},
};

std::shared_ptr<RNN> make(const Kind& k, int64_t units, bool sequences, bool backwards,
                          bool use_bias = true) {
  RNNOptions o;
  o.activation = k.activation;
  o.reset_after = k.reset_after;
  o.return_sequences = sequences;
  o.go_backwards = backwards;
  o.use_bias = use_bias;
  switch (k.cell) {
    case RNN::Cell::simple: return std::make_shared<SimpleRNN>(units, o);
    case RNN::Cell::lstm: return std::make_shared<LSTM>(units, o);
    default: return std::make_shared<GRU>(units, o);
  }
}

}  // namespace

TEST_CASE("fused recurrent layers equal the step loop", "[sequence][rnn][recurrent][fused]") {
  FusedOn restore;
  for (const Kind& k : kKinds) {
    // Shapes: a typical one, one step (oneDNN 2.6 got h_0 wrong there with an implicit
    // initial state), a batch of one.
    for (const Shape& shape : {Shape{3, 5, 4}, Shape{2, 1, 3}, Shape{1, 2, 3}})
    for (int variant = 0; variant < 4; ++variant) {
      const bool sequences = variant & 1, backwards = variant & 2;
      DYNAMIC_SECTION(k.what << (sequences ? " sequences" : " last")
                             << (backwards ? " backwards " : " ") << shape.to_string()) {
        auto l = make(k, 6, sequences, backwards);
        const Tensor x = Tensor::uniform(shape, -1.f, 1.f, 11);
        l->ensure_built({x.shape()});
        int64_t seed = 20;
        for (auto& w : l->weights())
          w->value.copy_from(Tensor::uniform(w->value.shape(), -0.6f, 0.6f, seed++));
        const Tensor dy = Tensor::uniform(l->compute_output_shape({x.shape()}), -1.f, 1.f, 12);

        ops::set_fused_rnn_enabled(false);
        CallContext loop_ctx;
        const Result loop = step(*l, x, dy, true, loop_ctx);
        ops::set_fused_rnn_enabled(true);
        CallContext ctx;
        const Result fused = step(*l, x, dy, true, ctx);
        check_same(fused, loop);
        // A second step in the same context (cached primitives, reused buffers) is the same;
        // a shared layer's second call adds its weight gradients.
        check_same(step(*l, x, dy, true, ctx), loop);
        check_same(step(*l, x, dy, true, ctx, true), loop, 2.0);
        // An inference forward gives the same output; a backward after it recomputes.
        CallContext infer_ctx;
        check_same(step(*l, x, dy, false, infer_ctx), loop);
      }
    }
  }
}

TEST_CASE("fused recurrent layers without bias, non-trainable, batch of one",
          "[sequence][rnn][recurrent][fused]") {
  FusedOn restore;
  for (const Kind& k : kKinds) {
    SECTION(k.what) {
      auto l = make(k, 3, false, false, false);
      const Tensor x = Tensor::uniform({1, 7, 2}, -1.f, 1.f, 13);
      l->ensure_built({x.shape()});
      const Tensor dy = Tensor::uniform({1, 3}, -1.f, 1.f, 14);
      ops::set_fused_rnn_enabled(false);
      CallContext a;
      const Result loop = step(*l, x, dy, true, a);
      ops::set_fused_rnn_enabled(true);
      CallContext b;
      check_same(step(*l, x, dy, true, b), loop);
      // Non-trainable: dx only, the weight gradients are left alone.
      l->trainable = false;
      for (auto& w : l->weights()) w->grad.fill(7.0);
      CallContext c;
      const Result frozen = step(*l, x, dy, true, c);
      check_close(frozen.dx, to_doubles(loop.dx), 1e-5, 1e-6);
      for (const Tensor& g : frozen.grads) CHECK(g.flat(0) == 7.0);
    }
  }
}

TEST_CASE("fused recurrent layers train a model as the loop does", "[sequence][rnn][recurrent][fused]") {
  FusedOn restore;
  // Two stacked layers of the same shape share a primitive-cache entry: each keeps its own
  // workspace. Three Adam steps on each path end at the same weights.
  std::vector<std::vector<float>> finals;
  for (bool fused : {false, true}) {
    ops::set_fused_rnn_enabled(fused);
    set_seed(3);
    Sequential model({Input({6, 8}), LSTM(8, {.return_sequences = true}),
                      LSTM(8, {.return_sequences = true}), GRU(5), Dense(3)});
    model.compile(optimizers::Adam({.learning_rate = 1e-2}),
                  losses::SparseCategoricalCrossentropy({.from_logits = true}));
    const Tensor x = Tensor::normal({4, 6, 8}, 0.f, 1.f, 5);
    const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 1}, {4});
    for (int i = 0; i < 3; ++i) model.train_step({x}, {y});
    std::vector<float> all;
    for (auto& w : model.weights()) {
      auto v = w->value.to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    finals.push_back(all);
  }
  REQUIRE(finals[0].size() == finals[1].size());
  for (size_t i = 0; i < finals[0].size(); ++i)
    CHECK(finals[1][i] == Approx(finals[0][i]).epsilon(1e-4).margin(1e-5));
}

TEST_CASE("the steady-state fused recurrent train step creates no tensors",
          "[sequence][rnn][recurrent][fused][performance]") {
  FusedOn restore;
  ops::set_fused_rnn_enabled(true);
  set_seed(4);
  Sequential model({Input({5, 3}), LSTM(6, {.return_sequences = true}),
                    GRU(4, {.go_backwards = true}), Dense(2)});
  model.compile("adam", losses::SparseCategoricalCrossentropy({.from_logits = true}));
  const TensorList x = Tensor::normal({8, 5, 3});
  const TensorList x_last = Tensor::normal({3, 5, 3});  // an epoch's smaller last batch
  const TensorList y = Tensor::zeros({8}, DType::int32);
  const TensorList y_last = Tensor::zeros({3}, DType::int32);
  model.train_on_batch(x, y);  // plans, primitives, workspaces, optimizer slots
  model.train_on_batch(x_last, y_last);
  model.train_step(x, y);
  const int64_t storages = debug::storage_allocations();
  for (int i = 0; i < 3; ++i) {
    model.train_step(x, y);
    model.train_step(x_last, y_last);
  }
  CHECK(debug::storage_allocations() == storages);
}
