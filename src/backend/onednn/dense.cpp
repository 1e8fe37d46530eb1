// Dense on oneDNN's inner product. The Keras kernel (in, out) is used in place as oneDNN's
// {out, in} weights with tag::io, so no per-step transpose exists; bias and fusable
// activations run inside the forward primitive as a post-op.
#include "backend/onednn/context.hpp"
#include "backend/onednn/eltwise_map.hpp"
#include "backend/onednn/cpu_ops.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kFwd = 100, kBwdData, kBwdWeights };

/// The forward primitive descriptor that backward passes need as a hint.
dnnl::inner_product_forward::primitive_desc forward_pd(int64_t n, int64_t in, int64_t out,
                                                       bool bias, ActivationFn act) {
  memory::desc src({n, in}, dt::f32, tag::nc);
  memory::desc w({out, in}, dt::f32, tag::io);
  memory::desc b({out}, dt::f32, tag::x);
  memory::desc dst({n, out}, dt::f32, tag::nc);
  auto d = bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src, w,
                                                     b, dst)
                : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src, w,
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
                   Tensor& y) {
  check_cpu_f32(x, "dense_forward", "input");
  auto [n, in] = rows_cols(x);
  const int64_t out = kernel.dim(1);
  if (kernel.dim(0) != in)
    throw ShapeError("dense_forward: input has " + std::to_string(in) +
                     " features, kernel expects " + std::to_string(kernel.dim(0)));
  const bool has_bias = bias.defined();
  Primitive& p = cached(Key(kFwd, {n, in, out, has_bias, int64_t(act)}), [&] {
    return guarded("dense_forward", [&] {
      auto pd = forward_pd(n, in, out, has_bias, act);
      Primitive r;
      r.prim = dnnl::inner_product_forward(pd);
      r.args[DNNL_ARG_SRC] = memory(pd.src_desc(), engine(), nullptr);
      r.args[DNNL_ARG_WEIGHTS] = memory(pd.weights_desc(), engine(), nullptr);
      if (has_bias) r.args[DNNL_ARG_BIAS] = memory(pd.bias_desc(), engine(), nullptr);
      r.args[DNNL_ARG_DST] = memory(pd.dst_desc(), engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), r);
      return r;
    });
  });
  if (has_bias) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_WEIGHTS, kernel.raw()}, {DNNL_ARG_BIAS, bias.raw()},
           {DNNL_ARG_DST, y.raw()}});
  } else {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_WEIGHTS, kernel.raw()}, {DNNL_ARG_DST, y.raw()}});
  }
}

void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx) {
  auto [n, out] = rows_cols(dy);
  const int64_t in = kernel.dim(0);
  Primitive& p = cached(Key(kBwdData, {n, in, out}), [&] {
    return guarded("dense_backward_data", [&] {
      auto fwd = forward_pd(n, in, out, true, ActivationFn::linear);
      memory::desc dsrc({n, in}, dt::f32, tag::nc);
      memory::desc w({out, in}, dt::f32, tag::io);
      memory::desc ddst({n, out}, dt::f32, tag::nc);
      dnnl::inner_product_backward_data::desc d(dsrc, w, ddst);
      dnnl::inner_product_backward_data::primitive_desc pd(d, default_attr(), engine(), fwd);
      Primitive r;
      r.prim = dnnl::inner_product_backward_data(pd);
      r.args[DNNL_ARG_DIFF_DST] = memory(pd.diff_dst_desc(), engine(), nullptr);
      r.args[DNNL_ARG_WEIGHTS] = memory(pd.weights_desc(), engine(), nullptr);
      r.args[DNNL_ARG_DIFF_SRC] = memory(pd.diff_src_desc(), engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), r);
      return r;
    });
  });
  p.run({{DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_WEIGHTS, kernel.raw()},
         {DNNL_ARG_DIFF_SRC, dx.raw()}});
}

void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias,
                            bool accumulate) {
  auto [n, in] = rows_cols(x);
  const int64_t out = dy.dim(-1);
  const bool has_bias = dbias.defined();
  Primitive& p = cached(Key(kBwdWeights, {n, in, out, has_bias}), [&] {
    return guarded("dense_backward_weights", [&] {
      auto fwd = forward_pd(n, in, out, has_bias, ActivationFn::linear);
      memory::desc src({n, in}, dt::f32, tag::nc);
      memory::desc dw({out, in}, dt::f32, tag::io);
      memory::desc db({out}, dt::f32, tag::x);
      memory::desc ddst({n, out}, dt::f32, tag::nc);
      auto d = has_bias ? dnnl::inner_product_backward_weights::desc(src, dw, db, ddst)
                        : dnnl::inner_product_backward_weights::desc(src, dw, ddst);
      dnnl::inner_product_backward_weights::primitive_desc pd(d, default_attr(), engine(), fwd);
      Primitive r;
      r.prim = dnnl::inner_product_backward_weights(pd);
      r.args[DNNL_ARG_SRC] = memory(pd.src_desc(), engine(), nullptr);
      r.args[DNNL_ARG_DIFF_DST] = memory(pd.diff_dst_desc(), engine(), nullptr);
      r.args[DNNL_ARG_DIFF_WEIGHTS] = memory(pd.diff_weights_desc(), engine(), nullptr);
      if (has_bias) r.args[DNNL_ARG_DIFF_BIAS] = memory(pd.diff_bias_desc(), engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), r);
      return r;
    });
  });
  if (!accumulate) {
    if (has_bias) {
      p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()},
             {DNNL_ARG_DIFF_WEIGHTS, dkernel.raw()}, {DNNL_ARG_DIFF_BIAS, dbias.raw()}});
    } else {
      p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()},
             {DNNL_ARG_DIFF_WEIGHTS, dkernel.raw()}});
    }
    return;
  }
  // Shared layers: oneDNN overwrites its outputs, so compute into temporaries and add.
  // The temporaries live as long as the thread and are resized only when shapes grow.
  static thread_local Tensor tmp_w, tmp_b;
  if (!tmp_w.defined() || tmp_w.size() != dkernel.size()) tmp_w = Tensor(dkernel.shape());
  if (has_bias && (!tmp_b.defined() || tmp_b.size() != dbias.size())) tmp_b = Tensor(dbias.shape());
  if (has_bias) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()},
           {DNNL_ARG_DIFF_WEIGHTS, tmp_w.raw()}, {DNNL_ARG_DIFF_BIAS, tmp_b.raw()}});
    add_inplace(dbias, tmp_b);
  } else {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()},
           {DNNL_ARG_DIFF_WEIGHTS, tmp_w.raw()}});
  }
  add_inplace(dkernel, tmp_w);
}

}  // namespace fitrun::cpu
