// Batched matmul for attention (scores = Q·Kᵀ, context = P·V and their gradients) on oneDNN's
// matmul primitive. Transposed operands are read in place through a permuted memory tag
// (acb), the scale is an output scale and accumulation a sum post-op, so no copies are made.
#include <cstring>

#include "backend/onednn/context.hpp"
#include "backend/onednn/cpu_ops.hpp"
#include "ops/op_shapes.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kBatchedMatmul = 700 };
}

void batched_matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    float alpha, Tensor& c, bool accumulate) {
  check_cpu_f32(a, "batched_matmul", "a");
  check_cpu_f32(b, "batched_matmul", "b");
  const auto [batch, m, k, n] = ops::shapes::batched_matmul_dims(a, transpose_a, b, transpose_b, c);
  int32_t alpha_bits;
  std::memcpy(&alpha_bits, &alpha, sizeof alpha_bits);
  Primitive& p = cached(
      Key(kBatchedMatmul, {batch, m, k, n, transpose_a, transpose_b, alpha_bits, accumulate}),
      [&] {
        return guarded("batched_matmul", [&] {
          memory::desc src({batch, m, k}, dt::f32, transpose_a ? tag::acb : tag::abc);
          memory::desc wei({batch, k, n}, dt::f32, transpose_b ? tag::acb : tag::abc);
          memory::desc dst({batch, m, n}, dt::f32, tag::abc);
          auto attr = default_attr();
          if (alpha != 1.f) attr.set_output_scales(0, {alpha});
          if (accumulate) {
            dnnl::post_ops po;
            po.append_sum(1.f);
            attr.set_post_ops(po);
          }
          dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), attr, engine());
          Primitive r;
          r.prim = dnnl::matmul(pd);
          r.args[DNNL_ARG_SRC] = memory(pd.src_desc(), engine(), nullptr);
          r.args[DNNL_ARG_WEIGHTS] = memory(pd.weights_desc(), engine(), nullptr);
          r.args[DNNL_ARG_DST] = memory(pd.dst_desc(), engine(), nullptr);
          reserve_scratchpad(pd.scratchpad_desc(), r);
          return r;
        });
      });
  p.run({{DNNL_ARG_SRC, a.raw()}, {DNNL_ARG_WEIGHTS, b.raw()}, {DNNL_ARG_DST, c.raw()}});
}

}  // namespace fitrun::cpu
