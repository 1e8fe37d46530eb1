// Dense on oneDNN's inner product. In float32 the Keras kernel (in, out) is used in place as
// oneDNN's {out, in} weights with tag::io, so no per-step transpose exists; bias and fusable
// activations run inside the forward primitive as a post-op. In bfloat16 (mixed_bfloat16) the
// float32 input, kernel and output gradient are reordered into bfloat16 buffers the cached
// primitive owns (the kernel into the layout oneDNN prefers); outputs, gradients and the bias
// stay float32.
#include "backend/onednn/context.hpp"
#include "backend/onednn/eltwise_map.hpp"
#include "backend/onednn/cpu_ops.hpp"
#include "backend/onednn/reordered.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kFwd = 100, kBwdData, kBwdWeights };

/// The operand descriptions of one inner product in one compute type.
struct Mds {
  memory::desc x, w, dw, b, y;  // x: source or output gradient (bf16 when computing in bf16)
  memory::desc x_f32, w_f32;    // the plain float32 tensors the caller holds
};
Mds mds(int64_t rows, int64_t cols, int64_t in, int64_t out, ComputeDType compute,
        const char* op) {
  const dt t = compute_data_type(compute, op);
  const bool f32 = t == dt::f32;
  Mds m;
  m.x_f32 = memory::desc({rows, cols}, dt::f32, tag::nc);
  m.x = memory::desc({rows, cols}, t, tag::nc);
  m.w_f32 = memory::desc({out, in}, dt::f32, tag::io);
  m.w = f32 ? m.w_f32 : memory::desc({out, in}, t, tag::any);
  m.dw = f32 ? m.w_f32 : memory::desc({out, in}, dt::f32, tag::any);
  m.b = memory::desc({out}, dt::f32, tag::x);
  return m;
}

/// The forward primitive descriptor that backward passes need as a hint.
dnnl::inner_product_forward::primitive_desc forward_pd(int64_t n, int64_t in, int64_t out,
                                                       bool bias, ActivationFn act,
                                                       ComputeDType compute) {
  const Mds m = mds(n, in, in, out, compute, "dense_forward");
  memory::desc dst({n, out}, dt::f32, tag::nc);
  auto d = bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, m.x, m.w,
                                                     m.b, dst)
                : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, m.x, m.w,
                                                     dst);
  auto attr = default_attr();
  if (act != ActivationFn::linear) {
    dnnl::post_ops po;
    auto e = eltwise_forward_alg(act, 0.f);
    po.append_eltwise(1.f, e.alg, e.alpha, e.beta);
    attr.set_post_ops(po);
  }
  return dnnl::inner_product_forward::primitive_desc(d, attr, engine());
}

/// (rows, features) view of an (..., features) tensor.
std::pair<int64_t, int64_t> rows_cols(const Tensor& t) {
  int64_t cols = t.dim(-1);
  return {cols ? t.size() / cols : 0, cols};
}
}  // namespace

bool dense_fusable(ActivationFn act) {
  switch (act) {
    case ActivationFn::linear:
    case ActivationFn::relu:
    case ActivationFn::sigmoid:
    case ActivationFn::tanh:
    case ActivationFn::elu:
    case ActivationFn::exponential:
      return true;
    default:
      return false;
  }
}

void dense_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, ActivationFn act,
                   Tensor& y, ComputeDType compute) {
  check_cpu_f32(x, "dense_forward", "input");
  auto [n, in] = rows_cols(x);
  const int64_t out = kernel.dim(1);
  if (kernel.dim(0) != in)
    throw ShapeError("dense_forward: input has " + std::to_string(in) +
                     " features, kernel expects " + std::to_string(kernel.dim(0)));
  const bool has_bias = bias.defined();
  const Key key(kFwd, {n, in, out, has_bias, int64_t(act), int64_t(compute)});
  auto& e = cached_entry<ReorderedPrimitive>(key, [&] {
    return guarded("dense_forward", compute, [&] {
      auto pd = forward_pd(n, in, out, has_bias, act, compute);
      const Mds m = mds(n, in, in, out, compute, "dense_forward");
      auto r = make_entry<dnnl::inner_product_forward>(
          pd, {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, has_bias ? DNNL_ARG_BIAS : 0, DNNL_ARG_DST});
      r.in0.attach(m.x_f32, pd.src_desc(), true);
      r.in1.attach(m.w_f32, pd.weights_desc(), true);
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

void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx,
                         ComputeDType compute) {
  auto [n, out] = rows_cols(dy);
  const int64_t in = kernel.dim(0);
  auto& e = cached_entry<ReorderedPrimitive>(Key(kBwdData, {n, in, out, int64_t(compute)}), [&] {
    return guarded("dense_backward_data", compute, [&] {
      auto fwd = forward_pd(n, in, out, true, ActivationFn::linear, compute);
      const Mds m = mds(n, out, in, out, compute, "dense_backward_data");
      memory::desc dsrc({n, in}, dt::f32, tag::nc);
      dnnl::inner_product_backward_data::desc d(dsrc, m.w, m.x);
      dnnl::inner_product_backward_data::primitive_desc pd(d, default_attr(), engine(), fwd);
      auto r = make_entry<dnnl::inner_product_backward_data>(
          pd, {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC});
      r.in0.attach(m.x_f32, pd.diff_dst_desc(), true);
      r.in1.attach(m.w_f32, pd.weights_desc(), true);
      return r;
    });
  });
  e.prim.run({{DNNL_ARG_DIFF_DST, e.in0.in(dy.raw())}, {DNNL_ARG_WEIGHTS, e.in1.in(kernel.raw())},
              {DNNL_ARG_DIFF_SRC, dx.raw()}});
}

void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias,
                            bool accumulate, ComputeDType compute) {
  auto [n, in] = rows_cols(x);
  const int64_t out = dy.dim(-1);
  const bool has_bias = dbias.defined();
  const Key key(kBwdWeights, {n, in, out, has_bias, int64_t(compute)});
  auto& e = cached_entry<ReorderedPrimitive>(key, [&] {
    return guarded("dense_backward_weights", compute, [&] {
      auto fwd = forward_pd(n, in, out, has_bias, ActivationFn::linear, compute);
      const Mds src = mds(n, in, in, out, compute, "dense_backward_weights");
      const Mds ddst = mds(n, out, in, out, compute, "dense_backward_weights");
      auto d = has_bias
                   ? dnnl::inner_product_backward_weights::desc(src.x, src.dw, src.b, ddst.x)
                   : dnnl::inner_product_backward_weights::desc(src.x, src.dw, ddst.x);
      dnnl::inner_product_backward_weights::primitive_desc pd(d, default_attr(), engine(), fwd);
      auto r = make_entry<dnnl::inner_product_backward_weights>(
          pd, {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
               has_bias ? DNNL_ARG_DIFF_BIAS : 0});
      r.in0.attach(src.x_f32, pd.src_desc(), true);
      r.in1.attach(ddst.x_f32, pd.diff_dst_desc(), true);
      r.out.attach(src.w_f32, pd.diff_weights_desc(), false);
      return r;
    });
  });
  // Shared layers: oneDNN overwrites its outputs, so compute into temporaries and add.
  // The temporaries live as long as the thread and are resized only when shapes grow.
  static thread_local Tensor tmp_w, tmp_b;
  if (accumulate) {
    if (!tmp_w.defined() || tmp_w.size() != dkernel.size()) tmp_w = Tensor(dkernel.shape());
    if (has_bias && (!tmp_b.defined() || tmp_b.size() != dbias.size()))
      tmp_b = Tensor(dbias.shape());
  }
  Tensor& w_out = accumulate ? tmp_w : dkernel;
  const void* src = e.in0.in(x.raw());
  const void* diff_dst = e.in1.in(dy.raw());
  void* dw = e.out.target(w_out.raw());
  if (has_bias) {
    e.prim.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, dw},
                {DNNL_ARG_DIFF_BIAS, (accumulate ? tmp_b : dbias).raw()}});
  } else {
    e.prim.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
  }
  e.out.out(w_out.raw());
  if (accumulate) {
    add_inplace(dkernel, tmp_w);
    if (has_bias) add_inplace(dbias, tmp_b);
  }
}

}  // namespace fitrun::cpu
