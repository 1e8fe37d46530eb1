#pragma once
// The op interface every layer, loss and optimizer calls. Each backend implements it once
// (oneDNN on the CPU, cuDNN/cuBLAS on GPUs); layers never call a backend directly.
//
// Conventions: outputs are preallocated tensors passed last; ops never allocate in steady
// state (backend primitives are created once per shape and cached). `accumulate` = add into
// the output instead of overwriting it (shared layers sum their weight gradients).
#include <cstdint>

#include "fitrun/activation.hpp"
#include "fitrun/losses/row_spec.hpp"
#include "fitrun/metrics/row_spec.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::ops {

// ---- dense: y = act(x·W + b), W in Keras layout (in, out) ----
// `compute`: the type the product multiplies in (a layer's policy, see mixed_precision.hpp).
// Tensors are float32 either way; with bfloat16 the inputs are rounded to bfloat16 into
// buffers the cached primitive owns, products accumulate in float32 and outputs are float32.
// A device that cannot multiply in that type throws BackendError naming the op and the type
// (compute_supported says beforehand).
/// x (N, in), kernel (in, out), bias (out) or undefined, y (N, out). `act` must be fusable
/// (see dense_fusable); other activations are applied by the caller with activation_forward.
void dense_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, ActivationFn act,
                   Tensor& y, ComputeDType compute = ComputeDType::float32);
/// Activations that dense_forward fuses and whose backward needs only the output.
bool dense_fusable(ActivationFn act);
/// dx = dy·Wᵀ
void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx,
                         ComputeDType compute = ComputeDType::float32);
/// dW = xᵀ·dy, db = Σ dy (db may be undefined).
void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias,
                            bool accumulate, ComputeDType compute = ComputeDType::float32);
/// Whether dense and convolution ops can multiply in `compute` on `device` (float32: always;
/// bfloat16 on the CPU: when oneDNN has a bfloat16 inner product for this CPU, which it asks
/// once; float16: not yet anywhere).
bool compute_supported(ComputeDType compute, const Device& device);

// ---- batched matrix products (attention) ----
/// c[i] = alpha · op(a[i]) · op(b[i]) for each i of the leading (batch) axis, where op
/// transposes the last two axes when asked; a, b, c are 3-D row-major. `accumulate` adds
/// into c. On oneDNN's batched matmul (src/backend/onednn/attention_matmul.cpp).
void batched_matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    float alpha, Tensor& c, bool accumulate = false);

// ---- fused recurrent layers (oneDNN's RNN primitives; src/backend/onednn/rnn.cpp) ----
/// The cells the fused kernels compute, with Keras' default activations only: SimpleRNN with
/// tanh or relu; LSTM and GRU with activation tanh and recurrent_activation sigmoid. GRU
/// reset_after=true is oneDNN's linear-before-reset GRU, reset_after=false its vanilla GRU.
enum class RNNCell { simple_tanh, simple_relu, lstm, gru_reset_before, gru_reset_after };
/// One recurrent layer call: Keras' semantics, initial state zero, no mask.
struct RNNConfig {
  RNNCell cell = RNNCell::lstm;
  bool go_backwards = false;      // process the sequence in reverse (outputs in that order)
  bool return_sequences = false;  // y (N, T, units) instead of the last output (N, units)
};
/// Whether fused recurrent kernels run at all (on by default; FITRUN_FUSED_RNN=0 at start-up
/// turns them off). Off, the layers use their step loop: the tests compare the two paths.
bool fused_rnn_enabled();
void set_fused_rnn_enabled(bool enabled);
/// float32 elements of the workspace a training forward fills for the backward, for an input
/// x (N, T, features) and `units`.
int64_t rnn_workspace_size(const RNNConfig& c, const Shape& x, int64_t units);
/// y = the layer's output for x (N, T, features) with Keras-layout weights: kernel
/// (features, G·units), recurrent_kernel (units, G·units), bias (G·units), or (2, 3·units) for
/// gru_reset_after, or undefined (no bias). Training fills `workspace` (rnn_workspace_size
/// elements, kept until rnn_backward); inference ignores it.
void rnn_forward(const RNNConfig& c, bool training, const Tensor& x, const Tensor& kernel,
                 const Tensor& recurrent_kernel, const Tensor& bias, Tensor& y,
                 Tensor& workspace);
/// The gradients of the training rnn_forward that produced y and `workspace`, for dy (y's
/// shape): dx (undefined when not wanted) and the weight gradients in Keras' layouts
/// (dkernel/drecurrent undefined when not wanted, dbias undefined without bias); weight
/// gradients are added when `accumulate`.
void rnn_backward(const RNNConfig& c, const Tensor& x, const Tensor& kernel,
                  const Tensor& recurrent_kernel, const Tensor& bias, const Tensor& y,
                  const Tensor& workspace, const Tensor& dy, Tensor& dx, Tensor& dkernel,
                  Tensor& drecurrent, Tensor& dbias, bool accumulate);

// ---- activations (elementwise; softmax/log_softmax over the last axis) ----
void activation_forward(ActivationFn act, float alpha, const Tensor& x, Tensor& y);
/// dx from the forward input x, output y and dy. In-place (dx aliasing dy) is allowed.
void activation_backward(ActivationFn act, float alpha, const Tensor& x, const Tensor& y,
                         const Tensor& dy, Tensor& dx);

// ---- elementwise arithmetic ----
void copy(const Tensor& src, Tensor& dst);
void fill(Tensor& t, float value);
/// y = a + b (same shape).
void add(const Tensor& a, const Tensor& b, Tensor& y);
/// acc += x
void add_inplace(Tensor& acc, const Tensor& x);
/// y = alpha * x
void scale(const Tensor& x, float alpha, Tensor& y);
/// y = a * b
void mul(const Tensor& a, const Tensor& b, Tensor& y);

// ---- reductions ----
/// Sum of all elements.
double sum(const Tensor& x);
/// Σ x² of all elements (for norms).
double sum_squares(const Tensor& x);
/// Σ |x| of all elements (L1 penalties).
double sum_abs(const Tensor& x);
/// out(j) = Σ_rows x(row, j) for x viewed as (rows, cols).
void sum_rows(const Tensor& x, Tensor& out, bool accumulate);

// ---- regularizers ----
/// grad += l1 · sign(w) + l2x2 · w elementwise (an L1/L2 regularizer's gradient, already
/// scaled: l1 = λ1·scale, l2x2 = 2·λ2·scale).
void add_regularizer_gradient(const Tensor& w, Tensor& grad, float l1, float l2x2);

// ---- dropout ----
/// Draws a keep-mask scaled by 1/(1-rate) from `seed`/`counter` and applies it: y = x * mask.
void dropout_forward(const Tensor& x, float rate, uint64_t seed, uint64_t counter, Tensor& mask,
                     Tensor& y);
/// dx = dy * mask
void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx);

// ---- fused optimizer updates: all parameters in one call (one kernel launch on a GPU) ----
/// Keras SGD. With momentum: m = mu*m - lr*g, then w += m (nesterov: w += mu*m - lr*g);
/// without: w -= lr*g. weight_decay > 0 first applies Keras' decoupled w -= w*wd*lr.
struct SGDUpdate {
  float learning_rate = 0.01f;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
};
/// params[i] -= ... with grads[i]; momenta may be null when momentum == 0. All tensors on one
/// device, float32, params[i]/grads[i]/momenta[i] of one size.
void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta,
                int count, const SGDUpdate& u);
/// Keras Adam (no amsgrad): m += (g-m)(1-b1), v += (g²-v)(1-b2),
/// w -= m·alpha/(sqrt(v)+eps) with alpha = lr·sqrt(1-b2^t)/(1-b1^t), t = step (1 on the first).
struct AdamUpdate {
  float learning_rate = 0.001f;
  double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7;
  int64_t step = 1;
  double weight_decay = 0.0;  // decoupled (AdamW), applied first as in SGDUpdate
};
void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                 Tensor* const* v, int count, const AdamUpdate& u);
/// Keras Adam with amsgrad: as adam_update, then v_hat = max(v_hat, v) and
/// w -= m·alpha/(sqrt(v_hat)+eps).
void amsgrad_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                    Tensor* const* v, Tensor* const* v_hat, int count, const AdamUpdate& u);
/// Keras RMSprop: vel = rho·vel + (1-rho)·g²; centered: avg = rho·avg + (1-rho)·g and
/// d = sqrt(vel - avg² + eps), else d = sqrt(vel + eps); with momentum: mom = mu·mom + lr·g/d,
/// w -= mom; without: w -= lr·g/d.
struct RMSpropUpdate {
  float learning_rate = 0.001f;
  double rho = 0.9, momentum = 0.0, epsilon = 1e-7;
  bool centered = false;
  double weight_decay = 0.0;  // decoupled, applied first as in SGDUpdate
};
/// momentum may be null unless u.momentum > 0, average_gradient unless u.centered.
void rmsprop_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* velocity,
                    Tensor* const* momentum, Tensor* const* average_gradient, int count,
                    const RMSpropUpdate& u);
/// Keras Adagrad: acc += g², w -= lr·g/sqrt(acc + eps).
struct AdagradUpdate {
  float learning_rate = 0.001f;
  double epsilon = 1e-7;
  double weight_decay = 0.0;  // decoupled, applied first as in SGDUpdate
};
void adagrad_update(Tensor* const* params, const Tensor* const* grads,
                    Tensor* const* accumulators, int count, const AdagradUpdate& u);
/// Keras' gradient clipping, in place over all gradients at once (one option, as Keras):
/// norm: each g = g·c/max(||g||, c); global_norm: every g *= c·min(1/||all||, 1/c) (a NaN or
/// infinite norm makes every gradient NaN); value: g = min(max(g, -c), c).
struct GradientClip {
  enum class Kind { norm, global_norm, value };
  Kind kind = Kind::norm;
  float limit = 1.f;
};
void clip_gradients(Tensor* const* grads, int count, const GradientClip& clip);

// ---- shape ops ----
/// Concatenates along `axis` (not the batch axis; inputs share all other dims).
void concat(const Tensor* const* inputs, int count, int axis, Tensor& y);
/// The reverse of concat: slices dy into the inputs' gradients.
void split(const Tensor& dy, int axis, Tensor* const* outputs, int count, bool accumulate);

// ---- gathering rows (batching with a shuffled order) ----
/// dst row i = src row index[i] (any dtype; rows are src's trailing dims).
void gather_rows(const Tensor& src, const int64_t* index, int64_t count, Tensor& dst);

// ---- convolution (channels_last: x (N, H, W, C); 1-D convs use H = 1) ----
/// Geometry of a 2-D convolution beyond the tensors' shapes. Kernel sizes come from the
/// kernel tensor, input/output sizes from x and y.
struct Conv2DParams {
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;  // Keras dilation_rate (1 = none)
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t groups = 1;
  /// The type the convolution multiplies in, as dense_forward's `compute`.
  ComputeDType compute = ComputeDType::float32;
};
/// y = act(conv(x, kernel) + bias). x (N, H, W, C), kernel in Keras layout
/// (kh, kw, C/groups, OC), bias (OC) or undefined, y (N, OH, OW, OC). `act` must be fusable
/// (conv_fusable); bias and activation run inside the oneDNN primitive.
void conv2d_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                    const Conv2DParams& p, ActivationFn act, Tensor& y);
/// Activations that conv2d_forward fuses and whose backward needs only the output.
bool conv_fusable(ActivationFn act);
/// dx = the gradient of conv2d_forward (without bias/activation) with respect to x.
void conv2d_backward_data(const Tensor& dy, const Tensor& kernel, const Conv2DParams& p,
                          Tensor& dx);
/// dkernel (Keras layout) and dbias = Σ dy over N, OH, OW (dbias may be undefined).
void conv2d_backward_weights(const Tensor& x, const Tensor& dy, const Conv2DParams& p,
                             Tensor& dkernel, Tensor& dbias, bool accumulate);
/// Benchmark/debug switch: convolve with the Keras-layout (hwio) kernel as oneDNN weights
/// (no reorders, slower gemm-based kernels) instead of reordering it into the layout oneDNN
/// prefers. Off by default; FITRUN_CONV_PLAIN_WEIGHTS=1 turns it on at start-up.
void set_conv_plain_weights(bool plain);
/// y = x + bias over the last axis (any rank; bias has x.dim(-1) elements).
void bias_add(const Tensor& x, const Tensor& bias, Tensor& y);

// ---- pooling (channels_last: x (N, H, W, C)) ----
enum class PoolAlg { max, avg };
/// Average pooling excludes padded elements from the count (as Keras/TF "same").
struct Pool2DParams {
  PoolAlg alg = PoolAlg::max;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};
/// y (N, OH, OW, C). In training, max pooling records the arg-max in `workspace` (opaque;
/// (re)allocated here the first time a shape is seen), which pool2d_backward needs.
void pool2d_forward(const Tensor& x, const Pool2DParams& p, bool training, Tensor& y,
                    Tensor& workspace);
/// dx from dy and the workspace of the training forward that produced y.
void pool2d_backward(const Tensor& dy, const Tensor& workspace, const Pool2DParams& p,
                     Tensor& dx);

// ---- normalization over the last axis (x viewed as (rows, C)) ----
/// Batch normalization with batch statistics: mean and var (C) receive the batch mean and the
/// biased variance. gamma/beta (C) may be undefined (scale/center off).
void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float epsilon, Tensor& y, Tensor& mean, Tensor& var);
/// Batch normalization with given statistics (the moving ones).
void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& mean, const Tensor& var, float epsilon,
                                  Tensor& y);
/// Backward of either forward (`global_stats`: of the inference form). dgamma/dbeta may be
/// undefined when not wanted (or when gamma/beta are).
void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, bool global_stats, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta, bool accumulate);
/// moving = moving * momentum + value * (1 - momentum)
void moving_average_update(Tensor& moving, const Tensor& value, float momentum);
/// Layer normalization of each row; mean and var (rows) receive the row statistics.
void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float epsilon,
                        Tensor& y, Tensor& mean, Tensor& var);
void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                         bool accumulate);

// ---- spatial reshaping (channels_last: (N, H, W, C)) ----
/// y (N, H + top + bottom, W + left + right, C): x placed at (top, left), zeros around.
void zero_pad2d(const Tensor& x, int64_t top, int64_t left, Tensor& y);
/// y = x[:, top : top + y.H, left : left + y.W, :]
void crop2d(const Tensor& x, int64_t top, int64_t left, Tensor& y);
/// Nearest-neighbour upsampling: y (N, H·sh, W·sw, C).
void upsample2d_nearest(const Tensor& x, int64_t sh, int64_t sw, Tensor& y);
/// dx(n, h, w, c) = Σ of dy over the sh×sw block it was copied to.
void upsample2d_nearest_backward(const Tensor& dy, int64_t sh, int64_t sw, Tensor& dx);
/// Transposes all axes: y.shape[k] = x.shape[perm[k]] (perm has x.rank() entries).
void permute(const Tensor& x, const int* perm, Tensor& y);
/// (N, F) -> (N, n, F): each row repeated n times.
void repeat_vector(const Tensor& x, int64_t n, Tensor& y);
/// dx(N, F) = Σ over the n repeats of dy(N, n, F).
void repeat_vector_backward(const Tensor& dy, int64_t n, Tensor& dx);
/// y(n, ..., c) = x(n, ..., c) * s(n, c): a per-sample, per-channel factor (x viewed as
/// (N, S, C), s as (N, C)). Used by SpatialDropout.
void scale_channels(const Tensor& x, const Tensor& s, Tensor& y);

// ---- losses and metrics on a GPU (device only; the CPU computes them in Loss::compute and
// Metric::update_state). Each result is a float64 in device memory: fitrun has no float64
// dtype, so they live in int64 tensors of as many elements, which the kernels read as doubles.
// Sums run in a fixed order (no atomics): results depend only on the data. ----
/// `count` float64 zeros on `device`.
Tensor device_doubles(int64_t count, Device device);
/// Zeroes them (enqueued; no host sync).
void zero_doubles(Tensor& values);
/// Copies them into out[0..values.size()) (a host sync).
void read_doubles(const Tensor& values, double* out);
/// Loss::compute on the device: y_pred (N, ..., C) viewed as (N, T, C) rows, y_true of
/// float32/int32/int64 (one class index per row for sparse crossentropy, else one label per
/// prediction), sample_weight (N) float32 or null. Writes, when grad is non-null, dL/dy_pred
/// times w_i * factor * scale, and result[slot] = factor * Σ_i w_i loss_i.
void loss_on_device(const losses::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                    const Tensor* sample_weight, Tensor* grad, float scale, double factor,
                    Tensor& result, int64_t slot);
/// Metric::update_state on the device: state[0] += the rows' values (element-wise metrics:
/// their sum / C), state[1] += N * T.
void metric_on_device(const metrics::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                      Tensor& state);
/// Mean::update on the device: state[0] += weight * (constant + Σ_j coeffs[j] *
/// values[first + j]) (coeffs: n host doubles), state[1] += weight.
void mean_on_device(Tensor& state, const Tensor& values, int64_t first, const double* coeffs,
                    int n, double constant, double weight);

}  // namespace fitrun::ops
