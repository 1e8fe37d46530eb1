// Dropout: identity at inference; in training, the dropped fraction, the 1/(1-rate) scale, the
// mask's reproducibility from CallContext::step, gradients, and config errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "fitrun/error.hpp"
#include "fitrun/layers/dropout.hpp"
#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace layer_test;
using fitrun::layers::Dropout;
using Catch::Matchers::Contains;

namespace {
int64_t count_zeros(const Tensor& t) {
  int64_t n = 0;
  for (int64_t i = 0; i < t.size(); ++i) n += t.flat(i) == 0.0;
  return n;
}
}  // namespace

TEST_CASE("Dropout is the identity at inference", "[layers][dropout]") {
  Dropout layer(0.5f);
  const Tensor x = Tensor::uniform({8, 16}, -1.f, 1.f, 1);
  const Tensor y = forward(layer, {x}, /*training=*/false);
  CHECK(y.to_vector() == x.to_vector());
  const Tensor dy = Tensor::uniform({8, 16}, -1.f, 1.f, 2);
  CHECK(backward(layer, {x}, dy, /*training=*/false)[0].to_vector() == dy.to_vector());

  // rate 0 in training is the identity too.
  Dropout none(0.f);
  CHECK(forward(none, {x}, /*training=*/true).to_vector() == x.to_vector());
}

TEST_CASE("Dropout in training zeroes a rate fraction and scales the rest by 1/(1-rate)",
          "[layers][dropout]") {
  const float rate = GENERATE(0.1f, 0.3f, 0.5f, 0.8f);
  INFO("rate " << rate);
  Dropout layer(rate);
  const Tensor x = Tensor::uniform({1000, 100}, 0.5f, 1.5f, 3);  // no zeros of its own
  const Tensor y = forward(layer, {x}, /*training=*/true, /*step=*/7);
  const double dropped = double(count_zeros(y)) / double(y.size());
  CHECK(std::fabs(dropped - rate) < 0.03);
  const double scale = 1.0 / (1.0 - rate);
  int bad = 0;
  for (int64_t i = 0; i < y.size(); ++i)
    if (y.flat(i) != 0.0 && y.flat(i) != Approx(x.flat(i) * scale).epsilon(1e-6)) ++bad;
  CHECK(bad == 0);
  // The expected sum is kept (Keras' inverted dropout).
  double sx = 0, sy = 0;
  for (int64_t i = 0; i < y.size(); ++i) sx += x.flat(i), sy += y.flat(i);
  CHECK(sy == Approx(sx).epsilon(0.03));
}

TEST_CASE("Dropout's mask is a function of the step", "[layers][dropout]") {
  Dropout layer(0.5f);
  const Tensor x = Tensor::ones({64, 32});
  const Tensor a = forward(layer, {x}, true, /*step=*/3);
  const Tensor b = forward(layer, {x}, true, /*step=*/3);
  const Tensor c = forward(layer, {x}, true, /*step=*/4);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != c.to_vector());
  int64_t differ = 0;
  for (int64_t i = 0; i < a.size(); ++i) differ += (a.flat(i) == 0) != (c.flat(i) == 0);
  CHECK(differ > a.size() / 4);  // independent masks disagree on about half the elements

  // Two Dropout layers do not share masks, nor do two calls of one shared layer.
  Dropout other(0.5f);
  CHECK(forward(other, {x}, true, 3).to_vector() != a.to_vector());
  CallContext second_call;
  second_call.training = true;
  second_call.step = 3;
  second_call.call_index = 1;
  CHECK(forward(layer, {x}, second_call).to_vector() != a.to_vector());
}

TEST_CASE("Dropout backward applies the forward mask", "[layers][dropout][gradients]") {
  Dropout layer(0.4f);
  const Tensor x = Tensor::uniform({16, 20}, -1.f, 1.f, 4);
  const Tensor dy = Tensor::uniform({16, 20}, -1.f, 1.f, 5);
  CallContext ctx;
  ctx.training = true;
  ctx.step = 11;
  const Tensor y = forward(layer, {x}, ctx);
  Tensor dx(x.shape());
  layer.backward(ctx, {&x}, y, dy, {&dx});
  for (int64_t i = 0; i < x.size(); ++i) {
    const double mask = y.flat(i) / x.flat(i);  // 0 or 1/(1-rate)
    CHECK(dx.flat(i) == Approx(dy.flat(i) * mask).epsilon(1e-5));
  }
  // In training mode the mask is fixed by ctx.step, so finite differences see the same mask.
  require_gradients(layer, {x}, {.training = true});
  require_gradients(layer, {x}, {.training = false});
}

TEST_CASE("Dropout rejects a rate outside 0 <= rate < 1", "[layers][dropout][errors]") {
  CHECK_THROWS_AS(Dropout(1.f), ConfigError);
  CHECK_THROWS_WITH(Dropout(1.f), Contains("Dropout: rate must be in [0, 1)"));
  CHECK_THROWS_AS(Dropout(-0.1f), ConfigError);
  CHECK_THROWS_WITH(Dropout(-0.1f), Contains("Dropout: rate must be in [0, 1)") &&
                                        Contains("-0.1"));
  CHECK_THROWS_AS(Dropout(std::nanf("")), ConfigError);
  CHECK_NOTHROW(Dropout(0.f));
  CHECK_NOTHROW(Dropout(0.99f));
}
