// ZeroPadding2D, Cropping2D, UpSampling2D, Permute, RepeatVector and SpatialDropout1D/2D:
// forward against index arithmetic, gradients by central differences, configs and errors.
#include <catch2/catch.hpp>

#include "fitrun/error.hpp"
#include "fitrun/layers/reshaping_image.hpp"
#include "fitrun/layers/spatial_dropout.hpp"
#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using namespace layer_test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {
/// x(n, h, w, c) of an NHWC tensor, 0 outside the image.
double pixel(const Tensor& x, int64_t n, int64_t h, int64_t w, int64_t c) {
  if (h < 0 || h >= x.dim(1) || w < 0 || w >= x.dim(2)) return 0.0;
  return x.flat(((n * x.dim(1) + h) * x.dim(2) + w) * x.dim(3) + c);
}

std::vector<double> shifted(const Tensor& x, const Shape& out, int64_t top, int64_t left) {
  std::vector<double> y;
  for (int64_t n = 0; n < out[0]; ++n)
    for (int64_t h = 0; h < out[1]; ++h)
      for (int64_t w = 0; w < out[2]; ++w)
        for (int64_t c = 0; c < out[3]; ++c) y.push_back(pixel(x, n, h - top, w - left, c));
  return y;
}
}  // namespace

TEST_CASE("ZeroPadding2D and Cropping2D add and remove borders", "[layers][reshaping]") {
  const Tensor x = Tensor::uniform({2, 4, 5, 3}, -1.f, 1.f, 1);
  for (const Padding2D& p : {Padding2D(1), Padding2D(2, 1), Padding2D({1, 0}, {0, 3})}) {
    INFO("padding " << p.top << " " << p.bottom << " " << p.left << " " << p.right);
    ZeroPadding2D pad(p);
    const Tensor y = forward(pad, {x});
    const Shape out{2, 4 + p.top + p.bottom, 5 + p.left + p.right, 3};
    REQUIRE(y.shape() == out);
    check_close(y, shifted(x, out, p.top, p.left));
    require_gradients(pad, {x});

    Cropping2D crop(p);
    const Tensor z = forward(crop, {y});
    CHECK(z.shape() == x.shape());
    check_close(z, to_doubles(x));
    require_gradients(crop, {y});
  }
  CHECK(ZeroPadding2D().padding().top == 1);
}

TEST_CASE("UpSampling2D repeats rows and columns", "[layers][reshaping]") {
  const Tensor x = Tensor::uniform({2, 3, 2, 2}, -1.f, 1.f, 2);
  for (const Size2& s : {Size2(2), Size2(3, 1), Size2(1, 2)}) {
    UpSampling2D up(s);
    const Tensor y = forward(up, {x});
    REQUIRE(y.shape() == Shape{2, 3 * s.h, 2 * s.w, 2});
    std::vector<double> ref;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t h = 0; h < 3 * s.h; ++h)
        for (int64_t w = 0; w < 2 * s.w; ++w)
          for (int64_t c = 0; c < 2; ++c) ref.push_back(pixel(x, n, h / s.h, w / s.w, c));
    check_close(y, ref);
    require_gradients(up, {x});
  }
  CHECK_THROWS_WITH(UpSampling2D(2, "bilinear"),
                    Contains("UpSampling2D") && Contains("nearest") && Contains("bilinear"));
}

TEST_CASE("Permute reorders the non-batch axes (1-based dims)", "[layers][reshaping]") {
  const Tensor x = Tensor::uniform({2, 3, 4, 5}, -1.f, 1.f, 3);
  Permute p({3, 1, 2});
  const Tensor y = forward(p, {x});
  REQUIRE(y.shape() == Shape{2, 5, 3, 4});
  std::vector<double> ref;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t a = 0; a < 5; ++a)
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t c = 0; c < 4; ++c) ref.push_back(x.flat(((n * 3 + b) * 4 + c) * 5 + a));
  check_close(y, ref);
  require_gradients(p, {x});
  Permute swap({2, 1});
  const Tensor m = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 4);
  const Tensor t = forward(swap, {m});
  CHECK(t.shape() == Shape{2, 4, 3});
  CHECK(t.at({1, 3, 2}) == m.at({1, 2, 3}));
  require_gradients(swap, {m});
  CHECK_THROWS_WITH(Permute({1, 1}), StartsWith("Permute: dims must be a permutation of 1..2"));
  CHECK_THROWS_WITH(Permute({0, 1}), Contains("1-based"));
  CHECK_THROWS_WITH(swap.compute_output_shape({Shape{-1, 2, 3, 4}}),
                    Contains("(Permute)") && Contains("(None, 2, 3, 4)"));
}

TEST_CASE("RepeatVector repeats the feature vector n times", "[layers][reshaping]") {
  const Tensor x = Tensor::uniform({3, 4}, -1.f, 1.f, 5);
  RepeatVector r(3);
  const Tensor y = forward(r, {x});
  REQUIRE(y.shape() == Shape{3, 3, 4});
  std::vector<double> ref;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t k = 0; k < 3; ++k)
      for (int64_t f = 0; f < 4; ++f) ref.push_back(x.flat(n * 4 + f));
  check_close(y, ref);
  require_gradients(r, {x});
  CHECK_THROWS_WITH(r.compute_output_shape({Shape{-1, 2, 3}}),
                    Contains("(RepeatVector)") && Contains("rank 2") && Contains("(None, 2, 3)"));
  CHECK_THROWS_AS(RepeatVector(0), ConfigError);
}

TEST_CASE("SpatialDropout2D drops whole channels per sample in training only",
          "[layers][reshaping][dropout]") {
  const Tensor x = Tensor::uniform({8, 3, 4, 16}, 0.5f, 1.5f, 6);
  SpatialDropout2D drop(0.5f);
  const Tensor y = forward(drop, {x}, true, 7);
  int dropped = 0;
  for (int64_t n = 0; n < 8; ++n)
    for (int64_t c = 0; c < 16; ++c) {
      // Every pixel of a (sample, channel) map is kept (×2) or dropped together.
      const double ratio = pixel(y, n, 0, 0, c) / pixel(x, n, 0, 0, c);
      CHECK((ratio == Approx(0.0) || ratio == Approx(2.0)));
      if (ratio == 0.0) ++dropped;
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t w = 0; w < 4; ++w)
          CHECK(pixel(y, n, h, w, c) == Approx(ratio * pixel(x, n, h, w, c)));
    }
  CHECK(dropped > 30);
  CHECK(dropped < 98);
  check_close(forward(drop, {x}, false), to_doubles(x));
  // The same step draws the same mask; gradients flow through the kept maps only.
  check_close(forward(drop, {x}, true, 7), to_doubles(y));
  require_gradients(drop, {x});

  SpatialDropout1D drop1(0.3f);
  const Tensor s = Tensor::uniform({4, 5, 6}, 0.5f, 1.5f, 8);
  const Tensor t = forward(drop1, {s}, true, 1);
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t c = 0; c < 6; ++c) {
      const double ratio = t.at({n, 0, c}) / s.at({n, 0, c});
      for (int64_t k = 0; k < 5; ++k) CHECK(t.at({n, k, c}) == Approx(ratio * s.at({n, k, c})));
    }
  CHECK_THROWS_WITH(drop.compute_output_shape({Shape{-1, 5, 6}}),
                    Contains("(SpatialDropout2D)") && Contains("rank 4"));
  CHECK_THROWS_AS(SpatialDropout2D(1.0f), ConfigError);
}

TEST_CASE("image reshaping layers round-trip through get_config and the registry",
          "[layers][reshaping][config]") {
  std::vector<LayerPtr> layers = {
      std::make_shared<ZeroPadding2D>(Padding2D({1, 2}, {3, 4})),
      std::make_shared<Cropping2D>(Padding2D(1, 2)),
      std::make_shared<UpSampling2D>(Size2(2, 3)),
      std::make_shared<Permute>(std::vector<int>{2, 3, 1}),
      std::make_shared<RepeatVector>(5),
      std::make_shared<SpatialDropout2D>(0.25f, "", 42u),
      std::make_shared<SpatialDropout1D>(0.5f),
  };
  for (const LayerPtr& l : layers) {
    INFO(l->class_name());
    const json config = l->get_config();
    CHECK(layer_from_config(l->class_name(), config)->get_config() == config);
  }
  CHECK(layers[0]->get_config()["padding"] == json::parse("[[1, 2], [3, 4]]"));
  // Keras' short forms of padding/cropping.
  json c = {{"padding", 2}};
  auto p = std::dynamic_pointer_cast<ZeroPadding2D>(layer_from_config("ZeroPadding2D", c));
  CHECK(p->padding().left == 2);
  c = {{"cropping", {1, 3}}};
  auto k = std::dynamic_pointer_cast<Cropping2D>(layer_from_config("Cropping2D", c));
  CHECK(k->cropping().bottom == 1);
  CHECK(k->cropping().right == 3);
  CHECK_THROWS_AS(layer_from_config("ZeroPadding2D", json{{"padding", "same"}}), ConfigError);
}

TEST_CASE("Cropping2D that leaves nothing names the layer and the shape",
          "[layers][reshaping][errors]") {
  Cropping2D crop(Padding2D(2), "probe_crop");
  CHECK_THROWS_AS(crop.compute_output_shape({Shape{-1, 4, 8, 1}}), ShapeError);
  CHECK_THROWS_WITH(crop.compute_output_shape({Shape{-1, 4, 8, 1}}),
                    StartsWith("layer \"probe_crop\" (Cropping2D): ") &&
                        Contains("(None, 4, 8, 1)"));
  CHECK_THROWS_WITH(ZeroPadding2D(1).compute_output_shape({Shape{-1, 4, 8}}),
                    Contains("(ZeroPadding2D)") && Contains("rank 4"));
  CHECK_THROWS_AS(ZeroPadding2D(-1), ConfigError);
}
