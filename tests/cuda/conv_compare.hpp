#pragma once
// One conv2d case compared between the GPU and the CPU (forward, backward data, backward
// weights), for the [gpu] conv tests in fp32 and TF32.
#include <catch2/catch.hpp>

#include "fitrun/ops.hpp"
#include "gpu_helpers.hpp"

namespace gpu_test {

struct ConvCase {
  int64_t n, h, w, c, oc, k, stride, dilation, pad, groups;
  int64_t pad_extra = 0;  // added at the bottom and right: Keras "same" with stride 2
};

/// conv2d forward (bias, activation), backward data and backward weights (bias gradient,
/// `accumulate`) on the GPU against the CPU, on the same random inputs: relative error
/// <= tolerance.
inline void compare_conv(const ConvCase& c, fitrun::ActivationFn act, bool accumulate,
                         double tolerance = kTolerance) {
  using namespace fitrun;
  CAPTURE(c.n, c.h, c.w, c.c, c.oc, c.k, c.stride, c.dilation, c.pad, c.pad_extra, c.groups);
  ops::Conv2DParams p;
  p.stride_h = p.stride_w = c.stride;
  p.dilation_h = p.dilation_w = c.dilation;
  p.pad_top = p.pad_left = c.pad;
  p.pad_bottom = p.pad_right = c.pad + c.pad_extra;
  p.groups = c.groups;
  const int64_t span = (c.k - 1) * c.dilation + 1;
  const int64_t oh = (c.h + 2 * c.pad + c.pad_extra - span) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad + c.pad_extra - span) / c.stride + 1;
  Tensor x = random({c.n, c.h, c.w, c.c}, 80);
  Tensor k = random({c.k, c.k, c.c / c.groups, c.oc}, 81);
  Tensor b = random({c.oc}, 82), dy = random({c.n, oh, ow, c.oc}, 83);
  Tensor y({c.n, oh, ow, c.oc}), yg(y.shape(), DType::float32, kGpu);
  ops::conv2d_forward(x, k, b, p, act, y);
  ops::conv2d_forward(x.to(kGpu), k.to(kGpu), b.to(kGpu), p, act, yg);
  CHECK(relative_error(yg, y) <= tolerance);
  Tensor dx(x.shape()), dxg(x.shape(), DType::float32, kGpu);
  ops::conv2d_backward_data(dy, k, p, dx);
  ops::conv2d_backward_data(dy.to(kGpu), k.to(kGpu), p, dxg);
  CHECK(relative_error(dxg, dx) <= tolerance);
  Tensor dk = random(k.shape(), 84), db = random({c.oc}, 85);
  Tensor dkg = dk.to(kGpu), dbg = db.to(kGpu);
  ops::conv2d_backward_weights(x, dy, p, dk, db, accumulate);
  ops::conv2d_backward_weights(x.to(kGpu), dy.to(kGpu), p, dkg, dbg, accumulate);
  CHECK(relative_error(dkg, dk) <= tolerance);
  CHECK(relative_error(dbg, db) <= tolerance);
}

}  // namespace gpu_test
