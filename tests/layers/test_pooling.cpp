// Pooling layers: forward against naive window loops (max, and average over the real,
// unpadded elements as Keras/TensorFlow do) for several pool/stride/padding cases, 1-D and
// global variants, gradients by central differences, configs and errors.
#include <catch2/catch.hpp>

#include <limits>

#include "fitrun/error.hpp"
#include "fitrun/layers/pooling.hpp"
#include "layers/layer_test_helpers.hpp"
#include "layers/vision_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using namespace layer_test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// Naive 2-D pooling of (N, H, W, C), windows clipped to the image.
std::vector<double> pool_reference(const Tensor& x, bool max, Size2 pool, Size2 strides,
                                   bool same, int64_t& oh, int64_t& ow) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  oh = vision_test::out_len(h, pool.h, strides.h, 1, same);
  ow = vision_test::out_len(w, pool.w, strides.w, 1, same);
  const int64_t pt = vision_test::pad_before(h, pool.h, strides.h, 1, same);
  const int64_t pl = vision_test::pad_before(w, pool.w, strides.w, 1, same);
  std::vector<double> y;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < oh; ++r)
      for (int64_t q = 0; q < ow; ++q)
        for (int64_t ch = 0; ch < c; ++ch) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int count = 0;
          for (int64_t i = 0; i < pool.h; ++i)
            for (int64_t j = 0; j < pool.w; ++j) {
              const int64_t hi = r * strides.h - pt + i, wj = q * strides.w - pl + j;
              if (hi < 0 || hi >= h || wj < 0 || wj >= w) continue;
              const double v = x.flat(((b * h + hi) * w + wj) * c + ch);
              best = std::max(best, v);
              sum += v;
              ++count;
            }
          y.push_back(max ? best : sum / count);
        }
  return y;
}

struct PoolCase {
  Shape x;
  Size2 pool, strides;  // strides (0, 0): the Keras default (= pool)
  const char* padding;
};

const std::vector<PoolCase> kCases = {
    {{2, 6, 6, 3}, 2, {}, "valid"},     {{2, 7, 7, 2}, 3, 2, "same"},
    {{1, 5, 7, 2}, {2, 3}, {1, 2}, "same"}, {{2, 5, 5, 1}, 3, 1, "same"},
    {{2, 7, 6, 2}, 3, 2, "valid"},     {{1, 4, 4, 3}, 2, 3, "same"},
};

}  // namespace

TEST_CASE("MaxPooling2D and AveragePooling2D equal naive window loops", "[layers][pooling]") {
  for (const PoolCase& c : kCases) {
    for (bool max : {true, false}) {
      INFO((max ? "max " : "avg ") << c.x.to_string() << " pool " << c.pool.h << "x" << c.pool.w
                                   << " strides " << c.strides.h << "x" << c.strides.w << " "
                                   << c.padding);
      Pooling2DOptions o;
      o.strides = c.strides;
      o.padding = c.padding;
      std::shared_ptr<Pooling> layer;
      if (max) layer = std::make_shared<MaxPooling2D>(c.pool, o);
      else layer = std::make_shared<AveragePooling2D>(c.pool, o);
      const Tensor x = vision_test::distinct_values(c.x);
      const Size2 strides = c.strides == Size2() ? c.pool : c.strides;
      int64_t oh = 0, ow = 0;
      const auto ref = pool_reference(x, max, c.pool, strides,
                                      std::string(c.padding) == "same", oh, ow);
      for (bool training : {false, true}) {
        const Tensor y = forward(*layer, {x}, training);
        REQUIRE(y.shape() == Shape{c.x[0], oh, ow, c.x[3]});
        check_close(y, ref, 1e-6, 1e-6);
      }
      require_gradients(*layer, {x});
    }
  }
}

TEST_CASE("max pooling backward sends each gradient to the window's maximum",
          "[layers][pooling][gradients]") {
  MaxPooling2D pool(2);
  const Tensor x = Tensor::from_vector({1.f, 5.f, 2.f, 0.f,  //
                                        3.f, 4.f, 8.f, 7.f,  //
                                        0.f, 0.f, 1.f, 1.f,  //
                                        9.f, 2.f, 3.f, 6.f},
                                       {1, 4, 4, 1});
  const Tensor dy = Tensor::from_vector({10.f, 20.f, 30.f, 40.f}, {1, 2, 2, 1});
  const std::vector<double> expected = {0, 10, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 30, 0, 0, 40};
  check_close(backward(pool, {x}, dy, true)[0], expected);
  // After an inference forward (no workspace) the backward still works.
  check_close(backward(pool, {x}, dy, false)[0], expected);
}

TEST_CASE("average pooling with 'same' padding divides by the real elements only",
          "[layers][pooling]") {
  AveragePooling2D pool(2, Pooling2DOptions{1, "same"});
  const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {1, 2, 2, 1});
  // The last row/column of windows hangs over the padding: (3+4)/2, 4/1.
  check_close(forward(pool, {x}), {2.5, 3, 3.5, 4});
}

TEST_CASE("MaxPooling1D and AveragePooling1D pool the steps axis", "[layers][pooling]") {
  struct Case {
    Shape x;
    int64_t pool, strides;
    const char* padding;
  };
  for (const Case& c : std::vector<Case>{{{2, 9, 3}, 2, 0, "valid"},
                                         {{2, 9, 3}, 3, 2, "same"},
                                         {{1, 6, 2}, 4, 1, "same"}}) {
    for (bool max : {true, false}) {
      INFO((max ? "max " : "avg ") << c.x.to_string() << " pool " << c.pool << " " << c.padding);
      Pooling1DOptions o;
      o.strides = c.strides;
      o.padding = c.padding;
      std::shared_ptr<Pooling> layer;
      if (max) layer = std::make_shared<MaxPooling1D>(c.pool, o);
      else layer = std::make_shared<AveragePooling1D>(c.pool, o);
      const Tensor x = vision_test::distinct_values(c.x);
      int64_t oh = 0, ow = 0;
      const auto ref = pool_reference(x.reshape({c.x[0], 1, c.x[1], c.x[2]}), max,
                                      Size2(1, c.pool), Size2(1, c.strides ? c.strides : c.pool),
                                      std::string(c.padding) == "same", oh, ow);
      const Tensor y = forward(*layer, {x}, true);
      REQUIRE(y.shape() == Shape{c.x[0], ow, c.x[2]});
      check_close(y, ref, 1e-6, 1e-6);
      require_gradients(*layer, {x});
    }
  }
}

TEST_CASE("global pooling reduces every spatial axis", "[layers][pooling]") {
  const Tensor x4 = vision_test::distinct_values({2, 3, 4, 5});
  const Tensor x3 = vision_test::distinct_values({2, 7, 3});
  auto reduce = [](const Tensor& x, bool max) {
    const int64_t n = x.dim(0), c = x.dim(-1), s = x.size() / (n * c);
    std::vector<double> y;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        double best = -1e300, sum = 0;
        for (int64_t i = 0; i < s; ++i) {
          const double v = x.flat((b * s + i) * c + ch);
          best = std::max(best, v);
          sum += v;
        }
        y.push_back(max ? best : sum / double(s));
      }
    return y;
  };
  for (bool keepdims : {false, true}) {
    GlobalPoolingOptions o;
    o.keepdims = keepdims;
    GlobalAveragePooling2D gap(o);
    GlobalMaxPooling2D gmp(o);
    GlobalAveragePooling1D gap1(o);
    GlobalMaxPooling1D gmp1(o);
    const Tensor a = forward(gap, {x4}, true), b = forward(gmp, {x4}, true);
    const Tensor c = forward(gap1, {x3}, true), d = forward(gmp1, {x3}, true);
    CHECK(a.shape() == (keepdims ? Shape{2, 1, 1, 5} : Shape{2, 5}));
    CHECK(b.shape() == a.shape());
    CHECK(c.shape() == (keepdims ? Shape{2, 1, 3} : Shape{2, 3}));
    check_close(a, reduce(x4, false));
    check_close(b, reduce(x4, true));
    check_close(c, reduce(x3, false));
    check_close(d, reduce(x3, true));
    require_gradients(gap, {x4});
    require_gradients(gmp, {x4});
    require_gradients(gap1, {x3});
    require_gradients(gmp1, {x3});
  }
}

TEST_CASE("pooling layers round-trip through get_config and the registry",
          "[layers][pooling][config]") {
  std::vector<LayerPtr> layers = {
      std::make_shared<MaxPooling2D>(Size2{3, 2}, Pooling2DOptions{{2, 1}, "same"}),
      std::make_shared<AveragePooling2D>(),
      std::make_shared<MaxPooling1D>(3, Pooling1DOptions{1, "same"}),
      std::make_shared<AveragePooling1D>(2),
      std::make_shared<GlobalAveragePooling2D>(GlobalPoolingOptions{true}),
      std::make_shared<GlobalMaxPooling2D>(),
      std::make_shared<GlobalAveragePooling1D>(),
      std::make_shared<GlobalMaxPooling1D>(GlobalPoolingOptions{true}),
  };
  for (const LayerPtr& l : layers) {
    INFO(l->class_name());
    const json config = l->get_config();
    LayerPtr back = layer_from_config(l->class_name(), config);
    CHECK(back->get_config() == config);
  }
  // Keras' default strides (None) are the pool size.
  CHECK(layers[1]->get_config()["strides"] == json::array({2, 2}));
  const json keras = {{"pool_size", {2, 2}}, {"strides", nullptr}, {"padding", "valid"},
                      {"data_format", "channels_last"}, {"name", "mp"}, {"trainable", true}};
  CHECK(layer_from_config("MaxPooling2D", keras)->get_config()["strides"] ==
        json::array({2, 2}));
}

TEST_CASE("pooling shape errors name the layer and the shapes", "[layers][pooling][errors]") {
  MaxPooling2D pool(3, Pooling2DOptions{{}, "valid", "probe_pool"});
  CHECK_THROWS_AS(pool.compute_output_shape({Shape{-1, 8, 8}}), ShapeError);
  CHECK_THROWS_WITH(pool.compute_output_shape({Shape{-1, 8, 8}}),
                    StartsWith("layer \"probe_pool\" (MaxPooling2D): ") && Contains("rank 4") &&
                        Contains("(None, 8, 8)"));
  CHECK_THROWS_WITH(pool.compute_output_shape({Shape{-1, 2, 8, 1}}),
                    Contains("probe_pool") && Contains("3x3") && Contains("(None, 2, 8, 1)"));
  CHECK_THROWS_WITH(GlobalAveragePooling1D().compute_output_shape({Shape{-1, 4}}),
                    Contains("(GlobalAveragePooling1D)") && Contains("rank 3"));
  CHECK_THROWS_WITH(MaxPooling2D(2, Pooling2DOptions{{}, "full"}),
                    "MaxPooling2D: padding must be \"valid\" or \"same\", got \"full\"");
  CHECK_THROWS_WITH(AveragePooling1D(0), "AveragePooling1D: pool_size must be positive, got 0");
}
