// Flatten, Reshape, Add and Concatenate: forward against index-by-index references, gradient
// checks, and the shape errors (naming the layer and the shapes at fault).
#include <catch2/catch.hpp>

#include "fitrun/error.hpp"
#include "fitrun/layers/merging.hpp"
#include "fitrun/layers/reshaping.hpp"
#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace layer_test;
using fitrun::layers::Add;
using fitrun::layers::Concatenate;
using fitrun::layers::Flatten;
using fitrun::layers::Reshape;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

// ---------------------------------------------------------------------------- Flatten

TEST_CASE("Flatten keeps the batch axis and the row-major order", "[layers][reshaping]") {
  Flatten layer;
  const Tensor x = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 1);
  const Tensor y = forward(layer, {x});
  CHECK(y.shape() == Shape{2, 12});
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) CHECK(y.at({n, i * 4 + j}) == x.at({n, i, j}));
  CHECK(layer.compute_output_shape({Shape{-1, 5, 5, 3}}) == Shape{-1, 75});
  require_gradients(layer, {x});
  const Tensor dy = Tensor::uniform({2, 12}, -1.f, 1.f, 2);
  const Tensor dx = backward(layer, {x}, dy)[0];
  CHECK(dx.shape() == x.shape());
  CHECK(dx.to_vector() == dy.to_vector());
}

TEST_CASE("Flatten shape errors name the layer", "[layers][reshaping][errors]") {
  Flatten layer("probe_flatten");
  CHECK_THROWS_AS(layer.compute_output_shape({Shape{4}}), ShapeError);
  CHECK_THROWS_WITH(layer.compute_output_shape({Shape{4}}),
                    Equals("layer \"probe_flatten\" (Flatten): expected an input of rank >= 2, "
                           "got (4,)"));
  CHECK_THROWS_WITH(layer.compute_output_shape({Shape{-1, -1, 3}}),
                    Contains("probe_flatten") && Contains("(None, None, 3)"));
  CHECK_THROWS_WITH(layer.compute_output_shape({Shape{2, 3}, Shape{2, 3}}),
                    Contains("probe_flatten") && Contains("expected 1 input(s), got 2"));
}

// ---------------------------------------------------------------------------- Reshape

TEST_CASE("Reshape to a per-sample target, with one -1 inferred", "[layers][reshaping]") {
  const Tensor x = Tensor::uniform({2, 12}, -1.f, 1.f, 3);
  Reshape to_3x4({3, 4});
  const Tensor y = forward(to_3x4, {x});
  CHECK(y.shape() == Shape{2, 3, 4});
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) CHECK(y.at({n, i, j}) == x.at({n, i * 4 + j}));
  require_gradients(to_3x4, {x});

  Reshape inferred({-1, 2});
  const Tensor z = forward(inferred, {y});
  CHECK(z.shape() == Shape{2, 6, 2});
  CHECK(z.to_vector() == x.to_vector());
  CHECK(inferred.compute_output_shape({Shape{-1, 3, 4}}) == Shape{-1, 6, 2});
  require_gradients(inferred, {y});
  CHECK(inferred.get_config()["target_shape"] == json::array({-1, 2}));
}

TEST_CASE("Reshape errors name the layer and both shapes", "[layers][reshaping][errors]") {
  Reshape layer({5}, "probe_reshape");
  CHECK_THROWS_AS(layer.compute_output_shape({Shape{2, 12}}), ShapeError);
  CHECK_THROWS_WITH(layer.compute_output_shape({Shape{2, 12}}),
                    Equals("layer \"probe_reshape\" (Reshape): cannot reshape input (2, 12) to "
                           "target shape (5,)"));
  Reshape inferred({-1, 5}, "probe_inferred");
  CHECK_THROWS_AS(inferred.compute_output_shape({Shape{2, 12}}), ShapeError);
  CHECK_THROWS_WITH(inferred.compute_output_shape({Shape{2, 12}}),
                    Contains("probe_inferred") && Contains("(2, 12)") &&
                        Contains("target shape (None, 5)"));
  // Bad targets are config errors at construction.
  CHECK_THROWS_AS(Reshape({-1, -1}), ConfigError);
  CHECK_THROWS_WITH(Reshape({-1, -1}), Contains("at most one -1"));
  CHECK_THROWS_AS(Reshape({0, 3}), ConfigError);
  CHECK_THROWS_AS(Reshape({-2, 3}), ConfigError);
}

// ---------------------------------------------------------------------------- Add

TEST_CASE("Add sums 2 and 3 inputs elementwise", "[layers][merging]") {
  const int count = GENERATE(2, 3);
  INFO(count << " inputs");
  std::vector<Tensor> xs;
  for (int k = 0; k < count; ++k) xs.push_back(Tensor::uniform({3, 2, 4}, -1.f, 1.f, 10 + k));
  Add layer;
  const Tensor y = forward(layer, xs);
  CHECK(y.shape() == Shape{3, 2, 4});
  std::vector<double> ref(24, 0.0);
  for (const Tensor& x : xs)
    for (int64_t i = 0; i < 24; ++i) ref[static_cast<size_t>(i)] += x.flat(i);
  check_close(y, ref);
  require_gradients(layer, xs);
  const Tensor dy = Tensor::uniform({3, 2, 4}, -1.f, 1.f, 9);
  for (const Tensor& dx : backward(layer, xs, dy)) CHECK(dx.to_vector() == dy.to_vector());
}

TEST_CASE("Add shape errors name the layer and the shapes", "[layers][merging][errors]") {
  Add layer("probe_add");
  CHECK_THROWS_AS(layer.compute_output_shape({Shape{2, 3}, Shape{2, 4}}), ShapeError);
  CHECK_THROWS_WITH(layer.compute_output_shape({Shape{-1, 3}, Shape{-1, 4}}),
                    Equals("layer \"probe_add\" (Add): inputs must have the same shape, got "
                           "(None, 3) and (None, 4)"));
  CHECK_THROWS_WITH(layer.compute_output_shape({Shape{2, 3}, Shape{2, 3}, Shape{2, 3, 1}}),
                    Contains("probe_add") && Contains("(2, 3, 1)"));
  CHECK_THROWS_WITH(layer.compute_output_shape({Shape{2, 3}}),
                    Equals("layer \"probe_add\" (Add): expected 2 to any number of input(s), "
                           "got 1"));
}

// ---------------------------------------------------------------------------- Concatenate

namespace {
/// Concatenation of (outer, len_k, inner) blocks along the middle axis, index by index.
std::vector<double> concat_reference(const std::vector<Tensor>& xs, int axis) {
  const Shape& s0 = xs[0].shape();
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= s0[d];
  for (int d = axis + 1; d < s0.rank(); ++d) inner *= s0[d];
  std::vector<double> out;
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor& x : xs) {
      const int64_t len = x.dim(axis);
      for (int64_t l = 0; l < len; ++l)
        for (int64_t i = 0; i < inner; ++i) out.push_back(x.flat((o * len + l) * inner + i));
    }
  return out;
}
}  // namespace

TEST_CASE("Concatenate joins rank-3 inputs on the last axis and on axis 1",
          "[layers][merging]") {
  SECTION("axis -1") {
    const std::vector<Tensor> xs = {Tensor::uniform({2, 3, 4}, -1.f, 1.f, 1),
                                    Tensor::uniform({2, 3, 2}, -1.f, 1.f, 2),
                                    Tensor::uniform({2, 3, 1}, -1.f, 1.f, 3)};
    Concatenate layer;
    const Tensor y = forward(layer, xs);
    CHECK(y.shape() == Shape{2, 3, 7});
    check_close(y, concat_reference(xs, 2), 0, 0);
    CHECK(layer.compute_output_shape({Shape{-1, 3, 4}, Shape{-1, 3, 2}}) == Shape{-1, 3, 6});
    require_gradients(layer, xs);
  }
  SECTION("axis 1") {
    const std::vector<Tensor> xs = {Tensor::uniform({2, 3, 4}, -1.f, 1.f, 4),
                                    Tensor::uniform({2, 1, 4}, -1.f, 1.f, 5)};
    Concatenate layer(1);
    const Tensor y = forward(layer, xs);
    CHECK(y.shape() == Shape{2, 4, 4});
    check_close(y, concat_reference(xs, 1), 0, 0);
    require_gradients(layer, xs);
    CHECK(layer.get_config()["axis"] == 1);
  }
  SECTION("rank 2, and inputs whose gradient is not wanted") {
    const std::vector<Tensor> xs = {Tensor::uniform({3, 2}, -1.f, 1.f, 6),
                                    Tensor::uniform({3, 5}, -1.f, 1.f, 7)};
    Concatenate layer;
    CallContext ctx;
    const Tensor y = forward(layer, xs, ctx);
    check_close(y, concat_reference(xs, 1), 0, 0);
    const Tensor dy = Tensor::uniform({3, 7}, -1.f, 1.f, 8);
    Tensor dx1 = Tensor::zeros({3, 5});
    layer.backward(ctx, {&xs[0], &xs[1]}, y, dy, {nullptr, &dx1});
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 5; ++c) CHECK(dx1.at({r, c}) == dy.at({r, 2 + c}));
  }
}

TEST_CASE("Concatenate shape errors name the layer and the shapes",
          "[layers][merging][errors]") {
  Concatenate last(-1, "probe_concat");
  CHECK_THROWS_AS(last.compute_output_shape({Shape{2, 3, 4}, Shape{2, 2, 4}}), ShapeError);
  CHECK_THROWS_WITH(last.compute_output_shape({Shape{-1, 3, 4}, Shape{-1, 2, 4}}),
                    Equals("layer \"probe_concat\" (Concatenate): inputs must match except on the "
                           "concatenation axis -1, got (None, 3, 4) and (None, 2, 4)"));
  CHECK_THROWS_WITH(last.compute_output_shape({Shape{2, 3, 4}, Shape{2, 12}}),
                    Contains("probe_concat") && Contains("(2, 3, 4)") && Contains("(2, 12)"));
  Concatenate batch_axis(0, "probe_batch_axis");
  CHECK_THROWS_WITH(batch_axis.compute_output_shape({Shape{2, 3}, Shape{2, 3}}),
                    Contains("probe_batch_axis") && Contains("axis 0 is out of range") &&
                        Contains("(2, 3)"));
  Concatenate too_far(3, "probe_too_far");
  CHECK_THROWS_AS(too_far.compute_output_shape({Shape{2, 3}, Shape{2, 3}}), ShapeError);
}
