#pragma once
// An operand of a cached primitive in the layout and data type the primitive wants, when that
// differs from the plain float32 tensor the caller holds: convolution weights in oneDNN's
// blocked layout, bfloat16 copies of inputs under a mixed-precision policy. The reorder and
// its buffer are made with the primitive and owned by its cache entry, so converting allocates
// nothing per step.
#include "backend/onednn/context.hpp"
#include "fitrun/dtype.hpp"

namespace fitrun::onednn {

class Reordered {
 public:
  /// Prepares plain -> wanted (`into` true: an input) or wanted -> plain (an output); nothing
  /// when the two descriptions are equal.
  void attach(const dnnl::memory::desc& plain, const dnnl::memory::desc& wanted, bool into);
  bool active() const { return active_; }
  /// An input: converts `plain` into the buffer and returns it (returns `plain` when inactive).
  const void* in(const void* plain);
  /// An output: where the primitive writes (the buffer, or `plain` when inactive)...
  void* target(void* plain) { return active_ ? buffer_.get_data_handle() : plain; }
  /// ...and, after it ran, the conversion of the buffer into `plain`.
  void out(void* plain);

 private:
  bool active_ = false;
  Primitive reorder_;
  dnnl::memory buffer_;
};

/// A cached primitive with its reordered operands: two inputs (source and weights, or output
/// gradient and weights, or source and output gradient) and one output (a weight gradient).
struct ReorderedPrimitive {
  Primitive prim;
  Reordered in0, in1, out;
};

/// A ReorderedPrimitive holding the primitive of `pd` with a memory for each exec argument in
/// `args` (0 entries are skipped: an absent bias), handles set at run time, and its scratchpad
/// reserved. The caller attaches the operand reorders.
template <class Prim, class PD>
ReorderedPrimitive make_entry(const PD& pd, std::initializer_list<int> args) {
  ReorderedPrimitive r;
  r.prim.prim = Prim(pd);
  for (int a : args)
    if (a) r.prim.args[a] = dnnl::memory(pd.query_md(dnnl::query::exec_arg_md, a), engine(), nullptr);
  reserve_scratchpad(pd.scratchpad_desc(), r.prim);
  return r;
}

/// oneDNN's data type for a compute type: f32 or bf16 (float16 is refused, naming `op`).
dnnl::memory::data_type compute_data_type(ComputeDType compute, const char* op);

/// guarded() for primitives that multiply in `compute`: a oneDNN failure under bfloat16 says
/// that this CPU or oneDNN build cannot compute in bfloat16 (the mixed_bfloat16 policy).
template <class F>
auto guarded(const char* op, ComputeDType compute, F&& f) -> decltype(f()) {
  if (compute == ComputeDType::float32) return guarded(op, std::forward<F>(f));
  try {
    return f();
  } catch (const dnnl::error& e) {
    throw BackendError(std::string(op) + ": this CPU or oneDNN build cannot compute in " +
                       compute_dtype_name(compute) + " (policy mixed_" +
                       compute_dtype_name(compute) + "): oneDNN: " + e.what());
  }
}

}  // namespace fitrun::onednn
