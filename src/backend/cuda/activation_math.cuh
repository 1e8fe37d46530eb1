#pragma once
// Keras activations as device functions, with the same formulas as the CPU backend (oneDNN's
// eltwise algorithms, whose backward for relu/sigmoid/tanh/elu/exponential reads the output y).
#include <cuda_runtime.h>

#include "fitrun/activation.hpp"

namespace fitrun::cuda {

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCoef = 0.044715f;

__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

__device__ __forceinline__ float activate(ActivationFn act, float alpha, float x) {
  switch (act) {
    case ActivationFn::relu: return x > 0.f ? x : 0.f;
    case ActivationFn::leaky_relu: return x > 0.f ? x : alpha * x;
    case ActivationFn::sigmoid: return sigmoidf(x);
    case ActivationFn::tanh: return tanhf(x);
    case ActivationFn::elu: return x > 0.f ? x : expm1f(x);
    case ActivationFn::selu: return x > 0.f ? kSeluScale * x : kSeluScale * kSeluAlpha * expm1f(x);
    case ActivationFn::gelu: return 0.5f * x * (1.f + erff(x * 0.7071067811865476f));
    case ActivationFn::gelu_approximate:
      return 0.5f * x * (1.f + tanhf(kSqrt2OverPi * (x + kGeluCoef * x * x * x)));
    case ActivationFn::swish: return x * sigmoidf(x);
    case ActivationFn::softplus: return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x)));
    case ActivationFn::exponential: return expf(x);
    default: return x;  // linear (softmax is a row op, handled apart)
  }
}

/// dL/dx from dy, the forward input x and output y.
__device__ __forceinline__ float activate_backward(ActivationFn act, float alpha, float x, float y,
                                                   float dy) {
  switch (act) {
    case ActivationFn::relu: return y > 0.f ? dy : 0.f;
    case ActivationFn::leaky_relu: return x > 0.f ? dy : alpha * dy;
    case ActivationFn::sigmoid: return dy * y * (1.f - y);
    case ActivationFn::tanh: return dy * (1.f - y * y);
    case ActivationFn::elu: return y > 0.f ? dy : dy * (y + 1.f);
    case ActivationFn::selu: return dy * (y > 0.f ? kSeluScale : y + kSeluScale * kSeluAlpha);
    case ActivationFn::gelu: {
      const float cdf = 0.5f * (1.f + erff(x * 0.7071067811865476f));
      const float pdf = 0.3989422804014327f * expf(-0.5f * x * x);
      return dy * (cdf + x * pdf);
    }
    case ActivationFn::gelu_approximate: {
      const float t = tanhf(kSqrt2OverPi * (x + kGeluCoef * x * x * x));
      const float du = kSqrt2OverPi * (1.f + 3.f * kGeluCoef * x * x);
      return dy * (0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * du);
    }
    case ActivationFn::swish: {
      const float s = sigmoidf(x);
      return dy * (s + x * s * (1.f - s));
    }
    case ActivationFn::softplus: return dy / (1.f + expf(-x));
    case ActivationFn::exponential: return dy * y;
    default: return dy;
  }
}

}  // namespace fitrun::cuda
