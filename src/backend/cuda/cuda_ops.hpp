#pragma once
// The ops the CUDA backend implements, with the signatures (and contracts) of
// include/fitrun/ops.hpp. src/ops/dispatch.cpp calls these for tensors on a CUDA device; the
// other ops throw there, naming the op. Every tensor passed is on one CUDA device.
#include "fitrun/ops.hpp"

namespace fitrun::cuda {

using ops::AdagradUpdate;
using ops::AdamUpdate;
using ops::GradientClip;
using ops::RMSpropUpdate;
using ops::SGDUpdate;

void dense_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, ActivationFn act,
                   Tensor& y);
void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx);
void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias,
                            bool accumulate);
void batched_matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    float alpha, Tensor& c, bool accumulate);
/// How conv2d describes a side with one channel to cuDNN (conv.cpp explains): read once from
/// FITRUN_CONV_C1_LAYOUT ("nhwc", "nchw" (default), "nchw_all"); settable for tests and
/// benchmarks. Plans are cached per layout.
enum class ConvC1Layout { nhwc, nchw, nchw_all };
ConvC1Layout conv_c1_layout();
void set_conv_c1_layout(ConvC1Layout layout);
void conv2d_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                    const ops::Conv2DParams& p, ActivationFn act, Tensor& y);
void conv2d_backward_data(const Tensor& dy, const Tensor& kernel, const ops::Conv2DParams& p,
                          Tensor& dx);
void conv2d_backward_weights(const Tensor& x, const Tensor& dy, const ops::Conv2DParams& p,
                             Tensor& dkernel, Tensor& dbias, bool accumulate);
void activation_forward(ActivationFn act, float alpha, const Tensor& x, Tensor& y);
void activation_backward(ActivationFn act, float alpha, const Tensor& x, const Tensor& y,
                         const Tensor& dy, Tensor& dx);
void copy(const Tensor& src, Tensor& dst);
void fill(Tensor& t, float value);
void add(const Tensor& a, const Tensor& b, Tensor& y);
void add_inplace(Tensor& acc, const Tensor& x);
void scale(const Tensor& x, float alpha, Tensor& y);
void mul(const Tensor& a, const Tensor& b, Tensor& y);
double sum(const Tensor& x);
double sum_squares(const Tensor& x);
double sum_abs(const Tensor& x);
void add_regularizer_gradient(const Tensor& w, Tensor& grad, float l1, float l2x2);
void sum_rows(const Tensor& x, Tensor& out, bool accumulate);
void bias_add(const Tensor& x, const Tensor& bias, Tensor& y);
void dropout_forward(const Tensor& x, float rate, uint64_t seed, uint64_t counter, Tensor& mask,
                     Tensor& y);
void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx);
void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta,
                int count, const SGDUpdate& u);
void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                 Tensor* const* v, int count, const AdamUpdate& u);
void amsgrad_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                    Tensor* const* v, Tensor* const* v_hat, int count, const AdamUpdate& u);
void rmsprop_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* velocity,
                    Tensor* const* momentum, Tensor* const* average_gradient, int count,
                    const RMSpropUpdate& u);
void adagrad_update(Tensor* const* params, const Tensor* const* grads,
                    Tensor* const* accumulators, int count, const AdagradUpdate& u);
void clip_gradients(Tensor* const* grads, int count, const GradientClip& clip);

// ---- shape ops (shape_ops.cu) ----
void zero_pad2d(const Tensor& x, int64_t top, int64_t left, Tensor& y);
void crop2d(const Tensor& x, int64_t top, int64_t left, Tensor& y);
void upsample2d_nearest(const Tensor& x, int64_t sh, int64_t sw, Tensor& y);
void upsample2d_nearest_backward(const Tensor& dy, int64_t sh, int64_t sw, Tensor& dx);
void permute(const Tensor& x, const int* perm, Tensor& y);
void repeat_vector(const Tensor& x, int64_t n, Tensor& y);
void repeat_vector_backward(const Tensor& dy, int64_t n, Tensor& dx);
void scale_channels(const Tensor& x, const Tensor& s, Tensor& y);
void concat(const Tensor* const* inputs, int count, int axis, Tensor& y);
void split(const Tensor& dy, int axis, Tensor* const* outputs, int count, bool accumulate);
void gather_rows(const Tensor& src, const int64_t* index, int64_t count, Tensor& dst);

// pooling.cu: max pooling's workspace is an int32 device tensor of y's size holding the
// arg-max as a flat index into x (-1 for a window without input elements).
void pool2d_forward(const Tensor& x, const ops::Pool2DParams& p, bool training, Tensor& y,
                    Tensor& workspace);
void pool2d_backward(const Tensor& dy, const Tensor& workspace, const ops::Pool2DParams& p,
                     Tensor& dx);

// normalization.cu
void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float epsilon, Tensor& y, Tensor& mean, Tensor& var);
void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& mean, const Tensor& var, float epsilon,
                                  Tensor& y);
void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, bool global_stats, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta, bool accumulate);
void moving_average_update(Tensor& moving, const Tensor& value, float momentum);
void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float epsilon,
                        Tensor& y, Tensor& mean, Tensor& var);
void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                         bool accumulate);

// losses.cu: losses and metrics on the device (float64 results in int64 tensors)
void zero_doubles(Tensor& values);
void read_doubles(const Tensor& values, double* out);
void loss_on_device(const losses::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                    const Tensor* sample_weight, Tensor* grad, float scale, double factor,
                    Tensor& result, int64_t slot);
void metric_on_device(const metrics::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                      Tensor& state);
void mean_on_device(Tensor& state, const Tensor& values, int64_t first, const double* coeffs,
                    int n, double constant, double weight);

}  // namespace fitrun::cuda
