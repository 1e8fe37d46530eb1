#pragma once
// The recurrent layers' fused path (internal): one oneDNN RNN primitive per call instead of
// the step loop, for the calls ops::RNNCell covers. layers/recurrent.cpp decides when.
#include "fitrun/layer.hpp"
#include "fitrun/ops.hpp"

namespace fitrun::layers::fused_rnn {

/// Runs the layer's forward; in training keeps the workspace in the call's state.
void forward(CallContext& ctx, const ops::RNNConfig& c, const Tensor& x, const Tensor& kernel,
             const Tensor& recurrent_kernel, const Tensor& bias, Tensor& y);
/// The backward of `forward` in the same context (recomputes a training forward when the
/// forward ran in inference mode). Weight gradients go to the variables' grads when
/// `trainable`, added when ctx.accumulate_grads; dx may be null.
void backward(CallContext& ctx, const ops::RNNConfig& c, const Tensor& x, Variable& kernel,
              Variable& recurrent_kernel, Variable* bias, bool trainable, const Tensor& y,
              const Tensor& dy, Tensor* dx);

}  // namespace fitrun::layers::fused_rnn
