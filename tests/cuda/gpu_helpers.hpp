#pragma once
// Helpers for the [gpu] tests: skip cleanly without a device, and compare a GPU result with
// the CPU's on the same inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "fitrun/runtime.hpp"
#include "fitrun/tensor.hpp"

/// Ends the test case as a success with a clear message when no CUDA device is present.
#define FITRUN_REQUIRE_GPU()                                                  \
  do {                                                                       \
    if (fitrun::cuda_device_count() == 0) {                                  \
      WARN("skipped: no CUDA device");                                       \
      SUCCEED("skipped: no CUDA device");                                    \
      return;                                                                \
    }                                                                        \
  } while (0)

namespace gpu_test {

inline const fitrun::Device kGpu = fitrun::Device::cuda(0);

/// max |a - b| / max |b| (b the CPU reference); 0 for two empty tensors.
inline double relative_error(const fitrun::Tensor& gpu, const fitrun::Tensor& cpu) {
  const std::vector<float> a = gpu.to_vector(), b = cpu.to_vector();
  REQUIRE(a.size() == b.size());
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
    ref = std::max(ref, std::fabs(double(b[i])));
  }
  return ref > 0 ? diff / ref : diff;
}

constexpr double kTolerance = 1e-4;

inline fitrun::Tensor random(fitrun::Shape s, int64_t seed, float lo = -1.f, float hi = 1.f) {
  return fitrun::Tensor::uniform(s, lo, hi, seed);
}

/// An uninitialized GPU tensor of t's shape and dtype.
inline fitrun::Tensor gpu_like(const fitrun::Tensor& t) {
  return fitrun::Tensor(t.shape(), t.dtype(), kGpu);
}

}  // namespace gpu_test
