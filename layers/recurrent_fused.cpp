// The recurrent layers' fused path: the state a call keeps between its forward and backward
// (oneDNN's workspace), around ops::rnn_forward / ops::rnn_backward.
#include "layers/recurrent_fused.hpp"

namespace fitrun::layers::fused_rnn {

namespace {
struct State {
  Tensor workspace;
  bool has_workspace = false;  // the last forward was a training forward
  Tensor y;                    // output of a training forward recomputed for the backward
};

Tensor& ensure(Tensor& t, const Shape& shape) {
  if (!t.defined() || t.shape() != shape) t = Tensor(shape);
  return t;
}
}  // namespace

void forward(CallContext& ctx, const ops::RNNConfig& c, const Tensor& x, const Tensor& kernel,
             const Tensor& recurrent_kernel, const Tensor& bias, Tensor& y) {
  State& st = ctx.state<State>();
  if (ctx.training)
    ensure(st.workspace, {ops::rnn_workspace_size(c, x.shape(), recurrent_kernel.dim(0))});
  ops::rnn_forward(c, ctx.training, x, kernel, recurrent_kernel, bias, y, st.workspace);
  st.has_workspace = ctx.training;
}

void backward(CallContext& ctx, const ops::RNNConfig& c, const Tensor& x, Variable& kernel,
              Variable& recurrent_kernel, Variable* bias, bool trainable, const Tensor& y,
              const Tensor& dy, Tensor* dx) {
  State& st = ctx.state<State>();
  const Tensor none;
  const Tensor& b = bias ? bias->value : none;
  const Tensor* out = &y;
  if (!st.has_workspace) {  // e.g. a gradient check in inference mode
    ensure(st.workspace, {ops::rnn_workspace_size(c, x.shape(), recurrent_kernel.value.dim(0))});
    ensure(st.y, y.shape());
    ops::rnn_forward(c, true, x, kernel.value, recurrent_kernel.value, b, st.y, st.workspace);
    st.has_workspace = true;
    out = &st.y;
  }
  Tensor dk, dr, db, dxt;
  if (trainable) {
    dk = kernel.grad;
    dr = recurrent_kernel.grad;
    if (bias) db = bias->grad;
  }
  if (dx) dxt = *dx;
  ops::rnn_backward(c, x, kernel.value, recurrent_kernel.value, b, *out, st.workspace, dy, dxt,
                    dk, dr, db, ctx.accumulate_grads);
}

}  // namespace fitrun::layers::fused_rnn
