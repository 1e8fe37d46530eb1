// Batch and layer normalization on oneDNN over the last axis: x is viewed as (rows, C) with
// tag::nc (channels_last data of any rank has exactly this memory order).
//
// oneDNN keeps no running statistics: batch_norm_forward_training returns the batch mean and
// biased variance, and the layer updates its moving averages (moving_average_update).
// Gotcha (reference/onednn-cudnn.md §3.1): a backward with use_shift needs DNNL_ARG_SHIFT.
#include <cstring>

#include "backend/onednn/context.hpp"
#include "backend/onednn/cpu_ops.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;
using dnnl::normalization_flags;

namespace {
enum Op { kBnFwdTrain = 500, kBnFwdInfer, kBnBwd, kLnFwd, kLnBwd };

int64_t float_bits(float a) {
  int32_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  return bits;
}

std::pair<int64_t, int64_t> rows_channels(const Tensor& x) {
  const int64_t c = x.dim(-1);
  return {c ? x.size() / c : 0, c};
}

normalization_flags flags_of(bool scale, bool shift, bool global) {
  auto f = normalization_flags::none;
  if (scale) f |= normalization_flags::use_scale;
  if (shift) f |= normalization_flags::use_shift;
  if (global) f |= normalization_flags::use_global_stats;
  return f;
}

void check_param(const Tensor& t, int64_t c, const char* op, const char* what) {
  if (t.defined() && t.size() != c)
    throw ShapeError(std::string(op) + ": " + what + " has " + std::to_string(t.size()) +
                     " elements, expected " + std::to_string(c));
}

/// Per-thread temporaries (diff scale/shift nobody asked for, or to accumulate).
float* temp(int which, int64_t count) {
  static thread_local Tensor tmp[4];
  if (!tmp[which].defined() || tmp[which].size() < count) tmp[which] = Tensor({count});
  return tmp[which].data<float>();
}

void add_to(Tensor& dst, const float* src) {
  float* p = dst.data<float>();
  for (int64_t i = 0; i < dst.size(); ++i) p[i] += src[i];
}

/// Batch norm's (rows, C) data as a 4-D {rows, C, 1, 1} nhwc tensor: the same memory order
/// as tag::nc, but oneDNN 2.6 runs its jitted channels-last kernels only on 4-D
/// descriptors (2-D takes the reference ncsp_bnorm, ~10x slower).
memory::desc bn_md(int64_t rows, int64_t c) {
  return memory::desc({rows, c, 1, 1}, dt::f32, tag::nhwc);
}

dnnl::batch_normalization_forward::primitive_desc bn_forward_pd(int64_t rows, int64_t c,
                                                                float eps,
                                                                normalization_flags f,
                                                                bool training) {
  const memory::desc md = bn_md(rows, c);
  dnnl::batch_normalization_forward::desc d(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, md, eps,
      f);
  return dnnl::batch_normalization_forward::primitive_desc(d, default_attr(), engine());
}

dnnl::layer_normalization_forward::primitive_desc ln_forward_pd(int64_t rows, int64_t c,
                                                                float eps,
                                                                normalization_flags f) {
  memory::desc md({rows, c}, dt::f32, tag::nc);
  memory::desc stat({rows}, dt::f32, tag::x);
  dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_training, md, stat, eps, f);
  return dnnl::layer_normalization_forward::primitive_desc(d, default_attr(), engine());
}

/// Argument memories of a normalization primitive, from its pd's queries.
template <class PD>
void add_args(Primitive& r, const PD& pd, std::initializer_list<int> args) {
  for (int a : args)
    r.args[a] = memory(pd.query_md(dnnl::query::exec_arg_md, a), engine(), nullptr);
  reserve_scratchpad(pd.scratchpad_desc(), r);
}
}  // namespace

void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float epsilon, Tensor& y, Tensor& mean, Tensor& var) {
  check_cpu_f32(x, "batch_norm_forward_training", "input");
  auto [rows, c] = rows_channels(x);
  check_param(gamma, c, "batch_norm_forward_training", "gamma");
  check_param(beta, c, "batch_norm_forward_training", "beta");
  const bool s = gamma.defined(), b = beta.defined();
  Primitive& p = cached(Key(kBnFwdTrain, {rows, c, s, b, float_bits(epsilon)}), [&] {
    return guarded("batch_norm_forward_training", [&] {
      auto pd = bn_forward_pd(rows, c, epsilon, flags_of(s, b, false), true);
      Primitive r;
      r.prim = dnnl::batch_normalization_forward(pd);
      add_args(r, pd, {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE});
      if (s) add_args(r, pd, {DNNL_ARG_SCALE});
      if (b) add_args(r, pd, {DNNL_ARG_SHIFT});
      return r;
    });
  });
  if (s && b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SCALE, gamma.raw()},
           {DNNL_ARG_SHIFT, beta.raw()}});
  } else if (s) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SCALE, gamma.raw()}});
  } else if (b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SHIFT, beta.raw()}});
  } else {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}});
  }
}

void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& mean, const Tensor& var, float epsilon,
                                  Tensor& y) {
  check_cpu_f32(x, "batch_norm_forward_inference", "input");
  auto [rows, c] = rows_channels(x);
  check_param(gamma, c, "batch_norm_forward_inference", "gamma");
  check_param(beta, c, "batch_norm_forward_inference", "beta");
  check_param(mean, c, "batch_norm_forward_inference", "mean");
  check_param(var, c, "batch_norm_forward_inference", "variance");
  const bool s = gamma.defined(), b = beta.defined();
  Primitive& p = cached(Key(kBnFwdInfer, {rows, c, s, b, float_bits(epsilon)}), [&] {
    return guarded("batch_norm_forward_inference", [&] {
      auto pd = bn_forward_pd(rows, c, epsilon, flags_of(s, b, true), false);
      Primitive r;
      r.prim = dnnl::batch_normalization_forward(pd);
      add_args(r, pd, {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE});
      if (s) add_args(r, pd, {DNNL_ARG_SCALE});
      if (b) add_args(r, pd, {DNNL_ARG_SHIFT});
      return r;
    });
  });
  const void* g = s ? gamma.raw() : nullptr;
  const void* be = b ? beta.raw() : nullptr;
  if (s && b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SCALE, g}, {DNNL_ARG_SHIFT, be}});
  } else if (s) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SCALE, g}});
  } else if (b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SHIFT, be}});
  } else {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}});
  }
}

namespace {
/// Where a normalization backward writes diff scale and diff shift.
struct NormGrads {
  float* dscale = nullptr;
  float* dshift = nullptr;
};

/// Where diff scale/shift go: straight into dgamma/dbeta, or into temporaries when the caller
/// does not want them or accumulates.
NormGrads grad_targets(int64_t c, bool s, bool b, Tensor& dgamma, Tensor& dbeta,
                       bool accumulate) {
  NormGrads t;
  if (s) t.dscale = dgamma.defined() && !accumulate ? dgamma.data<float>() : temp(0, c);
  if (b) t.dshift = dbeta.defined() && !accumulate ? dbeta.data<float>() : temp(1, c);
  return t;
}

void finish_grads(const NormGrads& t, Tensor& dgamma, Tensor& dbeta, bool accumulate) {
  if (!accumulate) return;
  if (t.dscale && dgamma.defined()) add_to(dgamma, t.dscale);
  if (t.dshift && dbeta.defined()) add_to(dbeta, t.dshift);
}

/// Runs a normalization backward whose arguments are all present in `p` (the optional ones
/// only when the flags use them).
void run_norm_backward(Primitive& p, const Tensor& x, const Tensor& dy, const Tensor& gamma,
                       const Tensor& beta, const Tensor& mean, const Tensor& var, Tensor& dx,
                       const NormGrads& t) {
  const bool s = gamma.defined(), b = beta.defined();
  if (s && b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()},
           {DNNL_ARG_SCALE, gamma.raw()}, {DNNL_ARG_SHIFT, beta.raw()},
           {DNNL_ARG_DIFF_SCALE, t.dscale}, {DNNL_ARG_DIFF_SHIFT, t.dshift}});
  } else if (s) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()},
           {DNNL_ARG_SCALE, gamma.raw()}, {DNNL_ARG_DIFF_SCALE, t.dscale}});
  } else if (b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()},
           {DNNL_ARG_SHIFT, beta.raw()}, {DNNL_ARG_DIFF_SHIFT, t.dshift}});
  } else {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()}});
  }
}

}  // namespace

void batch_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, bool global_stats, Tensor& dx, Tensor& dgamma,
                         Tensor& dbeta, bool accumulate) {
  check_cpu_f32(dy, "batch_norm_backward", "output gradient");
  auto [rows, c] = rows_channels(x);
  const bool s = gamma.defined(), b = beta.defined();
  Primitive& p = cached(
      Key(kBnBwd, {rows, c, s, b, float_bits(epsilon), global_stats}), [&] {
        return guarded("batch_norm_backward", [&] {
          const auto f = flags_of(s, b, global_stats);
          auto fwd = bn_forward_pd(rows, c, epsilon, f, true);
          const memory::desc md = bn_md(rows, c);
          dnnl::batch_normalization_backward::desc d(
              s || b ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data, md, md,
              epsilon, f);
          dnnl::batch_normalization_backward::primitive_desc pd(d, default_attr(), engine(),
                                                                fwd);
          Primitive r;
          r.prim = dnnl::batch_normalization_backward(pd);
          add_args(r, pd, {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE,
                         DNNL_ARG_DIFF_SRC});
          if (s) add_args(r, pd, {DNNL_ARG_SCALE, DNNL_ARG_DIFF_SCALE});
          if (b) add_args(r, pd, {DNNL_ARG_SHIFT, DNNL_ARG_DIFF_SHIFT});
          return r;
        });
      });
  const NormGrads t = grad_targets(c, s, b, dgamma, dbeta, accumulate);
  run_norm_backward(p, x, dy, gamma, beta, mean, var, dx, t);
  finish_grads(t, dgamma, dbeta, accumulate);
}

void moving_average_update(Tensor& moving, const Tensor& value, float momentum) {
  if (moving.size() != value.size())
    throw ShapeError("moving_average_update: " + moving.shape().to_string() + " and " +
                     value.shape().to_string() + " differ in size");
  float* m = moving.data<float>();
  const float* v = value.data<float>();
  for (int64_t i = 0; i < moving.size(); ++i) m[i] = m[i] * momentum + v[i] * (1.f - momentum);
}

void layer_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float epsilon,
                        Tensor& y, Tensor& mean, Tensor& var) {
  check_cpu_f32(x, "layer_norm_forward", "input");
  auto [rows, c] = rows_channels(x);
  check_param(gamma, c, "layer_norm_forward", "gamma");
  check_param(beta, c, "layer_norm_forward", "beta");
  const bool s = gamma.defined(), b = beta.defined();
  Primitive& p = cached(Key(kLnFwd, {rows, c, s, b, float_bits(epsilon)}), [&] {
    return guarded("layer_norm_forward", [&] {
      auto pd = ln_forward_pd(rows, c, epsilon, flags_of(s, b, false));
      Primitive r;
      r.prim = dnnl::layer_normalization_forward(pd);
      add_args(r, pd, {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE});
      if (s) add_args(r, pd, {DNNL_ARG_SCALE});
      if (b) add_args(r, pd, {DNNL_ARG_SHIFT});
      return r;
    });
  });
  if (s && b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SCALE, gamma.raw()},
           {DNNL_ARG_SHIFT, beta.raw()}});
  } else if (s) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SCALE, gamma.raw()}});
  } else if (b) {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}, {DNNL_ARG_SHIFT, beta.raw()}});
  } else {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}, {DNNL_ARG_MEAN, mean.raw()},
           {DNNL_ARG_VARIANCE, var.raw()}});
  }
}

void layer_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& beta, const Tensor& mean, const Tensor& var,
                         float epsilon, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                         bool accumulate) {
  check_cpu_f32(dy, "layer_norm_backward", "output gradient");
  auto [rows, c] = rows_channels(x);
  const bool s = gamma.defined(), b = beta.defined();
  Primitive& p = cached(Key(kLnBwd, {rows, c, s, b, float_bits(epsilon)}), [&] {
    return guarded("layer_norm_backward", [&] {
      const auto f = flags_of(s, b, false);
      auto fwd = ln_forward_pd(rows, c, epsilon, f);
      memory::desc md({rows, c}, dt::f32, tag::nc);
      memory::desc stat({rows}, dt::f32, tag::x);
      dnnl::layer_normalization_backward::desc d(
          s || b ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data, md, md, stat,
          epsilon, f);
      dnnl::layer_normalization_backward::primitive_desc pd(d, default_attr(), engine(), fwd);
      Primitive r;
      r.prim = dnnl::layer_normalization_backward(pd);
      add_args(r, pd, {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE,
                         DNNL_ARG_DIFF_SRC});
      if (s) add_args(r, pd, {DNNL_ARG_SCALE, DNNL_ARG_DIFF_SCALE});
      if (b) add_args(r, pd, {DNNL_ARG_SHIFT, DNNL_ARG_DIFF_SHIFT});
      return r;
    });
  });
  const NormGrads t = grad_targets(c, s, b, dgamma, dbeta, accumulate);
  run_norm_backward(p, x, dy, gamma, beta, mean, var, dx, t);
  finish_grads(t, dgamma, dbeta, accumulate);
}

}  // namespace fitrun::cpu
