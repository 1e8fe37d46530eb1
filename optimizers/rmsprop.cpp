// RMSprop exactly as keras/src/optimizers/rmsprop.py: epsilon goes inside the square root, the
// centered form subtracts the squared average gradient, and momentum is plain (heavy-ball)
// momentum on the lr-scaled increment.
#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"
#include "ops/optimizer_math.hpp"

namespace fitrun::optimizers {

RMSprop::RMSprop(RMSpropOptions o)
    : Optimizer("rmsprop", o.learning_rate, o.weight_decay, BaseOptimizerOptions::from(o)),
      opts_(o) {}

// Slot order follows Keras' build(): velocity, then momentum, then average_gradient.
int RMSprop::num_slots() const { return 1 + (opts_.momentum > 0.0) + opts_.centered; }

std::vector<std::string> RMSprop::slot_names() const {
  std::vector<std::string> names{"velocity"};
  if (opts_.momentum > 0.0) names.push_back("momentum");
  if (opts_.centered) names.push_back("average_gradient");
  return names;
}

json RMSprop::get_config() const {
  json c = Optimizer::get_config();
  c["rho"] = opts_.rho;
  c["momentum"] = opts_.momentum;
  c["epsilon"] = opts_.epsilon;
  c["centered"] = opts_.centered;
  return c;
}

namespace {
ops::RMSpropUpdate step_of(const RMSpropOptions& o, float lr, float wd) {
  ops::RMSpropUpdate u;
  u.learning_rate = lr;
  u.rho = o.rho;
  u.momentum = o.momentum;
  u.epsilon = o.epsilon;
  u.centered = o.centered;
  u.weight_decay = wd;
  return u;
}
}  // namespace

void RMSprop::update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n, float lr) {
  float* mom = opts_.momentum > 0.0 ? slots[1].data<float>() : nullptr;
  float* avg = opts_.centered ? slots.back().data<float>() : nullptr;
  ops::optimizer_math::rmsprop_tensor(
      w, g, slots[0].data<float>(), mom, avg, n,
      ops::optimizer_math::rmsprop_scalars(step_of(opts_, lr, 0.f)));
}

bool RMSprop::fused_update(FusedBatch& b, float lr, float wd) {
  // Slots as in num_slots(): velocity, then momentum if any, then the average gradient.
  const int avg = opts_.momentum > 0.0 ? 2 : 1;
  ops::rmsprop_update(b.params.data(), b.grads.data(), b.slot[0].data(),
                      opts_.momentum > 0.0 ? b.slot[1].data() : nullptr,
                      opts_.centered ? b.slot[avg].data() : nullptr, b.count(),
                      step_of(opts_, lr, wd));
  return true;
}

}  // namespace fitrun::optimizers
