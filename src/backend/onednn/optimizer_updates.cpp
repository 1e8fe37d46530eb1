// The fused optimizer-update ops on the CPU: the same float32 maths as optimizers/sgd.cpp and
// optimizers/adam.cpp (Keras' forms), one loop per parameter. On a GPU the same ops run as one
// kernel launch for all parameters (src/backend/cuda/optimizer_updates.cu).
#include <cmath>

#include "backend/onednn/cpu_ops.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cpu {

namespace {
void check_pair(const Tensor* w, const Tensor* g, const char* op, int i) {
  if (!w || !g || w->size() != g->size())
    throw ShapeError(std::string(op) + ": parameter " + std::to_string(i) +
                     " and its gradient differ in size");
}
/// Keras' _apply_weight_decay: w = w - w*wd*lr, before the update.
void decay(float* w, int64_t n, float wd, float lr) {
  if (wd == 0.f) return;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) w[j] = w[j] - w[j] * wd * lr;
}
}  // namespace

void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta,
                int count, const SGDUpdate& u) {
  const float lr = u.learning_rate, mu = static_cast<float>(u.momentum);
  for (int i = 0; i < count; ++i) {
    check_pair(params[i], grads[i], "sgd_update", i);
    const int64_t n = params[i]->size();
    float* w = params[i]->data<float>();
    const float* g = grads[i]->data<float>();
    decay(w, n, static_cast<float>(u.weight_decay), lr);
    if (u.momentum == 0.0) {
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) w[j] -= g[j] * lr;
      continue;
    }
    float* m = momenta[i]->data<float>();
    if (u.nesterov) {
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        m[j] = m[j] * mu - g[j] * lr;
        w[j] += m[j] * mu - g[j] * lr;
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        m[j] = m[j] * mu - g[j] * lr;
        w[j] += m[j];
      }
    }
  }
}

void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* ms,
                 Tensor* const* vs, int count, const AdamUpdate& u) {
  const float lr = u.learning_rate;
  const float t = static_cast<float>(u.step);
  const float alpha = lr * std::sqrt(1.f - std::pow(static_cast<float>(u.beta_2), t)) /
                      (1.f - std::pow(static_cast<float>(u.beta_1), t));
  const float one_minus_b1 = static_cast<float>(1.0 - u.beta_1);
  const float one_minus_b2 = static_cast<float>(1.0 - u.beta_2);
  const float eps = static_cast<float>(u.epsilon);
  for (int i = 0; i < count; ++i) {
    check_pair(params[i], grads[i], "adam_update", i);
    const int64_t n = params[i]->size();
    float* w = params[i]->data<float>();
    const float* g = grads[i]->data<float>();
    float* m = ms[i]->data<float>();
    float* v = vs[i]->data<float>();
    decay(w, n, static_cast<float>(u.weight_decay), lr);
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      m[j] += (g[j] - m[j]) * one_minus_b1;
      v[j] += (g[j] * g[j] - v[j]) * one_minus_b2;
      w[j] -= m[j] * alpha / (std::sqrt(v[j]) + eps);
    }
  }
}

}  // namespace fitrun::cpu
