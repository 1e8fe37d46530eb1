#pragma once
// Naive double-precision references for the vision layer tests, written from Keras/TensorFlow's
// definitions (not from fitrun's code): output sizes and "same" padding, convolution by direct
// summation, transposed convolution by scattering.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fitrun/tensor.hpp"

namespace vision_test {

using fitrun::Tensor;

/// TensorFlow's output length: "valid" floor((in - k_eff)/s) + 1, "same" ceil(in/s).
inline int64_t out_len(int64_t in, int64_t k, int64_t s, int64_t d, bool same) {
  const int64_t keff = (k - 1) * d + 1;
  return same ? (in + s - 1) / s : (in - keff) / s + 1;
}
/// TensorFlow's "same" padding before the data: half of max((out-1)*s + k_eff - in, 0), rounded
/// down (the odd element goes after).
inline int64_t pad_before(int64_t in, int64_t k, int64_t s, int64_t d, bool same) {
  if (!same) return 0;
  const int64_t keff = (k - 1) * d + 1;
  return std::max<int64_t>((out_len(in, k, s, d, true) - 1) * s + keff - in, 0) / 2;
}

struct ConvGeometry {
  int64_t sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0, groups = 1;
};

/// y[n, oh, ow, oc] = bias[oc] + Σ x[n, oh·sh − pt + i·dh, ow·sw − pl + j·dw, g·Cg + c] ·
/// kernel[i, j, c, oc] over taps inside the image, g = oc / (OC/groups). x (N, H, W, C),
/// kernel (KH, KW, C/groups, OC) (Keras' layout).
inline std::vector<double> conv2d(const Tensor& x, const Tensor& kernel, const Tensor* bias,
                                  const ConvGeometry& p, int64_t oh, int64_t ow) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const int64_t kh = kernel.dim(0), kw = kernel.dim(1), cg = kernel.dim(2), oc = kernel.dim(3);
  const int64_t og = oc / p.groups;
  std::vector<double> y(static_cast<size_t>(n * oh * ow * oc), 0.0);
  const float* px = x.data<float>();
  const float* pk = kernel.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t q = 0; q < ow; ++q)
        for (int64_t o = 0; o < oc; ++o) {
          const int64_t g = o / og;
          double s = bias ? bias->flat(o) : 0.0;
          for (int64_t i = 0; i < kh; ++i) {
            const int64_t hi = r * p.sh - p.pt + i * p.dh;
            if (hi < 0 || hi >= h) continue;
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t wj = q * p.sw - p.pl + j * p.dw;
              if (wj < 0 || wj >= w) continue;
              for (int64_t ci = 0; ci < cg; ++ci)
                s += double(px[((b * h + hi) * w + wj) * c + g * cg + ci]) *
                     pk[((i * kw + j) * cg + ci) * oc + o];
            }
          }
          y[static_cast<size_t>(((b * oh + r) * ow + q) * oc + o)] = s;
        }
  return y;
}

/// Keras' Conv2DTranspose output length (deconv_output_length); output_padding < 0 = None.
inline int64_t transpose_len(int64_t in, int64_t k, int64_t s, int64_t d, bool same,
                             int64_t output_padding) {
  const int64_t keff = (k - 1) * d + 1;
  if (output_padding < 0) return same ? in * s : in * s + std::max<int64_t>(keff - s, 0);
  return (in - 1) * s + keff - 2 * (same ? keff / 2 : 0) + output_padding;
}

/// tf.nn.conv2d_transpose: every input pixel scatters kernel[i, j, f, c]·x into the output at
/// (h·s − pt + i·d, w·s − pl + j·d), where pt/pl is the "same" padding TensorFlow computes for
/// the forward convolution of the output size. kernel (KH, KW, F, C) (Keras' layout).
inline std::vector<double> conv2d_transpose(const Tensor& x, const Tensor& kernel,
                                            const Tensor* bias, int64_t sh, int64_t sw,
                                            int64_t dh, int64_t dw, bool same, int64_t oh,
                                            int64_t ow) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const int64_t kh = kernel.dim(0), kw = kernel.dim(1), f = kernel.dim(2);
  const int64_t pt = pad_before(oh, kh, sh, dh, same), pl = pad_before(ow, kw, sw, dw, same);
  std::vector<double> y(static_cast<size_t>(n * oh * ow * f), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t q = 0; q < ow; ++q)
        for (int64_t o = 0; o < f; ++o)
          y[static_cast<size_t>(((b * oh + r) * ow + q) * f + o)] = bias ? bias->flat(o) : 0.0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < h; ++r)
      for (int64_t q = 0; q < w; ++q)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t yr = r * sh - pt + i * dh, yq = q * sw - pl + j * dw;
            if (yr < 0 || yr >= oh || yq < 0 || yq >= ow) continue;
            for (int64_t o = 0; o < f; ++o) {
              double s = 0;
              for (int64_t ci = 0; ci < c; ++ci)
                s += x.flat(((b * h + r) * w + q) * c + ci) *
                     kernel.flat(((i * kw + j) * f + o) * c + ci);
              y[static_cast<size_t>(((b * oh + yr) * ow + yq) * f + o)] += s;
            }
          }
  return y;
}

/// A tensor of distinct values spaced `step` apart in a shuffled order: max pooling has no
/// near-ties for finite differences to straddle.
inline Tensor distinct_values(fitrun::Shape shape, float step = 0.05f, uint64_t seed = 3) {
  Tensor t(shape);
  const int64_t n = t.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (int64_t i = n - 1; i > 0; --i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>((state >> 33) % (i + 1))]);
  }
  float* p = t.data<float>();
  for (int64_t i = 0; i < n; ++i)
    p[i] = (static_cast<float>(order[static_cast<size_t>(i)]) - n / 2.f) * step;
  return t;
}

}  // namespace vision_test
