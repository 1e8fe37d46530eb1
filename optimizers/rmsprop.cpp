// RMSprop exactly as keras/src/optimizers/rmsprop.py: epsilon goes inside the square root, the
// centered form subtracts the squared average gradient, and momentum is plain (heavy-ball)
// momentum on the lr-scaled increment.
#include <cmath>

#include "fitrun/optimizers/optimizer.hpp"

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

void RMSprop::update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n, float lr) {
  const float rho = static_cast<float>(opts_.rho);
  const float one_minus_rho = static_cast<float>(1.0 - opts_.rho);
  const float eps = static_cast<float>(opts_.epsilon);
  const float mu = static_cast<float>(opts_.momentum);
  float* vel = slots[0].data<float>();
  float* mom = opts_.momentum > 0.0 ? slots[1].data<float>() : nullptr;
  float* avg = opts_.centered ? slots.back().data<float>() : nullptr;
  // One loop per variant keeps each branch-free and vectorizable.
  if (avg && mom) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      vel[i] = rho * vel[i] + one_minus_rho * (g[i] * g[i]);
      avg[i] = rho * avg[i] + one_minus_rho * g[i];
      mom[i] = mu * mom[i] + lr * g[i] / std::sqrt(vel[i] - avg[i] * avg[i] + eps);
      w[i] -= mom[i];
    }
  } else if (avg) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      vel[i] = rho * vel[i] + one_minus_rho * (g[i] * g[i]);
      avg[i] = rho * avg[i] + one_minus_rho * g[i];
      w[i] -= lr * g[i] / std::sqrt(vel[i] - avg[i] * avg[i] + eps);
    }
  } else if (mom) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      vel[i] = rho * vel[i] + one_minus_rho * (g[i] * g[i]);
      mom[i] = mu * mom[i] + lr * g[i] / std::sqrt(vel[i] + eps);
      w[i] -= mom[i];
    }
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      vel[i] = rho * vel[i] + one_minus_rho * (g[i] * g[i]);
      w[i] -= lr * g[i] / std::sqrt(vel[i] + eps);
    }
  }
}

}  // namespace fitrun::optimizers
