#include "backend/onednn/reordered.hpp"

#include "backend/onednn/cpu_ops.hpp"

namespace fitrun::onednn {

using dnnl::memory;

void Reordered::attach(const memory::desc& plain, const memory::desc& wanted, bool into) {
  if (wanted == plain) return;
  active_ = true;
  buffer_ = memory(wanted, engine());
  const memory::desc& from = into ? plain : wanted;
  const memory::desc& to = into ? wanted : plain;
  dnnl::reorder::primitive_desc pd(engine(), from, engine(), to, default_attr());
  reorder_.prim = dnnl::reorder(pd);
  reorder_.args[DNNL_ARG_FROM] =
      into ? memory(from, engine(), nullptr) : memory(from, engine(), buffer_.get_data_handle());
  reorder_.args[DNNL_ARG_TO] =
      into ? memory(to, engine(), buffer_.get_data_handle()) : memory(to, engine(), nullptr);
  reserve_scratchpad(pd.scratchpad_desc(), reorder_);
}

const void* Reordered::in(const void* plain) {
  if (!active_) return plain;
  reorder_.run({{DNNL_ARG_FROM, plain}});
  return buffer_.get_data_handle();
}

void Reordered::out(void* plain) {
  if (active_) reorder_.run({{DNNL_ARG_TO, plain}});
}

memory::data_type compute_data_type(ComputeDType compute, const char* op) {
  switch (compute) {
    case ComputeDType::float32: return dt::f32;
    case ComputeDType::bfloat16: return dt::bf16;
    case ComputeDType::float16: break;
  }
  throw BackendError(std::string(op) + ": float16 compute (mixed_float16) is not supported on "
                     "the CPU");
}

}  // namespace fitrun::onednn

namespace fitrun::cpu {

bool bfloat16_supported() {
  static const bool supported = [] {
    try {
      using namespace fitrun::onednn;
      memory::desc src({2, 32}, dt::bf16, tag::nc), w({16, 32}, dt::bf16, tag::any),
          dst({2, 16}, dt::f32, tag::nc);
      dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_training, src, w, dst);
      dnnl::inner_product_forward::primitive_desc pd(d, engine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return supported;
}

}  // namespace fitrun::cpu
