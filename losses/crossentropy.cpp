// Cross-entropy losses with Keras' numerics: logits go through a max-shifted log-softmax (or
// the stable sigmoid form); probabilities are clipped to [eps, 1 - eps] with eps = 1e-7,
// categorical ones after normalising each row to sum 1 (Keras' categorical_crossentropy).
// The gradient is that of exactly this formula: zero where a probability was clipped.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "fitrun/error.hpp"
#include "fitrun/losses/loss.hpp"
#include "losses/loss_rows.hpp"

namespace fitrun::losses {

namespace {

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
      float* g = grad ? grad + row * l.c : nullptr;
      total += rows::sparse_crossentropy(z + row * l.c, l.c, y, logits, g,
                                         static_cast<double>(l.t));
    }
    out[i] = static_cast<float>(total / l.t);
  }
}

void SparseCategoricalCrossentropy::check_label_values(const Tensor& y_true,
                                                       const Tensor& y_pred) const {
  check_labels(name(), y_true, Layout(y_pred));
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
      float* g = grad ? grad + row * l.c : nullptr;
      total += rows::categorical_crossentropy(z + row * l.c, labels + row * l.c, l.c, logits,
                                              keep, spread, g, static_cast<double>(l.t));
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
  elementwise_per_sample(y_true, y_pred, out, grad);
}

}  // namespace fitrun::losses
