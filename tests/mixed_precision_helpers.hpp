#pragma once
// Shared by the mixed-precision tests of several binaries: whether this CPU computes in
// bfloat16 (else the test passes with a warning), and the relative error the tests compare by.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "fitrun/ops.hpp"

namespace fitrun_test {

/// True when oneDNN multiplies in bfloat16 on this CPU; otherwise WARNs why the test is skipped.
inline bool cpu_has_bfloat16() {
  if (fitrun::ops::compute_supported(fitrun::ComputeDType::bfloat16, fitrun::Device::cpu()))
    return true;
  WARN("skipped: oneDNN cannot compute in bfloat16 on this CPU (needs AVX-512 or newer)");
  return false;
}

/// max|a - b| / max|b|: the error of `a` relative to the reference `b`'s scale.
inline double relative_error(const fitrun::Tensor& a, const fitrun::Tensor& b) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, double(std::abs(a.flat(i) - b.flat(i))));
    scale = std::max(scale, double(std::abs(b.flat(i))));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace fitrun_test
