// Keras' base-optimizer options on hand-made gradients: clipping, decoupled weight decay, EMA,
// gradient accumulation, loss scaling, constraints, and the errors for bad values.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <vector>

#include "fitrun/constraints.hpp"
#include "fitrun/error.hpp"
#include "fitrun/optimizers/optimizer.hpp"

using namespace fitrun;
using namespace fitrun::optimizers;

namespace {

VariablePtr var(std::vector<float> w, const std::string& path = "w") {
  auto v = std::make_shared<Variable>();
  v->path = path;
  const auto n = static_cast<int64_t>(w.size());
  v->value = Tensor::from_vector(std::move(w), Shape{n});
  v->grad = Tensor::zeros(Shape{n});
  return v;
}

void set_grad(Variable& v, std::vector<float> g) {
  for (size_t i = 0; i < g.size(); ++i) v.grad.data<float>()[i] = g[i];
}

}  // namespace

TEST_CASE("clipnorm clips each gradient tensor to its own norm", "[optimizers][clipping]") {
  SGDOptions o;
  o.learning_rate = 1.0;
  o.clipnorm = 1.0;
  SGD opt(o);
  auto a = var({0.f, 0.f}), b = var({0.f});
  set_grad(*a, {3.f, 4.f});  // norm 5 -> (0.6, 0.8)
  set_grad(*b, {0.5f});      // under the norm: unchanged
  opt.apply({a, b});
  CHECK(a->value.flat(0) == Approx(-0.6));
  CHECK(a->value.flat(1) == Approx(-0.8));
  CHECK(b->value.flat(0) == Approx(-0.5));
  CHECK(a->grad.flat(0) == Approx(0.6));  // the grad holds what was applied
}

TEST_CASE("global_clipnorm scales all gradients by one factor", "[optimizers][clipping]") {
  SGDOptions o;
  o.learning_rate = 1.0;
  o.global_clipnorm = 2.5;
  SGD opt(o);
  auto a = var({0.f}), b = var({0.f});
  set_grad(*a, {3.f});
  set_grad(*b, {4.f});  // joint norm 5 -> factor 0.5
  opt.apply({a, b});
  CHECK(a->value.flat(0) == Approx(-1.5));
  CHECK(b->value.flat(0) == Approx(-2.0));
  set_grad(*a, {0.3f});
  set_grad(*b, {0.4f});  // joint norm 0.5 < 2.5: unchanged
  opt.apply({a, b});
  CHECK(a->value.flat(0) == Approx(-1.8));
  CHECK(b->value.flat(0) == Approx(-2.4));
}

TEST_CASE("clipvalue clips every element", "[optimizers][clipping]") {
  SGDOptions o;
  o.learning_rate = 0.5;
  o.clipvalue = 1.0;
  SGD opt(o);
  auto a = var({0.f, 0.f, 0.f});
  set_grad(*a, {-3.f, 0.25f, 7.f});
  opt.apply({a});
  CHECK(a->value.flat(0) == Approx(0.5));
  CHECK(a->value.flat(1) == Approx(-0.125));
  CHECK(a->value.flat(2) == Approx(-0.5));
}

TEST_CASE("decoupled weight decay shrinks the weights by lr*wd before the update", "[optimizers]") {
  SGDOptions o;
  o.learning_rate = 0.1;
  o.weight_decay = 0.5;
  SGD opt(o);
  auto a = var({2.f});
  set_grad(*a, {1.f});
  opt.apply({a});
  // w = 2 - 2*0.5*0.1 = 1.9, then SGD: 1.9 - 0.1*1 = 1.8
  CHECK(a->value.flat(0) == Approx(1.8));
  CHECK(opt.get_config()["weight_decay"] == 0.5);
}

TEST_CASE("EMA of the weights and the end-of-training swap", "[optimizers][ema]") {
  SGDOptions o;
  o.learning_rate = 1.0;
  o.use_ema = true;
  o.ema_momentum = 0.5;
  SECTION("average, then finalize_variable_values") {
    SGD opt(o);
    auto a = var({0.f});
    for (int i = 0; i < 3; ++i) {
      set_grad(*a, {-1.f});
      opt.apply({a});
    }
    // w: 1, 2, 3. average: 1 (first step copies), 0.5*1 + 0.5*2 = 1.5, 0.5*1.5 + 0.5*3 = 2.25
    CHECK(a->value.flat(0) == Approx(3.0));
    CHECK(opt.averages()[0].flat(0) == Approx(2.25));
    opt.finalize_variable_values({a});
    CHECK(a->value.flat(0) == Approx(2.25));
  }
  SECTION("ema_overwrite_frequency copies the average every N updates") {
    o.ema_overwrite_frequency = 2;
    SGD opt(o);
    auto a = var({0.f});
    for (int i = 0; i < 3; ++i) {
      set_grad(*a, {-1.f});
      opt.apply({a});
      if (i == 1) CHECK(a->value.flat(0) == Approx(1.5));  // w=2, average 1.5 copied in
    }
    // step 3: w = 2.5, average = 0.5*1.5 + 0.5*2.5 = 2.0
    CHECK(a->value.flat(0) == Approx(2.5));
    CHECK(opt.averages()[0].flat(0) == Approx(2.0));
  }
}

TEST_CASE("gradient accumulation equals one step on the mean gradient", "[optimizers][accumulation]") {
  AdamOptions acc_o;
  acc_o.learning_rate = 0.1;
  acc_o.gradient_accumulation_steps = 2;
  Adam accumulating(acc_o);
  Adam big_batch(AdamOptions{});
  Adam plain({.learning_rate = 0.1});
  auto a = var({1.f, -2.f}), b = var({1.f, -2.f});
  const std::vector<std::vector<float>> grads = {{0.5f, -1.f}, {1.5f, 3.f}, {-2.f, 1.f}, {0.f, 1.f}};
  for (int cycle = 0; cycle < 2; ++cycle) {
    const auto& g1 = grads[static_cast<size_t>(2 * cycle)];
    const auto& g2 = grads[static_cast<size_t>(2 * cycle + 1)];
    set_grad(*a, g1);
    accumulating.apply({a});
    CHECK(a->value.to_vector() == b->value.to_vector());  // no update yet
    set_grad(*a, g2);
    accumulating.apply({a});
    set_grad(*b, {(g1[0] + g2[0]) / 2, (g1[1] + g2[1]) / 2});
    plain.apply({b});
    CHECK(a->value.to_vector() == b->value.to_vector());
  }
  CHECK(accumulating.iterations() == 4);
  CHECK(accumulating.updates() == 2);  // Adam's bias correction counted 2 updates
  CHECK(accumulating.accumulators()[0].flat(0) == 0.f);
}

TEST_CASE("loss_scale_factor is divided out of the gradients", "[optimizers]") {
  SGDOptions scaled_o;
  scaled_o.learning_rate = 0.1;
  scaled_o.loss_scale_factor = 256.0;
  SGD scaled(scaled_o), plain({.learning_rate = 0.1});
  auto a = var({1.f}), b = var({1.f});
  set_grad(*a, {256.f * 0.75f});
  set_grad(*b, {0.75f});
  scaled.apply({a});
  plain.apply({b});
  CHECK(a->value.flat(0) == b->value.flat(0));
  CHECK(scaled.loss_scale() == 256.0);
}

TEST_CASE("constraints project the weights after each update", "[optimizers][constraints]") {
  SGD opt({.learning_rate = 1.0});
  auto a = var({0.f, 0.f});
  a->constraint = std::make_shared<constraints::NonNeg>();
  set_grad(*a, {1.f, -2.f});
  opt.apply({a});
  CHECK(a->value.flat(0) == 0.f);  // -1 projected to 0
  CHECK(a->value.flat(1) == 2.f);
}

TEST_CASE("bad base options are errors with Keras' wording", "[optimizers][errors]") {
  SGDOptions o;
  o.clipnorm = 1.0;
  o.clipvalue = 1.0;
  CHECK_THROWS_WITH(SGD(o), "SGD: only one of clipnorm, clipvalue and global_clipnorm can be set");
  SGDOptions acc;
  acc.gradient_accumulation_steps = 1;
  CHECK_THROWS_WITH(SGD(acc), "SGD: gradient_accumulation_steps must be an integer >= 2, got 1");
  SGDOptions ema;
  ema.use_ema = true;
  ema.ema_momentum = 1.5;
  CHECK_THROWS_WITH(SGD(ema), "SGD: ema_momentum must be in the range [0, 1], got 1.500000");
  SGDOptions neg;
  neg.clipnorm = -1.0;
  CHECK_THROWS_WITH(SGD(neg), "SGD: clipnorm must be > 0, got -1.000000");
}
