// Adagrad exactly as keras/src/optimizers/adagrad.py: the accumulator starts at
// initial_accumulator_value and epsilon goes inside the square root.
#include <cmath>

#include "fitrun/error.hpp"
#include "fitrun/optimizers/optimizer.hpp"

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

void Adagrad::update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n, float lr) {
  float* acc = slots[0].data<float>();
  const float eps = static_cast<float>(opts_.epsilon);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    acc[i] += g[i] * g[i];
    w[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
  }
}

}  // namespace fitrun::optimizers
