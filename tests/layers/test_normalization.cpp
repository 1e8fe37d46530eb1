// BatchNormalization and LayerNormalization: forward against double-precision formulas,
// training vs inference behaviour and Keras' moving-statistics rule, gradients by central
// differences (batch statistics and moving statistics), weights, configs and errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "fitrun/error.hpp"
#include "fitrun/layers/normalization.hpp"
#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using namespace layer_test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// Per-channel mean and biased variance of x viewed as (rows, C).
void channel_moments(const Tensor& x, std::vector<double>& mean, std::vector<double>& var) {
  const int64_t c = x.dim(-1), rows = x.size() / c;
  mean.assign(static_cast<size_t>(c), 0.0);
  var.assign(static_cast<size_t>(c), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j) mean[static_cast<size_t>(j)] += x.flat(r * c + j) / double(rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j) {
      const double d = x.flat(r * c + j) - mean[static_cast<size_t>(j)];
      var[static_cast<size_t>(j)] += d * d / double(rows);
    }
}

/// gamma·(x − mean)/sqrt(var + eps) + beta per channel.
std::vector<double> normalize(const Tensor& x, const std::vector<double>& mean,
                              const std::vector<double>& var, const Tensor* gamma,
                              const Tensor* beta, double eps) {
  const int64_t c = x.dim(-1);
  std::vector<double> y(static_cast<size_t>(x.size()));
  for (int64_t i = 0; i < x.size(); ++i) {
    const size_t j = static_cast<size_t>(i % c);
    const double g = gamma ? gamma->flat(static_cast<int64_t>(j)) : 1.0;
    const double b = beta ? beta->flat(static_cast<int64_t>(j)) : 0.0;
    y[static_cast<size_t>(i)] = g * (x.flat(i) - mean[j]) / std::sqrt(var[j] + eps) + b;
  }
  return y;
}

BatchNormalizationOptions bn_options(bool center = true, bool scale = true) {
  BatchNormalizationOptions o;
  o.center = center;
  o.scale = scale;
  o.gamma_initializer = initializers::RandomUniform(0.5f, 1.5f);  // values that matter
  o.beta_initializer = initializers::RandomUniform(-0.5f, 0.5f);
  return o;
}

}  // namespace

TEST_CASE("BatchNormalization in training normalizes with batch statistics and updates the "
          "moving ones as Keras does",
          "[layers][normalization]") {
  BatchNormalization bn(bn_options());
  const Tensor x1 = Tensor::uniform({4, 3, 3, 2}, -1.f, 3.f, 1);
  const Tensor x2 = Tensor::normal({4, 3, 3, 2}, 2.f, 0.5f, 2);
  const Tensor y1 = forward(bn, {x1}, true);
  std::vector<double> m1, v1, m2, v2;
  channel_moments(x1, m1, v1);
  check_close(y1, normalize(x1, m1, v1, &bn.gamma()->value, &bn.beta()->value, 1e-3), 1e-5,
              1e-5);
  // moving = moving·momentum + batch·(1 − momentum), from zeros and ones, biased variance.
  std::vector<double> mm(2), mv(2);
  for (size_t j = 0; j < 2; ++j) {
    mm[j] = 0.0 * 0.99 + m1[j] * 0.01;
    mv[j] = 1.0 * 0.99 + v1[j] * 0.01;
  }
  check_close(bn.moving_mean()->value, mm, 1e-5, 1e-7);
  check_close(bn.moving_variance()->value, mv, 1e-5, 1e-7);
  forward(bn, {x2}, true);
  channel_moments(x2, m2, v2);
  for (size_t j = 0; j < 2; ++j) {
    mm[j] = mm[j] * 0.99 + m2[j] * 0.01;
    mv[j] = mv[j] * 0.99 + v2[j] * 0.01;
  }
  check_close(bn.moving_mean()->value, mm, 1e-5, 1e-7);
  check_close(bn.moving_variance()->value, mv, 1e-5, 1e-7);

  SECTION("inference uses the moving statistics and leaves them alone") {
    const Tensor y = forward(bn, {x1}, false);
    check_close(y, normalize(x1, mm, mv, &bn.gamma()->value, &bn.beta()->value, 1e-3), 1e-5,
                1e-5);
    check_close(bn.moving_mean()->value, mm, 1e-6, 1e-7);
    check_close(bn.moving_variance()->value, mv, 1e-6, 1e-7);
  }
  SECTION("a frozen (non-trainable) layer runs in inference mode even in training") {
    bn.trainable = false;
    const Tensor y = forward(bn, {x1}, true);
    check_close(y, normalize(x1, mm, mv, &bn.gamma()->value, &bn.beta()->value, 1e-3), 1e-5,
                1e-5);
    check_close(bn.moving_mean()->value, mm, 1e-6, 1e-7);
  }
}

TEST_CASE("BatchNormalization momentum and epsilon are honoured", "[layers][normalization]") {
  BatchNormalizationOptions o;
  o.momentum = 0.5f;
  o.epsilon = 0.1f;
  BatchNormalization bn(o);
  const Tensor x = Tensor::uniform({6, 3}, 0.f, 2.f, 3);
  const Tensor y = forward(bn, {x}, true);
  std::vector<double> m, v;
  channel_moments(x, m, v);
  check_close(y, normalize(x, m, v, nullptr, nullptr, 0.1), 1e-5, 1e-5);
  check_close(bn.moving_mean()->value, {m[0] * 0.5, m[1] * 0.5, m[2] * 0.5}, 1e-5, 1e-7);
  check_close(bn.moving_variance()->value, {0.5 + v[0] * 0.5, 0.5 + v[1] * 0.5, 0.5 + v[2] * 0.5},
              1e-5, 1e-7);
}

TEST_CASE("BatchNormalization weights follow Keras: gamma, beta, moving_mean, moving_variance",
          "[layers][normalization]") {
  for (bool center : {true, false})
    for (bool scale : {true, false}) {
      INFO("center " << center << " scale " << scale);
      BatchNormalization bn(bn_options(center, scale));
      const Tensor x = Tensor::uniform({5, 2, 4}, -1.f, 1.f, 4);
      const Tensor y = forward(bn, {x}, true);
      std::vector<std::string> names;
      for (const auto& w : bn.weights()) names.push_back(w->name);
      std::vector<std::string> expected;
      if (scale) expected.push_back("gamma");
      if (center) expected.push_back("beta");
      expected.push_back("moving_mean");
      expected.push_back("moving_variance");
      CHECK(names == expected);
      CHECK(bn.trainable_weights().size() == size_t(center) + size_t(scale));
      CHECK(bn.non_trainable_weights().size() == 2);
      CHECK(bn.count_params() == 4 * static_cast<int64_t>(expected.size()));
      std::vector<double> m, v;
      channel_moments(x, m, v);
      check_close(y, normalize(x, m, v, scale ? &bn.gamma()->value : nullptr,
                               center ? &bn.beta()->value : nullptr, 1e-3),
                  1e-5, 1e-5);
      require_gradients(bn, {x});
    }
}

TEST_CASE("BatchNormalization gradients match central differences", "[layers][normalization]"
                                                                     "[gradients]") {
  SECTION("training: through the batch statistics") {
    BatchNormalization bn(bn_options());
    require_gradients(bn, {Tensor::uniform({3, 3, 2, 4}, -1.f, 2.f, 5)});
  }
  SECTION("inference: with the moving statistics") {
    BatchNormalization bn(bn_options());
    const Tensor x = Tensor::uniform({3, 2, 2, 3}, -1.f, 2.f, 6);
    forward(bn, {x}, true);  // moving statistics away from their initial values
    testing::GradientCheckOptions o;
    o.training = false;
    require_gradients(bn, {x}, o);
  }
  SECTION("a frozen layer still passes gradients to its input") {
    BatchNormalization bn(bn_options());
    bn.trainable = false;
    require_gradients(bn, {Tensor::uniform({4, 3}, -1.f, 2.f, 7)});
  }
}

TEST_CASE("LayerNormalization normalizes each sample over the last axis",
          "[layers][normalization]") {
  for (bool center : {true, false})
    for (bool scale : {true, false}) {
      INFO("center " << center << " scale " << scale);
      LayerNormalizationOptions o;
      o.center = center;
      o.scale = scale;
      o.gamma_initializer = initializers::RandomUniform(0.5f, 1.5f);
      o.beta_initializer = initializers::RandomUniform(-0.5f, 0.5f);
      LayerNormalization ln(o);
      const Tensor x = Tensor::uniform({3, 4, 6}, -2.f, 2.f, 8);
      for (bool training : {true, false}) {
        const Tensor y = forward(ln, {x}, training);
        std::vector<double> ref(static_cast<size_t>(x.size()));
        for (int64_t r = 0; r < 12; ++r) {
          double mean = 0, var = 0;
          for (int64_t j = 0; j < 6; ++j) mean += x.flat(r * 6 + j) / 6;
          for (int64_t j = 0; j < 6; ++j) var += std::pow(x.flat(r * 6 + j) - mean, 2) / 6;
          for (int64_t j = 0; j < 6; ++j) {
            const double g = scale ? ln.gamma()->value.flat(j) : 1.0;
            const double b = center ? ln.beta()->value.flat(j) : 0.0;
            ref[static_cast<size_t>(r * 6 + j)] =
                g * (x.flat(r * 6 + j) - mean) / std::sqrt(var + 1e-3) + b;
          }
        }
        check_close(y, ref, 1e-5, 1e-5);
      }
      CHECK(ln.weights().size() == size_t(center) + size_t(scale));
      require_gradients(ln, {x});
    }
}

TEST_CASE("normalization layers round-trip through get_config and the registry",
          "[layers][normalization][config]") {
  BatchNormalizationOptions b;
  b.momentum = 0.9f;
  b.epsilon = 1e-5f;
  b.center = false;
  LayerNormalizationOptions l;
  l.epsilon = 1e-6f;
  l.scale = false;
  std::vector<LayerPtr> layers = {std::make_shared<BatchNormalization>(b),
                                  std::make_shared<LayerNormalization>(l)};
  for (const LayerPtr& layer : layers) {
    INFO(layer->class_name());
    const json config = layer->get_config();
    CHECK(layer_from_config(layer->class_name(), config)->get_config() == config);
  }
  CHECK(layers[0]->get_config()["momentum"].get<double>() == Approx(0.9));
  CHECK(BatchNormalization().get_config()["epsilon"].get<double>() == Approx(1e-3));
}

TEST_CASE("normalization errors name the layer and the shapes",
          "[layers][normalization][errors]") {
  BatchNormalizationOptions o;
  o.name = "probe_bn";
  o.axis = 1;
  BatchNormalization bn(o);
  CHECK_THROWS_AS(bn.compute_output_shape({Shape{-1, 8, 8, 3}}), ShapeError);
  CHECK_THROWS_WITH(bn.compute_output_shape({Shape{-1, 8, 8, 3}}),
                    StartsWith("layer \"probe_bn\" (BatchNormalization): ") &&
                        Contains("axis 1") && Contains("(None, 8, 8, 3)") &&
                        Contains("last axis"));
  o.axis = 3;  // the last axis of a rank-4 input, written positively
  CHECK(BatchNormalization(o).compute_output_shape({Shape{-1, 8, 8, 3}}) == Shape{-1, 8, 8, 3});
  BatchNormalization built;
  built.ensure_built({Shape{-1, 4}});
  CHECK_THROWS_WITH(built.compute_output_shape({Shape{-1, 5}}),
                    Contains("(BatchNormalization)") && Contains("(None, 4)") &&
                        Contains("(None, 5)"));
  CHECK_THROWS_WITH(LayerNormalization().compute_output_shape({Shape{7}}),
                    Contains("(LayerNormalization)") && Contains("rank >= 2"));
  BatchNormalizationOptions bad;
  bad.momentum = 1.5f;
  CHECK_THROWS_AS(BatchNormalization(bad), ConfigError);
}
