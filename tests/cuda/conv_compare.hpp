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

/// A GPU tensor of `s` filled with garbage, so that a kernel that skips an element shows.
inline fitrun::Tensor gpu_garbage(const fitrun::Shape& s, int64_t seed = 999) {
  return random(s, seed, 100.f, 200.f).to(kGpu);
}

/// conv2d forward (bias, activation), backward data and backward weights (bias gradient,
/// `accumulate`) of an (n, h, w, c) input and a (kh, kw, c / groups, oc) kernel under `p`, on
/// the GPU against the CPU on the same random inputs (drawn from `seed`): relative error <=
/// tolerance. GPU outputs start as garbage, so an element left unwritten fails.
inline void compare_conv_params(const fitrun::ops::Conv2DParams& p, int64_t n, int64_t h,
                                int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t oc,
                                fitrun::ActivationFn act, bool accumulate,
                                double tolerance = kTolerance, int64_t seed = 80) {
  using namespace fitrun;
  const int64_t span_h = (kh - 1) * p.dilation_h + 1, span_w = (kw - 1) * p.dilation_w + 1;
  const int64_t oh = (h + p.pad_top + p.pad_bottom - span_h) / p.stride_h + 1;
  const int64_t ow = (w + p.pad_left + p.pad_right - span_w) / p.stride_w + 1;
  Tensor x = random({n, h, w, c}, seed);
  Tensor k = random({kh, kw, c / p.groups, oc}, seed + 1);
  Tensor b = random({oc}, seed + 2), dy = random({n, oh, ow, oc}, seed + 3);
  Tensor y({n, oh, ow, oc}), yg = gpu_garbage(y.shape());
  ops::conv2d_forward(x, k, b, p, act, y);
  ops::conv2d_forward(x.to(kGpu), k.to(kGpu), b.to(kGpu), p, act, yg);
  CHECK(relative_error(yg, y) <= tolerance);
  Tensor dx(x.shape()), dxg = gpu_garbage(x.shape());
  ops::conv2d_backward_data(dy, k, p, dx);
  ops::conv2d_backward_data(dy.to(kGpu), k.to(kGpu), p, dxg);
  CHECK(relative_error(dxg, dx) <= tolerance);
  Tensor dk = random(k.shape(), seed + 4), db = random({oc}, seed + 5);
  Tensor dkg = dk.to(kGpu), dbg = db.to(kGpu);
  ops::conv2d_backward_weights(x, dy, p, dk, db, accumulate);
  ops::conv2d_backward_weights(x.to(kGpu), dy.to(kGpu), p, dkg, dbg, accumulate);
  CHECK(relative_error(dkg, dk) <= tolerance);
  CHECK(relative_error(dbg, db) <= tolerance);
}

/// compare_conv_params for a square kernel and symmetric padding (plus `pad_extra`).
inline void compare_conv(const ConvCase& c, fitrun::ActivationFn act, bool accumulate,
                         double tolerance = kTolerance) {
  CAPTURE(c.n, c.h, c.w, c.c, c.oc, c.k, c.stride, c.dilation, c.pad, c.pad_extra, c.groups);
  fitrun::ops::Conv2DParams p;
  p.stride_h = p.stride_w = c.stride;
  p.dilation_h = p.dilation_w = c.dilation;
  p.pad_top = p.pad_left = c.pad;
  p.pad_bottom = p.pad_right = c.pad + c.pad_extra;
  p.groups = c.groups;
  compare_conv_params(p, c.n, c.h, c.w, c.c, c.k, c.k, c.oc, act, accumulate, tolerance);
}

}  // namespace gpu_test
