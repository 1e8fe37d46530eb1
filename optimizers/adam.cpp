// Adam and AdamW exactly as keras/src/optimizers/adam.py: epsilon is added to the uncorrected
// sqrt(v), and the bias correction is folded into the step size alpha. AdamW is Adam with the
// base class' decoupled weight decay switched on.
#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"
#include "ops/optimizer_math.hpp"

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

namespace {
/// The step's scalars; Keras counts steps from 1.
ops::AdamUpdate step_of(const AdamOptions& o, float lr, float wd, int64_t step) {
  ops::AdamUpdate u;
  u.learning_rate = lr;
  u.beta_1 = o.beta_1;
  u.beta_2 = o.beta_2;
  u.epsilon = o.epsilon;
  u.step = step;
  u.weight_decay = wd;
  return u;
}
}  // namespace

void Adam::update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n, float lr) {
  // AMSGrad divides by the running maximum of v (velocity_hat) instead of v.
  ops::optimizer_math::adam_tensor(
      w, g, slots[0].data<float>(), slots[1].data<float>(),
      opts_.amsgrad ? slots[2].data<float>() : nullptr, n,
      ops::optimizer_math::adam_scalars(step_of(opts_, lr, 0.f, updates() + 1)));
}

bool Adam::fused_update(FusedBatch& b, float lr, float wd) {
  const ops::AdamUpdate u = step_of(opts_, lr, wd, updates() + 1);
  if (opts_.amsgrad)
    ops::amsgrad_update(b.params.data(), b.grads.data(), b.slot[0].data(), b.slot[1].data(),
                        b.slot[2].data(), b.count(), u);
  else
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
