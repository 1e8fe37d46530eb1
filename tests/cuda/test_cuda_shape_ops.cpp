// The GPU shape ops, batched matmul, asymmetric conv padding and row gathers against the CPU
// ops on the same random inputs (relative error <= 1e-4; pure copies exactly). Tagged [gpu];
// without a CUDA device each case passes as skipped.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "conv_compare.hpp"
#include "gpu_helpers.hpp"

using namespace fitrun;
using gpu_test::gpu_garbage;
using gpu_test::kGpu;
using gpu_test::kTolerance;
using gpu_test::random;
using gpu_test::relative_error;

namespace {

/// Keras "same" padding of one spatial axis: (before, after, output size).
struct Same {
  int64_t before, after, out;
};
Same keras_same(int64_t in, int64_t k, int64_t stride, int64_t dilation) {
  const int64_t span = (k - 1) * dilation + 1, out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + span - in, 0);
  return {total / 2, total - total / 2, out};
}
}  // namespace

TEST_CASE("GPU conv2d with asymmetric padding matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  struct Case {
    int64_t n, h, w, c, oc, kh, kw, stride, dilation, groups;
    int64_t top, bottom, left, right;  // -1: Keras "same"
  };
  const Case c = GENERATE(
      // Keras "same", stride 2, even sizes: top 0, bottom 1, left 0, right 1.
      Case{2, 8, 8, 3, 5, 3, 3, 2, 1, 1, -1, -1, -1, -1},
      // "same", stride 2, even and odd sizes mixed, even kernel.
      Case{3, 10, 7, 4, 6, 4, 2, 2, 1, 1, -1, -1, -1, -1},
      // "same", stride 1, even kernel: top 1, bottom 2.
      Case{1, 9, 6, 2, 3, 4, 4, 1, 1, 1, -1, -1, -1, -1},
      // Explicit asymmetric padding in one axis only, groups and dilation.
      Case{2, 7, 9, 4, 8, 3, 3, 1, 2, 2, 2, 2, 0, 3},
      Case{2, 6, 6, 3, 4, 3, 3, 2, 1, 1, 1, 0, 2, 1});
  const bool accumulate = GENERATE(false, true);
  const ActivationFn act = GENERATE(ActivationFn::linear, ActivationFn::relu);
  CAPTURE(c.n, c.h, c.w, c.c, c.oc, c.kh, c.kw, c.stride, c.dilation, c.groups, c.top, c.bottom,
          c.left, c.right, accumulate);
  ops::Conv2DParams p;
  p.stride_h = p.stride_w = c.stride;
  p.dilation_h = p.dilation_w = c.dilation;
  p.groups = c.groups;
  if (c.top < 0) {
    const Same sh = keras_same(c.h, c.kh, c.stride, c.dilation);
    const Same sw = keras_same(c.w, c.kw, c.stride, c.dilation);
    p.pad_top = sh.before;
    p.pad_bottom = sh.after;
    p.pad_left = sw.before;
    p.pad_right = sw.after;
  } else {
    p.pad_top = c.top;
    p.pad_bottom = c.bottom;
    p.pad_left = c.left;
    p.pad_right = c.right;
  }
  REQUIRE((p.pad_top != p.pad_bottom || p.pad_left != p.pad_right));
  const int64_t span_h = (c.kh - 1) * c.dilation + 1, span_w = (c.kw - 1) * c.dilation + 1;
  const int64_t oh = (c.h + p.pad_top + p.pad_bottom - span_h) / c.stride + 1;
  const int64_t ow = (c.w + p.pad_left + p.pad_right - span_w) / c.stride + 1;
  if (c.top < 0) {
    CHECK(oh == keras_same(c.h, c.kh, c.stride, c.dilation).out);
    CHECK(ow == keras_same(c.w, c.kw, c.stride, c.dilation).out);
  }
  gpu_test::compare_conv_params(p, c.n, c.h, c.w, c.c, c.kh, c.kw, c.oc, act, accumulate,
                                kTolerance, 180);

  // The symmetric path still works after the asymmetric one (separate plans and buffers).
  ops::Conv2DParams q = p;
  q.pad_bottom = q.pad_top;
  q.pad_right = q.pad_left;
  gpu_test::compare_conv_params(q, c.n, c.h, c.w, c.c, c.kh, c.kw, c.oc, act, accumulate,
                                kTolerance, 180);
}

TEST_CASE("GPU zero_pad2d and crop2d match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  struct Case {
    int64_t n, h, w, c, top, bottom, left, right;
  };
  const Case c = GENERATE(Case{2, 5, 7, 3, 1, 2, 0, 3}, Case{1, 1, 1, 1, 0, 0, 0, 0},
                          Case{3, 4, 6, 17, 2, 0, 1, 1}, Case{2, 33, 9, 5, 0, 1, 0, 1});
  CAPTURE(c.n, c.h, c.w, c.c, c.top, c.bottom, c.left, c.right);
  const Shape big{c.n, c.h + c.top + c.bottom, c.w + c.left + c.right, c.c};
  Tensor x = random({c.n, c.h, c.w, c.c}, 30);
  Tensor y(big);
  Tensor yg = gpu_garbage(big);
  ops::zero_pad2d(x, c.top, c.left, y);
  ops::zero_pad2d(x.to(kGpu), c.top, c.left, yg);
  CHECK(yg.to_vector() == y.to_vector());

  Tensor z = random(big, 31);
  Tensor cr({c.n, c.h, c.w, c.c});
  Tensor crg = gpu_garbage(cr.shape());
  ops::crop2d(z, c.top, c.left, cr);
  ops::crop2d(z.to(kGpu), c.top, c.left, crg);
  CHECK(crg.to_vector() == cr.to_vector());

  // A shape mismatch is a ShapeError, as on the CPU.
  Tensor wrong = gpu_garbage({c.n, c.h, c.w, c.c + 1});
  CHECK_THROWS_AS(ops::zero_pad2d(x.to(kGpu), c.top, c.left, wrong), ShapeError);
}

TEST_CASE("GPU upsample2d_nearest and its backward match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  struct Case {
    int64_t n, h, w, c, sh, sw;
  };
  const Case c = GENERATE(Case{2, 3, 5, 3, 2, 3}, Case{1, 4, 4, 1, 1, 1}, Case{3, 7, 2, 9, 3, 2},
                          Case{2, 5, 5, 4, 2, 2});
  CAPTURE(c.n, c.h, c.w, c.c, c.sh, c.sw);
  const Shape up{c.n, c.h * c.sh, c.w * c.sw, c.c};
  Tensor x = random({c.n, c.h, c.w, c.c}, 40);
  Tensor y(up);
  Tensor yg = gpu_garbage(up);
  ops::upsample2d_nearest(x, c.sh, c.sw, y);
  ops::upsample2d_nearest(x.to(kGpu), c.sh, c.sw, yg);
  CHECK(yg.to_vector() == y.to_vector());

  Tensor dy = random(up, 41);
  Tensor dx(x.shape());
  Tensor dxg = gpu_garbage(x.shape());
  ops::upsample2d_nearest_backward(dy, c.sh, c.sw, dx);
  ops::upsample2d_nearest_backward(dy.to(kGpu), c.sh, c.sw, dxg);
  CHECK(relative_error(dxg, dx) <= kTolerance);
}

TEST_CASE("GPU permute matches the CPU (3-, 4-, 5- and 6-D)", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  struct Case {
    Shape shape;
    std::vector<int> perm;
  };
  const Case c = GENERATE(
      Case{Shape{3, 5, 7}, {0, 2, 1}}, Case{Shape{3, 5, 7}, {2, 0, 1}},
      Case{Shape{3, 5, 7}, {0, 1, 2}}, Case{Shape{2, 3, 4, 5}, {0, 3, 1, 2}},
      Case{Shape{2, 3, 4, 5}, {3, 2, 1, 0}}, Case{Shape{2, 3, 1, 4, 5}, {4, 2, 0, 3, 1}},
      Case{Shape{2, 3, 4, 5, 6}, {0, 2, 4, 1, 3}}, Case{Shape{2, 1, 3, 2, 5, 3}, {5, 0, 3, 1, 4, 2}},
      Case{Shape{17}, {0}});
  CAPTURE(c.shape.to_string());
  Shape ys = c.shape;
  for (int k = 0; k < c.shape.rank(); ++k) ys[k] = c.shape[c.perm[static_cast<size_t>(k)]];
  Tensor x = random(c.shape, 50);
  Tensor y(ys);
  Tensor yg = gpu_garbage(ys);
  ops::permute(x, c.perm.data(), y);
  ops::permute(x.to(kGpu), c.perm.data(), yg);
  CHECK(yg.to_vector() == y.to_vector());
}

TEST_CASE("GPU repeat_vector and its backward match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  struct Case {
    int64_t batch, f, n;
  };
  const Case c = GENERATE(Case{3, 7, 5}, Case{1, 1, 1}, Case{4, 33, 2}, Case{2, 5, 17});
  CAPTURE(c.batch, c.f, c.n);
  Tensor x = random({c.batch, c.f}, 60);
  Tensor y({c.batch, c.n, c.f});
  Tensor yg = gpu_garbage(y.shape());
  ops::repeat_vector(x, c.n, y);
  ops::repeat_vector(x.to(kGpu), c.n, yg);
  CHECK(yg.to_vector() == y.to_vector());

  Tensor dy = random(y.shape(), 61);
  Tensor dx(x.shape());
  Tensor dxg = gpu_garbage(x.shape());
  ops::repeat_vector_backward(dy, c.n, dx);
  ops::repeat_vector_backward(dy.to(kGpu), c.n, dxg);
  CHECK(relative_error(dxg, dx) <= kTolerance);
}

TEST_CASE("GPU scale_channels matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const Shape xs = GENERATE(Shape{2, 4, 5, 3}, Shape{3, 6}, Shape{2, 7, 11}, Shape{1, 1, 1, 1});
  CAPTURE(xs.to_string());
  const int64_t n = xs[0], c = xs[xs.rank() - 1];
  Tensor x = random(xs, 70), s = random({n, c}, 71);
  Tensor y(xs);
  Tensor yg = gpu_garbage(xs);
  ops::scale_channels(x, s, y);
  ops::scale_channels(x.to(kGpu), s.to(kGpu), yg);
  CHECK(relative_error(yg, y) <= kTolerance);
}

TEST_CASE("GPU concat and split match the CPU on every axis", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  struct Case {
    Shape whole;
    int axis;
    std::vector<int64_t> lengths;
  };
  const Case c = GENERATE(Case{Shape{2, 5, 4, 6}, 1, {1, 3, 1}}, Case{Shape{2, 5, 4, 6}, 2, {2, 1, 1}},
                          Case{Shape{2, 5, 4, 6}, 3, {3, 1, 2}}, Case{Shape{4, 7}, 1, {2, 5}},
                          Case{Shape{3, 9, 5}, 1, {9}}, Case{Shape{3, 2, 33}, 2, {1, 31, 1}});
  const bool accumulate = GENERATE(false, true);
  CAPTURE(c.whole.to_string(), c.axis, accumulate);
  std::vector<Tensor> parts, parts_gpu;
  for (size_t i = 0; i < c.lengths.size(); ++i) {
    Shape s = c.whole;
    s[c.axis] = c.lengths[i];
    parts.push_back(random(s, 90 + static_cast<int64_t>(i)));
    parts_gpu.push_back(parts.back().to(kGpu));
  }
  std::vector<const Tensor*> in, in_gpu;
  for (size_t i = 0; i < parts.size(); ++i) {
    in.push_back(&parts[i]);
    in_gpu.push_back(&parts_gpu[i]);
  }
  const int count = static_cast<int>(parts.size());
  Tensor y(c.whole);
  Tensor yg = gpu_garbage(c.whole);
  ops::concat(in.data(), count, c.axis, y);
  ops::concat(in_gpu.data(), count, c.axis, yg);
  CHECK(yg.to_vector() == y.to_vector());

  Tensor dy = random(c.whole, 99);
  std::vector<Tensor> grads, grads_gpu;
  for (size_t i = 0; i < parts.size(); ++i) {
    grads.push_back(random(parts[i].shape(), 110 + static_cast<int64_t>(i)));
    grads_gpu.push_back(grads.back().to(kGpu));
  }
  std::vector<Tensor*> out, out_gpu;
  for (size_t i = 0; i < grads.size(); ++i) {
    out.push_back(&grads[i]);
    out_gpu.push_back(&grads_gpu[i]);
  }
  ops::split(dy, c.axis, out.data(), count, accumulate);
  ops::split(dy.to(kGpu), c.axis, out_gpu.data(), count, accumulate);
  for (size_t i = 0; i < grads.size(); ++i) {
    CAPTURE(i);
    CHECK(relative_error(grads_gpu[i], grads[i]) <= kTolerance);
  }
}

TEST_CASE("GPU batched_matmul (cuBLAS) matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  struct Case {
    int64_t batch, m, k, n;
  };
  const Case c = GENERATE(Case{3, 5, 7, 4}, Case{2, 33, 65, 17}, Case{1, 1, 1, 1},
                          Case{4, 16, 8, 16});
  const bool ta = GENERATE(false, true);
  const bool tb = GENERATE(false, true);
  const bool accumulate = GENERATE(false, true);
  const float alpha = GENERATE(1.f, 0.125f);
  CAPTURE(c.batch, c.m, c.k, c.n, ta, tb, accumulate, alpha);
  Tensor a = random(ta ? Shape{c.batch, c.k, c.m} : Shape{c.batch, c.m, c.k}, 120);
  Tensor b = random(tb ? Shape{c.batch, c.n, c.k} : Shape{c.batch, c.k, c.n}, 121);
  Tensor out = random({c.batch, c.m, c.n}, 122);
  Tensor out_gpu = out.to(kGpu);
  ops::batched_matmul(a, ta, b, tb, alpha, out, accumulate);
  ops::batched_matmul(a.to(kGpu), ta, b.to(kGpu), tb, alpha, out_gpu, accumulate);
  CHECK(relative_error(out_gpu, out) <= kTolerance);
}

TEST_CASE("GPU batched_matmul: a 2x3 by 3x4 product by hand", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  Tensor a({1, 2, 3}), b({1, 3, 4});
  const float av[] = {1, 2, 3, 4, 5, 6};
  const float bv[] = {1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1};
  std::copy(av, av + 6, a.data<float>());
  std::copy(bv, bv + 12, b.data<float>());
  Tensor c = gpu_garbage({1, 2, 4});
  ops::batched_matmul(a.to(kGpu), false, b.to(kGpu), false, 1.f, c);
  CHECK(c.to_vector() == std::vector<float>{1, 2, 3, 6, 4, 5, 6, 15});
}

TEST_CASE("GPU gather_rows matches the CPU and lets the caller reuse its index", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  Tensor src = random({10, 3, 5}, 130);
  std::vector<int64_t> index = {9, 0, 3, 3, 7, 1, 9};
  const int64_t count = static_cast<int64_t>(index.size());
  Tensor dst({count, 3, 5});
  Tensor dstg = gpu_garbage(dst.shape());
  const Tensor srcg = src.to(kGpu);
  ops::gather_rows(src, index.data(), count, dst);
  ops::gather_rows(srcg, index.data(), count, dstg);
  // The caller overwrites its array at once; the first gather must still use the old one.
  std::vector<int64_t> index2 = index;
  std::reverse(index2.begin(), index2.end());
  index2[0] = 2;
  std::copy(index2.begin(), index2.end(), index.begin());
  Tensor dst2(dst.shape());
  Tensor dst2g = gpu_garbage(dst.shape());
  ops::gather_rows(src, index.data(), count, dst2);
  ops::gather_rows(srcg, index.data(), count, dst2g);
  CHECK(dstg.to_vector() == dst.to_vector());
  CHECK(dst2g.to_vector() == dst2.to_vector());

  // int32 rows and a larger index (the staging buffers grow).
  Tensor labels = random({2000, 1}, 131, 0.f, 1000.f).astype(DType::int32);
  std::vector<int64_t> big(1500);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<int64_t>((i * 7919) % 2000);
  Tensor lab(Shape{1500, 1}, DType::int32);
  Tensor labg(Shape{1500, 1}, DType::int32, kGpu);
  ops::gather_rows(labels, big.data(), 1500, lab);
  ops::gather_rows(labels.to(kGpu), big.data(), 1500, labg);
  const Tensor back = labg.to(Device::cpu());
  bool same = true;
  for (int64_t i = 0; i < 1500; ++i) same = same && back.data<int32_t>()[i] == lab.data<int32_t>()[i];
  CHECK(same);
}
