#pragma once
// Shared helpers of the layer tests: calling a layer directly (without a Model), naive
// double-precision references of every activation, and a gradient check that reports where
// it failed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fitrun/activation.hpp"
#include "fitrun/layer.hpp"
#include "fitrun/testing.hpp"

namespace layer_test {

using fitrun::ActivationFn;
using fitrun::CallContext;
using fitrun::Layer;
using fitrun::Shape;
using fitrun::Tensor;

/// Every activation string Keras users write, with the function it names.
inline const std::vector<std::string> kActivationNames = {
    "linear", "relu", "sigmoid", "tanh", "gelu", "elu", "selu", "leaky_relu",
    "swish", "softplus", "softmax", "exponential"};

/// Builds `layer` if needed and runs its forward pass in `ctx` on `inputs`.
inline Tensor forward(Layer& layer, const std::vector<Tensor>& inputs, CallContext& ctx) {
  std::vector<Shape> shapes;
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : inputs) {
    shapes.push_back(t.shape());
    ptrs.push_back(&t);
  }
  layer.ensure_built(shapes);
  Tensor y(layer.compute_output_shape(shapes));
  layer.forward(ctx, ptrs, y);
  return y;
}

inline Tensor forward(Layer& layer, const std::vector<Tensor>& inputs, bool training = false,
                      uint64_t step = 0) {
  CallContext ctx;
  ctx.training = training;
  ctx.step = step;
  return forward(layer, inputs, ctx);
}

/// Runs forward then backward in one context; returns dL/d(input i) for dL/dy = `dy`.
inline std::vector<Tensor> backward(Layer& layer, const std::vector<Tensor>& inputs,
                                    const Tensor& dy, bool training = false) {
  CallContext ctx;
  ctx.training = training;
  Tensor y = forward(layer, inputs, ctx);
  std::vector<const Tensor*> ptrs;
  std::vector<Tensor> dx;
  std::vector<Tensor*> dx_ptrs;
  for (const Tensor& t : inputs) {
    ptrs.push_back(&t);
    dx.push_back(Tensor::full(t.shape(), 12345.0));  // must be overwritten
  }
  for (Tensor& t : dx) dx_ptrs.push_back(&t);
  layer.backward(ctx, ptrs, y, dy, dx_ptrs);
  return dx;
}

// ---------------------------------------------------------------- reference activations

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// Elementwise activations in double precision, as Keras defines them.
inline double activate(ActivationFn fn, double x, double alpha) {
  switch (fn) {
    case ActivationFn::linear: return x;
    case ActivationFn::relu: return x > 0 ? x : 0;
    case ActivationFn::sigmoid: return sigmoid(x);
    case ActivationFn::tanh: return std::tanh(x);
    case ActivationFn::gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case ActivationFn::gelu_approximate:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case ActivationFn::elu: return x > 0 ? x : std::expm1(x);
    case ActivationFn::selu: return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case ActivationFn::leaky_relu: return x > 0 ? x : alpha * x;
    case ActivationFn::swish: return x * sigmoid(x);
    case ActivationFn::softplus: return std::log1p(std::exp(x));
    case ActivationFn::exponential: return std::exp(x);
    default: FAIL("not an elementwise activation"); return 0;
  }
}

/// The activation applied to `z` (row-major, softmax over the last axis of size `cols`).
inline std::vector<double> activate(ActivationFn fn, const std::vector<double>& z, int64_t cols,
                                    double alpha) {
  std::vector<double> y(z.size());
  if (fn == ActivationFn::softmax || fn == ActivationFn::log_softmax) {
    for (size_t r = 0; r < z.size() / static_cast<size_t>(cols); ++r) {
      const double* row = z.data() + r * cols;
      double m = *std::max_element(row, row + cols), sum = 0;
      for (int64_t c = 0; c < cols; ++c) sum += std::exp(row[c] - m);
      for (int64_t c = 0; c < cols; ++c)
        y[r * cols + c] = fn == ActivationFn::softmax ? std::exp(row[c] - m) / sum
                                                      : row[c] - m - std::log(sum);
    }
    return y;
  }
  for (size_t i = 0; i < z.size(); ++i) y[i] = activate(fn, z[i], alpha);
  return y;
}

inline std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) v[static_cast<size_t>(i)] = t.flat(i);
  return v;
}

/// Checks `actual` against a double-precision reference, element by element.
inline void check_close(const Tensor& actual, const std::vector<double>& expected,
                        double rel = 1e-5, double abs = 1e-6) {
  REQUIRE(actual.size() == static_cast<int64_t>(expected.size()));
  int failures = 0;
  for (int64_t i = 0; i < actual.size() && failures < 5; ++i) {
    const double e = expected[static_cast<size_t>(i)];
    const bool ok = actual.flat(i) == Approx(e).epsilon(rel).margin(abs);
    if (!ok) {
      ++failures;
      INFO("element " << i << " of " << actual.shape().to_string());
      CHECK(actual.flat(i) == Approx(e).epsilon(rel).margin(abs));
    }
  }
  CHECK(failures == 0);
}

/// check_gradients with the failing elements in the test's output.
inline void require_gradients(Layer& layer, const std::vector<Tensor>& inputs,
                              const fitrun::testing::GradientCheckOptions& options = {}) {
  const auto r = fitrun::testing::check_gradients(layer, inputs, options);
  INFO(layer.name() << ": max error " << r.max_error << " at " << r.worst << "\n" << r.report);
  CHECK(r.ok);
}

/// Fills every weight with values in (-0.5, 0.5), each tensor from its own seed, so that
/// biases are nonzero too.
inline void randomize(Layer& l, int64_t seed) {
  for (auto& w : l.weights())
    w->value.copy_from(Tensor::uniform(w->value.shape(), -0.5f, 0.5f, seed++));
}

/// `x` with every element moved at least `margin` away from 0 (the kink of relu-like
/// activations), keeping its sign.
inline Tensor away_from_zero(Tensor x, float margin = 0.1f) {
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.size(); ++i)
    if (std::fabs(p[i]) < margin) p[i] = p[i] < 0 ? p[i] - margin : p[i] + margin;
  return x;
}

}  // namespace layer_test
