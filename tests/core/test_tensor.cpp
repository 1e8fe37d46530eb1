// Tensor, Shape and Generator: creation helpers, views that share storage, deep copies, the
// numpy-like text a person sees, error messages, and reproducible random numbers.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "fitrun/error.hpp"
#include "fitrun/random.hpp"
#include "fitrun/runtime.hpp"
#include "fitrun/shape.hpp"
#include "fitrun/tensor.hpp"

using namespace fitrun;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {
Tensor arange(int64_t n, Shape shape) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return Tensor::from_vector(v, shape);
}
}  // namespace

// ---------------------------------------------------------------------------- Shape

TEST_CASE("Shape prints in Keras' notation", "[core][shape]") {
  CHECK(Shape{-1, 64}.to_string() == "(None, 64)");
  CHECK(Shape{3}.to_string() == "(3,)");
  CHECK(Shape{}.to_string() == "()");
  CHECK(Shape{-1, 28, 28, 1}.to_string() == "(None, 28, 28, 1)");
}

TEST_CASE("Shape arithmetic", "[core][shape]") {
  const Shape s{4, 3, 2};
  CHECK(s.rank() == 3);
  CHECK(s.num_elements() == 24);
  CHECK(s.sample_size() == 6);
  CHECK(s.dim(-1) == 2);
  CHECK(s.with_batch(-1) == Shape{-1, 3, 2});
  CHECK(s.drop_batch() == Shape{3, 2});
  CHECK(s.fully_defined());
  CHECK_FALSE(Shape{-1, 3}.fully_defined());
  CHECK(Shape{}.num_elements() == 1);
  CHECK(Shape(std::vector<int64_t>{2, 5}) == Shape{2, 5});
  CHECK(Shape{2, 5} != Shape{2, 5, 1});
  Shape big;
  for (int i = 0; i < Shape::kMaxRank; ++i) big.push_back(1);
  CHECK_THROWS_AS(big.push_back(1), ShapeError);
}

// ---------------------------------------------------------------------------- creation

TEST_CASE("Tensor creation helpers", "[core][tensor]") {
  const Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::float32);
  CHECK(z.size() == 6);
  CHECK(z.nbytes() == 24);
  CHECK(z.to_vector() == std::vector<float>(6, 0.f));
  CHECK(Tensor::ones({4}).to_vector() == std::vector<float>(4, 1.f));
  CHECK(Tensor::full({2, 2}, 2.5).to_vector() == std::vector<float>(4, 2.5f));
  const Tensor zi = Tensor::zeros({3}, DType::int32);
  CHECK(zi.dtype() == DType::int32);
  CHECK(zi.nbytes() == 12);
  CHECK(Tensor::full({2}, 7, DType::int64).flat(1) == 7);

  const Tensor v = Tensor::of({1.f, 2.f, 3.f});
  CHECK(v.shape() == Shape{3});
  CHECK(v.to_vector() == std::vector<float>{1.f, 2.f, 3.f});
  CHECK(Tensor::of({4.5f}).item() == 4.5);
  CHECK_THROWS_WITH(v.item(), "item(): tensor of shape (3,) is not a single value");

  const Tensor m = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  CHECK(m.at({0, 0}) == 1);
  CHECK(m.at({1, 2}) == 6);
  CHECK(m.at({1, 0}) == 4);
  CHECK_THROWS_AS(m.at({2, 0}), ShapeError);
  CHECK_THROWS_AS(m.at({0}), ShapeError);
  const Tensor i32 = Tensor::from_vector(std::vector<int32_t>{1, -2, 3}, {3});
  CHECK(i32.dtype() == DType::int32);
  CHECK(i32.data<int32_t>()[1] == -2);
  CHECK_THROWS_AS(i32.data<float>(), Error);
  // Braced lists pick float32 for float literals and int32 for integer literals.
  CHECK(Tensor::from_vector({1, 0, 2}, {3}).dtype() == DType::int32);
  CHECK(Tensor::from_vector({1.f, 0.f}, {2, 1}).dtype() == DType::float32);
  const Tensor i64 = Tensor::from_vector(std::vector<int64_t>{int64_t(1) << 40}, {1, 1});
  CHECK(i64.dtype() == DType::int64);
  CHECK(i64.flat(0) == double(int64_t(1) << 40));
  CHECK(i64.astype(DType::float32).dtype() == DType::float32);
  CHECK(Tensor::of({1.9f, -1.9f}).astype(DType::int32).data<int32_t>()[1] == -1);

  // Unknown dimensions cannot be allocated; an empty tensor is not defined.
  CHECK_THROWS_AS(Tensor::zeros({-1, 3}), ShapeError);
  CHECK_FALSE(Tensor().defined());
  CHECK_THROWS_AS(Tensor().raw(), Error);
}

TEST_CASE("pinned host tensors: page-locked with a CUDA device, ordinary memory without",
          "[core][tensor][pinned]") {
  const bool can_pin = cuda_device_count() > 0;
  Tensor p = Tensor::empty({3, 4}, DType::int32, true);
  CHECK(p.device() == Device::cpu());
  CHECK(p.is_pinned() == can_pin);
  CHECK_FALSE(Tensor::empty({3, 4}, DType::int32).is_pinned());
  CHECK_FALSE(Tensor().is_pinned());
  for (int64_t i = 0; i < p.size(); ++i) p.data<int32_t>()[i] = static_cast<int32_t>(3 * i + 1);
  CHECK(p.at({2, 3}) == 34);
  CHECK(p.slice(1, 3).is_pinned() == can_pin);  // a view shares the pinned storage

  const Tensor t = arange(6, {2, 3});
  const Tensor q = t.pin_memory();
  CHECK(q.is_pinned() == can_pin);
  CHECK(q.shares_storage(t) == !can_pin);  // without a device there is nothing to pin
  CHECK(q.to_vector() == t.to_vector());
  CHECK(q.pin_memory().shares_storage(q));  // pinned already: itself
  CHECK_THROWS_WITH(Tensor().pin_memory(), Contains("undefined"));
}

TEST_CASE("from_vector rejects a size that does not fill the shape", "[core][tensor][errors]") {
  CHECK_THROWS_AS(Tensor::from_vector({1.f, 2.f, 3.f}, {2, 2}), ShapeError);
  CHECK_THROWS_WITH(Tensor::from_vector({1.f, 2.f, 3.f}, {2, 2}),
                    Equals("from_vector: 3 values do not fill shape (2, 2) (4 elements)"));
  CHECK_THROWS_WITH(Tensor::from_vector(std::vector<int32_t>{1, 2}, {3}),
                    Equals("from_vector: 2 values do not fill shape (3,) (3 elements)"));
}

TEST_CASE("uniform and normal are reproducible from their seed", "[core][tensor][random]") {
  const Tensor a = Tensor::uniform({1000}, -2.f, 3.f, 17);
  const Tensor b = Tensor::uniform({1000}, -2.f, 3.f, 17);
  const Tensor c = Tensor::uniform({1000}, -2.f, 3.f, 18);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != c.to_vector());
  double mean = 0;
  for (float v : a.to_vector()) {
    CHECK(v >= -2.f);
    CHECK(v < 3.f);
    mean += v / 1000.0;
  }
  CHECK(mean == Approx(0.5).margin(0.15));

  const Tensor n = Tensor::normal({20000}, 1.f, 2.f, 5);
  CHECK(n.to_vector() == Tensor::normal({20000}, 1.f, 2.f, 5).to_vector());
  double m = 0, sq = 0;
  for (float v : n.to_vector()) m += v, sq += double(v) * v;
  m /= n.size();
  const double sd = std::sqrt(sq / n.size() - m * m);
  CHECK(m == Approx(1.0).margin(0.05));
  CHECK(sd == Approx(2.0).epsilon(0.03));
}

// ---------------------------------------------------------------------------- views

TEST_CASE("reshape is a view and infers one -1", "[core][tensor]") {
  Tensor t = arange(6, {2, 3});
  const Tensor r = t.reshape({3, -1});
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.shares_storage(t));
  CHECK(t.reshape({-1}).shape() == Shape{6});
  CHECK(t.reshape({1, -1, 2}).shape() == Shape{1, 3, 2});
  t.data<float>()[5] = 50.f;
  CHECK(r.at({2, 1}) == 50);

  CHECK_THROWS_AS(t.reshape({4, -1}), ShapeError);
  CHECK_THROWS_WITH(t.reshape({4, -1}), Contains("(2, 3)") && Contains("6 elements"));
  CHECK_THROWS_WITH(t.reshape({5}),
                    Equals("cannot reshape a tensor of shape (2, 3) (6 elements) to (5,)"));
  CHECK_THROWS_WITH(t.reshape({-1, -1}), Contains("more than one -1"));
}

TEST_CASE("slice shares storage with the tensor it views", "[core][tensor]") {
  Tensor t = arange(12, {4, 3});
  Tensor s = t.slice(1, 3);
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.shares_storage(t));
  CHECK(s.to_vector() == std::vector<float>{3, 4, 5, 6, 7, 8});
  s.data<float>()[0] = -1.f;  // writes through to the original
  CHECK(t.at({1, 0}) == -1);
  t.data<float>()[8] = 80.f;
  CHECK(s.at({1, 2}) == 80);
  CHECK(t.slice(2, 2).size() == 0);
  CHECK(t.slice(3, 4).slice(0, 1).to_vector() == std::vector<float>{9, 10, 11});
  CHECK_THROWS_AS(t.slice(3, 5), ShapeError);
  CHECK_THROWS_WITH(t.slice(3, 5), Equals("slice [3, 5) out of range for shape (4, 3)"));
  CHECK_THROWS_AS(t.slice(2, 1), ShapeError);
}

TEST_CASE("clone is a deep copy while copies of a Tensor share data", "[core][tensor]") {
  Tensor t = arange(4, {2, 2});
  Tensor shallow = t;
  Tensor deep = t.clone();
  CHECK(shallow.shares_storage(t));
  CHECK_FALSE(deep.shares_storage(t));
  t.data<float>()[0] = 100.f;
  CHECK(shallow.flat(0) == 100);
  CHECK(deep.flat(0) == 0);
  CHECK(deep.shape() == t.shape());
  // A clone of a slice holds just the slice.
  const Tensor part = arange(6, {3, 2}).slice(1, 2).clone();
  CHECK(part.to_vector() == std::vector<float>{2, 3});

  Tensor dst = Tensor::zeros({4});
  dst.copy_from(deep);  // element counts match, shapes need not
  CHECK(dst.to_vector() == std::vector<float>{0, 1, 2, 3});
  CHECK_THROWS_AS(dst.copy_from(Tensor::zeros({3})), ShapeError);
  dst.fill(-2.0);
  CHECK(dst.to_vector() == std::vector<float>(4, -2.f));
}

// ---------------------------------------------------------------------------- to_string
// Expected strings come from numpy 2.4's repr of the same float32/int32 arrays (the shape is
// always shown here; numpy shows it only for summarized arrays). A fuzz comparison of 400
// random arrays against numpy (threshold=0, edgeitems=3) matched character for character.

TEST_CASE("to_string prints like numpy's repr", "[core][tensor][to_string]") {
  CHECK(Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2}).to_string() ==
        "array([[1., 2.],\n       [3., 4.]], shape=(2, 2), dtype=float32)");
  CHECK(Tensor::of({1.f, 2.5f}).to_string() == "array([1. , 2.5], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({1.f, -2.f}).to_string() == "array([ 1., -2.], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({0.1f, 0.25f}).to_string() ==
        "array([0.1 , 0.25], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({1e-5f, 1.f}).to_string() ==
        "array([1.e-05, 1.e+00], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({-1.5e-7f, 2.25e10f}).to_string() ==
        "array([-1.50e-07,  2.25e+10], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({0.1f, 0.00012345678f}).to_string() ==
        "array([0.1       , 0.00012346], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({-0.f, 1e-4f}).to_string() ==
        "array([-0.    ,  0.0001], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({123456789.f}).to_string() ==
        "array([1.2345679e+08], shape=(1,), dtype=float32)");
  // float32 switches to scientific notation from 1e6 on (numpy >= 2.2); shorter mantissas
  // get more digits of the exact value, not zeros.
  CHECK(Tensor::of({1.5e6f, 2.f}).to_string() ==
        "array([1.5e+06, 2.0e+00], shape=(2,), dtype=float32)");
  CHECK(Tensor::of({4.5760827e10f, 7.4508919e10f}).to_string() ==
        "array([4.5760827e+10, 7.4508919e+10], shape=(2,), dtype=float32)");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(Tensor::of({1.f, nan, -inf}).to_string() ==
        "array([  1.,  nan, -inf], shape=(3,), dtype=float32)");
  CHECK(Tensor::from_vector(std::vector<int32_t>{1, -20, 300}, {3}).to_string() ==
        "array([  1, -20, 300], shape=(3,), dtype=int32)");
  Tensor scalar(Shape{});
  scalar.fill(3.5);
  CHECK(scalar.to_string() == "array(3.5, shape=(), dtype=float32)");
  CHECK(Tensor().to_string() == "Tensor(undefined)");
}

TEST_CASE("to_string separates blocks of rank >= 3 with a blank line",
          "[core][tensor][to_string]") {
  Tensor t = arange(9, {9}).slice(1, 9).reshape({2, 2, 2});
  CHECK(t.to_string() ==
        "array([[[1., 2.],\n        [3., 4.]],\n\n       [[5., 6.],\n        [7., 8.]]], "
        "shape=(2, 2, 2), dtype=float32)");
}

TEST_CASE("to_string wraps long rows at 75 columns", "[core][tensor][to_string]") {
  std::vector<float> v(20);
  for (int i = 0; i < 20; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i) / 3.f;
  const Tensor t = Tensor::from_vector(v, {20});
  CHECK(t.to_string(100) ==
        "array([0.        , 0.33333334, 0.6666667 , 1.        , 1.3333334 ,\n"
        "       1.6666666 , 2.        , 2.3333333 , 2.6666667 , 3.        ,\n"
        "       3.3333333 , 3.6666667 , 4.        , 4.3333335 , 4.6666665 ,\n"
        "       5.        , 5.3333335 , 5.6666665 , 6.        , 6.3333335 ],\n"
        "      shape=(20,), dtype=float32)");
}

TEST_CASE("to_string elides the middle of long axes", "[core][tensor][to_string]") {
  CHECK(arange(10, {10}).to_string() ==
        "array([0., 1., 2., ..., 7., 8., 9.], shape=(10,), dtype=float32)");
  CHECK(arange(64, {8, 8}).to_string() ==
        "array([[ 0.,  1.,  2., ...,  5.,  6.,  7.],\n"
        "       [ 8.,  9., 10., ..., 13., 14., 15.],\n"
        "       [16., 17., 18., ..., 21., 22., 23.],\n"
        "       ...,\n"
        "       [40., 41., 42., ..., 45., 46., 47.],\n"
        "       [48., 49., 50., ..., 53., 54., 55.],\n"
        "       [56., 57., 58., ..., 61., 62., 63.]], shape=(8, 8), dtype=float32)");
  // Widths come from the printed entries only (numpy's summarized data).
  CHECK(arange(1000, {1000}).to_string(4) ==
        "array([  0.,   1., ..., 998., 999.], shape=(1000,), dtype=float32)");
}

// ---------------------------------------------------------------------------- Generator

TEST_CASE("Generator is deterministic for a seed", "[core][random]") {
  Generator a(42), b(42), c(43);
  std::vector<uint64_t> xa, xb, xc;
  for (int i = 0; i < 16; ++i) {
    xa.push_back(a.next_u64());
    xb.push_back(b.next_u64());
    xc.push_back(c.next_u64());
  }
  CHECK(xa == xb);
  CHECK(xa != xc);
  a.reseed(42);
  CHECK(a.next_u64() == xa[0]);

  Generator g(7), h(7);
  for (int i = 0; i < 1000; ++i) {
    const float u = g.uniform();
    CHECK(u == h.uniform());
    CHECK(u >= 0.f);
    CHECK(u < 1.f);
    const uint64_t k = g.below(10);
    CHECK(k == h.below(10));
    CHECK(k < 10);
    CHECK(g.normal() == h.normal());
  }
  // below() reaches every value.
  std::vector<int> seen(5, 0);
  for (int i = 0; i < 500; ++i) ++seen[static_cast<size_t>(g.below(5))];
  for (int s : seen) CHECK(s > 50);
}
