#pragma once
// The op interface every layer, loss and optimizer calls. Each backend implements it once
// (oneDNN on the CPU, cuDNN/cuBLAS on GPUs); layers never call a backend directly.
//
// Conventions: outputs are preallocated tensors passed last; ops never allocate in steady
// state (backend primitives are created once per shape and cached). `accumulate` = add into
// the output instead of overwriting it (shared layers sum their weight gradients).
#include <cstdint>

#include "fitrun/activation.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::ops {

// ---- dense: y = act(x·W + b), W in Keras layout (in, out) ----
/// x (N, in), kernel (in, out), bias (out) or undefined, y (N, out). `act` must be fusable
/// (see dense_fusable); other activations are applied by the caller with activation_forward.
void dense_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, ActivationFn act,
                   Tensor& y);
/// Activations that dense_forward fuses and whose backward needs only the output.
bool dense_fusable(ActivationFn act);
/// dx = dy·Wᵀ
void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx);
/// dW = xᵀ·dy, db = Σ dy (db may be undefined).
void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias,
                            bool accumulate);

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
/// out(j) = Σ_rows x(row, j) for x viewed as (rows, cols).
void sum_rows(const Tensor& x, Tensor& out, bool accumulate);

// ---- dropout ----
/// Draws a keep-mask scaled by 1/(1-rate) from `seed`/`counter` and applies it: y = x * mask.
void dropout_forward(const Tensor& x, float rate, uint64_t seed, uint64_t counter, Tensor& mask,
                     Tensor& y);
/// dx = dy * mask
void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx);

// ---- shape ops ----
/// Concatenates along `axis` (not the batch axis; inputs share all other dims).
void concat(const Tensor* const* inputs, int count, int axis, Tensor& y);
/// The reverse of concat: slices dy into the inputs' gradients.
void split(const Tensor& dy, int axis, Tensor* const* outputs, int count, bool accumulate);

// ---- gathering rows (batching with a shuffled order) ----
/// dst row i = src row index[i] (any dtype; rows are src's trailing dims).
void gather_rows(const Tensor& src, const int64_t* index, int64_t count, Tensor& dst);

}  // namespace fitrun::ops
