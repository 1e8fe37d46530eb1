#pragma once
// Maps Keras activations to oneDNN eltwise algorithms.
#include "backend/onednn/context.hpp"
#include "fitrun/activation.hpp"

namespace fitrun::onednn {

struct EltwiseAlg {
  dnnl::algorithm alg;
  float alpha = 0.f;
  float beta = 0.f;
  bool backward_uses_dst = false;  // the backward needs only the forward output
};

/// Forward algorithm; throws for activations oneDNN lacks (selu, softplus, softmax).
inline EltwiseAlg eltwise_forward_alg(ActivationFn act, float alpha) {
  using A = dnnl::algorithm;
  switch (act) {
    case ActivationFn::linear: return {A::eltwise_linear, 1.f, 0.f};
    case ActivationFn::relu: return {A::eltwise_relu, 0.f};
    case ActivationFn::leaky_relu: return {A::eltwise_relu, alpha};
    case ActivationFn::sigmoid: return {A::eltwise_logistic};
    case ActivationFn::tanh: return {A::eltwise_tanh};
    case ActivationFn::elu: return {A::eltwise_elu, 1.f};
    case ActivationFn::gelu: return {A::eltwise_gelu_erf};
    case ActivationFn::gelu_approximate: return {A::eltwise_gelu_tanh};
    case ActivationFn::swish: return {A::eltwise_swish, 1.f};
    case ActivationFn::exponential: return {A::eltwise_exp};
    default: throw Error("no oneDNN eltwise algorithm for activation " + activation_name(act));
  }
}

/// Backward algorithm; uses the *_use_dst_for_bwd forms where they exist.
inline EltwiseAlg eltwise_backward_alg(ActivationFn act, float alpha) {
  using A = dnnl::algorithm;
  switch (act) {
    case ActivationFn::relu: return {A::eltwise_relu_use_dst_for_bwd, 0.f, 0.f, true};
    case ActivationFn::sigmoid: return {A::eltwise_logistic_use_dst_for_bwd, 0.f, 0.f, true};
    case ActivationFn::tanh: return {A::eltwise_tanh_use_dst_for_bwd, 0.f, 0.f, true};
    case ActivationFn::elu: return {A::eltwise_elu_use_dst_for_bwd, 1.f, 0.f, true};
    case ActivationFn::exponential: return {A::eltwise_exp_use_dst_for_bwd, 0.f, 0.f, true};
    default: return eltwise_forward_alg(act, alpha);
  }
}

}  // namespace fitrun::onednn
