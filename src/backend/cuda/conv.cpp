// Conv2D on cuDNN's legacy convolution API (complete and stable in cuDNN 9; the graph API is
// the later route, docs/gpu.md). Activations are NHWC as in Keras; cuDNN's NHWC filter is
// KRSC (out, kh, kw, in/groups), so the Keras kernel (kh, kw, in/groups, out) is transposed into
// a cached device buffer per call, and the filter gradient transposed back. Algorithms are
// chosen once per shape with cudnnFind* (which benchmarks on the GPU), restricted to fp32 FMA
// maths (no TF32) so results match the CPU; the workspace is the device's shared one.
//
// cuDNN pads symmetrically only. Asymmetric padding (Keras "same" with stride 2 on even sizes:
// top 0, bottom 1) is made explicit: the input is zero-padded by the full (top, bottom, left,
// right) into a cached device buffer and cuDNN convolves it with no padding; backward data
// computes the padded input's gradient into that buffer and crops it into dx; backward
// weights convolves the padded input. Symmetric padding goes to cuDNN directly.
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cuda/bytewise_hash.hpp"
#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {
constexpr size_t kMaxWorkspace = size_t(1) << 30;  // ignore algorithms wanting more

struct Geom {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, ph, pw, g;
  bool operator==(const Geom& o) const { return std::memcmp(this, &o, sizeof o) == 0; }
};

struct Key {
  int device;
  int pad_ = 0;
  Geom g;
  bool operator==(const Key& o) const { return device == o.device && g == o.g; }
};

/// Descriptors of one shape and the algorithms found for it (-1: not searched yet).
struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int fwd = -1, bwd_data = -1, bwd_filter = -1;
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;
};

[[noreturn]] void shape_error(const char* op, const std::string& what) {
  throw ShapeError(std::string(op) + ": " + what);
}

/// Explicit padding of an asymmetrically padded conv: the input's own (h, w) and where it sits
/// in the padded buffer whose size is the Geom's (ih, iw).
struct ExplicitPad {
  bool on = false;
  int64_t h = 0, w = 0, top = 0, left = 0;
};

/// The cuDNN geometry; with asymmetric padding, that of the explicitly padded input with no
/// padding left for cuDNN (`pad` says where the input sits).
Geom geometry(const Shape& x, const Shape& k, const Shape& y, const ops::Conv2DParams& p,
              const char* op, ExplicitPad& pad) {
  if (x.rank() != 4 || k.rank() != 4 || y.rank() != 4)
    shape_error(op, "expected rank-4 input " + x.to_string() + ", kernel " + k.to_string() +
                        " and output " + y.to_string());
  if (p.pad_top < 0 || p.pad_bottom < 0 || p.pad_left < 0 || p.pad_right < 0)
    shape_error(op, "negative padding (top " + std::to_string(p.pad_top) + ", bottom " +
                        std::to_string(p.pad_bottom) + ", left " + std::to_string(p.pad_left) +
                        ", right " + std::to_string(p.pad_right) + ")");
  Geom g{x[0], x[1], x[2], x[3], y[1], y[2], y[3], k[0], k[1], p.stride_h, p.stride_w,
         p.dilation_h, p.dilation_w, p.pad_top, p.pad_left, p.groups};
  pad = ExplicitPad{};
  if (p.pad_top != p.pad_bottom || p.pad_left != p.pad_right) {
    pad = ExplicitPad{true, x[1], x[2], p.pad_top, p.pad_left};
    g.ih = x[1] + p.pad_top + p.pad_bottom;
    g.iw = x[2] + p.pad_left + p.pad_right;
    g.ph = g.pw = 0;
  }
  if (g.g < 1 || g.ic % g.g || g.oc % g.g || k[2] * g.g != g.ic || k[3] != g.oc || y[0] != x[0])
    shape_error(op, "input " + x.to_string() + ", kernel " + k.to_string() + " and output " +
                        y.to_string() + " do not match with groups=" + std::to_string(g.g));
  return g;
}

int dim(int64_t v) { return static_cast<int>(v); }

Plan& plan(Context& ctx, const Geom& g, const char* op) {
  static thread_local std::unordered_map<Key, Plan, BytewiseHash<Key>> cache;
  Key key{};
  key.device = ctx.device;
  key.g = g;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Plan p;
  FITRUN_CUDA_CHECK(cudnnCreateTensorDescriptor(&p.x), op);
  FITRUN_CUDA_CHECK(cudnnCreateTensorDescriptor(&p.y), op);
  FITRUN_CUDA_CHECK(cudnnCreateFilterDescriptor(&p.w), op);
  FITRUN_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&p.conv), op);
  FITRUN_CUDA_CHECK(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                               dim(g.n), dim(g.ic), dim(g.ih), dim(g.iw)),
                    op);
  FITRUN_CUDA_CHECK(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                               dim(g.n), dim(g.oc), dim(g.oh), dim(g.ow)),
                    op);
  FITRUN_CUDA_CHECK(cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC,
                                               dim(g.oc), dim(g.ic / g.g), dim(g.kh), dim(g.kw)),
                    op);
  FITRUN_CUDA_CHECK(cudnnSetConvolution2dDescriptor(p.conv, dim(g.ph), dim(g.pw), dim(g.sh),
                                                    dim(g.sw), dim(g.dh), dim(g.dw),
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                    op);
  FITRUN_CUDA_CHECK(cudnnSetConvolutionGroupCount(p.conv, dim(g.g)), op);
  FITRUN_CUDA_CHECK(cudnnSetConvolutionMathType(p.conv, CUDNN_FMA_MATH), op);
  int n = 0, c = 0, h = 0, w = 0;
  FITRUN_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(p.conv, p.x, p.w, &n, &c, &h, &w), op);
  if (n != g.n || c != g.oc || h != g.oh || w != g.ow)
    shape_error(op, "output (" + std::to_string(g.n) + ", " + std::to_string(g.oh) + ", " +
                        std::to_string(g.ow) + ", " + std::to_string(g.oc) +
                        ") does not match cuDNN's (" + std::to_string(n) + ", " +
                        std::to_string(h) + ", " + std::to_string(w) + ", " + std::to_string(c) +
                        ")");
  return cache.emplace(key, p).first->second;
}

/// The first successful result within the workspace cap, preferring fp32 FMA maths (the
/// descriptor asks for it; CUDNN_DEFAULT_MATH may mean TF32 on Ampere and later, which would
/// not match the CPU to 1e-4). Without an FMA result, the fastest other one.
template <class Perf>
void choose(const Perf* perf, int count, int& algo, size_t& ws, const char* what,
            const char* op) {
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < count; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
      if (pass == 0 && perf[i].mathType != CUDNN_FMA_MATH) continue;
      algo = static_cast<int>(perf[i].algo);
      ws = perf[i].memory;
      return;
    }
  }
  fail(what, op, "no algorithm for this shape within the workspace cap");
}

/// Grow-only device buffers per device: the transposed filter, its gradient, and the
/// explicitly padded input (or its gradient) of an asymmetrically padded conv.
enum Slot { kFilter = 0, kFilterGrad = 1, kPadded = 2, kSlots = 3 };
float* filter_buffer(Context& ctx, int slot, int64_t count, const char* op) {
  struct Buffer {
    float* p = nullptr;
    int64_t count = 0;
  };
  static thread_local std::vector<Buffer> buffers;  // [device * kSlots + slot]
  const size_t i = static_cast<size_t>(ctx.device * kSlots + slot);
  if (buffers.size() <= i) buffers.resize(i + 1);
  Buffer& b = buffers[i];
  if (count > b.count) {
    if (b.p) {
      synchronize(ctx, op);
      FITRUN_CUDA_CHECK(cudaFree(b.p), op);
      b.p = nullptr;
    }
    FITRUN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&b.p), size_t(count) * sizeof(float)),
                      op);
    b.count = count;
  }
  return b.p;
}

/// Keras (kh, kw, in/g, out) -> cuDNN KRSC (out, kh, kw, in/g) in the device's filter buffer.
const float* krsc_filter(Context& ctx, const Tensor& kernel, const Geom& g, const char* op) {
  const int64_t rsc = g.kh * g.kw * (g.ic / g.g);
  float* w = filter_buffer(ctx, kFilter, rsc * g.oc, op);
  launch_transpose(f32(kernel, op, "kernel"), w, rsc, g.oc, false, ctx.stream, op);
  return w;
}

/// The input cuDNN convolves: x itself, or x zero-padded into the device's padded buffer.
const float* padded_input(Context& ctx, const Tensor& x, const Geom& g, const ExplicitPad& pad,
                          const char* op) {
  const float* px = f32(x, op, "input");
  if (!pad.on) return px;
  float* buf = filter_buffer(ctx, kPadded, g.n * g.ih * g.iw * g.ic, op);
  launch_zero_pad2d(px, g.n, pad.h, pad.w, g.ic, pad.top, pad.left, buf, g.ih, g.iw, ctx.stream,
                    op);
  return buf;
}
}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                    const ops::Conv2DParams& p, ActivationFn act, Tensor& y) {
  const char* op = "conv2d_forward";
  ExplicitPad pad;
  const Geom g = geometry(x.shape(), kernel.shape(), y.shape(), p, op, pad);
  if (y.size() == 0) return;
  Context& ctx = context_of(y, op);
  cudnnHandle_t h = cudnn_handle(ctx, op);
  Plan& pl = plan(ctx, g, op);
  if (pl.fwd < 0) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    FITRUN_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithm(h, pl.x, pl.w, pl.conv, pl.y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                           &found, perf),
                      op);
    choose(perf, found, pl.fwd, pl.fwd_ws, "cudnnFindConvolutionForwardAlgorithm", op);
  }
  const float* w = krsc_filter(ctx, kernel, g, op);
  const float* px = padded_input(ctx, x, g, pad, op);
  void* ws = pl.fwd_ws ? workspace(ctx, pl.fwd_ws, op) : nullptr;
  const float one = 1.f, zero = 0.f;
  float* py = f32(y, op, "output");
  FITRUN_CUDA_CHECK(cudnnConvolutionForward(h, &one, pl.x, px, pl.w, w, pl.conv,
                                            static_cast<cudnnConvolutionFwdAlgo_t>(pl.fwd), ws,
                                            pl.fwd_ws, &zero, pl.y, py),
                    op);
  const float* pb = bias.defined() ? f32(bias, op, "bias") : nullptr;
  if (pb || act != ActivationFn::linear)
    launch_bias_activation(py, pb, g.n * g.oh * g.ow, g.oc, act, 0.f, ctx.stream, op);
}

void conv2d_backward_data(const Tensor& dy, const Tensor& kernel, const ops::Conv2DParams& p,
                          Tensor& dx) {
  const char* op = "conv2d_backward_data";
  ExplicitPad pad;
  const Geom g = geometry(dx.shape(), kernel.shape(), dy.shape(), p, op, pad);
  if (dx.size() == 0) return;
  Context& ctx = context_of(dx, op);
  cudnnHandle_t h = cudnn_handle(ctx, op);
  Plan& pl = plan(ctx, g, op);
  if (pl.bwd_data < 0) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int found = 0;
    FITRUN_CUDA_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(
                          h, pl.w, pl.y, pl.conv, pl.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                          &found, perf),
                      op);
    choose(perf, found, pl.bwd_data, pl.bwd_data_ws, "cudnnFindConvolutionBackwardDataAlgorithm",
           op);
  }
  const float* w = krsc_filter(ctx, kernel, g, op);
  // With explicit padding, the padded input's gradient goes to the padded buffer first.
  float* pdx = f32(dx, op, "dx");
  float* target = pad.on ? filter_buffer(ctx, kPadded, g.n * g.ih * g.iw * g.ic, op) : pdx;
  void* ws = pl.bwd_data_ws ? workspace(ctx, pl.bwd_data_ws, op) : nullptr;
  const float one = 1.f, zero = 0.f;
  FITRUN_CUDA_CHECK(
      cudnnConvolutionBackwardData(h, &one, pl.w, w, pl.y, f32(dy, op, "dy"), pl.conv,
                                   static_cast<cudnnConvolutionBwdDataAlgo_t>(pl.bwd_data), ws,
                                   pl.bwd_data_ws, &zero, pl.x, target),
      op);
  if (pad.on)
    launch_crop2d(target, g.n, g.ih, g.iw, g.ic, pad.top, pad.left, pdx, pad.h, pad.w,
                  ctx.stream, op);
}

void conv2d_backward_weights(const Tensor& x, const Tensor& dy, const ops::Conv2DParams& p,
                             Tensor& dkernel, Tensor& dbias, bool accumulate) {
  const char* op = "conv2d_backward_weights";
  ExplicitPad pad;
  const Geom g = geometry(x.shape(), dkernel.shape(), dy.shape(), p, op, pad);
  Context& ctx = context_of(dkernel, op);
  const int64_t rows = g.n * g.oh * g.ow, rsc = g.kh * g.kw * (g.ic / g.g);
  if (rows == 0) {
    if (!accumulate) {
      FITRUN_CUDA_CHECK(cudaMemsetAsync(f32(dkernel, op, "dkernel"), 0, dkernel.nbytes(),
                                        ctx.stream),
                        op);
      if (dbias.defined())
        FITRUN_CUDA_CHECK(cudaMemsetAsync(f32(dbias, op, "dbias"), 0, dbias.nbytes(), ctx.stream),
                          op);
    }
    return;
  }
  cudnnHandle_t h = cudnn_handle(ctx, op);
  Plan& pl = plan(ctx, g, op);
  if (pl.bwd_filter < 0) {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int found = 0;
    FITRUN_CUDA_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(
                          h, pl.x, pl.y, pl.conv, pl.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                          &found, perf),
                      op);
    choose(perf, found, pl.bwd_filter, pl.bwd_filter_ws,
           "cudnnFindConvolutionBackwardFilterAlgorithm", op);
  }
  float* dw = filter_buffer(ctx, kFilterGrad, rsc * g.oc, op);
  const float* px = padded_input(ctx, x, g, pad, op);
  void* ws = pl.bwd_filter_ws ? workspace(ctx, pl.bwd_filter_ws, op) : nullptr;
  const float one = 1.f, zero = 0.f;
  FITRUN_CUDA_CHECK(
      cudnnConvolutionBackwardFilter(h, &one, pl.x, px, pl.y, f32(dy, op, "dy"),
                                     pl.conv,
                                     static_cast<cudnnConvolutionBwdFilterAlgo_t>(pl.bwd_filter),
                                     ws, pl.bwd_filter_ws, &zero, pl.w, dw),
      op);
  // KRSC (out, rsc) back to the Keras layout (rsc, out).
  launch_transpose(dw, f32(dkernel, op, "dkernel"), g.oc, rsc, accumulate, ctx.stream, op);
  if (dbias.defined())
    launch_column_sums(f32(dy, op, "dy"), f32(dbias, op, "dbias"), rows, g.oc, accumulate,
                       ctx.stream, op);
}

}  // namespace fitrun::cuda
