// ops::sgd_update / ops::adam_update (the fused, all-parameters-at-once updates that the CUDA
// backend runs as one kernel) against the optimizer classes they mirror: bit-identical on the
// CPU over several steps, with two parameters of different sizes.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"

using namespace fitrun;

namespace {
struct Params {
  std::vector<VariablePtr> vars;  // for the optimizer class
  std::vector<Tensor> w, g, m, v;  // for the fused op
};

Params make_params() {
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
    p.m.push_back(Tensor::zeros(s));
    p.v.push_back(Tensor::zeros(s));
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

void require_same(const Params& p) {
  for (size_t i = 0; i < p.vars.size(); ++i)
    REQUIRE(p.vars[i]->value.to_vector() == p.w[i].to_vector());
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
