// Adam and AdamW exactly as keras/src/optimizers/adam.py: epsilon is added to the uncorrected
// sqrt(v), and the bias correction is folded into the step size alpha. AdamW is Adam with the
// base class' decoupled weight decay switched on.
#include <algorithm>
#include <cmath>

#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"

namespace fitrun::optimizers {

Adam::Adam(AdamOptions o) : Adam("adam", o) {}

Adam::Adam(std::string name, AdamOptions o)
    : Optimizer(std::move(name), o.learning_rate, o.weight_decay, BaseOptimizerOptions::from(o)),
      opts_(o) {}

std::vector<std::string> Adam::slot_names() const {
  if (opts_.amsgrad) return {"momentum", "velocity", "velocity_hat"};
  return {"momentum", "velocity"};
}

json Adam::get_config() const {
  json c = Optimizer::get_config();
  // AdamW requires a float weight_decay in Keras, so 0 is written as 0, not null.
  if (class_name() == "AdamW") c["weight_decay"] = weight_decay_;
  c["beta_1"] = opts_.beta_1;
  c["beta_2"] = opts_.beta_2;
  c["epsilon"] = opts_.epsilon;
  c["amsgrad"] = opts_.amsgrad;
  return c;
}

void Adam::update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n, float lr) {
  // Scalars in float32 as Keras computes them for a float32 variable; (1 - beta) is formed in
  // double first, as Python does before the cast.
  const float t = static_cast<float>(updates() + 1);
  const float beta_1_power = std::pow(static_cast<float>(opts_.beta_1), t);
  const float beta_2_power = std::pow(static_cast<float>(opts_.beta_2), t);
  const float alpha = lr * std::sqrt(1.f - beta_2_power) / (1.f - beta_1_power);
  const float one_minus_b1 = static_cast<float>(1.0 - opts_.beta_1);
  const float one_minus_b2 = static_cast<float>(1.0 - opts_.beta_2);
  const float eps = static_cast<float>(opts_.epsilon);
  float* m = slots[0].data<float>();
  float* v = slots[1].data<float>();
  if (opts_.amsgrad) {
    // AMSGrad divides by the running maximum of v (velocity_hat) instead of v.
    float* v_hat = slots[2].data<float>();
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
      v_hat[i] = std::max(v_hat[i], v[i]);
      w[i] -= m[i] * alpha / (std::sqrt(v_hat[i]) + eps);
    }
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
      w[i] -= m[i] * alpha / (std::sqrt(v[i]) + eps);
    }
  }
}

bool Adam::fused_update(FusedBatch& b, float lr, float wd) {
  if (opts_.amsgrad) return false;  // no fused AMSGrad yet
  ops::AdamUpdate u;
  u.learning_rate = lr;
  u.beta_1 = opts_.beta_1;
  u.beta_2 = opts_.beta_2;
  u.epsilon = opts_.epsilon;
  u.step = updates() + 1;
  u.weight_decay = wd;
  ops::adam_update(b.params.data(), b.grads.data(), b.slot[0].data(), b.slot[1].data(),
                   b.count(), u);
  return true;
}

namespace {
AdamOptions adam_options(const AdamWOptions& w) {
  AdamOptions o;
  o.learning_rate = w.learning_rate;
  o.beta_1 = w.beta_1;
  o.beta_2 = w.beta_2;
  o.epsilon = w.epsilon;
  o.amsgrad = w.amsgrad;
  o.weight_decay = w.weight_decay;
  copy_base_options(w, o);
  return o;
}
}  // namespace

AdamW::AdamW(AdamWOptions o) : Adam("adamw", adam_options(o)) {}

}  // namespace fitrun::optimizers
