// Max and average pooling on the GPU, channels_last (N, H, W, C), own kernels.
//
// Forward: one thread per output element (c fastest, so a warp reads consecutive channels).
// Max pooling ignores padded positions (as oneDNN does); in training it records the arg-max as
// an int32 flat index into x (-1 when a window holds no input element) in `workspace`, an int32
// device tensor of y's element count, (re)allocated here the first time a shape is seen.
// Average pooling divides by the number of input (not padded) elements in the window.
//
// Backward is a gather: one thread per dx element sums the dy of every window that contains
// it (max: only the windows whose arg-max is this element), in a fixed order, so it needs no
// atomics, no zeroing pass, and is deterministic.
#include <cfloat>
#include <cstdint>
#include <string>

#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {

struct Geom {
  int64_t n, ih, iw, c, oh, ow;
  int64_t kh, kw, sh, sw, pt, pl;
};

Geom geometry(const Shape& x, const Shape& y, const ops::Pool2DParams& p, const char* op) {
  if (x.rank() != 4 || y.rank() != 4 || x[0] != y[0] || x[3] != y[3])
    throw ShapeError(std::string(op) + ": input " + x.to_string() + " and output " +
                     y.to_string() + " must be (N, H, W, C) with the same N and C");
  if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1 || p.pad_top < 0 ||
      p.pad_bottom < 0 || p.pad_left < 0 || p.pad_right < 0)
    throw ShapeError(std::string(op) + ": pool size and strides must be >= 1, padding >= 0");
  const int64_t oh = (x[1] + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
  const int64_t ow = (x[2] + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
  if (oh != y[1] || ow != y[2])
    throw ShapeError(std::string(op) + ": output " + y.to_string() + " does not match input " +
                     x.to_string() + " with the pool size, strides and padding");
  return {x[0], x[1], x[2], x[3], y[1], y[2], p.kernel_h, p.kernel_w,
          p.stride_h, p.stride_w, p.pad_top, p.pad_left};
}

/// The input rows [h0, h1) and columns [w0, w1) of output window (oh, ow), clipped to the input.
struct Window {
  int64_t h0, h1, w0, w1;
};
__device__ __forceinline__ Window window_of(const Geom& g, int64_t oh, int64_t ow) {
  Window w;
  const int64_t hs = oh * g.sh - g.pt, ws = ow * g.sw - g.pl;
  w.h0 = hs < 0 ? 0 : hs;
  w.h1 = hs + g.kh < g.ih ? hs + g.kh : g.ih;
  w.w0 = ws < 0 ? 0 : ws;
  w.w1 = ws + g.kw < g.iw ? ws + g.kw : g.iw;
  return w;
}

/// The output indices [lo, hi] whose windows (start o*s - pad, length k) contain input index i.
__device__ __forceinline__ void windows_containing(int64_t i, int64_t k, int64_t s, int64_t pad,
                                                   int64_t out, int64_t& lo, int64_t& hi) {
  const int64_t t = i + pad;  // o*s <= t and o*s >= t - k + 1
  lo = t < k ? 0 : (t - k) / s + 1;
  hi = t / s;
  if (hi > out - 1) hi = out - 1;
}

__global__ void max_pool_forward(const float* x, float* y, int32_t* argmax, Geom g,
                                 int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t c = i % g.c;
    int64_t r = i / g.c;
    const int64_t ow = r % g.ow;
    r /= g.ow;
    const int64_t oh = r % g.oh;
    const int64_t n = r / g.oh;
    const Window w = window_of(g, oh, ow);
    float best = -FLT_MAX;
    int64_t best_index = -1;
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t col = w.w0; col < w.w1; ++col) {
        const int64_t xi = ((n * g.ih + h) * g.iw + col) * g.c + c;
        const float v = x[xi];
        if (best_index < 0 || v > best) {
          best = v;
          best_index = xi;
        }
      }
    y[i] = best;
    if (argmax) argmax[i] = static_cast<int32_t>(best_index);
  }
}

__global__ void avg_pool_forward(const float* x, float* y, Geom g, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t c = i % g.c;
    int64_t r = i / g.c;
    const int64_t ow = r % g.ow;
    r /= g.ow;
    const int64_t oh = r % g.oh;
    const int64_t n = r / g.oh;
    const Window w = window_of(g, oh, ow);
    float s = 0.f;
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t col = w.w0; col < w.w1; ++col) s += x[((n * g.ih + h) * g.iw + col) * g.c + c];
    const int64_t count = (w.h1 - w.h0) * (w.w1 - w.w0);
    y[i] = count > 0 ? s / static_cast<float>(count) : 0.f;
  }
}

/// dx(n, h, w, c): one thread each. kMax: Σ dy over the windows whose arg-max is this element;
/// otherwise Σ dy / count over the windows that contain it.
template <bool kMax>
__global__ void pool_backward(const float* dy, const int32_t* argmax, float* dx, Geom g,
                              int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t c = i % g.c;
    int64_t r = i / g.c;
    const int64_t w = r % g.iw;
    r /= g.iw;
    const int64_t h = r % g.ih;
    const int64_t n = r / g.ih;
    int64_t oh0, oh1, ow0, ow1;
    windows_containing(h, g.kh, g.sh, g.pt, g.oh, oh0, oh1);
    windows_containing(w, g.kw, g.sw, g.pl, g.ow, ow0, ow1);
    float s = 0.f;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = ((n * g.oh + oh) * g.ow + ow) * g.c + c;
        if (kMax) {
          if (argmax[o] == i) s += dy[o];
        } else {
          const Window win = window_of(g, oh, ow);
          const int64_t count = (win.h1 - win.h0) * (win.w1 - win.w0);
          s += dy[o] / static_cast<float>(count);  // count >= 1: the window holds (h, w)
        }
      }
    dx[i] = s;
  }
}

void check_index_range(const Tensor& x, const char* op) {
  if (x.size() > INT32_MAX)
    throw Error(std::string(op) + ": max pooling on the GPU records int32 arg-max indices; " +
                "the input " + x.shape().to_string() + " has more than 2^31 - 1 elements");
}
}  // namespace

void pool2d_forward(const Tensor& x, const ops::Pool2DParams& p, bool training, Tensor& y,
                    Tensor& workspace) {
  const char* op = "pool2d_forward";
  const Geom g = geometry(x.shape(), y.shape(), p, op);
  const float* xp = f32(x, op, "input");
  float* yp = f32(y, op, "output");
  Context& ctx = context_of(y, op);
  const int64_t total = y.size();
  if (p.alg == ops::PoolAlg::avg) {
    if (total == 0) return;
    avg_pool_forward<<<blocks_for(total), kThreads, 0, ctx.stream>>>(xp, yp, g, total);
    FITRUN_CUDA_CHECK_LAUNCH("avg_pool_forward", op);
    return;
  }
  if (total == 0) return;
  int32_t* argmax = nullptr;
  if (training) {
    check_index_range(x, op);
    if (!workspace.defined() || workspace.size() != total ||
        workspace.dtype() != DType::int32 || workspace.device() != y.device())
      workspace = Tensor(Shape{total}, DType::int32, y.device());
    argmax = static_cast<int32_t*>(workspace.device_data());
  }
  max_pool_forward<<<blocks_for(total), kThreads, 0, ctx.stream>>>(xp, yp, argmax, g, total);
  FITRUN_CUDA_CHECK_LAUNCH("max_pool_forward", op);
}

void pool2d_backward(const Tensor& dy, const Tensor& workspace, const ops::Pool2DParams& p,
                     Tensor& dx) {
  const char* op = "pool2d_backward";
  const Geom g = geometry(dx.shape(), dy.shape(), p, op);
  const float* dyp = f32(dy, op, "output gradient");
  float* dxp = f32(dx, op, "input gradient");
  Context& ctx = context_of(dx, op);
  const int64_t total = dx.size();
  if (p.alg == ops::PoolAlg::avg) {
    if (total == 0) return;
    pool_backward<false><<<blocks_for(total), kThreads, 0, ctx.stream>>>(dyp, nullptr, dxp, g,
                                                                        total);
    FITRUN_CUDA_CHECK_LAUNCH("avg_pool_backward", op);
    return;
  }
  if (!workspace.defined() || workspace.size() != dy.size() ||
      workspace.dtype() != DType::int32 || workspace.device() != dx.device())
    throw Error("pool2d_backward: max pooling needs the workspace of a training forward "
                "for this shape");
  check_index_range(dx, op);
  if (total == 0) return;
  pool_backward<true><<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      dyp, static_cast<const int32_t*>(workspace.device_data()), dxp, g, total);
  FITRUN_CUDA_CHECK_LAUNCH("max_pool_backward", op);
}

}  // namespace fitrun::cuda
