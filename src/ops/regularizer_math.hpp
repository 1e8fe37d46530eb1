#pragma once
// An L1/L2 regularizer's gradient term, shared by the CPU loop and the CUDA kernel.
#include "fitrun/host_device.hpp"

namespace fitrun {

/// d/dw of λ1·|w| + λ2·w², scaled: l1 = λ1·scale, l2x2 = 2·λ2·scale (sign(0) = 0, as Keras).
FITRUN_HD inline float regularizer_gradient(float w, float l1, float l2x2) {
  return l1 * static_cast<float>((w > 0.f) - (w < 0.f)) + l2x2 * w;
}

}  // namespace fitrun
