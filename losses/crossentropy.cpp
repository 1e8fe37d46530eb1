// Cross-entropy losses with Keras' numerics: logits go through a max-shifted log-softmax (or
// the stable sigmoid form); probabilities are clipped to [eps, 1 - eps] with eps = 1e-7,
// categorical ones after normalising each row to sum 1 (Keras' categorical_crossentropy).
// The gradient is that of exactly this formula: zero where a probability was clipped.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "fitrun/error.hpp"
#include "fitrun/losses/loss.hpp"

namespace fitrun::losses {

namespace {

constexpr double kEpsilon = 1e-7;        // Keras' backend.epsilon()
constexpr int64_t kParallelWork = 1 << 15;  // below this, threads cost more than they save

// y_pred viewed as (N, T, C): C classes on the last axis, T positions (timesteps) per sample.
struct Layout {
  int64_t n, t, c;
  explicit Layout(const Tensor& y_pred)
      : n(y_pred.dim(0)), c(y_pred.rank() >= 2 ? y_pred.dim(-1) : 1) {
    t = n > 0 && c > 0 ? y_pred.size() / n / c : 0;
  }
};

void check_smoothing(const char* name, float label_smoothing) {
  if (!(label_smoothing >= 0.f && label_smoothing <= 1.f))
    throw ConfigError(std::string(name) + ": label_smoothing must be in [0, 1], got " +
                      std::to_string(label_smoothing));
}

json crossentropy_config(json config, const CrossentropyOptions& o) {
  config["from_logits"] = o.from_logits;
  config["label_smoothing"] = o.label_smoothing;
  config["axis"] = -1;
  return config;
}

std::string label_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Sparse labels may be int32, int64 or float32 holding integers; all must name a class.
void check_labels(const std::string& loss, const Tensor& y_true, const Layout& l) {
  for (int64_t k = 0; k < l.n * l.t; ++k) {
    const double v = y_true.flat(k);
    const int64_t sample = k / l.t;
    if (v != std::floor(v))
      throw Error(loss + ": label " + label_text(v) + " of sample " + std::to_string(sample) +
                  " is not an integer class index");
    if (v < 0 || v >= static_cast<double>(l.c))
      throw Error(loss + ": label " + label_text(v) + " of sample " + std::to_string(sample) +
                  " is out of range [0, " + std::to_string(l.c) + ")");
  }
}

// Max-shifted log-sum-exp of one row.
double log_sum_exp(const float* z, int64_t c) {
  const double m = *std::max_element(z, z + c);
  double s = 0;
  for (int64_t j = 0; j < c; ++j) s += std::exp(z[j] - m);
  return m + std::log(s);
}

double row_sum(const float* p, int64_t c) {
  double s = 0;
  for (int64_t j = 0; j < c; ++j) s += p[j];
  return s;
}

bool clipped(double q) { return q < kEpsilon || q > 1.0 - kEpsilon; }
double clip(double q) { return std::clamp(q, kEpsilon, 1.0 - kEpsilon); }

}  // namespace

// ---- SparseCategoricalCrossentropy ----

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(CrossentropyOptions o)
    : Loss("sparse_categorical_crossentropy", o.reduction), opts_(o) {
  if (o.label_smoothing != 0.f)
    throw ConfigError(
        "sparse_categorical_crossentropy: label_smoothing is not supported (as in Keras); use "
        "categorical_crossentropy with one-hot labels");
}

json SparseCategoricalCrossentropy::get_config() const {
  json config = Loss::get_config();
  config["from_logits"] = opts_.from_logits;
  config["ignore_class"] = nullptr;
  return config;
}

// Labels are the prediction shape without its class axis, optionally with a trailing 1:
// (C,) predictions take () or (1,) labels, (T, C) take (T,) or (T, 1).
void SparseCategoricalCrossentropy::check_shapes(const Shape& y_true, const Shape& y_pred) const {
  if (y_pred.rank() == 0)
    throw ShapeError(name() + ": predictions of shape " + y_pred.to_string() +
                     " have no class axis for labels of shape " + y_true.to_string());
  Shape head;
  for (int i = 0; i + 1 < y_pred.rank(); ++i) head.push_back(y_pred[i]);
  Shape head_1 = head;
  head_1.push_back(1);
  if (y_true != head && y_true != head_1)
    throw ShapeError(name() + ": labels of shape " + y_true.to_string() +
                     " do not fit predictions of shape " + y_pred.to_string() +
                     "; expected labels of shape " + head.to_string() + " or " +
                     head_1.to_string());
}

// Per position: l = lse(z) - z_y (logits) or -log(clip(p_y / Σp)) (probabilities); the
// per-sample loss is the mean over the T positions.
void SparseCategoricalCrossentropy::per_sample(const Tensor& y_true, const Tensor& y_pred,
                                               float* out, float* grad) const {
  const Layout l(y_pred);
  check_labels(name(), y_true, l);
  const float* z = y_pred.data<float>();
  const bool logits = opts_.from_logits;
#pragma omp parallel for schedule(static) if (y_pred.size() >= kParallelWork)
  for (int64_t i = 0; i < l.n; ++i) {
    double total = 0;
    for (int64_t t = 0; t < l.t; ++t) {
      const int64_t row = i * l.t + t;
      const int64_t y = static_cast<int64_t>(y_true.flat(row));
      const float* x = z + row * l.c;
      float* g = grad ? grad + row * l.c : nullptr;
      if (logits) {
        const double lse = log_sum_exp(x, l.c);
        total += lse - x[y];
        if (g) {
          for (int64_t j = 0; j < l.c; ++j) g[j] = static_cast<float>(std::exp(x[j] - lse) / l.t);
          g[y] -= static_cast<float>(1.0 / l.t);
        }
      } else {
        const double s = row_sum(x, l.c);
        const double q = x[y] / s;
        total += -std::log(clip(q));
        if (g) {
          // d/dp_j of -log(p_y / s) = 1/s - [j == y]/p_y; zero once clipped.
          const bool flat = clipped(q);
          for (int64_t j = 0; j < l.c; ++j) g[j] = flat ? 0.f : static_cast<float>(1.0 / s / l.t);
          if (!flat) g[y] -= static_cast<float>(1.0 / x[y] / l.t);
        }
      }
    }
    out[i] = static_cast<float>(total / l.t);
  }
}

// ---- CategoricalCrossentropy ----

CategoricalCrossentropy::CategoricalCrossentropy(CrossentropyOptions o)
    : Loss("categorical_crossentropy", o.reduction), opts_(o) {
  check_smoothing("categorical_crossentropy", o.label_smoothing);
}

json CategoricalCrossentropy::get_config() const {
  return crossentropy_config(Loss::get_config(), opts_);
}

// The common mistake is integer labels with categorical_crossentropy: say what to use instead.
void CategoricalCrossentropy::check_shapes(const Shape& y_true, const Shape& y_pred) const {
  try {
    Loss::check_shapes(y_true, y_pred);
  } catch (const ShapeError& e) {
    Shape head;
    for (int i = 0; i + 1 < y_pred.rank(); ++i) head.push_back(y_pred[i]);
    Shape head_1 = head;
    head_1.push_back(1);
    if (y_pred.rank() > 0 && (y_true == head || y_true == head_1))
      throw ShapeError(std::string(e.what()) +
                       " (one-hot); for integer class labels use sparse_categorical_crossentropy");
    throw;
  }
}

// Per position: l = -Σ t_c log_softmax(z)_c (logits) or -Σ t_c log(clip(p_c / Σp)); labels
// smoothed as t (1 - ls) + ls / C.
void CategoricalCrossentropy::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                                         float* grad) const {
  const Layout l(y_pred);
  const float* z = y_pred.data<float>();
  const float* labels = y_true.data<float>();
  const double keep = 1.0 - opts_.label_smoothing;
  const double spread = static_cast<double>(opts_.label_smoothing) / static_cast<double>(l.c);
  const bool logits = opts_.from_logits;
#pragma omp parallel for schedule(static) if (y_pred.size() >= kParallelWork)
  for (int64_t i = 0; i < l.n; ++i) {
    double total = 0;
    for (int64_t t = 0; t < l.t; ++t) {
      const int64_t row = i * l.t + t;
      const float* x = z + row * l.c;
      const float* y = labels + row * l.c;
      float* g = grad ? grad + row * l.c : nullptr;
      if (logits) {
        const double lse = log_sum_exp(x, l.c);
        double t_sum = 0;
        for (int64_t j = 0; j < l.c; ++j) {
          const double tj = y[j] * keep + spread;
          t_sum += tj;
          total += tj * (lse - x[j]);
        }
        if (g)
          for (int64_t j = 0; j < l.c; ++j)
            g[j] = static_cast<float>((std::exp(x[j] - lse) * t_sum - (y[j] * keep + spread)) / l.t);
      } else {
        const double s = row_sum(x, l.c);
        double live_t = 0;  // Σ t_c over unclipped classes
        for (int64_t j = 0; j < l.c; ++j) {
          const double tj = y[j] * keep + spread;
          const double q = x[j] / s;
          total -= tj * std::log(clip(q));
          if (!clipped(q)) live_t += tj;
        }
        if (g)
          // d/dp_j of -Σ t_c log(p_c / s) over unclipped c = -t_j/p_j [j unclipped] + live_t/s.
          for (int64_t j = 0; j < l.c; ++j) {
            const double tj = y[j] * keep + spread;
            const double own = clipped(x[j] / s) ? 0.0 : tj / x[j];
            g[j] = static_cast<float>((live_t / s - own) / l.t);
          }
      }
    }
    out[i] = static_cast<float>(total / l.t);
  }
}

// ---- BinaryCrossentropy ----

BinaryCrossentropy::BinaryCrossentropy(CrossentropyOptions o)
    : Loss("binary_crossentropy", o.reduction), opts_(o) {
  check_smoothing("binary_crossentropy", o.label_smoothing);
}

json BinaryCrossentropy::get_config() const {
  return crossentropy_config(Loss::get_config(), opts_);
}

// Per element: max(z, 0) - z t + log(1 + e^-|z|) (logits) or -(t log p + (1-t) log(1-p)) with
// p clipped; labels smoothed towards 0.5. Per sample: the mean over all its elements.
void BinaryCrossentropy::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                                    float* grad) const {
  const int64_t n = y_pred.dim(0);
  const int64_t d = y_pred.size() / n;
  const float* z = y_pred.data<float>();
  const float* labels = y_true.data<float>();
  const double keep = 1.0 - opts_.label_smoothing;
  const double half = 0.5 * opts_.label_smoothing;
  const bool logits = opts_.from_logits;
#pragma omp parallel for schedule(static) if (y_pred.size() >= kParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    double total = 0;
    for (int64_t k = i * d; k < (i + 1) * d; ++k) {
      const double t = labels[k] * keep + half;
      const double x = z[k];
      double dl;
      if (logits) {
        total += std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::abs(x)));
        dl = 1.0 / (1.0 + std::exp(-x)) - t;
      } else {
        const double p = clip(x);
        total -= t * std::log(p) + (1 - t) * std::log(1 - p);
        dl = clipped(x) ? 0.0 : (1 - t) / (1 - x) - t / x;
      }
      if (grad) grad[k] = static_cast<float>(dl / d);
    }
    out[i] = static_cast<float>(total / d);
  }
}

}  // namespace fitrun::losses
