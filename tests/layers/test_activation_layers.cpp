// Activation and LeakyReLU layers: forward against double-precision references of every Keras
// activation (softmax and log_softmax over the last axis included) and gradient checks.
#include <catch2/catch.hpp>

#include "fitrun/error.hpp"
#include "fitrun/layers/activation_layer.hpp"
#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace layer_test;
using fitrun::layers::Activation;
using fitrun::layers::LeakyReLU;
using Catch::Matchers::StartsWith;

namespace {
const std::vector<std::string> kAllActivations = {
    "linear", "relu",       "sigmoid",     "tanh",    "gelu",        "gelu_approximate",
    "elu",    "selu",       "leaky_relu",  "swish",   "silu",        "softplus",
    "softmax", "log_softmax", "exponential"};
}  // namespace

TEST_CASE("Activation layer forward equals the double-precision activation",
          "[layers][activation]") {
  const std::string name = GENERATE(from_range(kAllActivations));
  const int rank = GENERATE(2, 3);
  INFO("activation " << name << ", rank " << rank);
  Activation layer(name);
  const Shape shape = rank == 2 ? Shape{4, 7} : Shape{2, 3, 5};
  // Wide enough to reach the saturating and negative branches.
  const Tensor x = Tensor::uniform(shape, -4.f, 4.f, 11);
  const Tensor y = forward(layer, {x});
  CHECK(y.shape() == shape);
  // log_softmax's x - max - log Σ exp loses a few float32 ulps of the (larger) shifted logits.
  const double abs_tolerance = name == "log_softmax" ? 1e-5 : 1e-6;
  check_close(y, activate(parse_activation(name), to_doubles(x), shape.dim(-1), 0.2), 1e-5,
              abs_tolerance);
  CHECK(layer.get_config()["activation"] ==
        activation_name(parse_activation(name)));
  CHECK(layer.weights().empty());
}

TEST_CASE("Activation layer gradients match central differences",
          "[layers][activation][gradients]") {
  const std::string name = GENERATE(from_range(kAllActivations));
  INFO("activation " << name);
  Activation layer(name);
  // Away from the kink at 0 of relu, leaky_relu and selu.
  const Tensor x = away_from_zero(Tensor::uniform({3, 2, 5}, -2.f, 2.f, 3));
  require_gradients(layer, {x});
}

TEST_CASE("softmax sums to one over the last axis, also for large logits",
          "[layers][activation]") {
  Activation layer("softmax");
  const Tensor x = Tensor::from_vector({1000.f, 1001.f, 1002.f, -5.f, 0.f, 5.f}, {2, 3});
  const Tensor y = forward(layer, {x});
  for (int r = 0; r < 2; ++r) CHECK(y.at({r, 0}) + y.at({r, 1}) + y.at({r, 2}) == Approx(1.0));
  check_close(y, activate(ActivationFn::softmax, to_doubles(x), 3, 0));
  Activation log_layer("log_softmax");
  check_close(forward(log_layer, {x}), activate(ActivationFn::log_softmax, to_doubles(x), 3, 0),
              1e-5, 1e-5);
}

TEST_CASE("LeakyReLU uses Keras 3's negative_slope", "[layers][activation]") {
  LeakyReLU layer(0.3f);
  CHECK(layer.class_name() == "LeakyReLU");
  const Tensor x = Tensor::from_vector({-2.f, -0.5f, 0.f, 0.25f, 3.f, -10.f}, {2, 3});
  check_close(forward(layer, {x}), {-0.6, -0.15, 0.0, 0.25, 3.0, -3.0});
  CHECK(layer.get_config()["negative_slope"].get<double>() == Approx(0.3));
  require_gradients(layer, {away_from_zero(Tensor::uniform({4, 6}, -2.f, 2.f, 8))});

  LeakyReLU default_slope;
  check_close(forward(default_slope, {x}), {-0.6, -0.15, 0.0, 0.25, 3.0, -3.0});
  LeakyReLU other(0.01f);
  check_close(forward(other, {x}), {-0.02, -0.005, 0.0, 0.25, 3.0, -0.1});
  require_gradients(other, {away_from_zero(Tensor::uniform({4, 6}, -2.f, 2.f, 9))});
}

TEST_CASE("Activation rejects an unknown name", "[layers][activation][errors]") {
  CHECK_THROWS_AS(Activation("sigmiod"), ConfigError);
  CHECK_THROWS_WITH(Activation("sigmiod"),
                    StartsWith("unknown activation \"sigmiod\"; known activations: linear, relu"));
}
