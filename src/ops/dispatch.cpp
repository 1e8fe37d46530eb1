// The one place that knows there are several backends: each ops:: call goes to the backend of
// its tensors' device (src/backend/onednn for the CPU, src/backend/cuda for GPUs). Layers,
// losses and optimizers call ops:: and never see a device. Checking devices is a few compares
// per call and allocates nothing, so the allocation-free training step stays so.
#include <cstring>
#include <initializer_list>
#include <string>

#include "backend/onednn/cpu_ops.hpp"
#include "fitrun/error.hpp"
#ifdef FITRUN_HAVE_CUDA
#include "backend/cuda/cuda_ops.hpp"
#define FITRUN_GPU(call) cuda::call
#define FITRUN_GPU_ONLY(call) cuda::call
#else
// No CUDA tensor can exist in this build (Storage refuses to allocate one).
#define FITRUN_GPU(call) (no_gpu_backend(), cpu::call)
#define FITRUN_GPU_ONLY(call) no_gpu_backend()  // ops without a CPU twin
#endif

namespace fitrun::ops {

namespace {
/// Collects the devices of an op's defined tensors; a mix of devices is an error naming the op.
class Devices {
 public:
  explicit Devices(const char* op) : op_(op) {}
  Devices(const char* op, std::initializer_list<const Tensor*> ts) : op_(op) {
    for (const Tensor* t : ts) add(t);
  }
  void add(const Tensor* t) {
    if (!t || !t->defined()) return;
    const Device d = t->device();
    if (!seen_) {
      device_ = d;
      seen_ = true;
    } else if (d != device_) {
      throw Error(std::string(op_) + ": tensors on " + device_.to_string() + " and " +
                  d.to_string() + " (an op runs on one device; move them with Tensor::to)");
    }
  }
  void add(const Tensor* const* ts, int count) {
    for (int i = 0; i < count; ++i) add(ts ? ts[i] : nullptr);
  }
  void add(Tensor* const* ts, int count) {
    for (int i = 0; i < count; ++i) add(ts ? ts[i] : nullptr);
  }
  bool gpu() const { return seen_ && device_.is_cuda(); }
  /// For the device-only ops (losses and metrics on a GPU).
  void gpu_only() const {
    if (!gpu())
      throw Error(std::string(op_) + " runs on a CUDA device only (on the CPU, Loss::compute "
                  "and Metric::update_state compute directly)");
  }
  /// For ops the CUDA backend does not have yet.
  void cpu_only() const {
    if (gpu())
      throw BackendError(std::string(op_) + " is not implemented on " + device_.to_string() +
                         " yet (see docs/gpu.md for the ops the CUDA backend has)");
  }

 private:
  const char* op_;
  bool seen_ = false;
  Device device_;
};

[[maybe_unused]] void no_gpu_backend() {
  throw BackendError("this build has no CUDA backend (configure with FITRUN_CUDA=ON)");
}
}  // namespace

// ---- ops with a GPU implementation ----
namespace {
/// GPU dense/conv ops in float32 only so far: other compute types are an error naming the op.
void require_gpu_float32(const char* op, ComputeDType compute) {
  if (compute != ComputeDType::float32)
    throw BackendError(std::string(op) + ": " + compute_dtype_name(compute) +
                       " compute (mixed precision) is not implemented on CUDA devices yet");
}
}  // namespace

void dense_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, ActivationFn act,
                   Tensor& y, ComputeDType compute) {
  if (Devices("dense_forward", {&x, &kernel, &bias, &y}).gpu()) {
    require_gpu_float32("dense_forward", compute);
    return FITRUN_GPU(dense_forward(x, kernel, bias, act, y));
  }
  cpu::dense_forward(x, kernel, bias, act, y, compute);
}

bool dense_fusable(ActivationFn act) { return cpu::dense_fusable(act); }  // same set on GPUs

void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx,
                         ComputeDType compute) {
  if (Devices("dense_backward_data", {&dy, &kernel, &dx}).gpu()) {
    require_gpu_float32("dense_backward_data", compute);
    return FITRUN_GPU(dense_backward_data(dy, kernel, dx));
  }
  cpu::dense_backward_data(dy, kernel, dx, compute);
}

void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias,
                            bool accumulate, ComputeDType compute) {
  if (Devices("dense_backward_weights", {&x, &dy, &dkernel, &dbias}).gpu()) {
    require_gpu_float32("dense_backward_weights", compute);
    return FITRUN_GPU(dense_backward_weights(x, dy, dkernel, dbias, accumulate));
  }
  cpu::dense_backward_weights(x, dy, dkernel, dbias, accumulate, compute);
}

bool compute_supported(ComputeDType compute, const Device& device) {
  if (compute == ComputeDType::float32) return true;
  if (device.is_cuda() || compute == ComputeDType::float16) return false;
  return cpu::bfloat16_supported();
}

void activation_forward(ActivationFn act, float alpha, const Tensor& x, Tensor& y) {
  if (Devices("activation_forward", {&x, &y}).gpu())
    return FITRUN_GPU(activation_forward(act, alpha, x, y));
  cpu::activation_forward(act, alpha, x, y);
}

void activation_backward(ActivationFn act, float alpha, const Tensor& x, const Tensor& y,
                         const Tensor& dy, Tensor& dx) {
  if (Devices("activation_backward", {&x, &y, &dy, &dx}).gpu())
    return FITRUN_GPU(activation_backward(act, alpha, x, y, dy, dx));
  cpu::activation_backward(act, alpha, x, y, dy, dx);
}

void copy(const Tensor& src, Tensor& dst) {
  if (Devices("copy", {&src, &dst}).gpu()) return FITRUN_GPU(copy(src, dst));
  cpu::copy(src, dst);
}

void fill(Tensor& t, float value) {
  if (Devices("fill", {&t}).gpu()) return FITRUN_GPU(fill(t, value));
  cpu::fill(t, value);
}

void add(const Tensor& a, const Tensor& b, Tensor& y) {
  if (Devices("add", {&a, &b, &y}).gpu()) return FITRUN_GPU(add(a, b, y));
  cpu::add(a, b, y);
}

void add_inplace(Tensor& acc, const Tensor& x) {
  if (Devices("add_inplace", {&acc, &x}).gpu()) return FITRUN_GPU(add_inplace(acc, x));
  cpu::add_inplace(acc, x);
}

void scale(const Tensor& x, float alpha, Tensor& y) {
  if (Devices("scale", {&x, &y}).gpu()) return FITRUN_GPU(scale(x, alpha, y));
  cpu::scale(x, alpha, y);
}

void mul(const Tensor& a, const Tensor& b, Tensor& y) {
  if (Devices("mul", {&a, &b, &y}).gpu()) return FITRUN_GPU(mul(a, b, y));
  cpu::mul(a, b, y);
}

double sum(const Tensor& x) {
  if (Devices("sum", {&x}).gpu()) return FITRUN_GPU(sum(x));
  return cpu::sum(x);
}

double sum_squares(const Tensor& x) {
  if (Devices("sum_squares", {&x}).gpu()) return FITRUN_GPU(sum_squares(x));
  return cpu::sum_squares(x);
}

double sum_abs(const Tensor& x) {
  if (Devices("sum_abs", {&x}).gpu()) return FITRUN_GPU(sum_abs(x));
  return cpu::sum_abs(x);
}

void add_regularizer_gradient(const Tensor& w, Tensor& grad, float l1, float l2x2) {
  if (w.size() != grad.size())
    throw ShapeError("add_regularizer_gradient: weight " + w.shape().to_string() +
                     " and gradient " + grad.shape().to_string() + " differ in size");
  if (Devices("add_regularizer_gradient", {&w, &grad}).gpu())
    return FITRUN_GPU(add_regularizer_gradient(w, grad, l1, l2x2));
  cpu::add_regularizer_gradient(w, grad, l1, l2x2);
}

void sum_rows(const Tensor& x, Tensor& out, bool accumulate) {
  if (Devices("sum_rows", {&x, &out}).gpu()) return FITRUN_GPU(sum_rows(x, out, accumulate));
  cpu::sum_rows(x, out, accumulate);
}

void bias_add(const Tensor& x, const Tensor& bias, Tensor& y) {
  if (Devices("bias_add", {&x, &bias, &y}).gpu()) return FITRUN_GPU(bias_add(x, bias, y));
  cpu::bias_add(x, bias, y);
}

void dropout_forward(const Tensor& x, float rate, uint64_t seed, uint64_t counter, Tensor& mask,
                     Tensor& y) {
  if (Devices("dropout_forward", {&x, &mask, &y}).gpu())
    return FITRUN_GPU(dropout_forward(x, rate, seed, counter, mask, y));
  cpu::dropout_forward(x, rate, seed, counter, mask, y);
}

void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx) {
  if (Devices("dropout_backward", {&dy, &mask, &dx}).gpu())
    return FITRUN_GPU(dropout_backward(dy, mask, dx));
  cpu::dropout_backward(dy, mask, dx);
}

void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta,
                int count, const SGDUpdate& u) {
  Devices d("sgd_update");
  d.add(params, count);
  d.add(grads, count);
  if (u.momentum != 0.0) d.add(momenta, count);
  if (d.gpu()) return FITRUN_GPU(sgd_update(params, grads, momenta, count, u));
  cpu::sgd_update(params, grads, momenta, count, u);
}

void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                 Tensor* const* v, int count, const AdamUpdate& u) {
  Devices d("adam_update");
  d.add(params, count);
  d.add(grads, count);
  d.add(m, count);
  d.add(v, count);
  if (d.gpu()) return FITRUN_GPU(adam_update(params, grads, m, v, count, u));
  cpu::adam_update(params, grads, m, v, count, u);
}

void amsgrad_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                    Tensor* const* v, Tensor* const* v_hat, int count, const AdamUpdate& u) {
  Devices d("amsgrad_update");
  for (Tensor* const* ts : {params, m, v, v_hat}) d.add(ts, count);
  d.add(grads, count);
  if (d.gpu()) return FITRUN_GPU(amsgrad_update(params, grads, m, v, v_hat, count, u));
  cpu::amsgrad_update(params, grads, m, v, v_hat, count, u);
}

void rmsprop_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* velocity,
                    Tensor* const* momentum, Tensor* const* average_gradient, int count,
                    const RMSpropUpdate& u) {
  Devices d("rmsprop_update");
  d.add(params, count);
  d.add(grads, count);
  d.add(velocity, count);
  if (u.momentum > 0.0) d.add(momentum, count);
  if (u.centered) d.add(average_gradient, count);
  if (d.gpu())
    return FITRUN_GPU(
        rmsprop_update(params, grads, velocity, momentum, average_gradient, count, u));
  cpu::rmsprop_update(params, grads, velocity, momentum, average_gradient, count, u);
}

void adagrad_update(Tensor* const* params, const Tensor* const* grads,
                    Tensor* const* accumulators, int count, const AdagradUpdate& u) {
  Devices d("adagrad_update");
  d.add(params, count);
  d.add(grads, count);
  d.add(accumulators, count);
  if (d.gpu()) return FITRUN_GPU(adagrad_update(params, grads, accumulators, count, u));
  cpu::adagrad_update(params, grads, accumulators, count, u);
}

void clip_gradients(Tensor* const* grads, int count, const GradientClip& clip) {
  Devices d("clip_gradients");
  d.add(grads, count);
  if (d.gpu()) return FITRUN_GPU(clip_gradients(grads, count, clip));
  cpu::clip_gradients(grads, count, clip);
}

// ---- the rest: each op that calls cpu_only() is CPU-only for now (a GPU tensor gets an error
// naming the op); the others route to the GPU like the ops above ----

// ---- the rest: CPU-only for now (a GPU tensor gets an error naming the op), except conv2d,
//      pooling and normalization ----
// ---- fused recurrent layers (CPU only for now) ----
bool fused_rnn_enabled() { return cpu::fused_rnn_enabled(); }
void set_fused_rnn_enabled(bool enabled) { cpu::set_fused_rnn_enabled(enabled); }
int64_t rnn_workspace_size(const RNNConfig& c, const Shape& x, int64_t units) {
  return cpu::rnn_workspace_size(c, x, units);
}
void rnn_forward(const RNNConfig& c, bool training, const Tensor& x, const Tensor& kernel,
                 const Tensor& recurrent_kernel, const Tensor& bias, Tensor& y,
                 Tensor& workspace) {
  Devices("rnn_forward", {&x, &kernel, &recurrent_kernel, &bias, &y}).cpu_only();
  cpu::rnn_forward(c, training, x, kernel, recurrent_kernel, bias, y, workspace);
}
void rnn_backward(const RNNConfig& c, const Tensor& x, const Tensor& kernel,
                  const Tensor& recurrent_kernel, const Tensor& bias, const Tensor& y,
                  const Tensor& workspace, const Tensor& dy, Tensor& dx, Tensor& dkernel,
                  Tensor& drecurrent, Tensor& dbias, bool accumulate) {
  Devices("rnn_backward", {&x, &kernel, &recurrent_kernel, &bias, &y, &dy, &dx}).cpu_only();
  cpu::rnn_backward(c, x, kernel, recurrent_kernel, bias, y, workspace, dy, dx, dkernel,
                    drecurrent, dbias, accumulate);
}

void batched_matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    float alpha, Tensor& c, bool accumulate) {
  if (Devices("batched_matmul", {&a, &b, &c}).gpu())
    return FITRUN_GPU(batched_matmul(a, transpose_a, b, transpose_b, alpha, c, accumulate));
  cpu::batched_matmul(a, transpose_a, b, transpose_b, alpha, c, accumulate);
}

void concat(const Tensor* const* inputs, int count, int axis, Tensor& y) {
  Devices d("concat", {&y});
  d.add(inputs, count);
  if (d.gpu()) return FITRUN_GPU(concat(inputs, count, axis, y));
  cpu::concat(inputs, count, axis, y);
}

void split(const Tensor& dy, int axis, Tensor* const* outputs, int count, bool accumulate) {
  Devices d("split", {&dy});
  d.add(outputs, count);
  if (d.gpu()) return FITRUN_GPU(split(dy, axis, outputs, count, accumulate));
  cpu::split(dy, axis, outputs, count, accumulate);
}

void gather_rows(const Tensor& src, const int64_t* index, int64_t count, Tensor& dst) {
  if (Devices("gather_rows", {&src, &dst}).gpu())
    return FITRUN_GPU(gather_rows(src, index, count, dst));
  cpu::gather_rows(src, index, count, dst);
}

void conv2d_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                    const Conv2DParams& p, ActivationFn act, Tensor& y) {
  if (Devices("conv2d_forward", {&x, &kernel, &bias, &y}).gpu()) {
    require_gpu_float32("conv2d_forward", p.compute);
    return FITRUN_GPU(conv2d_forward(x, kernel, bias, p, act, y));
  }
  cpu::conv2d_forward(x, kernel, bias, p, act, y);
}

bool conv_fusable(ActivationFn act) { return cpu::conv_fusable(act); }

void conv2d_backward_data(const Tensor& dy, const Tensor& kernel, const Conv2DParams& p,
                          Tensor& dx) {
  if (Devices("conv2d_backward_data", {&dy, &kernel, &dx}).gpu()) {
    require_gpu_float32("conv2d_backward_data", p.compute);
    return FITRUN_GPU(conv2d_backward_data(dy, kernel, p, dx));
  }
  cpu::conv2d_backward_data(dy, kernel, p, dx);
}

void conv2d_backward_weights(const Tensor& x, const Tensor& dy, const Conv2DParams& p,
                             Tensor& dkernel, Tensor& dbias, bool accumulate) {
  if (Devices("conv2d_backward_weights", {&x, &dy, &dkernel, &dbias}).gpu()) {
    require_gpu_float32("conv2d_backward_weights", p.compute);
    return FITRUN_GPU(conv2d_backward_weights(x, dy, p, dkernel, dbias, accumulate));
  }
  cpu::conv2d_backward_weights(x, dy, p, dkernel, dbias, accumulate);
}

void set_conv_plain_weights(bool plain) { cpu::set_conv_plain_weights(plain); }

void pool2d_forward(const Tensor& x, const Pool2DParams& p, bool training, Tensor& y,
                    Tensor& workspace) {
  if (Devices("pool2d_forward", {&x, &y}).gpu())
    return FITRUN_GPU(pool2d_forward(x, p, training, y, workspace));
  cpu::pool2d_forward(x, p, training, y, workspace);
}

void pool2d_backward(const Tensor& dy, const Tensor& workspace, const Pool2DParams& p,
                     Tensor& dx) {
  if (Devices("pool2d_backward", {&dy, &workspace, &dx}).gpu())
    return FITRUN_GPU(pool2d_backward(dy, workspace, p, dx));
  cpu::pool2d_backward(dy, workspace, p, dx);
}

void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float epsilon, Tensor& y, Tensor& mean, Tensor& var) {
  if (Devices("batch_norm_forward_training", {&x, &gamma, &beta, &y, &mean, &var}).gpu())
    return FITRUN_GPU(batch_norm_forward_training(x, gamma, beta, epsilon, y, mean, var));
  cpu::batch_norm_forward_training(x, gamma, beta, epsilon, y, mean, var);
}

void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& mean, const Tensor& var, float epsilon,
                                  Tensor& y) {
  if (Devices("batch_norm_forward_inference", {&x, &gamma, &beta, &mean, &var, &y}).gpu())
    return FITRUN_GPU(batch_norm_forward_inference(x, gamma, beta, mean, var, epsilon, y));
  cpu::batch_norm_forward_inference(x, gamma, beta, mean, var, epsilon, y);
}

void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, bool global_stats, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta, bool accumulate) {
  if (Devices("batch_norm_backward", {&x, &dy, &gamma, &beta, &mean, &var, &dx, &dgamma, &dbeta})
          .gpu())
    return FITRUN_GPU(batch_norm_backward(x, dy, gamma, beta, mean, var, epsilon, global_stats,
                                          dx, dgamma, dbeta, accumulate));
  cpu::batch_norm_backward(x, dy, gamma, beta, mean, var, epsilon, global_stats, dx, dgamma,
                           dbeta, accumulate);
}

void moving_average_update(Tensor& moving, const Tensor& value, float momentum) {
  if (Devices("moving_average_update", {&moving, &value}).gpu())
    return FITRUN_GPU(moving_average_update(moving, value, momentum));
  cpu::moving_average_update(moving, value, momentum);
}

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float epsilon,
                        Tensor& y, Tensor& mean, Tensor& var) {
  if (Devices("layer_norm_forward", {&x, &gamma, &beta, &y, &mean, &var}).gpu())
    return FITRUN_GPU(layer_norm_forward(x, gamma, beta, epsilon, y, mean, var));
  cpu::layer_norm_forward(x, gamma, beta, epsilon, y, mean, var);
}

void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                         bool accumulate) {
  if (Devices("layer_norm_backward", {&x, &dy, &gamma, &beta, &mean, &var, &dx, &dgamma, &dbeta})
          .gpu())
    return FITRUN_GPU(layer_norm_backward(x, dy, gamma, beta, mean, var, epsilon, dx, dgamma,
                                          dbeta, accumulate));
  cpu::layer_norm_backward(x, dy, gamma, beta, mean, var, epsilon, dx, dgamma, dbeta,
                           accumulate);
}

void zero_pad2d(const Tensor& x, int64_t top, int64_t left, Tensor& y) {
  if (Devices("zero_pad2d", {&x, &y}).gpu()) return FITRUN_GPU(zero_pad2d(x, top, left, y));
  cpu::zero_pad2d(x, top, left, y);
}

void crop2d(const Tensor& x, int64_t top, int64_t left, Tensor& y) {
  if (Devices("crop2d", {&x, &y}).gpu()) return FITRUN_GPU(crop2d(x, top, left, y));
  cpu::crop2d(x, top, left, y);
}

void upsample2d_nearest(const Tensor& x, int64_t sh, int64_t sw, Tensor& y) {
  if (Devices("upsample2d_nearest", {&x, &y}).gpu())
    return FITRUN_GPU(upsample2d_nearest(x, sh, sw, y));
  cpu::upsample2d_nearest(x, sh, sw, y);
}

void upsample2d_nearest_backward(const Tensor& dy, int64_t sh, int64_t sw, Tensor& dx) {
  if (Devices("upsample2d_nearest_backward", {&dy, &dx}).gpu())
    return FITRUN_GPU(upsample2d_nearest_backward(dy, sh, sw, dx));
  cpu::upsample2d_nearest_backward(dy, sh, sw, dx);
}

void permute(const Tensor& x, const int* perm, Tensor& y) {
  if (Devices("permute", {&x, &y}).gpu()) return FITRUN_GPU(permute(x, perm, y));
  cpu::permute(x, perm, y);
}

void repeat_vector(const Tensor& x, int64_t n, Tensor& y) {
  if (Devices("repeat_vector", {&x, &y}).gpu()) return FITRUN_GPU(repeat_vector(x, n, y));
  cpu::repeat_vector(x, n, y);
}

void repeat_vector_backward(const Tensor& dy, int64_t n, Tensor& dx) {
  if (Devices("repeat_vector_backward", {&dy, &dx}).gpu())
    return FITRUN_GPU(repeat_vector_backward(dy, n, dx));
  cpu::repeat_vector_backward(dy, n, dx);
}

void scale_channels(const Tensor& x, const Tensor& s, Tensor& y) {
  if (Devices("scale_channels", {&x, &s, &y}).gpu()) return FITRUN_GPU(scale_channels(x, s, y));
  cpu::scale_channels(x, s, y);
}

// ---- losses and metrics on a GPU ----
Tensor device_doubles(int64_t count, Device device) {
  Tensor t(Shape{count}, DType::int64, device);  // 8 bytes each, read as doubles
  zero_doubles(t);
  return t;
}

void zero_doubles(Tensor& values) {
  if (Devices("zero_doubles", {&values}).gpu()) return FITRUN_GPU_ONLY(zero_doubles(values));
  std::memset(values.raw(), 0, static_cast<size_t>(values.size()) * sizeof(double));
}

void read_doubles(const Tensor& values, double* out) {
  if (Devices("read_doubles", {&values}).gpu()) return FITRUN_GPU_ONLY(read_doubles(values, out));
  std::memcpy(out, values.raw(), static_cast<size_t>(values.size()) * sizeof(double));
}

void loss_on_device(const losses::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                    const Tensor* sample_weight, Tensor* grad, float scale, double factor,
                    Tensor& result, int64_t slot) {
  Devices d("loss_on_device", {&y_true, &y_pred, sample_weight, grad, &result});
  d.gpu_only();
  FITRUN_GPU_ONLY(loss_on_device(spec, y_true, y_pred, sample_weight, grad, scale, factor, result,
                            slot));
}

void metric_on_device(const metrics::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                      Tensor& state) {
  Devices("metric_on_device", {&y_true, &y_pred, &state}).gpu_only();
  FITRUN_GPU_ONLY(metric_on_device(spec, y_true, y_pred, state));
}

void mean_on_device(Tensor& state, const Tensor& values, int64_t first, const double* coeffs,
                    int n, double constant, double weight) {
  Devices("mean_on_device", {&state, &values}).gpu_only();
  FITRUN_GPU_ONLY(mean_on_device(state, values, first, coeffs, n, constant, weight));
}

}  // namespace fitrun::ops
