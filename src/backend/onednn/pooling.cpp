// Max and average pooling on oneDNN, channels_last (tag::nhwc). Training forwards use a
// forward_training primitive whose max-pool workspace (the arg-max, 1 byte per output) is kept
// by the caller until the backward; inference forwards use forward_inference (no workspace).
#include "backend/onednn/context.hpp"
#include "backend/onednn/cpu_ops.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kPoolFwd = 400, kPoolBwd };

struct PoolGeom {
  int64_t n, ih, iw, c, oh, ow;
};

PoolGeom pool_geometry(const Shape& x, const Shape& y, const Pool2DParams& p, const char* op) {
  if (x.rank() != 4 || y.rank() != 4 || x[0] != y[0] || x[3] != y[3])
    throw ShapeError(std::string(op) + ": input " + x.to_string() + " and output " +
                     y.to_string() + " must be (N, H, W, C) with the same N and C");
  const int64_t oh = (x[1] + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
  const int64_t ow = (x[2] + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
  if (oh != y[1] || ow != y[2])
    throw ShapeError(std::string(op) + ": output " + y.to_string() + " does not match input " +
                     x.to_string() + " with the pool size, strides and padding");
  return {x[0], x[1], x[2], x[3], y[1], y[2]};
}

dnnl::algorithm pool_alg(PoolAlg a) {
  return a == PoolAlg::max ? dnnl::algorithm::pooling_max
                           : dnnl::algorithm::pooling_avg_exclude_padding;
}

Key pool_key(int op, const PoolGeom& g, const Pool2DParams& p, bool training) {
  return Key(op, {g.n, g.ih, g.iw, g.c, g.oh, g.ow, p.kernel_h, p.kernel_w, p.stride_h,
                  p.stride_w, p.pad_top, p.pad_bottom, p.pad_left, p.pad_right,
                  int64_t(p.alg), training});
}

dnnl::pooling_forward::primitive_desc forward_pd(const PoolGeom& g, const Pool2DParams& p,
                                                 bool training) {
  memory::desc src({g.n, g.c, g.ih, g.iw}, dt::f32, tag::nhwc);
  memory::desc dst({g.n, g.c, g.oh, g.ow}, dt::f32, tag::nhwc);
  dnnl::pooling_forward::desc d(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
      pool_alg(p.alg), src, dst, {p.stride_h, p.stride_w}, {p.kernel_h, p.kernel_w},
      {p.pad_top, p.pad_left}, {p.pad_bottom, p.pad_right});
  return dnnl::pooling_forward::primitive_desc(d, default_attr(), engine());
}

/// Workspace tensors hold opaque bytes in float32 elements.
int64_t workspace_elements(const memory::desc& md) {
  return static_cast<int64_t>((md.get_size() + sizeof(float) - 1) / sizeof(float));
}
}  // namespace

void pool2d_forward(const Tensor& x, const Pool2DParams& p, bool training, Tensor& y,
                    Tensor& workspace) {
  check_cpu_f32(x, "pool2d_forward", "input");
  const PoolGeom g = pool_geometry(x.shape(), y.shape(), p, "pool2d_forward");
  const bool ws = training && p.alg == PoolAlg::max;
  Primitive& prim = cached(pool_key(kPoolFwd, g, p, training), [&] {
    return guarded("pool2d_forward", [&] {
      auto pd = forward_pd(g, p, training);
      Primitive r;
      r.prim = dnnl::pooling_forward(pd);
      r.args[DNNL_ARG_SRC] = memory(pd.src_desc(), engine(), nullptr);
      r.args[DNNL_ARG_DST] = memory(pd.dst_desc(), engine(), nullptr);
      if (ws) r.args[DNNL_ARG_WORKSPACE] = memory(pd.workspace_desc(), engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), r);
      return r;
    });
  });
  if (!ws) {
    prim.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}});
    return;
  }
  const int64_t need = workspace_elements(prim.args.at(DNNL_ARG_WORKSPACE).get_desc());
  if (!workspace.defined() || workspace.size() != need) workspace = Tensor({need});
  prim.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_WORKSPACE, workspace.raw()}});
}

void pool2d_backward(const Tensor& dy, const Tensor& workspace, const Pool2DParams& p,
                     Tensor& dx) {
  check_cpu_f32(dy, "pool2d_backward", "output gradient");
  const PoolGeom g = pool_geometry(dx.shape(), dy.shape(), p, "pool2d_backward");
  const bool ws = p.alg == PoolAlg::max;
  Primitive& prim = cached(pool_key(kPoolBwd, g, p, true), [&] {
    return guarded("pool2d_backward", [&] {
      auto fwd = forward_pd(g, p, true);
      memory::desc dsrc({g.n, g.c, g.ih, g.iw}, dt::f32, tag::nhwc);
      memory::desc ddst({g.n, g.c, g.oh, g.ow}, dt::f32, tag::nhwc);
      dnnl::pooling_backward::desc d(pool_alg(p.alg), dsrc, ddst, {p.stride_h, p.stride_w},
                                     {p.kernel_h, p.kernel_w}, {p.pad_top, p.pad_left},
                                     {p.pad_bottom, p.pad_right});
      dnnl::pooling_backward::primitive_desc pd(d, default_attr(), engine(), fwd);
      Primitive r;
      r.prim = dnnl::pooling_backward(pd);
      r.args[DNNL_ARG_DIFF_DST] = memory(pd.diff_dst_desc(), engine(), nullptr);
      r.args[DNNL_ARG_DIFF_SRC] = memory(pd.diff_src_desc(), engine(), nullptr);
      if (ws) r.args[DNNL_ARG_WORKSPACE] = memory(pd.workspace_desc(), engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), r);
      return r;
    });
  });
  if (!ws) {
    prim.run({{DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()}});
    return;
  }
  if (!workspace.defined() ||
      workspace.size() != workspace_elements(prim.args.at(DNNL_ARG_WORKSPACE).get_desc()))
    throw Error("pool2d_backward: max pooling needs the workspace of a training forward "
                "for this shape");
  prim.run({{DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()},
            {DNNL_ARG_WORKSPACE, workspace.raw()}});
}

}  // namespace fitrun::cpu
