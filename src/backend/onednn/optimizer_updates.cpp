// The fused optimizer-update ops on the CPU: one loop per parameter over the per-element maths
// that optimizers/ uses too (src/ops/optimizer_math.hpp), so they are bit-identical to the
// optimizer classes. On a GPU the same ops run as one kernel launch for all parameters
// (src/backend/cuda/optimizer_updates.cu).
#include <cmath>
#include <initializer_list>

#include "backend/onednn/cpu_ops.hpp"
#include "ops/optimizer_math.hpp"

namespace fitrun::cpu {

namespace om = ops::optimizer_math;

namespace {
using om::SlotArg;
float* data(const SlotArg& s, int i) { return s.name ? s.tensors[i]->data<float>() : nullptr; }

/// Checks parameter i with its gradient and slots and applies the decoupled weight decay;
/// returns its size.
int64_t prepare(const char* op, int i, Tensor* const* params, const Tensor* const* grads,
                std::initializer_list<SlotArg> slots, double wd, float lr) {
  om::check_update_tensors(op, i, params, grads, slots);
  const int64_t n = params[i]->size();
  om::decay_tensor(params[i]->data<float>(), n, static_cast<float>(wd), lr);
  return n;
}
}  // namespace

void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta,
                int count, const SGDUpdate& u) {
  const float lr = u.learning_rate, mu = static_cast<float>(u.momentum);
  const SlotArg momentum{momenta, u.momentum != 0.0 ? "momentum" : nullptr};
  for (int i = 0; i < count; ++i) {
    const int64_t n = prepare("sgd_update", i, params, grads, {momentum}, u.weight_decay, lr);
    float* w = params[i]->data<float>();
    const float* g = grads[i]->data<float>();
    if (!momentum.name) {
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

namespace {
/// Adam, or AMSGrad with the maximum second moments v_hats.
void adam_like(const char* op, bool amsgrad, Tensor* const* params, const Tensor* const* grads,
               Tensor* const* ms, Tensor* const* vs, Tensor* const* v_hats, int count,
               const AdamUpdate& u) {
  const om::AdamScalars k = om::adam_scalars(u);
  const SlotArg m{ms, "first moment"}, v{vs, "second moment"},
      v_hat{v_hats, amsgrad ? "maximum second moment" : nullptr};
  for (int i = 0; i < count; ++i) {
    const int64_t n =
        prepare(op, i, params, grads, {m, v, v_hat}, u.weight_decay, u.learning_rate);
    om::adam_tensor(params[i]->data<float>(), grads[i]->data<float>(), data(m, i), data(v, i),
                    data(v_hat, i), n, k);
  }
}
}  // namespace

void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* ms,
                 Tensor* const* vs, int count, const AdamUpdate& u) {
  adam_like("adam_update", false, params, grads, ms, vs, nullptr, count, u);
}

void amsgrad_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* ms,
                    Tensor* const* vs, Tensor* const* v_hats, int count, const AdamUpdate& u) {
  adam_like("amsgrad_update", true, params, grads, ms, vs, v_hats, count, u);
}

void rmsprop_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* velocity,
                    Tensor* const* momentum, Tensor* const* average_gradient, int count,
                    const RMSpropUpdate& u) {
  const om::RMSpropScalars k = om::rmsprop_scalars(u);
  const SlotArg vel{velocity, "velocity"}, mom{momentum, u.momentum > 0.0 ? "momentum" : nullptr},
      avg{average_gradient, u.centered ? "average gradient" : nullptr};
  for (int i = 0; i < count; ++i) {
    const int64_t n = prepare("rmsprop_update", i, params, grads, {vel, mom, avg},
                              u.weight_decay, u.learning_rate);
    om::rmsprop_tensor(params[i]->data<float>(), grads[i]->data<float>(), data(vel, i),
                       data(mom, i), data(avg, i), n, k);
  }
}

void adagrad_update(Tensor* const* params, const Tensor* const* grads,
                    Tensor* const* accumulators, int count, const AdagradUpdate& u) {
  const om::AdagradScalars k = om::adagrad_scalars(u);
  const SlotArg acc{accumulators, "accumulator"};
  for (int i = 0; i < count; ++i) {
    const int64_t n =
        prepare("adagrad_update", i, params, grads, {acc}, u.weight_decay, u.learning_rate);
    om::adagrad_tensor(params[i]->data<float>(), grads[i]->data<float>(), data(acc, i), n, k);
  }
}

void clip_gradients(Tensor* const* grads, int count, const GradientClip& clip) {
  const float c = clip.limit;
  auto each = [&](auto&& f) {
    for (int i = 0; i < count; ++i) f(grads[i]->data<float>(), grads[i]->size());
  };
  switch (clip.kind) {
    case GradientClip::Kind::norm:
      each([&](float* g, int64_t n) {
        const float norm = static_cast<float>(std::sqrt(om::sum_squares(g, n)));
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) om::clip_norm_step(g[j], norm, c);
      });
      break;
    case GradientClip::Kind::global_norm: {
      double total = 0;
      each([&](float* g, int64_t n) { total += om::sum_squares(g, n); });
      const float scale = om::global_clip_scale(total, c);
      if (scale == 1.f) return;
      each([&](float* g, int64_t n) {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) g[j] *= scale;
      });
      break;
    }
    case GradientClip::Kind::value:
      each([&](float* g, int64_t n) {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) om::clip_value_step(g[j], c);
      });
      break;
  }
}

}  // namespace fitrun::cpu
