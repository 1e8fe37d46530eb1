#pragma once
// The per-row maths of the built-in losses, shared by the CPU loops (losses/*.cpp) and the CUDA
// kernels (src/backend/cuda/losses.cu), so that both devices compute the same formula.
// A row is one position of a prediction: its C values on the last axis. Each function returns
// the row's loss (a sum over its values) and, when `g` is non-null, writes
// d(loss)/d(x_j) / `div` into g[j] as float (div: the positions or elements a sample's loss
// averages over). Maths in double; only the standard maths both compilers provide.
#include <cmath>
#include <cstdint>

#include "fitrun/host_device.hpp"
#include "fitrun/losses/row_spec.hpp"


namespace fitrun::losses::rows {

constexpr double kEpsilon = 1e-7;  // Keras' backend.epsilon()

FITRUN_HD inline bool clipped(double q) { return q < kEpsilon || q > 1.0 - kEpsilon; }
FITRUN_HD inline double clip(double q) {
  return q < kEpsilon ? kEpsilon : (q > 1.0 - kEpsilon ? 1.0 - kEpsilon : q);
}

// Max-shifted log-sum-exp of one row.
FITRUN_HD inline double log_sum_exp(const float* z, int64_t c) {
  float m = z[0];
  for (int64_t j = 1; j < c; ++j)
    if (m < z[j]) m = z[j];
  double s = 0;
  for (int64_t j = 0; j < c; ++j) s += exp(static_cast<double>(z[j]) - m);
  return m + log(s);
}

FITRUN_HD inline double row_sum(const float* p, int64_t c) {
  double s = 0;
  for (int64_t j = 0; j < c; ++j) s += p[j];
  return s;
}

/// Sparse categorical crossentropy of class `y`: lse(z) - z_y (logits) or -log(clip(p_y / Σp)).
FITRUN_HD inline double sparse_crossentropy(const float* x, int64_t c, int64_t y, bool logits,
                                            float* g, double div) {
  if (logits) {
    const double lse = log_sum_exp(x, c);
    if (g) {
      for (int64_t j = 0; j < c; ++j) g[j] = static_cast<float>(exp(x[j] - lse) / div);
      g[y] -= static_cast<float>(1.0 / div);
    }
    return lse - x[y];
  }
  const double s = row_sum(x, c);
  const double q = x[y] / s;
  if (g) {
    // d/dp_j of -log(p_y / s) = 1/s - [j == y]/p_y; zero once clipped.
    const bool flat = clipped(q);
    for (int64_t j = 0; j < c; ++j) g[j] = flat ? 0.f : static_cast<float>(1.0 / s / div);
    if (!flat) g[y] -= static_cast<float>(1.0 / x[y] / div);
  }
  return -log(clip(q));
}

/// Categorical crossentropy with labels `t` smoothed as t * keep + spread:
/// -Σ t_c log_softmax(z)_c (logits) or -Σ t_c log(clip(p_c / Σp)).
template <class Label>
FITRUN_HD inline double categorical_crossentropy(const float* x, const Label* t, int64_t c,
                                                 bool logits, double keep, double spread,
                                                 float* g, double div) {
  double total = 0;
  if (logits) {
    const double lse = log_sum_exp(x, c);
    double t_sum = 0;
    for (int64_t j = 0; j < c; ++j) {
      const double tj = static_cast<float>(t[j]) * keep + spread;
      t_sum += tj;
      total += tj * (lse - x[j]);
    }
    if (g)
      for (int64_t j = 0; j < c; ++j)
        g[j] = static_cast<float>(
            (exp(x[j] - lse) * t_sum - (static_cast<float>(t[j]) * keep + spread)) / div);
    return total;
  }
  const double s = row_sum(x, c);
  double live_t = 0;  // Σ t_c over unclipped classes
  for (int64_t j = 0; j < c; ++j) {
    const double tj = static_cast<float>(t[j]) * keep + spread;
    const double q = x[j] / s;
    total -= tj * log(clip(q));
    if (!clipped(q)) live_t += tj;
  }
  if (g)
    // d/dp_j of -Σ t_c log(p_c / s) over unclipped c = -t_j/p_j [j unclipped] + live_t/s.
    for (int64_t j = 0; j < c; ++j) {
      const double tj = static_cast<float>(t[j]) * keep + spread;
      const double own = clipped(x[j] / s) ? 0.0 : tj / x[j];
      g[j] = static_cast<float>((live_t / s - own) / div);
    }
  return total;
}

/// A loss value and its slope with respect to the prediction.
struct Value {
  double loss, slope;
};

/// Binary crossentropy of one element, label t already smoothed:
/// max(z, 0) - z t + log(1 + e^-|z|) (logits) or -(t log p + (1-t) log(1-p)), p clipped.
FITRUN_HD inline Value binary_crossentropy(double x, double t, bool logits) {
  if (logits)
    return {(x < 0.0 ? 0.0 : x) - x * t + log1p(exp(-fabs(x))), 1.0 / (1.0 + exp(-x)) - t};
  const double p = clip(x);
  return {-(t * log(p) + (1 - t) * log(1 - p)), clipped(x) ? 0.0 : (1 - t) / (1 - x) - t / x};
}

// Regression losses of the error e = y_pred - y_true.
FITRUN_HD inline Value squared_error(double e) { return {e * e, 2 * e}; }
// The slope at e == 0 is 0, as TensorFlow's gradient of abs.
FITRUN_HD inline Value absolute_error(double e) {
  return {fabs(e), static_cast<double>((e > 0) - (e < 0))};
}
// Quadratic within delta, linear beyond: 0.5 e^2 or delta (|e| - 0.5 delta).
FITRUN_HD inline Value huber(double e, double delta) {
  const double a = fabs(e);
  if (a <= delta) return {0.5 * e * e, e};
  return {delta * a - 0.5 * delta * delta, e > 0 ? delta : -delta};
}

/// One row of an element-wise loss (binary crossentropy, regression): the sum of its
/// elements' losses, slopes / div into g. Labels of any numeric type.
template <class Label>
FITRUN_HD inline double elementwise_row(const RowSpec& s, const float* x, const Label* t, int64_t c,
                                        float* g, double div) {
  const double keep = 1.0 - s.label_smoothing, half = 0.5 * s.label_smoothing;
  double total = 0;
  for (int64_t j = 0; j < c; ++j) {
    Value v;
    switch (s.kind) {
      case RowSpec::Kind::binary_crossentropy:
        v = binary_crossentropy(x[j], static_cast<float>(t[j]) * keep + half, s.from_logits);
        break;
      case RowSpec::Kind::squared_error:
        v = squared_error(static_cast<double>(x[j]) - static_cast<float>(t[j]));
        break;
      case RowSpec::Kind::absolute_error:
        v = absolute_error(static_cast<double>(x[j]) - static_cast<float>(t[j]));
        break;
      default: v = huber(static_cast<double>(x[j]) - static_cast<float>(t[j]), s.delta);
    }
    total += v.loss;
    if (g) g[j] = static_cast<float>(v.slope / div);
  }
  return total;
}

}  // namespace fitrun::losses::rows
