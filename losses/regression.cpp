// Regression losses. Keras takes the mean over the last axis and then over the batch (and
// timesteps); here each sample's loss is the mean over all its elements, which is the same.
#include <cmath>

#include "fitrun/losses/loss.hpp"

namespace fitrun::losses {

namespace {

constexpr int64_t kParallelWork = 1 << 15;  // below this, threads cost more than they save

// Applies `f(error) -> {loss, dloss/derror}` to every element, error = y_pred - y_true.
template <class F>
void elementwise(const Tensor& y_true, const Tensor& y_pred, float* out, float* grad, F f) {
  const int64_t n = y_pred.dim(0);
  const int64_t d = y_pred.size() / n;
  const float* p = y_pred.data<float>();
  const float* t = y_true.data<float>();
#pragma omp parallel for schedule(static) if (y_pred.size() >= kParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    double total = 0;
    for (int64_t k = i * d; k < (i + 1) * d; ++k) {
      const auto [loss, slope] = f(static_cast<double>(p[k]) - t[k]);
      total += loss;
      if (grad) grad[k] = static_cast<float>(slope / d);
    }
    out[i] = static_cast<float>(total / d);
  }
}

struct Value {
  double loss, slope;
};

}  // namespace

void MeanSquaredError::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                                  float* grad) const {
  elementwise(y_true, y_pred, out, grad, [](double e) { return Value{e * e, 2 * e}; });
}

// The slope at e == 0 is 0, as TensorFlow's gradient of abs.
void MeanAbsoluteError::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                                   float* grad) const {
  elementwise(y_true, y_pred, out, grad, [](double e) {
    return Value{std::abs(e), static_cast<double>((e > 0) - (e < 0))};
  });
}

// Quadratic within delta, linear beyond: 0.5 e^2 or delta (|e| - 0.5 delta).
void Huber::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                       float* grad) const {
  const double delta = delta_;
  elementwise(y_true, y_pred, out, grad, [delta](double e) {
    const double a = std::abs(e);
    if (a <= delta) return Value{0.5 * e * e, e};
    return Value{delta * a - 0.5 * delta * delta, e > 0 ? delta : -delta};
  });
}

json Huber::get_config() const {
  json config = Loss::get_config();
  config["delta"] = delta_;
  return config;
}

}  // namespace fitrun::losses
