// Dense: forward against a naive double-precision x·kernel + bias for every activation string
// (rank 2 and rank 3 inputs, with and without bias), finite-difference gradient checks, and
// the exact text of the errors a user sees.
#include <catch2/catch.hpp>

#include <cmath>

#include "fitrun/error.hpp"
#include "fitrun/layers/dense.hpp"
#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace layer_test;
using fitrun::layers::Dense;
using fitrun::layers::DenseOptions;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// Keras' slope for the "leaky_relu" activation string.
constexpr double kLeakySlope = 0.2;

DenseOptions options(bool use_bias) {
  DenseOptions o;
  o.use_bias = use_bias;
  o.bias_initializer = initializers::RandomUniform(-0.5f, 0.5f);  // a bias that matters
  return o;
}

/// x·kernel + bias in double precision, x viewed as (rows, in).
std::vector<double> dense_reference(const Dense& d, const Tensor& x) {
  const Tensor& w = d.kernel()->value;
  const int64_t in = w.dim(0), units = w.dim(1), rows = x.size() / in;
  std::vector<double> z(static_cast<size_t>(rows * units));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t u = 0; u < units; ++u) {
      double s = d.bias() ? d.bias()->value.flat(u) : 0.0;
      for (int64_t i = 0; i < in; ++i) s += x.flat(r * in + i) * w.flat(i * units + u);
      z[static_cast<size_t>(r * units + u)] = s;
    }
  return z;
}

/// A uniform input for the (built) layer whose pre-activations all stay `margin` away from 0,
/// so that finite differences never straddle the kink of relu, leaky_relu or selu.
Tensor input_away_from_kinks(Dense& d, const Shape& shape, double margin = 0.05) {
  d.ensure_built({shape});
  for (int64_t seed = 1; seed < 1000; ++seed) {
    Tensor x = Tensor::uniform(shape, -1.f, 1.f, seed);
    bool ok = true;
    for (double z : dense_reference(d, x)) ok = ok && std::fabs(z) > margin;
    if (ok) return x;
  }
  FAIL("no input seed keeps the pre-activations away from 0");
  return {};
}

}  // namespace

TEST_CASE("Dense forward equals a double-precision x*kernel + bias and activation",
          "[layers][dense]") {
  const std::string activation = GENERATE(from_range(kActivationNames));
  const bool use_bias = GENERATE(true, false);
  const int rank = GENERATE(2, 3);
  INFO("activation " << activation << ", use_bias " << use_bias << ", rank " << rank);

  Dense d(3, activation, options(use_bias));
  const Shape shape = rank == 2 ? Shape{4, 5} : Shape{2, 3, 5};
  const Tensor x = Tensor::uniform(shape, -1.5f, 1.5f, 42);
  const Tensor y = forward(d, {x});

  CHECK(y.shape() == (rank == 2 ? Shape{4, 3} : Shape{2, 3, 3}));
  CHECK(d.kernel()->value.shape() == Shape{5, 3});
  CHECK(static_cast<bool>(d.bias()) == use_bias);
  CHECK(d.count_params() == (use_bias ? 18 : 15));
  const ActivationFn fn = parse_activation(activation);
  check_close(y, activate(fn, dense_reference(d, x), 3, kLeakySlope), 1e-5, 1e-6);
}

TEST_CASE("Dense output shape keeps all axes but the last", "[layers][dense]") {
  Dense d(7);
  CHECK(d.compute_output_shape({Shape{-1, 4}}) == Shape{-1, 7});
  CHECK(d.compute_output_shape({Shape{-1, 3, 5, 4}}) == Shape{-1, 3, 5, 7});
  d.ensure_built({Shape{-1, 4}});
  CHECK(d.kernel()->value.shape() == Shape{4, 7});
  CHECK(d.bias()->value.shape() == Shape{7});
  // Built for 4 features, the same layer still takes another rank (Keras' InputSpec: min_ndim
  // 2 and axis -1 fixed).
  CHECK(d.compute_output_shape({Shape{2, 6, 4}}) == Shape{2, 6, 7});
  CHECK(d.get_config()["units"] == 7);
}

TEST_CASE("Dense gradients match central differences for every activation",
          "[layers][dense][gradients]") {
  const std::string activation = GENERATE(from_range(kActivationNames));
  // Two variants per activation keep the test quick: rank 2 with a bias, rank 3 without.
  const int rank = GENERATE(2, 3);
  const bool use_bias = rank == 2;
  INFO("activation " << activation << ", use_bias " << use_bias << ", rank " << rank);

  Dense d(3, activation, options(use_bias));
  const Tensor x = input_away_from_kinks(d, rank == 2 ? Shape{3, 4} : Shape{2, 2, 4});
  require_gradients(d, {x});
}

TEST_CASE("Dense backward writes the input gradient dy*kernel^T and the weight gradients",
          "[layers][dense][gradients]") {
  Dense d(2, "", options(true));
  const Tensor x = Tensor::uniform({3, 4}, -1.f, 1.f, 5);
  const Tensor dy = Tensor::uniform({3, 2}, -1.f, 1.f, 6);
  const Tensor dx = backward(d, {x}, dy)[0];
  const Tensor& w = d.kernel()->value;
  std::vector<double> dx_ref(12, 0.0), dw_ref(8, 0.0), db_ref(2, 0.0);
  for (int r = 0; r < 3; ++r)
    for (int u = 0; u < 2; ++u) {
      db_ref[u] += dy.flat(r * 2 + u);
      for (int i = 0; i < 4; ++i) {
        dx_ref[r * 4 + i] += dy.flat(r * 2 + u) * w.flat(i * 2 + u);
        dw_ref[i * 2 + u] += x.flat(r * 4 + i) * dy.flat(r * 2 + u);
      }
    }
  check_close(dx, dx_ref);
  check_close(d.kernel()->grad, dw_ref);
  check_close(d.bias()->grad, db_ref);

  SECTION("a second call of a shared layer adds to the weight gradients") {
    CallContext ctx;
    ctx.accumulate_grads = true;
    Tensor y = forward(d, {x}, ctx);
    Tensor dx2(x.shape());
    d.backward(ctx, {&x}, y, dy, {&dx2});
    for (double& v : dw_ref) v *= 2;
    for (double& v : db_ref) v *= 2;
    check_close(d.kernel()->grad, dw_ref);
    check_close(d.bias()->grad, db_ref);
  }
}

TEST_CASE("Dense rejects a non-positive number of units", "[layers][dense][errors]") {
  CHECK_THROWS_AS(Dense(0), ConfigError);
  CHECK_THROWS_WITH(Dense(0), "Dense: units must be a positive integer, got 0");
  CHECK_THROWS_AS(Dense(-3), ConfigError);
  CHECK_THROWS_WITH(Dense(-3), "Dense: units must be a positive integer, got -3");
}

TEST_CASE("Dense rejects an unknown activation, listing the known ones",
          "[layers][dense][errors]") {
  CHECK_THROWS_AS(Dense(4, "relux"), ConfigError);
  CHECK_THROWS_WITH(Dense(4, "relux"),
                    StartsWith("unknown activation \"relux\"; known activations:") &&
                        Contains("relu") && Contains("softmax") && Contains("leaky_relu"));
  // The aliases Keras accepts.
  CHECK(Dense(4, "silu").activation() == ActivationFn::swish);
  CHECK(Dense(4, "").activation() == ActivationFn::linear);
  CHECK(Dense(4, "None").activation() == ActivationFn::linear);
}

TEST_CASE("a built Dense given the wrong last dimension names itself and both shapes",
          "[layers][dense][errors]") {
  DenseOptions o;
  o.name = "probe_dense";
  Dense d(3, "relu", o);
  d.ensure_built({Shape{2, 4}});
  CHECK_THROWS_AS(d.compute_output_shape({Shape{2, 5}}), ShapeError);
  CHECK_THROWS_WITH(d.compute_output_shape({Shape{2, 5}}),
                    StartsWith("layer \"probe_dense\" (Dense): ") && Contains("(None, 4)") &&
                        Contains("(2, 5)"));
  CHECK_THROWS_WITH(d.compute_output_shape({Shape{8, 2, 5}}),
                    Contains("probe_dense") && Contains("(None, 4)") && Contains("(8, 2, 5)"));
  // A rank-1 input has no feature axis.
  Dense fresh(3, "", o);
  CHECK_THROWS_AS(fresh.compute_output_shape({Shape{4}}), ShapeError);
  CHECK_THROWS_WITH(fresh.compute_output_shape({Shape{4}}),
                    Contains("probe_dense") && Contains("rank >= 2") && Contains("(4,)"));
  // Building needs the number of features.
  CHECK_THROWS_AS(fresh.ensure_built({Shape{-1, -1}}), ShapeError);
}
