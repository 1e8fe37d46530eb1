#pragma once
// Kernel launchers shared between backend files (the .cu files define them; host-only .cpp
// files such as dense.cpp call them). All run on `stream` and check their launch, naming `op`.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "fitrun/activation.hpp"

namespace fitrun::cuda {

constexpr int kThreads = 256;
/// Blocks for a grid-stride loop over n elements (enough to fill any current GPU).
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65536 ? 65536 : b));
}

/// y(r, c) = act(y(r, c) + bias(c)) in place; bias may be null.
void launch_bias_activation(float* y, const float* bias, int64_t rows, int64_t cols,
                            ActivationFn act, float alpha, cudaStream_t stream, const char* op);
/// out(c) (+)= Σ_r x(r, c).
void launch_column_sums(const float* x, float* out, int64_t rows, int64_t cols, bool accumulate,
                        cudaStream_t stream, const char* op);

/// out(c, r) (+)= in(r, c) for a row-major (rows, cols) matrix.
void launch_transpose(const float* in, float* out, int64_t rows, int64_t cols, bool accumulate,
                      cudaStream_t stream, const char* op);

/// NHWC zero padding: y (n, oh, ow, c) = x (n, h, w, c) placed at (top, left), zeros around
/// (every element of y is written).
void launch_zero_pad2d(const float* x, int64_t n, int64_t h, int64_t w, int64_t c, int64_t top,
                       int64_t left, float* y, int64_t oh, int64_t ow, cudaStream_t stream,
                       const char* op);
/// NHWC crop: y (n, oh, ow, c) = x (n, h, w, c)[:, top : top + oh, left : left + ow, :].
void launch_crop2d(const float* x, int64_t n, int64_t h, int64_t w, int64_t c, int64_t top,
                   int64_t left, float* y, int64_t oh, int64_t ow, cudaStream_t stream,
                   const char* op);

}  // namespace fitrun::cuda
