// dropout and recurrent_dropout of SimpleRNN/LSTM/GRU with Keras 3's semantics: inference
// unchanged; in training, a naive reference of Keras' cell equations with the same masks
// (one per sequence, per gate once recurrent dropout is on); gradient checks in training.
#include <catch2/catch.hpp>

#include <cmath>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/recurrent.hpp>

#include "layers/layer_test_helpers.hpp"
#include "sequence/rnn_reference.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using layer_test::check_close;
using layer_test::randomize;
using rnn_test::reference;

namespace {

/// The keep-masks the layer draws (docs/sequence-layers.md): ops::dropout_forward's masks of
/// shape (count, N, features) from the layer's seed (recurrent: ^ 1 << 48) at counter = step.
Tensor keep_masks(const Shape& s, float rate, uint64_t seed, uint64_t step) {
  Tensor ones = Tensor::ones(s), mask(s), y(s);
  ops::dropout_forward(ones, rate, seed, step, mask, y);
  return mask;
}

struct Case {
  const char* what;
  RNN::Cell cell;
  bool reset_after, return_sequences;
  float dropout, recurrent_dropout;
};
const Case kCases[] = {
    {"SimpleRNN dropout", RNN::Cell::simple, true, false, 0.4f, 0.f},
    {"SimpleRNN both", RNN::Cell::simple, true, true, 0.3f, 0.5f},
    {"LSTM dropout", RNN::Cell::lstm, true, true, 0.4f, 0.f},
    {"LSTM recurrent_dropout", RNN::Cell::lstm, true, false, 0.f, 0.4f},
    {"LSTM both", RNN::Cell::lstm, true, false, 0.3f, 0.4f},
    {"GRU reset_after both", RNN::Cell::gru, true, true, 0.3f, 0.4f},
    {"GRU reset_after dropout", RNN::Cell::gru, true, false, 0.5f, 0.f},
    {"GRU reset_before both", RNN::Cell::gru, false, false, 0.3f, 0.4f},
    {"GRU reset_before recurrent_dropout", RNN::Cell::gru, false, true, 0.f, 0.5f},
};

std::shared_ptr<RNN> make(const Case& c, bool with_dropout, std::optional<uint32_t> seed = {}) {
  RNNOptions o;
  o.reset_after = c.reset_after;
  o.return_sequences = c.return_sequences;
  if (with_dropout) {
    o.dropout = c.dropout;
    o.recurrent_dropout = c.recurrent_dropout;
  }
  o.seed = seed;
  switch (c.cell) {
    case RNN::Cell::simple: return std::make_shared<SimpleRNN>(4, o);
    case RNN::Cell::lstm: return std::make_shared<LSTM>(4, o);
    default: return std::make_shared<GRU>(4, o);
  }
}

}  // namespace

TEST_CASE("recurrent dropout leaves inference unchanged and matches Keras' cells in training",
          "[sequence][rnn][dropout]") {
  const Tensor x = Tensor::uniform({3, 5, 6}, -1.f, 1.f, 71);
  for (const Case& c : kCases) {
    SECTION(c.what) {
      auto l = make(c, true);
      l->ensure_built({x.shape()});
      randomize(*l, 80);
      // Inference: no masks at all.
      check_close(layer_test::forward(*l, {x}), reference(*l, x), 1e-4, 1e-5);
      // Training at step 7: the masks the layer documents, the same at every timestep.
      const uint64_t seed = l->get_config()["seed"].get<uint32_t>();
      const int64_t gates = l->gates(), per_gate = c.recurrent_dropout > 0 ? gates : 1;
      Tensor in_m, rec_m;
      if (c.dropout > 0) in_m = keep_masks({per_gate, 3, 6}, c.dropout, seed, 7);
      if (c.recurrent_dropout > 0)
        rec_m = keep_masks({gates, 3, 4}, c.recurrent_dropout, seed ^ (1ULL << 48), 7);
      const Tensor y = layer_test::forward(*l, {x}, true, 7);
      check_close(y, reference(*l, x, nullptr, c.dropout > 0 ? &in_m : nullptr,
                               c.recurrent_dropout > 0 ? &rec_m : nullptr),
                  1e-4, 1e-5);
      // Another step draws other masks; the same step the same ones.
      CHECK(layer_test::forward(*l, {x}, true, 8).to_vector() != y.to_vector());
      CHECK(layer_test::forward(*l, {x}, true, 7).to_vector() == y.to_vector());
    }
  }
}

TEST_CASE("recurrent dropout passes gradient checks in training", "[sequence][rnn][dropout][gradients]") {
  const Tensor x = Tensor::uniform({2, 3, 5}, -1.f, 1.f, 72);
  for (const Case& c : kCases) {
    SECTION(c.what) {
      auto l = make(c, true, 1234);
      l->ensure_built({x.shape()});
      randomize(*l, 90);
      layer_test::require_gradients(*l, {x}, {.epsilon = 1e-2, .tolerance = 2e-2, .training = true});
    }
  }
}

TEST_CASE("recurrent dropout configs round-trip; the step loop is required with masks or dropout",
          "[sequence][rnn][dropout][config]") {
  LSTM l(3, {.dropout = 0.25f, .recurrent_dropout = 0.5f, .seed = 42});
  const json c = l.get_config();
  CHECK(c["dropout"] == 0.25);
  CHECK(c["recurrent_dropout"] == 0.5);
  CHECK(c["seed"] == 42);
  CHECK(layer_from_config("LSTM", c)->get_config() == c);
  GRU unseeded(2, {.dropout = 0.1f});
  CHECK(unseeded.get_config()["seed"].is_number_integer());  // drawn, saved for reproducibility
  CHECK(layer_from_config("GRU", unseeded.get_config())->get_config() == unseeded.get_config());
  CHECK(GRU(2).get_config()["seed"].is_null());

  json bad = c;
  bad["dropout"] = 1.0;
  CHECK_THROWS_WITH(layer_from_config("LSTM", bad), Catch::Contains("dropout: expected a number in [0, 1)"));
  CHECK_THROWS_WITH(SimpleRNN(2, {.recurrent_dropout = -0.1f}),
                    Catch::Contains("recurrent_dropout must be in [0, 1)"));

  CallContext ctx;
  CHECK_FALSE(l.needs_step_loop(ctx));  // inference: dropout does not apply
  ctx.training = true;
  CHECK(l.needs_step_loop(ctx));
  CHECK_FALSE(LSTM(3).needs_step_loop(ctx));
  const Tensor mask = Tensor::ones({2, 4});
  ctx.input_masks = {&mask};
  CHECK(LSTM(3).needs_step_loop(ctx));
}

TEST_CASE("an LSTM with dropout trains in a model", "[sequence][rnn][dropout]") {
  set_seed(4);
  clear_session();
  const Tensor x = Tensor::uniform({64, 6, 3}, -1.f, 1.f, 5);
  Tensor y({64, 1});
  for (int64_t i = 0; i < 64; ++i) y.data<float>()[i] = static_cast<float>(x.at({i, 5, 0}) > 0);
  Sequential model({Input({6, 3}), LSTM(8, {.dropout = 0.2f, .recurrent_dropout = 0.2f}),
                    Dense(1, "sigmoid")});
  model.compile(optimizers::Adam({.learning_rate = 1e-2}), "binary_crossentropy");
  const double before = model.evaluate(x, y, {.verbose = 0})["loss"];
  model.fit(x, y, {.batch_size = 16, .epochs = 20, .verbose = 0});
  CHECK(model.evaluate(x, y, {.verbose = 0})["loss"] < before * 0.6);
}
