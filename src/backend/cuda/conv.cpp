// Conv2D on cuDNN's legacy convolution API (complete and stable in cuDNN 9; the graph API is
// the later route, docs/gpu.md). Activations are NHWC as in Keras; cuDNN's NHWC filter is
// KRSC (out, kh, kw, in/groups), so the Keras kernel (kh, kw, in/groups, out) is transposed into
// a cached device buffer per call, and the filter gradient transposed back. Algorithms are
// chosen once per shape with cudnnFind* (which benchmarks on the GPU), restricted to fp32 FMA
// maths so results match the CPU, or, after set_float32_matmul_precision("high"), with
// CUDNN_TENSOR_OP_MATH and the fastest algorithm of any maths (TF32 tensor cores); plans are
// cached per precision. The workspace is the device's shared one.
//
// cuDNN pads symmetrically only. Asymmetric padding (Keras "same" with stride 2 on even sizes:
// top 0, bottom 1) is made explicit: the input is zero-padded by the full (top, bottom, left,
// right) into a cached device buffer and cuDNN convolves it with no padding; backward data
// computes the padded input's gradient into that buffer and crops it into dx; backward
// weights convolves the padded input. Symmetric padding goes to cuDNN directly.
//
// One channel: with C = 1, NHWC and NCHW are the same bytes (and so are the KRSC and KCRS
// filters when in/groups = 1), but cuDNN picks kernels by the layout it is told, and its NHWC
// fp32 backward-filter was slow for the first conv of a digits CNN. The conv_c1_layout()
// mode (FITRUN_CONV_C1_LAYOUT) says how such sides are described: "nhwc" as any other conv;
// "nchw" (default) describes a one-channel input (with its filter) or output as NCHW, the other
// side staying NHWC; "nchw_all" also runs a one-input-channel conv wholly in NCHW, converting
// its multi-channel output (y, dy) between NHWC and a reused NCHW buffer with
// cudnnTransformTensor. If cuDNN has no algorithm for such a description, that pass falls back
// to the NHWC one (remembered per shape).
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cuda/bytewise_hash.hpp"
#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "core/matmul_precision.hpp"
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
  int layout;  // ConvC1Layout applied (nhwc when no side has one channel)
  int tf32;    // set_float32_matmul_precision("high")
  int unused = 0;
  Geom g;
  bool operator==(const Key& o) const {
    return device == o.device && layout == o.layout && tf32 == o.tf32 && g == o.g;
  }
};

enum Pass { kForward = 0, kBackwardData = 1, kBackwardFilter = 2, kPasses = 3 };
constexpr int kUnsearched = -1, kNoAlgorithm = -2;

/// Descriptors of one shape and layout, and the algorithm found for each pass.
struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnTensorDescriptor_t y_nhwc = nullptr;  // y_transformed: the NHWC tensor itself
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  ConvC1Layout layout = ConvC1Layout::nhwc;
  bool tf32 = false;
  bool y_transformed = false;  // cuDNN's y is an NCHW copy in a reused buffer
  int algo[kPasses] = {kUnsearched, kUnsearched, kUnsearched};
  size_t ws[kPasses] = {};
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

/// The layout that applies to g: the mode when a side has one channel, else NHWC.
ConvC1Layout layout_for(const Geom& g) {
  return g.ic == 1 || g.oc == 1 ? conv_c1_layout() : ConvC1Layout::nhwc;
}

Plan& plan(Context& ctx, const Geom& g, ConvC1Layout layout, const char* op) {
  static thread_local std::unordered_map<Key, Plan, BytewiseHash<Key>> cache;
  Key key{};
  key.device = ctx.device;
  key.layout = static_cast<int>(layout);
  key.tf32 = tf32_allowed();
  key.g = g;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  // Which sides are described as NCHW (same bytes: they have one channel, or are copied).
  const bool c1 = layout != ConvC1Layout::nhwc;
  const bool x_nchw = c1 && g.ic == 1;  // ic == 1 implies groups == 1: the filter is KCRS too
  const bool y_nchw = c1 && (g.oc == 1 || (layout == ConvC1Layout::nchw_all && x_nchw));
  const auto format = [](bool nchw) { return nchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC; };
  Plan p;
  p.layout = layout;
  p.tf32 = key.tf32;
  p.y_transformed = y_nchw && g.oc != 1;
  FITRUN_CUDA_CHECK(cudnnCreateTensorDescriptor(&p.x), op);
  FITRUN_CUDA_CHECK(cudnnCreateTensorDescriptor(&p.y), op);
  FITRUN_CUDA_CHECK(cudnnCreateFilterDescriptor(&p.w), op);
  FITRUN_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&p.conv), op);
  FITRUN_CUDA_CHECK(cudnnSetTensor4dDescriptor(p.x, format(x_nchw), CUDNN_DATA_FLOAT, dim(g.n),
                                               dim(g.ic), dim(g.ih), dim(g.iw)),
                    op);
  FITRUN_CUDA_CHECK(cudnnSetTensor4dDescriptor(p.y, format(y_nchw), CUDNN_DATA_FLOAT, dim(g.n),
                                               dim(g.oc), dim(g.oh), dim(g.ow)),
                    op);
  if (p.y_transformed) {
    FITRUN_CUDA_CHECK(cudnnCreateTensorDescriptor(&p.y_nhwc), op);
    FITRUN_CUDA_CHECK(cudnnSetTensor4dDescriptor(p.y_nhwc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                                 dim(g.n), dim(g.oc), dim(g.oh), dim(g.ow)),
                      op);
  }
  FITRUN_CUDA_CHECK(cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, format(x_nchw), dim(g.oc),
                                               dim(g.ic / g.g), dim(g.kh), dim(g.kw)),
                    op);
  FITRUN_CUDA_CHECK(cudnnSetConvolution2dDescriptor(p.conv, dim(g.ph), dim(g.pw), dim(g.sh),
                                                    dim(g.sw), dim(g.dh), dim(g.dw),
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                    op);
  FITRUN_CUDA_CHECK(cudnnSetConvolutionGroupCount(p.conv, dim(g.g)), op);
  FITRUN_CUDA_CHECK(
      cudnnSetConvolutionMathType(p.conv, p.tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH), op);
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

/// The first (fastest) successful result within the workspace cap. In fp32 ("highest"), FMA
/// maths first (the descriptor asks for it; CUDNN_DEFAULT_MATH may mean TF32 on Ampere and
/// later, which would not match the CPU to 1e-4), else the fastest other one; with TF32 allowed,
/// the fastest of any maths. False if none.
template <class Perf>
bool choose(const Perf* perf, int count, bool tf32, int& algo, size_t& ws) {
  for (int pass = tf32 ? 1 : 0; pass < 2; ++pass) {
    for (int i = 0; i < count; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
      if (pass == 0 && perf[i].mathType != CUDNN_FMA_MATH) continue;
      algo = static_cast<int>(perf[i].algo);
      ws = perf[i].memory;
      return true;
    }
  }
  return false;
}

/// Benchmarks the algorithms of one pass with cudnnFind* (once per plan). A plan with a
/// one-channel description may get none (kNoAlgorithm): the caller then falls back to NHWC.
void find(cudnnHandle_t h, Plan& p, Pass pass, const char* op) {
  const char* call[] = {"cudnnFindConvolutionForwardAlgorithm",
                        "cudnnFindConvolutionBackwardDataAlgorithm",
                        "cudnnFindConvolutionBackwardFilterAlgorithm"};
  cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
  bool ok = false;
  int found = 0;
  if (pass == kForward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    status = cudnnFindConvolutionForwardAlgorithm(h, p.x, p.w, p.conv, p.y,
                                                  CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf);
    ok = status == CUDNN_STATUS_SUCCESS && choose(perf, found, p.tf32, p.algo[pass], p.ws[pass]);
  } else if (pass == kBackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    status = cudnnFindConvolutionBackwardDataAlgorithm(
        h, p.w, p.y, p.conv, p.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf);
    ok = status == CUDNN_STATUS_SUCCESS && choose(perf, found, p.tf32, p.algo[pass], p.ws[pass]);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    status = cudnnFindConvolutionBackwardFilterAlgorithm(
        h, p.x, p.y, p.conv, p.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, perf);
    ok = status == CUDNN_STATUS_SUCCESS && choose(perf, found, p.tf32, p.algo[pass], p.ws[pass]);
  }
  if (ok) return;
  if (p.layout != ConvC1Layout::nhwc) {
    p.algo[pass] = kNoAlgorithm;
    return;
  }
  if (status != CUDNN_STATUS_SUCCESS) fail(call[pass], op, status_name(status));
  fail(call[pass], op, "no algorithm for this shape within the workspace cap");
}

/// The plan for g with the algorithm of `pass` found: the one-channel layout's when cuDNN has
/// one for it, else the NHWC plan's.
Plan& ready_plan(Context& ctx, cudnnHandle_t h, const Geom& g, Pass pass, const char* op) {
  Plan& p = plan(ctx, g, layout_for(g), op);
  if (p.algo[pass] == kUnsearched) find(h, p, pass, op);
  if (p.algo[pass] != kNoAlgorithm) return p;
  Plan& nhwc = plan(ctx, g, ConvC1Layout::nhwc, op);
  if (nhwc.algo[pass] == kUnsearched) find(h, nhwc, pass, op);
  return nhwc;
}

/// Grow-only device buffers per device: the transposed filter, its gradient, and the
/// explicitly padded input (or its gradient) of an asymmetrically padded conv, and the NCHW copy
/// of y or dy of a conv run wholly in NCHW.
enum Slot { kFilter = 0, kFilterGrad = 1, kPadded = 2, kNchwOutput = 3, kSlots = 4 };
float* filter_buffer(Context& ctx, int slot, int64_t count, const char* op) {
  static thread_local std::vector<GrowBuffer> buffers;  // [device * kSlots + slot]
  const size_t i = static_cast<size_t>(ctx.device * kSlots + slot);
  if (buffers.size() <= i) buffers.resize(i + 1);
  return static_cast<float*>(grow(ctx, buffers[i], size_t(count) * sizeof(float), 256, op));
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

/// The dy cuDNN reads: dy itself, or its NCHW copy when the plan runs wholly in NCHW.
const float* planned_dy(Context& ctx, cudnnHandle_t h, const Plan& pl, const Tensor& dy,
                        const char* op) {
  const float* pdy = f32(dy, op, "dy");
  if (!pl.y_transformed) return pdy;
  float* buf = filter_buffer(ctx, kNchwOutput, dy.size(), op);
  const float one = 1.f, zero = 0.f;
  FITRUN_CUDA_CHECK(cudnnTransformTensor(h, &one, pl.y_nhwc, pdy, &zero, pl.y, buf), op);
  return buf;
}

ConvC1Layout& c1_layout_setting() {
  static ConvC1Layout layout = [] {
    const char* v = std::getenv("FITRUN_CONV_C1_LAYOUT");
    if (!v || !*v || std::strcmp(v, "nchw") == 0) return ConvC1Layout::nchw;
    if (std::strcmp(v, "nhwc") == 0) return ConvC1Layout::nhwc;
    if (std::strcmp(v, "nchw_all") == 0) return ConvC1Layout::nchw_all;
    throw ConfigError(std::string("FITRUN_CONV_C1_LAYOUT must be nhwc, nchw or nchw_all, got \"") +
                      v + "\"");
  }();
  return layout;
}
}  // namespace

ConvC1Layout conv_c1_layout() { return c1_layout_setting(); }
void set_conv_c1_layout(ConvC1Layout layout) { c1_layout_setting() = layout; }

void conv2d_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                    const ops::Conv2DParams& p, ActivationFn act, Tensor& y) {
  const char* op = "conv2d_forward";
  ExplicitPad pad;
  const Geom g = geometry(x.shape(), kernel.shape(), y.shape(), p, op, pad);
  if (y.size() == 0) return;
  Context& ctx = context_of(y, op);
  cudnnHandle_t h = cudnn_handle(ctx, op);
  Plan& pl = ready_plan(ctx, h, g, kForward, op);
  const float* w = krsc_filter(ctx, kernel, g, op);
  const float* px = padded_input(ctx, x, g, pad, op);
  void* ws = pl.ws[kForward] ? workspace(ctx, pl.ws[kForward], op) : nullptr;
  const float one = 1.f, zero = 0.f;
  float* py = f32(y, op, "output");
  float* target = pl.y_transformed ? filter_buffer(ctx, kNchwOutput, y.size(), op) : py;
  FITRUN_CUDA_CHECK(cudnnConvolutionForward(
                        h, &one, pl.x, px, pl.w, w, pl.conv,
                        static_cast<cudnnConvolutionFwdAlgo_t>(pl.algo[kForward]), ws,
                        pl.ws[kForward], &zero, pl.y, target),
                    op);
  if (pl.y_transformed)
    FITRUN_CUDA_CHECK(cudnnTransformTensor(h, &one, pl.y, target, &zero, pl.y_nhwc, py), op);
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
  Plan& pl = ready_plan(ctx, h, g, kBackwardData, op);
  const float* w = krsc_filter(ctx, kernel, g, op);
  const float* pdy = planned_dy(ctx, h, pl, dy, op);
  // With explicit padding, the padded input's gradient goes to the padded buffer first.
  float* pdx = f32(dx, op, "dx");
  float* target = pad.on ? filter_buffer(ctx, kPadded, g.n * g.ih * g.iw * g.ic, op) : pdx;
  void* ws = pl.ws[kBackwardData] ? workspace(ctx, pl.ws[kBackwardData], op) : nullptr;
  const float one = 1.f, zero = 0.f;
  FITRUN_CUDA_CHECK(
      cudnnConvolutionBackwardData(
          h, &one, pl.w, w, pl.y, pdy, pl.conv,
          static_cast<cudnnConvolutionBwdDataAlgo_t>(pl.algo[kBackwardData]), ws,
          pl.ws[kBackwardData], &zero, pl.x, target),
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
  Plan& pl = ready_plan(ctx, h, g, kBackwardFilter, op);
  float* dw = filter_buffer(ctx, kFilterGrad, rsc * g.oc, op);
  const float* px = padded_input(ctx, x, g, pad, op);
  const float* pdy = planned_dy(ctx, h, pl, dy, op);
  void* ws = pl.ws[kBackwardFilter] ? workspace(ctx, pl.ws[kBackwardFilter], op) : nullptr;
  const float one = 1.f, zero = 0.f;
  FITRUN_CUDA_CHECK(
      cudnnConvolutionBackwardFilter(
          h, &one, pl.x, px, pl.y, pdy, pl.conv,
          static_cast<cudnnConvolutionBwdFilterAlgo_t>(pl.algo[kBackwardFilter]), ws,
          pl.ws[kBackwardFilter], &zero, pl.w, dw),
      op);
  // KRSC (out, rsc) back to the Keras layout (rsc, out).
  launch_transpose(dw, f32(dkernel, op, "dkernel"), g.oc, rsc, accumulate, ctx.stream, op);
  if (dbias.defined())
    launch_column_sums(f32(dy, op, "dy"), f32(dbias, op, "dbias"), rows, g.oc, accumulate,
                       ctx.stream, op);
}

}  // namespace fitrun::cuda
