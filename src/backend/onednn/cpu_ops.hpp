#pragma once
// The CPU (oneDNN) implementations of the ops in include/fitrun/ops.hpp, which documents them.
// src/ops/dispatch.cpp routes each ops:: call here or to the CUDA backend by tensor device.
#include "fitrun/ops.hpp"

namespace fitrun::cpu {

using ops::AdagradUpdate;
using ops::AdamUpdate;
using ops::GradientClip;
using ops::Conv2DParams;
using ops::Pool2DParams;
using ops::PoolAlg;
using ops::RNNCell;
using ops::RMSpropUpdate;
using ops::RNNConfig;
using ops::SGDUpdate;

void dense_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, ActivationFn act, Tensor& y, ComputeDType compute);
bool dense_fusable(ActivationFn act);
void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx, ComputeDType compute);
void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias, bool accumulate, ComputeDType compute);
bool bfloat16_supported();
void batched_matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, float alpha, Tensor& c, bool accumulate);
bool fused_rnn_enabled();
void set_fused_rnn_enabled(bool enabled);
int64_t rnn_workspace_size(const RNNConfig& c, const Shape& x, int64_t units);
void rnn_forward(const RNNConfig& c, bool training, const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias, Tensor& y, Tensor& workspace);
void rnn_backward(const RNNConfig& c, const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias, const Tensor& y, const Tensor& workspace, const Tensor& dy, Tensor& dx, Tensor& dkernel, Tensor& drecurrent, Tensor& dbias, bool accumulate);
void activation_forward(ActivationFn act, float alpha, const Tensor& x, Tensor& y);
void activation_backward(ActivationFn act, float alpha, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx);
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
void dropout_forward(const Tensor& x, float rate, uint64_t seed, uint64_t counter, Tensor& mask, Tensor& y);
void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx);
void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta, int count, const SGDUpdate& u);
void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m, Tensor* const* v, int count, const AdamUpdate& u);
void amsgrad_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                    Tensor* const* v, Tensor* const* v_hat, int count, const AdamUpdate& u);
void rmsprop_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* velocity,
                    Tensor* const* momentum, Tensor* const* average_gradient, int count,
                    const RMSpropUpdate& u);
void adagrad_update(Tensor* const* params, const Tensor* const* grads,
                    Tensor* const* accumulators, int count, const AdagradUpdate& u);
void clip_gradients(Tensor* const* grads, int count, const GradientClip& clip);
void concat(const Tensor* const* inputs, int count, int axis, Tensor& y);
void split(const Tensor& dy, int axis, Tensor* const* outputs, int count, bool accumulate);
void gather_rows(const Tensor& src, const int64_t* index, int64_t count, Tensor& dst);
void conv2d_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2DParams& p, ActivationFn act, Tensor& y);
bool conv_fusable(ActivationFn act);
void conv2d_backward_data(const Tensor& dy, const Tensor& kernel, const Conv2DParams& p, Tensor& dx);
void conv2d_backward_weights(const Tensor& x, const Tensor& dy, const Conv2DParams& p, Tensor& dkernel, Tensor& dbias, bool accumulate);
void set_conv_plain_weights(bool plain);
void bias_add(const Tensor& x, const Tensor& bias, Tensor& y);
void pool2d_forward(const Tensor& x, const Pool2DParams& p, bool training, Tensor& y, Tensor& workspace);
void pool2d_backward(const Tensor& dy, const Tensor& workspace, const Pool2DParams& p, Tensor& dx);
void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta, float epsilon, Tensor& y, Tensor& mean, Tensor& var);
void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean, const Tensor& var, float epsilon, Tensor& y);
void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& beta, const Tensor& mean, const Tensor& var, float epsilon, bool global_stats, Tensor& dx, Tensor& dgamma, Tensor& dbeta, bool accumulate);
void moving_average_update(Tensor& moving, const Tensor& value, float momentum);
void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float epsilon, Tensor& y, Tensor& mean, Tensor& var);
void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& beta, const Tensor& mean, const Tensor& var, float epsilon, Tensor& dx, Tensor& dgamma, Tensor& dbeta, bool accumulate);
void zero_pad2d(const Tensor& x, int64_t top, int64_t left, Tensor& y);
void crop2d(const Tensor& x, int64_t top, int64_t left, Tensor& y);
void upsample2d_nearest(const Tensor& x, int64_t sh, int64_t sw, Tensor& y);
void upsample2d_nearest_backward(const Tensor& dy, int64_t sh, int64_t sw, Tensor& dx);
void permute(const Tensor& x, const int* perm, Tensor& y);
void repeat_vector(const Tensor& x, int64_t n, Tensor& y);
void repeat_vector_backward(const Tensor& dy, int64_t n, Tensor& dx);
void scale_channels(const Tensor& x, const Tensor& s, Tensor& y);

}  // namespace fitrun::cpu
