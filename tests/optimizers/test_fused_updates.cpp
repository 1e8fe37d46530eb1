// The fused, all-parameters-at-once updates that the CUDA backend runs as one kernel
// (ops::sgd_update, adam_update, amsgrad_update, rmsprop_update, adagrad_update) against the
// optimizer classes they mirror: bit-identical on the CPU over several steps, with two
// parameters of different sizes; the slots end equal too.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"

using namespace fitrun;

namespace {
struct Params {
  std::vector<VariablePtr> vars;  // for the optimizer class
  std::vector<Tensor> w, g, m, v, v_hat;  // for the fused op (slots in the optimizer's order)
};

/// slot_init: the optimizer's initial slot value (Adagrad's initial_accumulator_value).
Params make_params(float slot_init = 0.f) {
  Params p;
  const Shape shapes[] = {Shape{3, 5}, Shape{7}};
  int64_t seed = 11;
  for (const Shape& s : shapes) {
    auto var = std::make_shared<Variable>();
    var->name = "w";
    var->path = "layer_" + std::to_string(p.vars.size()) + "/w";
    var->value = Tensor::uniform(s, -1.f, 1.f, seed++);
    var->grad = Tensor::zeros(s);
    p.vars.push_back(var);
    p.w.push_back(var->value.clone());
    p.g.push_back(Tensor::zeros(s));
    for (auto* slot : {&p.m, &p.v, &p.v_hat}) {
      slot->push_back(Tensor::zeros(s));
      slot->back().fill(slot_init);
    }
  }
  return p;
}

void set_grads(Params& p, int step) {
  for (size_t i = 0; i < p.vars.size(); ++i) {
    Tensor g = Tensor::normal(p.vars[i]->value.shape(), 0.f, 1.f, 100 + step * 10 + int64_t(i));
    p.vars[i]->grad.copy_from(g);
    p.g[i].copy_from(g);
  }
}

template <class T>
std::vector<T*> ptrs(std::vector<Tensor>& ts) {
  std::vector<T*> r;
  for (Tensor& t : ts) r.push_back(&t);
  return r;
}

/// Weights and the first `slots` slots of each variable are bit-identical.
void require_same(const Params& p, const optimizers::Optimizer* opt = nullptr, int slots = 0) {
  for (size_t i = 0; i < p.vars.size(); ++i) {
    REQUIRE(p.vars[i]->value.to_vector() == p.w[i].to_vector());
    const std::vector<Tensor>* mine[] = {&p.m, &p.v, &p.v_hat};
    for (int k = 0; k < slots; ++k)
      REQUIRE(opt->slots()[i][k].to_vector() == (*mine[k])[i].to_vector());
  }
}
}  // namespace

TEST_CASE("ops::sgd_update matches optimizers::SGD", "[optimizers][fused]") {
  const double momentum = GENERATE(0.0, 0.9);
  const bool nesterov = GENERATE(false, true);
  const double wd = GENERATE(0.0, 0.01);
  Params p = make_params();
  optimizers::SGD sgd({.learning_rate = 0.05, .momentum = momentum, .nesterov = nesterov,
                       .weight_decay = wd});
  ops::SGDUpdate u{0.05f, momentum, nesterov, wd};
  for (int step = 0; step < 3; ++step) {
    set_grads(p, step);
    sgd.apply(p.vars);
    auto w = ptrs<Tensor>(p.w), m = ptrs<Tensor>(p.m);
    auto g = ptrs<const Tensor>(p.g);
    ops::sgd_update(w.data(), g.data(), m.data(), int(w.size()), u);
  }
  require_same(p);
}

TEST_CASE("ops::adam_update matches optimizers::Adam", "[optimizers][fused]") {
  const double wd = GENERATE(0.0, 0.004);
  Params p = make_params();
  optimizers::Adam adam({.learning_rate = 0.01, .beta_1 = 0.8, .beta_2 = 0.99, .epsilon = 1e-6,
                         .weight_decay = wd});
  ops::AdamUpdate u{0.01f, 0.8, 0.99, 1e-6, 1, wd};
  for (int step = 0; step < 3; ++step) {
    set_grads(p, step);
    adam.apply(p.vars);
    auto w = ptrs<Tensor>(p.w), m = ptrs<Tensor>(p.m), v = ptrs<Tensor>(p.v);
    auto g = ptrs<const Tensor>(p.g);
    u.step = step + 1;
    ops::adam_update(w.data(), g.data(), m.data(), v.data(), int(w.size()), u);
  }
  require_same(p);
}

TEST_CASE("ops::amsgrad_update matches optimizers::Adam with amsgrad", "[optimizers][fused]") {
  const double wd = GENERATE(0.0, 0.004);
  Params p = make_params();
  optimizers::Adam adam({.learning_rate = 0.01, .beta_1 = 0.8, .beta_2 = 0.99, .epsilon = 1e-6,
                         .amsgrad = true, .weight_decay = wd});
  ops::AdamUpdate u{0.01f, 0.8, 0.99, 1e-6, 1, wd};
  for (int step = 0; step < 4; ++step) {
    set_grads(p, step);
    adam.apply(p.vars);
    auto w = ptrs<Tensor>(p.w), m = ptrs<Tensor>(p.m), v = ptrs<Tensor>(p.v),
         v_hat = ptrs<Tensor>(p.v_hat);
    auto g = ptrs<const Tensor>(p.g);
    u.step = step + 1;
    ops::amsgrad_update(w.data(), g.data(), m.data(), v.data(), v_hat.data(), int(w.size()), u);
  }
  require_same(p, &adam, 3);
}

TEST_CASE("ops::rmsprop_update matches optimizers::RMSprop", "[optimizers][fused]") {
  const double momentum = GENERATE(0.0, 0.9);
  const bool centered = GENERATE(false, true);
  const double wd = GENERATE(0.0, 0.01);
  Params p = make_params();
  optimizers::RMSprop rms({.learning_rate = 0.01, .rho = 0.8, .momentum = momentum,
                           .epsilon = 1e-6, .centered = centered, .weight_decay = wd});
  const ops::RMSpropUpdate u{0.01f, 0.8, momentum, 1e-6, centered, wd};
  for (int step = 0; step < 3; ++step) {
    set_grads(p, step);
    rms.apply(p.vars);
    // The optimizer's slot order: velocity, momentum (if any), average gradient (if centered).
    auto w = ptrs<Tensor>(p.w), vel = ptrs<Tensor>(p.m), mom = ptrs<Tensor>(p.v),
         avg = ptrs<Tensor>(momentum > 0 ? p.v_hat : p.v);
    auto g = ptrs<const Tensor>(p.g);
    ops::rmsprop_update(w.data(), g.data(), vel.data(), momentum > 0 ? mom.data() : nullptr,
                        centered ? avg.data() : nullptr, int(w.size()), u);
  }
  require_same(p, &rms, 1 + (momentum > 0) + centered);
}

TEST_CASE("ops::adagrad_update matches optimizers::Adagrad", "[optimizers][fused]") {
  const double wd = GENERATE(0.0, 0.01);
  Params p = make_params(0.1f);
  optimizers::Adagrad ada({.learning_rate = 0.05, .initial_accumulator_value = 0.1,
                           .epsilon = 1e-6, .weight_decay = wd});
  const ops::AdagradUpdate u{0.05f, 1e-6, wd};
  for (int step = 0; step < 3; ++step) {
    set_grads(p, step);
    ada.apply(p.vars);
    auto w = ptrs<Tensor>(p.w), acc = ptrs<Tensor>(p.m);
    auto g = ptrs<const Tensor>(p.g);
    ops::adagrad_update(w.data(), g.data(), acc.data(), int(w.size()), u);
  }
  require_same(p, &ada, 1);
}

TEST_CASE("fused updates name the op, the parameter and a slot of the wrong size",
          "[optimizers][fused]") {
  Params p = make_params();
  auto w = ptrs<Tensor>(p.w), vel = ptrs<Tensor>(p.m);
  auto g = ptrs<const Tensor>(p.g);
  Tensor small = Tensor::zeros({2});
  vel[1] = &small;
  const ops::RMSpropUpdate u{};
  REQUIRE_THROWS_WITH(
      ops::rmsprop_update(w.data(), g.data(), vel.data(), nullptr, nullptr, 2, u),
      "rmsprop_update: the velocity of parameter 1 differs from it in size");
  ops::RMSpropUpdate centered;
  centered.centered = true;
  REQUIRE_THROWS_WITH(
      ops::rmsprop_update(w.data(), g.data(), ptrs<Tensor>(p.m).data(), nullptr, nullptr, 2,
                          centered),
      "rmsprop_update: the average gradient of parameter 0 is missing");
}
