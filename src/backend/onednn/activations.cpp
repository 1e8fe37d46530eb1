// Activations: oneDNN eltwise and softmax primitives, plus loops for the few Keras activations
// oneDNN 2.6 lacks (selu, softplus). Tensors are viewed as (rows, last-axis) for softmax.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/onednn/context.hpp"
#include "backend/onednn/eltwise_map.hpp"
#include "backend/onednn/cpu_ops.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kEltFwd = 200, kEltBwd, kSoftmaxFwd, kSoftmaxBwd };

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;

int64_t alpha_bits(float a) {
  int32_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  return bits;
}

bool is_softmax(ActivationFn act) {
  return act == ActivationFn::softmax || act == ActivationFn::log_softmax;
}

dnnl::eltwise_forward::primitive_desc eltwise_fwd_pd(const EltwiseAlg& e, int64_t n) {
  memory::desc md({n}, dt::f32, tag::x);
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_training, e.alg, md, e.alpha, e.beta);
  return dnnl::eltwise_forward::primitive_desc(d, default_attr(), engine());
}

void softmax_run(ActivationFn act, bool backward, const Tensor& y, const Tensor& dy_or_x,
                 Tensor& out) {
  const int64_t cols = y.dim(-1), rows = cols ? y.size() / cols : 0;
  const bool log = act == ActivationFn::log_softmax;
  Primitive& p = cached(Key(backward ? kSoftmaxBwd : kSoftmaxFwd, {rows, cols, log}), [&] {
    return guarded("softmax", [&] {
      memory::desc md({rows, cols}, dt::f32, tag::nc);
      auto alg = log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
      dnnl::softmax_v2_forward::desc fd(dnnl::prop_kind::forward_training, alg, md, md, 1);
      dnnl::softmax_v2_forward::primitive_desc fpd(fd, default_attr(), engine());
      Primitive r;
      if (!backward) {
        r.prim = dnnl::softmax_v2_forward(fpd);
        r.args[DNNL_ARG_SRC] = memory(md, engine(), nullptr);
        r.args[DNNL_ARG_DST] = memory(md, engine(), nullptr);
        reserve_scratchpad(fpd.scratchpad_desc(), r);
      } else {
        dnnl::softmax_v2_backward::desc bd(alg, md, md, md, 1);
        dnnl::softmax_v2_backward::primitive_desc bpd(bd, default_attr(), engine(), fpd);
        r.prim = dnnl::softmax_v2_backward(bpd);
        r.args[DNNL_ARG_DST] = memory(md, engine(), nullptr);
        r.args[DNNL_ARG_DIFF_DST] = memory(md, engine(), nullptr);
        r.args[DNNL_ARG_DIFF_SRC] = memory(md, engine(), nullptr);
        reserve_scratchpad(bpd.scratchpad_desc(), r);
      }
      return r;
    });
  });
  if (!backward) {
    p.run({{DNNL_ARG_SRC, dy_or_x.raw()}, {DNNL_ARG_DST, out.raw()}});
  } else {
    p.run({{DNNL_ARG_DST, y.raw()}, {DNNL_ARG_DIFF_DST, dy_or_x.raw()},
           {DNNL_ARG_DIFF_SRC, out.raw()}});
  }
}
}  // namespace

void activation_forward(ActivationFn act, float alpha, const Tensor& x, Tensor& y) {
  check_cpu_f32(x, "activation_forward", "input");
  const int64_t n = x.size();
  const float* px = x.data<float>();
  float* py = y.data<float>();
  switch (act) {
    case ActivationFn::linear:
      if (px != py) copy(x, y);
      return;
    case ActivationFn::selu:
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i)
        py[i] = px[i] > 0 ? kSeluScale * px[i] : kSeluScale * kSeluAlpha * std::expm1(px[i]);
      return;
    case ActivationFn::softplus:
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i)
        py[i] = std::max(px[i], 0.f) + std::log1p(std::exp(-std::fabs(px[i])));
      return;
    case ActivationFn::softmax:
    case ActivationFn::log_softmax:
      softmax_run(act, false, y, x, y);
      return;
    default:
      break;
  }
  Primitive& p = cached(Key(kEltFwd, {n, int64_t(act), alpha_bits(alpha)}), [&] {
    return guarded("activation_forward", [&] {
      auto pd = eltwise_fwd_pd(eltwise_forward_alg(act, alpha), n);
      Primitive r;
      r.prim = dnnl::eltwise_forward(pd);
      r.args[DNNL_ARG_SRC] = memory(pd.src_desc(), engine(), nullptr);
      r.args[DNNL_ARG_DST] = memory(pd.dst_desc(), engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), r);
      return r;
    });
  });
  p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DST, y.raw()}});
}

void activation_backward(ActivationFn act, float alpha, const Tensor& x, const Tensor& y,
                         const Tensor& dy, Tensor& dx) {
  const int64_t n = dy.size();
  const float* pdy = dy.data<float>();
  float* pdx = dx.data<float>();
  switch (act) {
    case ActivationFn::linear:
      if (pdx != pdy) copy(dy, dx);
      return;
    case ActivationFn::selu: {
      const float* py = y.data<float>();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i)  // selu'(x) = scale·alpha·eˣ = y + scale·alpha for x ≤ 0
        pdx[i] = pdy[i] * (py[i] > 0 ? kSeluScale : py[i] + kSeluScale * kSeluAlpha);
      return;
    }
    case ActivationFn::softplus: {
      const float* px = x.data<float>();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i) pdx[i] = pdy[i] / (1.f + std::exp(-px[i]));
      return;
    }
    case ActivationFn::softmax:
    case ActivationFn::log_softmax:
      softmax_run(act, true, y, dy, dx);
      return;
    default:
      break;
  }
  const EltwiseAlg e = eltwise_backward_alg(act, alpha);
  Primitive& p = cached(Key(kEltBwd, {n, int64_t(act), alpha_bits(alpha)}), [&] {
    return guarded("activation_backward", [&] {
      auto fpd = eltwise_fwd_pd(e, n);  // the hint must use the same algorithm
      memory::desc md({n}, dt::f32, tag::x);
      dnnl::eltwise_backward::desc d(e.alg, md, md, e.alpha, e.beta);
      dnnl::eltwise_backward::primitive_desc pd(d, default_attr(), engine(), fpd);
      Primitive r;
      r.prim = dnnl::eltwise_backward(pd);
      r.args[e.backward_uses_dst ? DNNL_ARG_DST : DNNL_ARG_SRC] = memory(md, engine(), nullptr);
      r.args[DNNL_ARG_DIFF_DST] = memory(md, engine(), nullptr);
      r.args[DNNL_ARG_DIFF_SRC] = memory(md, engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), r);
      return r;
    });
  });
  if (e.backward_uses_dst) {
    p.run({{DNNL_ARG_DST, y.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()}});
  } else {
    p.run({{DNNL_ARG_SRC, x.raw()}, {DNNL_ARG_DIFF_DST, dy.raw()}, {DNNL_ARG_DIFF_SRC, dx.raw()}});
  }
}

}  // namespace fitrun::cpu
