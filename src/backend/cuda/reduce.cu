// Reductions on the GPU. sum/sum_squares/sum_abs accumulate in double in two fixed passes
// (per-block partials, then one block), so a result depends only on the data and its size, not
// timing; and the elementwise regularizer gradient that goes with the penalty sums.
#include <string>

#include "backend/cuda/block_sum.cuh"
#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"
#include "ops/regularizer_math.hpp"

namespace fitrun::cuda {

namespace {
constexpr int kPartials = 1024;  // blocks of the first pass

enum class Terms { values, squares, magnitudes };

__global__ void partial_sums(const float* x, int64_t n, Terms terms, double* partials) {
  __shared__ double shared[32];
  double s = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const double v = x[i];
    s += terms == Terms::squares ? v * v : terms == Terms::magnitudes ? fabs(v) : v;
  }
  s = block_sum(s, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void final_sum(const double* partials, int count, double* out) {
  __shared__ double shared[32];
  double s = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) *out = s;
}

__global__ void column_sums(const float* x, float* out, int64_t rows, int64_t cols,
                            bool accumulate) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols;
       c += int64_t(blockDim.x) * gridDim.x) {
    float s = 0.f;
    for (int64_t r = 0; r < rows; ++r) s += x[r * cols + c];  // coalesced across threads
    out[c] = accumulate ? out[c] + s : s;
  }
}

__global__ void regularizer_gradient_kernel(const float* w, float* g, int64_t n, float l1,
                                            float l2x2) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    g[i] += regularizer_gradient(w[i], l1, l2x2);
}

double reduce(const Tensor& x, Terms terms, const char* op) {
  const int64_t n = x.size();
  if (n == 0) return 0.0;
  Context& ctx = context_of(x, op);
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(wanted < kPartials ? wanted : kPartials);
  double* partials = static_cast<double*>(workspace(ctx, (kPartials + 1) * sizeof(double), op));
  partial_sums<<<blocks, kThreads, 0, ctx.stream>>>(f32(x, op, "input"), n, terms, partials);
  FITRUN_CUDA_CHECK_LAUNCH("partial_sums", op);
  final_sum<<<1, kThreads, 0, ctx.stream>>>(partials, blocks, partials + kPartials);
  FITRUN_CUDA_CHECK_LAUNCH("final_sum", op);
  double result = 0;
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(&result, partials + kPartials, sizeof(double),
                                    cudaMemcpyDeviceToHost, ctx.stream),
                    op);
  synchronize(ctx, op);  // the host reads the value
  return result;
}
}  // namespace

void launch_column_sums(const float* x, float* out, int64_t rows, int64_t cols, bool accumulate,
                        cudaStream_t stream, const char* op) {
  if (cols == 0) return;
  column_sums<<<blocks_for(cols), kThreads, 0, stream>>>(x, out, rows, cols, accumulate);
  FITRUN_CUDA_CHECK_LAUNCH("column_sums", op);
}

double sum(const Tensor& x) { return reduce(x, Terms::values, "sum"); }
double sum_squares(const Tensor& x) { return reduce(x, Terms::squares, "sum_squares"); }
double sum_abs(const Tensor& x) { return reduce(x, Terms::magnitudes, "sum_abs"); }

void add_regularizer_gradient(const Tensor& w, Tensor& grad, float l1, float l2x2) {
  const char* op = "add_regularizer_gradient";
  const int64_t n = w.size();
  if (n == 0) return;
  Context& ctx = context_of(grad, op);
  regularizer_gradient_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(
      f32(w, op, "weight"), f32(grad, op, "gradient"), n, l1, l2x2);
  FITRUN_CUDA_CHECK_LAUNCH("regularizer_gradient_kernel", op);
}

void sum_rows(const Tensor& x, Tensor& out, bool accumulate) {
  const char* op = "sum_rows";
  const int64_t cols = out.size(), rows = cols ? x.size() / cols : 0;
  if (cols && x.size() % cols != 0)
    throw ShapeError("sum_rows: " + std::to_string(x.size()) + " elements do not split into rows of " +
                     std::to_string(cols));
  Context& ctx = context_of(out, op);
  launch_column_sums(f32(x, op, "input"), f32(out, op, "output"), rows, cols, accumulate,
                     ctx.stream, op);
}

}  // namespace fitrun::cuda
