#pragma once
// The backends' side of fitrun::set_float32_matmul_precision (runtime.hpp): one relaxed atomic
// load, no allocation, for the GPU ops that pick fp32 or TF32 maths per call.
namespace fitrun {

/// True after set_float32_matmul_precision("high"): GPU matmuls and convolutions may use TF32.
bool tf32_allowed();

}  // namespace fitrun
