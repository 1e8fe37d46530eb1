// Convolution on oneDNN with channels_last activations (tag::nhwc) and Keras kernels
// (kh, kw, in/groups, out): tag::hwio, or tag::hwigo with groups (logical {G, OC/G, IC/G,
// KH, KW}, which is exactly Keras' memory order).
//
// Weights layout. With plain hwio weights oneDNN picks its slower gemm-based convolution
// (reference/onednn-cudnn.md §3.3), so the primitives are created with `any` weights and the
// Keras kernel is reordered into the layout each primitive prefers: once per forward (i.e. once
// per optimizer step in training) and once per backward-data. The weight gradient is produced
// in oneDNN's layout and reordered back into the Keras-layout gradient the optimizer updates.
// Reorders of conv kernels cost microseconds. FITRUN_CONV_PLAIN_WEIGHTS=1 forces the plain
// hwio path (kept correct, used to measure the difference; also ops::set_conv_plain_weights).
//
// bfloat16 (Conv2DParams::compute, the mixed_bfloat16 policy): the source, output gradient and
// kernel are reordered into bfloat16 buffers the cached primitive owns (activations stay nhwc,
// the kernel goes to oneDNN's layout); outputs, gradients and bias stay float32.
#include <cstdlib>
#include <cstring>

#include "backend/onednn/context.hpp"
#include "backend/onednn/eltwise_map.hpp"
#include "backend/onednn/cpu_ops.hpp"
#include "backend/onednn/reordered.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kConvFwd = 300, kConvBwdData, kConvBwdWeights };

/// Every size of one convolution and the type it multiplies in.
struct Geom {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, g;
  dt t;  // f32 or bf16: sources, weights and output gradients as the primitive reads them
};

[[noreturn]] void conv_error(const char* op, const std::string& what) {
  throw ShapeError(std::string(op) + ": " + what);
}

Geom geometry(const Shape& x, const Shape& k, const Shape& y, const Conv2DParams& p,
              const char* op) {
  if (x.rank() != 4 || k.rank() != 4 || y.rank() != 4)
    conv_error(op, "expected rank-4 input " + x.to_string() + ", kernel " + k.to_string() +
                       " and output " + y.to_string());
  Geom g{x[0], x[1], x[2], x[3], y[1], y[2], y[3], k[0], k[1], p.stride_h, p.stride_w,
         p.dilation_h, p.dilation_w, p.pad_top, p.pad_bottom, p.pad_left, p.pad_right,
         p.groups, compute_data_type(p.compute, op)};
  if (g.g < 1 || g.ic % g.g || g.oc % g.g || k[2] * g.g != g.ic || k[3] != g.oc || y[0] != x[0])
    conv_error(op, "input " + x.to_string() + ", kernel " + k.to_string() + " and output " +
                       y.to_string() + " do not match with groups=" + std::to_string(g.g));
  auto out_len = [](int64_t in, int64_t k, int64_t s, int64_t d, int64_t a, int64_t b) {
    return (in + a + b - ((k - 1) * d + 1)) / s + 1;
  };
  if (out_len(g.ih, g.kh, g.sh, g.dh, g.pt, g.pb) != g.oh ||
      out_len(g.iw, g.kw, g.sw, g.dw, g.pl, g.pr) != g.ow)
    conv_error(op, "output " + y.to_string() + " does not match input " + x.to_string() +
                       " with kernel " + k.to_string() + ", strides, dilation and padding");
  return g;
}

memory::dims weights_dims(const Geom& g) {
  if (g.g == 1) return {g.oc, g.ic, g.kh, g.kw};
  return {g.g, g.oc / g.g, g.ic / g.g, g.kh, g.kw};
}
/// The Keras kernel (or its gradient) in data type `t`.
memory::desc plain_weights_md(const Geom& g, dt t = dt::f32) {
  return memory::desc(weights_dims(g), t, g.g == 1 ? tag::hwio : tag::hwigo);
}
/// Weights as the primitive reads them (g.t), or their gradient as it writes it (f32).
memory::desc weights_md(const Geom& g, bool any, dt t) {
  return any ? memory::desc(weights_dims(g), t, tag::any) : plain_weights_md(g, t);
}
memory::desc act_md(int64_t n, int64_t c, int64_t h, int64_t w, dt t = dt::f32) {
  return memory::desc({n, c, h, w}, t, tag::nhwc);
}

bool& plain_weights() {
  static bool plain = [] {
    const char* v = std::getenv("FITRUN_CONV_PLAIN_WEIGHTS");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return plain;
}
bool any_weights() { return !plain_weights(); }

Key make_key(int op, const Geom& g, int64_t a, int64_t b, bool any) {
  Key k(op, {});
  const int64_t vals[] = {g.n,  g.ih, g.iw, g.ic, g.oh, g.ow, g.oc, g.kh, g.kw, g.sh, g.sw,
                          g.dh, g.dw, g.pt, g.pb, g.pl, g.pr, g.g,  a,    b,    any,
                          int64_t(g.t)};
  static_assert(sizeof(vals) / sizeof(vals[0]) < std::tuple_size<decltype(k.v)>::value);
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); ++i) k.v[i + 1] = vals[i];
  return k;
}

dnnl::convolution_forward::primitive_desc forward_pd(const Geom& g, bool bias, ActivationFn act,
                                                     bool any) {
  const memory::desc src = act_md(g.n, g.ic, g.ih, g.iw, g.t), dst = act_md(g.n, g.oc, g.oh, g.ow);
  const memory::desc w = weights_md(g, any, g.t), b({g.oc}, dt::f32, tag::x);
  const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pl{g.pt, g.pl},
      pr{g.pb, g.pr};
  using dnnl::convolution_forward;
  const auto pk = dnnl::prop_kind::forward_training;
  const auto alg = dnnl::algorithm::convolution_direct;
  auto d = bias ? convolution_forward::desc(pk, alg, src, w, b, dst, strides, dil, pl, pr)
                : convolution_forward::desc(pk, alg, src, w, dst, strides, dil, pl, pr);
  auto attr = default_attr();
  if (act != ActivationFn::linear) {
    dnnl::post_ops po;
    auto e = eltwise_forward_alg(act, 0.f);
    po.append_eltwise(1.f, e.alg, e.alpha, e.beta);
    attr.set_post_ops(po);
  }
  return convolution_forward::primitive_desc(d, attr, engine());
}

/// Temporaries for accumulating weight gradients (shared layers), grown as needed.
float* temp_buffer(int which, int64_t count) {
  static thread_local Tensor tmp[2];
  if (!tmp[which].defined() || tmp[which].size() < count) tmp[which] = Tensor({count});
  return tmp[which].data<float>();
}

void accumulate_into(float* dst, const float* src, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}
}  // namespace

bool conv_fusable(ActivationFn act) { return dense_fusable(act); }

void set_conv_plain_weights(bool plain) { plain_weights() = plain; }

void conv2d_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias,
                    const Conv2DParams& p, ActivationFn act, Tensor& y) {
  check_cpu_f32(x, "conv2d_forward", "input");
  check_cpu_f32(kernel, "conv2d_forward", "kernel");
  const Geom g = geometry(x.shape(), kernel.shape(), y.shape(), p, "conv2d_forward");
  const bool has_bias = bias.defined(), any = any_weights();
  if (!conv_fusable(act))
    throw Error("conv2d_forward: activation " + activation_name(act) + " cannot be fused");
  auto& e = cached_entry<ReorderedPrimitive>(make_key(kConvFwd, g, has_bias, int64_t(act), any), [&] {
    return guarded("conv2d_forward", p.compute, [&] {
      auto pd = forward_pd(g, has_bias, act, any);
      auto r = make_entry<dnnl::convolution_forward>(
          pd, {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, has_bias ? DNNL_ARG_BIAS : 0, DNNL_ARG_DST});
      r.in0.attach(act_md(g.n, g.ic, g.ih, g.iw), pd.src_desc(), true);
      r.in1.attach(plain_weights_md(g), pd.weights_desc(), true);
      return r;
    });
  });
  const void* src = e.in0.in(x.raw());
  const void* w = e.in1.in(kernel.raw());
  if (has_bias) {
    e.prim.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias.raw()},
                {DNNL_ARG_DST, y.raw()}});
  } else {
    e.prim.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y.raw()}});
  }
}

void conv2d_backward_data(const Tensor& dy, const Tensor& kernel, const Conv2DParams& p,
                          Tensor& dx) {
  check_cpu_f32(dy, "conv2d_backward_data", "output gradient");
  const Geom g = geometry(dx.shape(), kernel.shape(), dy.shape(), p, "conv2d_backward_data");
  const bool any = any_weights();
  auto& e = cached_entry<ReorderedPrimitive>(make_key(kConvBwdData, g, 0, 0, any), [&] {
    return guarded("conv2d_backward_data", p.compute, [&] {
      auto fwd = forward_pd(g, false, ActivationFn::linear, any);
      const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pl{g.pt, g.pl},
          pr{g.pb, g.pr};
      dnnl::convolution_backward_data::desc d(
          dnnl::algorithm::convolution_direct, act_md(g.n, g.ic, g.ih, g.iw),
          weights_md(g, any, g.t), act_md(g.n, g.oc, g.oh, g.ow, g.t), strides, dil, pl, pr);
      dnnl::convolution_backward_data::primitive_desc pd(d, default_attr(), engine(), fwd);
      auto r = make_entry<dnnl::convolution_backward_data>(
          pd, {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC});
      r.in0.attach(act_md(g.n, g.oc, g.oh, g.ow), pd.diff_dst_desc(), true);
      r.in1.attach(plain_weights_md(g), pd.weights_desc(), true);
      return r;
    });
  });
  e.prim.run({{DNNL_ARG_DIFF_DST, e.in0.in(dy.raw())}, {DNNL_ARG_WEIGHTS, e.in1.in(kernel.raw())},
              {DNNL_ARG_DIFF_SRC, dx.raw()}});
}

void conv2d_backward_weights(const Tensor& x, const Tensor& dy, const Conv2DParams& p,
                             Tensor& dkernel, Tensor& dbias, bool accumulate) {
  check_cpu_f32(x, "conv2d_backward_weights", "input");
  check_cpu_f32(dy, "conv2d_backward_weights", "output gradient");
  const Geom g = geometry(x.shape(), dkernel.shape(), dy.shape(), p, "conv2d_backward_weights");
  const bool has_bias = dbias.defined(), any = any_weights();
  auto& e = cached_entry<ReorderedPrimitive>(make_key(kConvBwdWeights, g, has_bias, 0, any), [&] {
    return guarded("conv2d_backward_weights", p.compute, [&] {
      auto fwd = forward_pd(g, has_bias, ActivationFn::linear, any);
      const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pl{g.pt, g.pl},
          pr{g.pb, g.pr};
      const memory::desc src = act_md(g.n, g.ic, g.ih, g.iw, g.t),
                         ddst = act_md(g.n, g.oc, g.oh, g.ow, g.t);
      const memory::desc dw = weights_md(g, any, dt::f32), db({g.oc}, dt::f32, tag::x);
      using dnnl::convolution_backward_weights;
      const auto alg = dnnl::algorithm::convolution_direct;
      auto d = has_bias
                   ? convolution_backward_weights::desc(alg, src, dw, db, ddst, strides, dil, pl, pr)
                   : convolution_backward_weights::desc(alg, src, dw, ddst, strides, dil, pl, pr);
      convolution_backward_weights::primitive_desc pd(d, default_attr(), engine(), fwd);
      auto r = make_entry<convolution_backward_weights>(
          pd, {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
               has_bias ? DNNL_ARG_DIFF_BIAS : 0});
      r.in0.attach(act_md(g.n, g.ic, g.ih, g.iw), pd.src_desc(), true);
      r.in1.attach(act_md(g.n, g.oc, g.oh, g.ow), pd.diff_dst_desc(), true);
      r.out.attach(plain_weights_md(g), pd.diff_weights_desc(), false);
      return r;
    });
  });
  const int64_t nw = dkernel.size(), nb = has_bias ? dbias.size() : 0;
  float* w_out = accumulate ? temp_buffer(0, nw) : dkernel.data<float>();
  float* b_out = has_bias ? (accumulate ? temp_buffer(1, nb) : dbias.data<float>()) : nullptr;
  const void* src = e.in0.in(x.raw());
  const void* diff_dst = e.in1.in(dy.raw());
  void* w_target = e.out.target(w_out);
  if (has_bias) {
    e.prim.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst},
                {DNNL_ARG_DIFF_WEIGHTS, w_target}, {DNNL_ARG_DIFF_BIAS, b_out}});
  } else {
    e.prim.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst},
                {DNNL_ARG_DIFF_WEIGHTS, w_target}});
  }
  e.out.out(w_out);
  if (accumulate) {
    accumulate_into(dkernel.data<float>(), w_out, nw);
    if (has_bias) accumulate_into(dbias.data<float>(), b_out, nb);
  }
}

void bias_add(const Tensor& x, const Tensor& bias, Tensor& y) {
  const int64_t c = bias.size(), rows = c ? x.size() / c : 0;
  if (x.dim(-1) != c || y.size() != x.size())
    throw ShapeError("bias_add: input " + x.shape().to_string() + " and bias " +
                     bias.shape().to_string() + " do not match");
  const float* px = x.data<float>();
  const float* pb = bias.data<float>();
  float* py = y.data<float>();
#pragma omp parallel for schedule(static) if (x.size() >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) py[r * c + j] = px[r * c + j] + pb[j];
  }
}

}  // namespace fitrun::cpu
