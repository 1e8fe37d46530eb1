// Adagrad exactly as keras/src/optimizers/adagrad.py: the accumulator starts at
// initial_accumulator_value and epsilon goes inside the square root.
#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"
#include "ops/optimizer_math.hpp"

namespace fitrun::optimizers {

Adagrad::Adagrad(AdagradOptions o)
    : Optimizer("adagrad", o.learning_rate, o.weight_decay, BaseOptimizerOptions::from(o)),
      opts_(o) {
  if (o.initial_accumulator_value < 0.0)
    throw ConfigError("Adagrad: initial_accumulator_value must be non-negative, got " +
                      std::to_string(o.initial_accumulator_value));
}

json Adagrad::get_config() const {
  json c = Optimizer::get_config();
  c["initial_accumulator_value"] = opts_.initial_accumulator_value;
  c["epsilon"] = opts_.epsilon;
  return c;
}

namespace {
ops::AdagradUpdate step_of(const AdagradOptions& o, float lr, float wd) {
  ops::AdagradUpdate u;
  u.learning_rate = lr;
  u.epsilon = o.epsilon;
  u.weight_decay = wd;
  return u;
}
}  // namespace

void Adagrad::update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n, float lr) {
  ops::optimizer_math::adagrad_tensor(
      w, g, slots[0].data<float>(), n,
      ops::optimizer_math::adagrad_scalars(step_of(opts_, lr, 0.f)));
}

bool Adagrad::fused_update(FusedBatch& b, float lr, float wd) {
  ops::adagrad_update(b.params.data(), b.grads.data(), b.slot[0].data(), b.count(),
                      step_of(opts_, lr, wd));
  return true;
}

}  // namespace fitrun::optimizers
