// Batch and layer normalization over the last axis on the GPU (x viewed as (rows, C)), own
// kernels, with the CPU's (oneDNN's) maths: biased variance, inv = 1 / sqrtf(var + eps),
// y = gamma * (x - mean) * inv + beta; gamma/beta may be undefined (1 and 0).
//
// Per-channel sums over the rows (batch statistics, dgamma, dbeta) are two fixed passes, so a
// result depends only on the data: column_partials gives each block 32 channels × 8 row lanes
// over a slice of the rows and writes one float partial per (row slice, channel) to the
// device workspace; column_totals adds a channel's partials in double, in a fixed order.
// The batch variance is a second pass over x (Σ (x - mean)²), not E[x²] - mean².
// Layer normalization uses one warp per row (two passes over the row for mean and variance).
#include <cstdint>
#include <string>

#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {

constexpr int kColX = 32;          // channels per column_partials block (one warp wide)
constexpr int kColY = 8;           // row lanes per column_partials block
constexpr int kTotalsY = 32;       // partial lanes per column_totals block
constexpr int64_t kColumnBlocks = 1024;  // column_partials blocks wanted (fills an H100/H200)
constexpr int kRowsPerBlock = kThreads / 32;  // layer norm: one warp per row

#define FITRUN_GRID_STRIDE(i, n)                                                   \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n);       \
       i += int64_t(blockDim.x) * gridDim.x)

__device__ __forceinline__ float inv_std(float var, float eps) { return 1.f / sqrtf(var + eps); }

enum class Col { sum, squared_deviation, bn_backward, ln_backward };

/// partial0/1[slice * C + c] = Σ over the rows of slice blockIdx.y of channel c:
///   sum:               x
///   squared_deviation: (x - mean[c])²
///   bn_backward:       dy                 and dy * (x - mean[c])
///   ln_backward:       dy                 and dy * (x - mean[r]) * inv_std(var[r])
/// Block (kColX, kColY); grid (ceil(C / kColX), slices).
template <Col kMode>
__global__ void column_partials(const float* x, const float* dy, const float* mean,
                                const float* var, float eps, int64_t rows, int64_t C,
                                float* partial0, float* partial1) {
  __shared__ float s0[kColY][kColX + 1];
  __shared__ float s1[kColY][kColX + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = blockIdx.x * int64_t(kColX) + tx;
  float a0 = 0.f, a1 = 0.f;
  if (c < C) {
    const float m = (kMode == Col::squared_deviation || kMode == Col::bn_backward) ? mean[c] : 0.f;
    for (int64_t r = blockIdx.y * int64_t(kColY) + ty; r < rows;
         r += int64_t(gridDim.y) * kColY) {
      const int64_t i = r * C + c;
      if (kMode == Col::sum) {
        a0 += x[i];
      } else if (kMode == Col::squared_deviation) {
        const float d = x[i] - m;
        a0 += d * d;
      } else if (kMode == Col::bn_backward) {
        const float g = dy[i];
        a0 += g;
        a1 += g * (x[i] - m);
      } else {
        const float g = dy[i];
        a0 += g;
        a1 += g * ((x[i] - mean[r]) * inv_std(var[r], eps));
      }
    }
  }
  s0[ty][tx] = a0;
  s1[ty][tx] = a1;
  __syncthreads();  // reached by every thread (no early return above)
  if (ty == 0 && c < C) {
    float t0 = 0.f, t1 = 0.f;
    for (int k = 0; k < kColY; ++k) {
      t0 += s0[k][tx];
      t1 += s1[k][tx];
    }
    const int64_t o = blockIdx.y * C + c;
    partial0[o] = t0;
    if (kMode == Col::bn_backward || kMode == Col::ln_backward) partial1[o] = t1;
  }
}

/// out[c] = (accumulate ? out[c] : 0) + scale * Σ_slice partial[slice * C + c]
///          (times inv_std(var[c]) when var is given); the sum in double, fixed order.
/// Block (kColX, kTotalsY); grid ceil(C / kColX).
__global__ void column_totals(const float* partial, int64_t slices, int64_t C, double scale,
                              const float* var, float eps, float* out, bool accumulate) {
  __shared__ double s[kTotalsY][kColX + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = blockIdx.x * int64_t(kColX) + tx;
  double a = 0.0;
  if (c < C)
    for (int64_t k = ty; k < slices; k += kTotalsY) a += partial[k * C + c];
  s[ty][tx] = a;
  __syncthreads();
  if (ty == 0 && c < C) {
    double t = 0.0;
    for (int k = 0; k < kTotalsY; ++k) t += s[k][tx];
    float v = static_cast<float>(t * scale);
    if (var) v *= inv_std(var[c], eps);
    out[c] = accumulate ? out[c] + v : v;
  }
}

__global__ void bn_apply(const float* x, const float* gamma, const float* beta,
                         const float* mean, const float* var, float eps, int64_t n, int64_t C,
                         float* y) {
  FITRUN_GRID_STRIDE(i, n) {
    const int64_t c = i % C;
    float v = (x[i] - mean[c]) * inv_std(var[c], eps);
    if (gamma) v *= gamma[c];
    if (beta) v += beta[c];
    y[i] = v;
  }
}

/// Batch statistics: dx = g·inv·(dy - Σdy/N - x̂·Σ(dy·x̂)/N), with sums[0..C) = Σdy and
/// sums[C..2C) = Σ(dy·x̂). Global statistics (sums null): dx = g·inv·dy.
__global__ void bn_backward_data(const float* x, const float* dy, const float* gamma,
                                 const float* mean, const float* var, const float* sums,
                                 float eps, int64_t n, int64_t C, float inv_rows, float* dx) {
  FITRUN_GRID_STRIDE(i, n) {
    const int64_t c = i % C;
    const float inv = inv_std(var[c], eps);
    const float g = gamma ? gamma[c] : 1.f;
    float d = dy[i];
    if (sums) {
      const float xhat = (x[i] - mean[c]) * inv;
      d = d - sums[c] * inv_rows - xhat * (sums[C + c] * inv_rows);
    }
    dx[i] = g * inv * d;
  }
}

__global__ void moving_average_kernel(float* m, const float* v, int64_t n, float momentum) {
  FITRUN_GRID_STRIDE(i, n) m[i] = m[i] * momentum + v[i] * (1.f - momentum);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;  // in every lane
}

/// One warp per row (the loop bound is the same for the whole warp, so the shuffles are full).
__global__ void layer_norm_forward_kernel(const float* x, const float* gamma, const float* beta,
                                          float eps, int64_t rows, int64_t C, float* y,
                                          float* mean, float* var) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows;
       r += warps) {
    const float* xr = x + r * C;
    float s = 0.f;
    for (int64_t c = lane; c < C; c += 32) s += xr[c];
    const float m = warp_sum(s) / static_cast<float>(C);
    float q = 0.f;
    for (int64_t c = lane; c < C; c += 32) {
      const float d = xr[c] - m;
      q += d * d;
    }
    const float v = warp_sum(q) / static_cast<float>(C);
    const float inv = inv_std(v, eps);
    float* yr = y + r * C;
    for (int64_t c = lane; c < C; c += 32) {
      float o = (xr[c] - m) * inv;
      if (gamma) o *= gamma[c];
      if (beta) o += beta[c];
      yr[c] = o;
    }
    if (lane == 0) {
      mean[r] = m;
      var[r] = v;
    }
  }
}

/// dx = inv·(g·dy - Σ(g·dy)/C - x̂·Σ(g·dy·x̂)/C) per row, one warp per row.
__global__ void layer_norm_backward_kernel(const float* x, const float* dy, const float* gamma,
                                           const float* mean, const float* var, float eps,
                                           int64_t rows, int64_t C, float* dx) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows;
       r += warps) {
    const float* xr = x + r * C;
    const float* dyr = dy + r * C;
    const float m = mean[r], inv = inv_std(var[r], eps);
    float a = 0.f, b = 0.f;
    for (int64_t c = lane; c < C; c += 32) {
      const float gd = (gamma ? gamma[c] : 1.f) * dyr[c];
      a += gd;
      b += gd * ((xr[c] - m) * inv);
    }
    a = warp_sum(a) / static_cast<float>(C);
    b = warp_sum(b) / static_cast<float>(C);
    float* dxr = dx + r * C;
    for (int64_t c = lane; c < C; c += 32) {
      const float gd = (gamma ? gamma[c] : 1.f) * dyr[c];
      dxr[c] = inv * (gd - a - ((xr[c] - m) * inv) * b);
    }
  }
}

// ---- host side ----

struct Dims {
  int64_t rows, C;
};

Dims rows_channels(const Tensor& x) {
  const int64_t c = x.rank() ? x.dim(-1) : 1;
  return {c ? x.size() / c : 0, c};
}

void check_size(const Tensor& t, int64_t n, const char* op, const char* what) {
  if (t.size() != n)
    throw ShapeError(std::string(op) + ": " + what + " has " + std::to_string(t.size()) +
                     " elements, expected " + std::to_string(n));
}

/// Pointer of an optional parameter (null when undefined), its size checked.
const float* optional(const Tensor& t, int64_t n, const char* op, const char* what) {
  if (!t.defined()) return nullptr;
  check_size(t, n, op, what);
  return f32(t, op, what);
}

/// Launch geometry and workspace layout of the two-pass column sums.
struct ColumnPlan {
  dim3 grid;
  int64_t slices;
  float* partial0;
  float* partial1;
  float* sums;  // 2·C floats for the backward's column sums
};

std::size_t align256(std::size_t b) { return (b + 255) / 256 * 256; }

ColumnPlan column_plan(Context& ctx, int64_t rows, int64_t C, const char* op) {
  const int64_t col_blocks = (C + kColX - 1) / kColX;
  const int64_t max_slices = (rows + kColY - 1) / kColY;
  int64_t slices = (kColumnBlocks + col_blocks - 1) / col_blocks;
  if (slices > max_slices) slices = max_slices;
  if (slices < 1) slices = 1;
  if (slices > 65535) slices = 65535;  // gridDim.y limit (kColumnBlocks keeps it far below)
  const std::size_t part = align256(sizeof(float) * std::size_t(slices) * std::size_t(C));
  const std::size_t sums = align256(sizeof(float) * 2 * std::size_t(C));
  char* base = static_cast<char*>(workspace(ctx, 2 * part + sums, op));
  ColumnPlan p;
  p.grid = dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(slices));
  p.slices = slices;
  p.partial0 = reinterpret_cast<float*>(base);
  p.partial1 = reinterpret_cast<float*>(base + part);
  p.sums = reinterpret_cast<float*>(base + 2 * part);
  return p;
}

template <Col kMode>
void launch_partials(const ColumnPlan& p, const float* x, const float* dy, const float* mean,
                     const float* var, float eps, int64_t rows, int64_t C, cudaStream_t s,
                     const char* op) {
  column_partials<kMode><<<p.grid, dim3(kColX, kColY), 0, s>>>(x, dy, mean, var, eps, rows, C,
                                                               p.partial0, p.partial1);
  FITRUN_CUDA_CHECK_LAUNCH("column_partials", op);
}

void launch_totals(const ColumnPlan& p, const float* partial, int64_t C, double scale,
                   const float* var, float eps, float* out, bool accumulate, cudaStream_t s,
                   const char* op) {
  const unsigned blocks = static_cast<unsigned>((C + kColX - 1) / kColX);
  column_totals<<<blocks, dim3(kColX, kTotalsY), 0, s>>>(partial, p.slices, C, scale, var, eps,
                                                         out, accumulate);
  FITRUN_CUDA_CHECK_LAUNCH("column_totals", op);
}

unsigned row_blocks(int64_t rows) {
  const int64_t b = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65536 ? 65536 : b));
}

/// Where dgamma/dbeta go: null when the parameter is undefined or the gradient not wanted
/// (as on the CPU, a dgamma given with an undefined gamma is left untouched).
float* grad_target(const Tensor& param, Tensor& grad, int64_t C, const char* op,
                   const char* what) {
  if (!param.defined() || !grad.defined()) return nullptr;
  check_size(grad, C, op, what);
  return f32(grad, op, what);
}
}  // namespace

namespace {
/// The checked device pointers of a normalization forward; statistics per channel (batch
/// norm) or per row (layer norm).
struct ForwardArgs {
  int64_t rows, C;
  const float *xp, *g, *b;
  float *yp, *mp, *vp;
};

ForwardArgs forward_args(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                         const Tensor& mean, const Tensor& var, Tensor& y, bool stats_per_row,
                         const char* op) {
  const auto [rows, C] = rows_channels(x);
  ForwardArgs a{};
  a.rows = rows;
  a.C = C;
  a.xp = f32(x, op, "input");
  check_size(y, x.size(), op, "output");
  check_size(mean, stats_per_row ? rows : C, op, "mean");
  check_size(var, stats_per_row ? rows : C, op, "variance");
  a.g = optional(gamma, C, op, "gamma");
  a.b = optional(beta, C, op, "beta");
  a.yp = f32(y, op, "output");
  a.mp = f32(mean, op, "mean");
  a.vp = f32(var, op, "variance");
  return a;
}

/// The checked device pointers of a normalization backward; statistics per channel (batch
/// norm) or per row (layer norm).
struct BackwardArgs {
  int64_t rows, C;
  const float *xp, *dyp, *mp, *vp, *g;
  float *dxp, *dg, *db;
};

BackwardArgs backward_args(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                           const Tensor& beta, const Tensor& mean, const Tensor& var, Tensor& dx,
                           Tensor& dgamma, Tensor& dbeta, bool stats_per_row, const char* op) {
  const auto [rows, C] = rows_channels(x);
  BackwardArgs a{};
  a.rows = rows;
  a.C = C;
  a.xp = f32(x, op, "input");
  check_size(dy, x.size(), op, "output gradient");
  check_size(dx, x.size(), op, "input gradient");
  check_size(mean, stats_per_row ? rows : C, op, "mean");
  check_size(var, stats_per_row ? rows : C, op, "variance");
  a.dyp = f32(dy, op, "output gradient");
  a.dxp = f32(dx, op, "input gradient");
  a.mp = f32(mean, op, "mean");
  a.vp = f32(var, op, "variance");
  a.g = optional(gamma, C, op, "gamma");
  optional(beta, C, op, "beta");
  a.dg = grad_target(gamma, dgamma, C, op, "gamma gradient");
  a.db = grad_target(beta, dbeta, C, op, "beta gradient");
  return a;
}
}  // namespace

void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float epsilon, Tensor& y, Tensor& mean, Tensor& var) {
  const char* op = "batch_norm_forward_training";
  const auto [rows, C, xp, g, b, yp, mp, vp] =
      forward_args(x, gamma, beta, mean, var, y, false, op);
  if (rows == 0 || C == 0) return;
  Context& ctx = context_of(x, op);
  const ColumnPlan p = column_plan(ctx, rows, C, op);
  const double inv_rows = 1.0 / static_cast<double>(rows);
  launch_partials<Col::sum>(p, xp, nullptr, nullptr, nullptr, 0.f, rows, C, ctx.stream, op);
  launch_totals(p, p.partial0, C, inv_rows, nullptr, 0.f, mp, false, ctx.stream, op);
  launch_partials<Col::squared_deviation>(p, xp, nullptr, mp, nullptr, 0.f, rows, C, ctx.stream,
                                          op);
  launch_totals(p, p.partial0, C, inv_rows, nullptr, 0.f, vp, false, ctx.stream, op);
  const int64_t n = x.size();
  bn_apply<<<blocks_for(n), kThreads, 0, ctx.stream>>>(xp, g, b, mp, vp, epsilon, n, C, yp);
  FITRUN_CUDA_CHECK_LAUNCH("bn_apply", op);
}

void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& mean, const Tensor& var, float epsilon,
                                  Tensor& y) {
  const char* op = "batch_norm_forward_inference";
  const auto [rows, C, xp, g, b, yp, mp, vp] =
      forward_args(x, gamma, beta, mean, var, y, false, op);
  const int64_t n = x.size();
  if (rows == 0 || C == 0) return;
  Context& ctx = context_of(x, op);
  bn_apply<<<blocks_for(n), kThreads, 0, ctx.stream>>>(xp, g, b, mp, vp, epsilon, n, C, yp);
  FITRUN_CUDA_CHECK_LAUNCH("bn_apply", op);
}


void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, bool global_stats, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta, bool accumulate) {
  const char* op = "batch_norm_backward";
  const auto [rows, C, xp, dyp, mp, vp, g, dxp, dg, db] =
      backward_args(x, dy, gamma, beta, mean, var, dx, dgamma, dbeta, false, op);
  if (rows == 0 || C == 0) return;
  Context& ctx = context_of(x, op);
  const int64_t n = x.size();
  const bool sums_needed = !global_stats || dg || db;
  ColumnPlan p{};
  if (sums_needed) {
    // All column sums before dx is written (dx may be dy's buffer).
    p = column_plan(ctx, rows, C, op);
    launch_partials<Col::bn_backward>(p, xp, dyp, mp, nullptr, 0.f, rows, C, ctx.stream, op);
    if (db) launch_totals(p, p.partial0, C, 1.0, nullptr, 0.f, db, accumulate, ctx.stream, op);
    if (dg) launch_totals(p, p.partial1, C, 1.0, vp, epsilon, dg, accumulate, ctx.stream, op);
    if (!global_stats) {
      launch_totals(p, p.partial0, C, 1.0, nullptr, 0.f, p.sums, false, ctx.stream, op);
      launch_totals(p, p.partial1, C, 1.0, vp, epsilon, p.sums + C, false, ctx.stream, op);
    }
  }
  const float inv_rows = static_cast<float>(1.0 / static_cast<double>(rows));
  bn_backward_data<<<blocks_for(n), kThreads, 0, ctx.stream>>>(
      xp, dyp, g, mp, vp, global_stats ? nullptr : p.sums, epsilon, n, C, inv_rows, dxp);
  FITRUN_CUDA_CHECK_LAUNCH("bn_backward_data", op);
}

void moving_average_update(Tensor& moving, const Tensor& value, float momentum) {
  const char* op = "moving_average_update";
  if (moving.size() != value.size())
    throw ShapeError("moving_average_update: " + moving.shape().to_string() + " and " +
                     value.shape().to_string() + " differ in size");
  float* m = f32(moving, op, "moving value");
  const float* v = f32(value, op, "value");
  const int64_t n = moving.size();
  if (n == 0) return;
  Context& ctx = context_of(moving, op);
  moving_average_kernel<<<blocks_for(n), kThreads, 0, ctx.stream>>>(m, v, n, momentum);
  FITRUN_CUDA_CHECK_LAUNCH("moving_average_kernel", op);
}

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float epsilon,
                        Tensor& y, Tensor& mean, Tensor& var) {
  const char* op = "layer_norm_forward";
  const auto [rows, C, xp, g, b, yp, mp, vp] =
      forward_args(x, gamma, beta, mean, var, y, true, op);
  if (rows == 0 || C == 0) return;
  Context& ctx = context_of(x, op);
  layer_norm_forward_kernel<<<row_blocks(rows), kThreads, 0, ctx.stream>>>(xp, g, b, epsilon,
                                                                           rows, C, yp, mp, vp);
  FITRUN_CUDA_CHECK_LAUNCH("layer_norm_forward_kernel", op);
}

void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                         bool accumulate) {
  const char* op = "layer_norm_backward";
  const auto [rows, C, xp, dyp, mp, vp, g, dxp, dg, db] =
      backward_args(x, dy, gamma, beta, mean, var, dx, dgamma, dbeta, true, op);
  if (rows == 0 || C == 0) return;
  Context& ctx = context_of(x, op);
  if (dg || db) {  // before dx is written (dx may be dy's buffer)
    const ColumnPlan p = column_plan(ctx, rows, C, op);
    launch_partials<Col::ln_backward>(p, xp, dyp, mp, vp, epsilon, rows, C, ctx.stream, op);
    if (db) launch_totals(p, p.partial0, C, 1.0, nullptr, 0.f, db, accumulate, ctx.stream, op);
    if (dg) launch_totals(p, p.partial1, C, 1.0, nullptr, 0.f, dg, accumulate, ctx.stream, op);
  }
  layer_norm_backward_kernel<<<row_blocks(rows), kThreads, 0, ctx.stream>>>(
      xp, dyp, g, mp, vp, epsilon, rows, C, dxp);
  FITRUN_CUDA_CHECK_LAUNCH("layer_norm_backward_kernel", op);
}

}  // namespace fitrun::cuda
