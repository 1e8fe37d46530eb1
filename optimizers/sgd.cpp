// SGD with Keras' momentum form (keras/src/optimizers/sgd.py): the momentum slot holds the
// velocity already scaled by lr, m = mu*m - lr*g, which is not PyTorch's buf = mu*buf + g.
#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"

namespace fitrun::optimizers {

SGD::SGD(SGDOptions o)
    : Optimizer("SGD", o.learning_rate, o.weight_decay, BaseOptimizerOptions::from(o)), opts_(o) {
  if (o.momentum < 0.0 || o.momentum > 1.0)
    throw ConfigError("SGD: momentum must be a float in [0, 1], got " +
                      std::to_string(o.momentum));
}

std::vector<std::string> SGD::slot_names() const {
  if (num_slots() == 0) return {};
  return {"momentum"};
}

json SGD::get_config() const {
  json c = Optimizer::get_config();
  c["momentum"] = opts_.momentum;
  c["nesterov"] = opts_.nesterov;
  return c;
}

void SGD::update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n, float lr) {
  if (slots.empty()) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) w[i] -= g[i] * lr;
    return;
  }
  float* m = slots[0].data<float>();
  const float mu = static_cast<float>(opts_.momentum);
  if (opts_.nesterov) {
    // Nesterov looks ahead with the new velocity: w += mu*m - lr*g.
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      m[i] = m[i] * mu - g[i] * lr;
      w[i] += m[i] * mu - g[i] * lr;
    }
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      m[i] = m[i] * mu - g[i] * lr;
      w[i] += m[i];
    }
  }
}

bool SGD::fused_update(FusedBatch& b, float lr, float wd) {
  ops::SGDUpdate u;
  u.learning_rate = lr;
  u.momentum = opts_.momentum;
  u.nesterov = opts_.nesterov;
  u.weight_decay = wd;
  ops::sgd_update(b.params.data(), b.grads.data(), num_slots() ? b.slot[0].data() : nullptr,
                  b.count(), u);
  return true;
}

}  // namespace fitrun::optimizers
