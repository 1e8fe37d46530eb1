#pragma once
// The per-element maths of Keras' optimizers, written once and shared by the optimizer
// classes' per-tensor updates (optimizers/), the fused CPU ops
// (src/backend/onednn/optimizer_updates.cpp) and the fused CUDA kernel
// (src/backend/cuda/optimizer_updates.cu), so that the three cannot drift apart. Scalars are
// float32 as Keras forms them for a float32 variable; (1 - beta) is formed in double first, as
// Python computes it before the cast.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"

#ifdef __CUDACC__
#define FITRUN_HOST_DEVICE __host__ __device__ inline
#else
#define FITRUN_HOST_DEVICE inline
#endif

namespace fitrun::ops::optimizer_math {

/// Keras' _apply_weight_decay: w = w - w*wd*lr, before the update.
FITRUN_HOST_DEVICE void decay_step(float& w, float wd, float lr) { w = w - w * wd * lr; }

// ---- Adam / AdamW (amsgrad: divide by the running maximum of v) ----
struct AdamScalars {
  float alpha, one_minus_b1, one_minus_b2, eps;
};
/// alpha = lr·sqrt(1-b2^t)/(1-b1^t): Keras folds the bias correction into the step size.
inline AdamScalars adam_scalars(const AdamUpdate& u) {
  const float t = static_cast<float>(u.step);
  AdamScalars k;
  k.alpha = u.learning_rate * std::sqrt(1.f - std::pow(static_cast<float>(u.beta_2), t)) /
            (1.f - std::pow(static_cast<float>(u.beta_1), t));
  k.one_minus_b1 = static_cast<float>(1.0 - u.beta_1);
  k.one_minus_b2 = static_cast<float>(1.0 - u.beta_2);
  k.eps = static_cast<float>(u.epsilon);
  return k;
}
FITRUN_HOST_DEVICE void adam_step(float& w, float g, float& m, float& v, const AdamScalars& k) {
  m += (g - m) * k.one_minus_b1;
  v += (g * g - v) * k.one_minus_b2;
  w -= m * k.alpha / (sqrtf(v) + k.eps);
}
FITRUN_HOST_DEVICE void amsgrad_step(float& w, float g, float& m, float& v, float& v_hat,
                                     const AdamScalars& k) {
  m += (g - m) * k.one_minus_b1;
  v += (g * g - v) * k.one_minus_b2;
  v_hat = v_hat < v ? v : v_hat;  // std::max(v_hat, v), NaN handling included
  w -= m * k.alpha / (sqrtf(v_hat) + k.eps);
}

// ---- RMSprop: epsilon inside the square root; heavy-ball momentum on the lr-scaled step ----
struct RMSpropScalars {
  float lr, rho, one_minus_rho, eps, mu;
};
inline RMSpropScalars rmsprop_scalars(const RMSpropUpdate& u) {
  return {u.learning_rate, static_cast<float>(u.rho), static_cast<float>(1.0 - u.rho),
          static_cast<float>(u.epsilon), static_cast<float>(u.momentum)};
}
/// `mom` is used only with Momentum, `avg` (the average gradient) only with Centered.
template <bool Momentum, bool Centered>
FITRUN_HOST_DEVICE void rmsprop_step(float& w, float g, float& vel, float& mom, float& avg,
                                     const RMSpropScalars& k) {
  vel = k.rho * vel + k.one_minus_rho * (g * g);
  float denominator = vel;
  if (Centered) {
    avg = k.rho * avg + k.one_minus_rho * g;
    denominator = vel - avg * avg;
  }
  const float increment = k.lr * g / sqrtf(denominator + k.eps);
  if (Momentum) {
    mom = k.mu * mom + increment;
    w -= mom;
  } else {
    w -= increment;
  }
}

// ---- Adagrad: epsilon inside the square root ----
struct AdagradScalars {
  float lr, eps;
};
inline AdagradScalars adagrad_scalars(const AdagradUpdate& u) {
  return {u.learning_rate, static_cast<float>(u.epsilon)};
}
FITRUN_HOST_DEVICE void adagrad_step(float& w, float g, float& acc, const AdagradScalars& k) {
  acc += g * g;
  w -= k.lr * g / sqrtf(acc + k.eps);
}

// ---- Keras' gradient clipping (BaseOptimizer._clip_gradients); std::min/max's NaN handling ----
FITRUN_HOST_DEVICE float min_of(float a, float b) { return b < a ? b : a; }  // std::min(a, b)
FITRUN_HOST_DEVICE float max_of(float a, float b) { return a < b ? b : a; }  // std::max(a, b)
/// clipnorm: g * c / max(||g||, c), with ||g|| the tensor's norm in float.
FITRUN_HOST_DEVICE void clip_norm_step(float& g, float norm, float c) {
  g = g * c / max_of(norm, c);
}
/// global_clipnorm's one factor, c·min(1/norm, 1/c), from the sum of every gradient's
/// squares; NaN/inf norms poison the gradients (norm - norm) rather than pass them unclipped.
FITRUN_HOST_DEVICE float global_clip_scale(double sum_squares, float c) {
  const float norm = static_cast<float>(sqrt(sum_squares));
  return c * min_of(1.f / norm, 1.f / c) + (norm - norm);
}
FITRUN_HOST_DEVICE void clip_value_step(float& g, float v) { g = min_of(max_of(g, -v), v); }

#ifndef __CUDACC__
// ---- one tensor on the host: vectorizable loops over the steps above ----
inline void decay_tensor(float* w, int64_t n, float wd, float lr) {
  if (wd == 0.f) return;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) decay_step(w[j], wd, lr);
}
/// v_hat null: plain Adam.
inline void adam_tensor(float* w, const float* g, float* m, float* v, float* v_hat, int64_t n,
                        const AdamScalars& k) {
  if (v_hat) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) amsgrad_step(w[j], g[j], m[j], v[j], v_hat[j], k);
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) adam_step(w[j], g[j], m[j], v[j], k);
  }
}
/// mom null: no momentum; avg null: not centered. One loop per variant keeps each branch-free.
inline void rmsprop_tensor(float* w, const float* g, float* vel, float* mom, float* avg,
                           int64_t n, const RMSpropScalars& k) {
  float unused = 0.f;
  if (mom && avg) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) rmsprop_step<true, true>(w[j], g[j], vel[j], mom[j], avg[j], k);
  } else if (avg) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) rmsprop_step<false, true>(w[j], g[j], vel[j], unused, avg[j], k);
  } else if (mom) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) rmsprop_step<true, false>(w[j], g[j], vel[j], mom[j], unused, k);
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) rmsprop_step<false, false>(w[j], g[j], vel[j], unused, unused, k);
  }
}
inline double sum_squares(const float* g, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += static_cast<double>(g[j]) * g[j];
  return s;
}
inline void adagrad_tensor(float* w, const float* g, float* acc, int64_t n,
                           const AdagradScalars& k) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) adagrad_step(w[j], g[j], acc[j], k);
}
#endif

/// One slot array of a fused update call (e.g. Adam's first moments); a null name marks a slot
/// that the rule (or its configuration) does not use, whose array may then be null.
struct SlotArg {
  Tensor* const* tensors = nullptr;
  const char* name = nullptr;
  const Tensor* at(int i) const { return tensors ? tensors[i] : nullptr; }
};

/// The fused ops' argument check on both backends: parameter i, its gradient and each used
/// slot are of one size; else a ShapeError naming the op, the parameter and the slot.
inline void check_update_tensors(const char* op, int i, Tensor* const* params,
                                 const Tensor* const* grads,
                                 std::initializer_list<SlotArg> slots) {
  const Tensor* w = params[i];
  const Tensor* g = grads ? grads[i] : nullptr;
  if (!w || !g || w->size() != g->size())
    throw ShapeError(std::string(op) + ": parameter " + std::to_string(i) +
                     " and its gradient differ in size");
  for (const SlotArg& s : slots)
    if (s.name && (!s.at(i) || s.at(i)->size() != w->size()))
      throw ShapeError(std::string(op) + ": the " + s.name + " of parameter " +
                       std::to_string(i) + (s.at(i) ? " differs from it in size" : " is missing"));
}

}  // namespace fitrun::ops::optimizer_math
