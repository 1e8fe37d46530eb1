// Metric updates, the name registry behind Metric::get, and Keras' choice of accuracy.
// y_pred is viewed as (N, T, C): C values on the last axis, T positions (timesteps) per
// sample. As Keras' MeanMetricWrapper, a metric averages its per-position values, so a
// batch adds N * T to the count (N for ordinary (N, C) outputs).
#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "fitrun/error.hpp"
#include "fitrun/metrics/metric.hpp"

namespace fitrun::metrics {

namespace {

struct Layout {
  int64_t n = 0, t = 0, c = 1;
};

Layout layout_of(const std::string& metric, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined() || !y_pred.defined() || y_pred.rank() < 1 || y_true.rank() < 1 ||
      y_true.dim(0) != y_pred.dim(0))
    throw ShapeError(metric + ": labels of shape " + y_true.shape().to_string() +
                     " do not fit predictions of shape " + y_pred.shape().to_string());
  if (y_pred.dtype() != DType::float32)
    throw Error(metric + ": predictions must be float32, got " + dtype_name(y_pred.dtype()));
  Layout l;
  l.n = y_pred.dim(0);
  l.c = y_pred.rank() >= 2 ? y_pred.dim(-1) : 1;
  l.t = l.n > 0 && l.c > 0 ? y_pred.size() / l.n / l.c : 0;
  return l;
}

// Labels with one value per prediction (one-hot, binary targets, regression targets).
Layout dense_layout(const std::string& metric, const Tensor& y_true, const Tensor& y_pred) {
  Layout l = layout_of(metric, y_true, y_pred);
  if (y_true.size() != y_pred.size())
    throw ShapeError(metric + ": labels of shape " + y_true.shape().to_string() +
                     " do not fit predictions of shape " + y_pred.shape().to_string() +
                     "; expected one label per prediction");
  return l;
}

// Labels with one class index per position.
Layout sparse_layout(const std::string& metric, const Tensor& y_true, const Tensor& y_pred) {
  Layout l = layout_of(metric, y_true, y_pred);
  if (y_true.size() != l.n * l.t)
    throw ShapeError(metric + ": labels of shape " + y_true.shape().to_string() +
                     " do not fit predictions of shape " + y_pred.shape().to_string() +
                     "; expected one class index per row of " + std::to_string(l.c) +
                     " predictions");
  return l;
}

// First index of the largest value, as argmax.
int64_t argmax(const float* x, int64_t c) { return std::max_element(x, x + c) - x; }

}  // namespace

void Accuracy::update_state(const Tensor&, const Tensor&) {
  throw Error("metric \"" + name() +
              "\" has not been resolved: compile() turns \"accuracy\" into binary, categorical "
              "or sparse categorical accuracy from the loss (see resolve_accuracy)");
}

void SparseCategoricalAccuracy::update_state(const Tensor& y_true, const Tensor& y_pred) {
  const Layout l = sparse_layout(name(), y_true, y_pred);
  const float* p = y_pred.data<float>();
  int64_t hits = 0;
  for (int64_t r = 0; r < l.n * l.t; ++r)
    hits += static_cast<double>(argmax(p + r * l.c, l.c)) == y_true.flat(r);
  total_ += static_cast<double>(hits);
  count_ += static_cast<double>(l.n * l.t);
}

void CategoricalAccuracy::update_state(const Tensor& y_true, const Tensor& y_pred) {
  const Layout l = dense_layout(name(), y_true, y_pred);
  const float* p = y_pred.data<float>();
  int64_t hits = 0;
  for (int64_t r = 0; r < l.n * l.t; ++r) {
    // Labels may be any dtype: find their argmax through flat().
    int64_t best = 0;
    for (int64_t j = 1; j < l.c; ++j)
      if (y_true.flat(r * l.c + j) > y_true.flat(r * l.c + best)) best = j;
    hits += argmax(p + r * l.c, l.c) == best;
  }
  total_ += static_cast<double>(hits);
  count_ += static_cast<double>(l.n * l.t);
}

// A prediction counts as 1 when strictly above the threshold, and must equal its label.
void BinaryAccuracy::update_state(const Tensor& y_true, const Tensor& y_pred) {
  const Layout l = dense_layout(name(), y_true, y_pred);
  const float* p = y_pred.data<float>();
  int64_t hits = 0;
  for (int64_t k = 0; k < y_pred.size(); ++k)
    hits += (p[k] > threshold_ ? 1.0 : 0.0) == y_true.flat(k);
  total_ += static_cast<double>(hits) / static_cast<double>(l.c);
  count_ += static_cast<double>(l.n * l.t);
}

void MeanAbsoluteError::update_state(const Tensor& y_true, const Tensor& y_pred) {
  const Layout l = dense_layout(name(), y_true, y_pred);
  const float* p = y_pred.data<float>();
  double sum = 0;
  for (int64_t k = 0; k < y_pred.size(); ++k) sum += std::abs(p[k] - y_true.flat(k));
  total_ += sum / static_cast<double>(l.c);
  count_ += static_cast<double>(l.n * l.t);
}

void MeanSquaredError::update_state(const Tensor& y_true, const Tensor& y_pred) {
  const Layout l = dense_layout(name(), y_true, y_pred);
  const float* p = y_pred.data<float>();
  double sum = 0;
  for (int64_t k = 0; k < y_pred.size(); ++k) {
    const double e = p[k] - y_true.flat(k);
    sum += e * e;
  }
  total_ += sum / static_cast<double>(l.c);
  count_ += static_cast<double>(l.n * l.t);
}

// In the top k when fewer than k classes score strictly higher than the label's class, so
// ties at the boundary count as hits (TensorFlow's in_top_k). Invalid labels are misses.
void SparseTopKCategoricalAccuracy::update_state(const Tensor& y_true, const Tensor& y_pred) {
  const Layout l = sparse_layout(name(), y_true, y_pred);
  const float* p = y_pred.data<float>();
  int64_t hits = 0;
  for (int64_t r = 0; r < l.n * l.t; ++r) {
    const double label = y_true.flat(r);
    if (!(label >= 0 && label < static_cast<double>(l.c)) || label != static_cast<int64_t>(label))
      continue;
    const float* x = p + r * l.c;
    const float target = x[static_cast<int64_t>(label)];
    const int64_t higher = std::count_if(x, x + l.c, [target](float v) { return v > target; });
    hits += higher < k_;
  }
  total_ += static_cast<double>(hits);
  count_ += static_cast<double>(l.n * l.t);
}

namespace {

using Factory = std::function<MetricPtr(const std::string& name)>;

template <class T>
Factory named() {  // the identifier becomes the log key, as Keras does for strings
  return [](const std::string& name) { return std::make_shared<T>(name); };
}

template <class T>
Factory by_class() {  // a class name builds the class with its default name
  return [](const std::string&) { return std::make_shared<T>(); };
}

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> entries = {
      {"accuracy", named<Accuracy>()},
      {"acc", named<Accuracy>()},
      {"sparse_categorical_accuracy", named<SparseCategoricalAccuracy>()},
      {"categorical_accuracy", named<CategoricalAccuracy>()},
      {"binary_accuracy", named<BinaryAccuracy>()},
      {"mean_absolute_error", named<MeanAbsoluteError>()},
      {"mae", named<MeanAbsoluteError>()},
      {"mean_squared_error", named<MeanSquaredError>()},
      {"mse", named<MeanSquaredError>()},
      {"sparse_top_k_categorical_accuracy",
       [](const std::string& name) {
         return std::make_shared<SparseTopKCategoricalAccuracy>(5, name);
       }},
      {"top_k",
       [](const std::string& name) {
         return std::make_shared<SparseTopKCategoricalAccuracy>(5, name);
       }},
      {"SparseCategoricalAccuracy", by_class<SparseCategoricalAccuracy>()},
      {"CategoricalAccuracy", by_class<CategoricalAccuracy>()},
      {"BinaryAccuracy", by_class<BinaryAccuracy>()},
      {"MeanAbsoluteError", by_class<MeanAbsoluteError>()},
      {"MeanSquaredError", by_class<MeanSquaredError>()},
      {"SparseTopKCategoricalAccuracy", by_class<SparseTopKCategoricalAccuracy>()},
  };
  return entries;
}

}  // namespace

MetricPtr Metric::get(const std::string& name) {
  std::string known;
  for (const auto& [key, factory] : registry()) {
    if (key == name) return factory(name);
    known += (known.empty() ? "" : ", ") + key;
  }
  throw ConfigError("unknown metric \"" + name + "\"; known metrics: " + known);
}

MetricPtr resolve_accuracy(const std::string& loss_class_name, const Shape& y_pred_per_sample,
                           const std::string& name) {
  const bool one_unit = y_pred_per_sample.rank() == 0 || y_pred_per_sample.dim(-1) == 1;
  if (loss_class_name == "BinaryCrossentropy" || loss_class_name == "binary_crossentropy" ||
      one_unit)
    return std::make_shared<BinaryAccuracy>(name);
  if (loss_class_name == "SparseCategoricalCrossentropy" ||
      loss_class_name == "sparse_categorical_crossentropy")
    return std::make_shared<SparseCategoricalAccuracy>(name);
  return std::make_shared<CategoricalAccuracy>(name);
}

}  // namespace fitrun::metrics
