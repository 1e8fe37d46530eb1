// Elementwise ops, activations (softmax per row), bias and dropout on the GPU. Grid-stride
// loops; each op is one launch on the device's stream and never synchronizes.
#include <cstring>
#include <string>

#include "backend/cuda/activation_math.cuh"
#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "backend/cuda/step_graph.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {
#define FITRUN_GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n);       \
       i += int64_t(blockDim.x) * gridDim.x)

struct Add {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct Mul {
  __device__ float operator()(float a, float b) const { return a * b; }
};

template <class F>
__global__ void binary_kernel(const float* a, const float* b, float* y, int64_t n, F f) {
  FITRUN_GRID_STRIDE(i, n) y[i] = f(a[i], b[i]);
}
__global__ void fill_kernel(float* y, int64_t n, float v) { FITRUN_GRID_STRIDE(i, n) y[i] = v; }
__global__ void scale_kernel(const float* x, float* y, int64_t n, float a) {
  FITRUN_GRID_STRIDE(i, n) y[i] = a * x[i];
}
__global__ void bias_add_kernel(const float* x, const float* bias, float* y, int64_t n,
                                int64_t cols) {
  FITRUN_GRID_STRIDE(i, n) y[i] = x[i] + bias[i % cols];
}
__global__ void bias_activation_kernel(float* y, const float* bias, int64_t n, int64_t cols,
                                       ActivationFn act, float alpha) {
  FITRUN_GRID_STRIDE(i, n) y[i] = activate(act, alpha, y[i] + (bias ? bias[i % cols] : 0.f));
}
__global__ void transpose_kernel(const float* in, float* out, int64_t rows, int64_t cols,
                                 bool accumulate) {
  FITRUN_GRID_STRIDE(i, rows * cols) {  // i indexes the output (cols, rows)
    const int64_t c = i / rows, r = i % rows;
    const float v = in[r * cols + c];
    out[i] = accumulate ? out[i] + v : v;
  }
}
__global__ void activation_kernel(const float* x, float* y, int64_t n, ActivationFn act,
                                  float alpha) {
  FITRUN_GRID_STRIDE(i, n) y[i] = activate(act, alpha, x[i]);
}
__global__ void activation_backward_kernel(const float* x, const float* y, const float* dy,
                                           float* dx, int64_t n, ActivationFn act, float alpha) {
  FITRUN_GRID_STRIDE(i, n) {
    dx[i] = activate_backward(act, alpha, x ? x[i] : 0.f, y ? y[i] : 0.f, dy[i]);
  }
}

/// Block-wide reduction (sum or max) of one value per thread; every thread gets the result.
template <bool kMax>
__device__ float block_reduce(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? fmaxf(v, other) : v + other;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) / 32;
  v = threadIdx.x < warps ? shared[threadIdx.x] : (kMax ? -INFINITY : 0.f);
  if (warp == 0) {
    for (int o = 16; o > 0; o >>= 1) {
      const float other = __shfl_xor_sync(0xffffffffu, v, o);
      v = kMax ? fmaxf(v, other) : v + other;
    }
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  v = shared[0];
  __syncthreads();  // shared is reused by the next reduction
  return v;
}

/// One block per row: y = softmax(x) or log_softmax(x) over the last axis.
__global__ void softmax_kernel(const float* x, float* y, int64_t cols, bool log) {
  __shared__ float shared[32];
  const float* xr = x + blockIdx.x * cols;
  float* yr = y + blockIdx.x * cols;
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, xr[c]);
  m = block_reduce<true>(m, shared);
  float s = 0.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += expf(xr[c] - m);
  s = block_reduce<false>(s, shared);
  if (log) {
    const float ls = logf(s);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = xr[c] - m - ls;
  } else {
    const float inv = 1.f / s;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = expf(xr[c] - m) * inv;
  }
}

/// softmax: dx = y·(dy − Σ dy·y); log_softmax: dx = dy − exp(y)·Σ dy.
__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, int64_t cols,
                                        bool log) {
  __shared__ float shared[32];
  const int64_t off = blockIdx.x * cols;
  float s = 0.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    s += log ? dy[off + c] : dy[off + c] * y[off + c];
  s = block_reduce<false>(s, shared);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float yv = y[off + c], g = dy[off + c];
    dx[off + c] = log ? g - expf(yv) * s : yv * (g - s);
  }
}

/// The CPU backend's counter-based hash (SplitMix64 finalizer), so masks match bit for bit.
__host__ __device__ inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
__host__ __device__ inline uint64_t dropout_base(uint64_t seed, uint64_t counter) {
  return mix(seed ^ mix(counter + 0x632be59bd9b4e019ULL));
}
// `step_offset` (non-null in a captured step graph) is added to the counter at run time, so a
// replay draws that step's masks; otherwise `base` was drawn on the host.
__global__ void dropout_kernel(const float* x, float* mask, float* y, int64_t n, uint64_t base,
                               uint64_t seed, uint64_t counter, const uint64_t* step_offset,
                               uint64_t threshold, float keep_scale) {
  if (step_offset) base = dropout_base(seed, counter + *step_offset);
  FITRUN_GRID_STRIDE(i, n) {
    const uint64_t r = mix(base + static_cast<uint64_t>(i)) >> 40;
    const float m = r >= threshold ? keep_scale : 0.f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

void same_size(const Tensor& a, const Tensor& b, const char* op) {
  if (a.size() != b.size())
    throw ShapeError(std::string(op) + ": shapes " + a.shape().to_string() + " and " +
                     b.shape().to_string() + " differ in size");
}

template <class F>
void binary(const Tensor& a, const Tensor& b, Tensor& y, F f, const char* op) {
  same_size(a, b, op);
  same_size(a, y, op);
  const int64_t n = a.size();
  if (n == 0) return;
  Context& ctx = context_of(y, op);
  binary_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(f32(a, op, "a"), f32(b, op, "b"),
                                                            f32(y, op, "output"), n, f);
  FITRUN_CUDA_CHECK_LAUNCH("binary_kernel", op);
}

bool is_softmax(ActivationFn act) {
  return act == ActivationFn::softmax || act == ActivationFn::log_softmax;
}
}  // namespace

void launch_bias_activation(float* y, const float* bias, int64_t rows, int64_t cols,
                            ActivationFn act, float alpha, cudaStream_t stream, const char* op) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  bias_activation_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, bias, n, cols, act, alpha);
  FITRUN_CUDA_CHECK_LAUNCH("bias_activation_kernel", op);
}

void launch_transpose(const float* in, float* out, int64_t rows, int64_t cols, bool accumulate,
                      cudaStream_t stream, const char* op) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  transpose_kernel<<<blocks_for(n), kThreads, 0, stream>>>(in, out, rows, cols, accumulate);
  FITRUN_CUDA_CHECK_LAUNCH("transpose_kernel", op);
}

void copy(const Tensor& src, Tensor& dst) {
  const char* op = "copy";
  same_size(src, dst, op);
  if (src.device_data() == dst.device_data() || src.nbytes() == 0) return;
  Context& ctx = context_of(dst, op);
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(dst.device_data(), src.device_data(), src.nbytes(),
                                    cudaMemcpyDeviceToDevice, ctx.stream),
                    op);
}

void fill(Tensor& t, float value) {
  const char* op = "fill";
  const int64_t n = t.size();
  if (n == 0) return;
  Context& ctx = context_of(t, op);
  fill_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(f32(t, op, "tensor"), n, value);
  FITRUN_CUDA_CHECK_LAUNCH("fill_kernel", op);
}

void add(const Tensor& a, const Tensor& b, Tensor& y) { binary(a, b, y, Add{}, "add"); }
void add_inplace(Tensor& acc, const Tensor& x) { binary(acc, x, acc, Add{}, "add_inplace"); }
void mul(const Tensor& a, const Tensor& b, Tensor& y) { binary(a, b, y, Mul{}, "mul"); }

void scale(const Tensor& x, float alpha, Tensor& y) {
  const char* op = "scale";
  same_size(x, y, op);
  const int64_t n = x.size();
  if (n == 0) return;
  Context& ctx = context_of(y, op);
  scale_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(f32(x, op, "input"),
                                                           f32(y, op, "output"), n, alpha);
  FITRUN_CUDA_CHECK_LAUNCH("scale_kernel", op);
}

void bias_add(const Tensor& x, const Tensor& bias, Tensor& y) {
  const char* op = "bias_add";
  same_size(x, y, op);
  const int64_t cols = x.dim(-1), n = x.size();
  if (bias.size() != cols)
    throw ShapeError("bias_add: bias of " + std::to_string(bias.size()) + " values for " +
                     std::to_string(cols) + " channels");
  if (n == 0) return;
  Context& ctx = context_of(y, op);
  bias_add_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(
      f32(x, op, "input"), f32(bias, op, "bias"), f32(y, op, "output"), n, cols);
  FITRUN_CUDA_CHECK_LAUNCH("bias_add_kernel", op);
}

void activation_forward(ActivationFn act, float alpha, const Tensor& x, Tensor& y) {
  const char* op = "activation_forward";
  same_size(x, y, op);
  const int64_t n = x.size();
  if (n == 0) return;
  Context& ctx = context_of(y, op);
  const float* px = f32(x, op, "input");
  float* py = f32(y, op, "output");
  if (act == ActivationFn::linear) return copy(x, y);
  if (is_softmax(act)) {
    const int64_t cols = x.dim(-1), rows = n / cols;
    softmax_kernel<<<static_cast<unsigned>(rows), kThreads, 0, ctx.stream>>>(
        px, py, cols, act == ActivationFn::log_softmax);
    FITRUN_CUDA_CHECK_LAUNCH("softmax_kernel", op);
    return;
  }
  activation_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(px, py, n, act, alpha);
  FITRUN_CUDA_CHECK_LAUNCH("activation_kernel", op);
}

void activation_backward(ActivationFn act, float alpha, const Tensor& x, const Tensor& y,
                         const Tensor& dy, Tensor& dx) {
  const char* op = "activation_backward";
  same_size(dy, dx, op);
  const int64_t n = dy.size();
  if (n == 0) return;
  Context& ctx = context_of(dx, op);
  if (act == ActivationFn::linear) return copy(dy, dx);
  if (is_softmax(act)) {
    const int64_t cols = dy.dim(-1), rows = n / cols;
    softmax_backward_kernel<<<static_cast<unsigned>(rows), kThreads, 0, ctx.stream>>>(
        f32(y, op, "output"), f32(dy, op, "dy"), f32(dx, op, "dx"), cols,
        act == ActivationFn::log_softmax);
    FITRUN_CUDA_CHECK_LAUNCH("softmax_backward_kernel", op);
    return;
  }
  // Some activations need only x, others only y (as on the CPU); the other may be undefined.
  const float* px = x.defined() ? f32(x, op, "input") : nullptr;
  const float* py = y.defined() ? f32(y, op, "output") : nullptr;
  activation_backward_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(
      px, py, f32(dy, op, "dy"), f32(dx, op, "dx"), n, act, alpha);
  FITRUN_CUDA_CHECK_LAUNCH("activation_backward_kernel", op);
}

void dropout_forward(const Tensor& x, float rate, uint64_t seed, uint64_t counter, Tensor& mask,
                     Tensor& y) {
  const char* op = "dropout_forward";
  same_size(x, y, op);
  same_size(x, mask, op);
  const int64_t n = x.size();
  if (n == 0) return;
  Context& ctx = context_of(y, op);
  const float keep_scale = 1.f / (1.f - rate);
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(rate) * (1 << 24));
  dropout_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(
      f32(x, op, "input"), f32(mask, op, "mask"), f32(y, op, "output"), n,
      dropout_base(seed, counter), seed, counter, step_register(ctx), threshold, keep_scale);
  FITRUN_CUDA_CHECK_LAUNCH("dropout_kernel", op);
}

void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx) {
  binary(dy, mask, dx, Mul{}, "dropout_backward");
}

}  // namespace fitrun::cuda
