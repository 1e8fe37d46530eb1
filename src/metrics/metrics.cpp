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
#include "fitrun/ops.hpp"
#include "metrics/metric_rows.hpp"

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

/// Calls f(typed host label pointer) for float32, int32 or int64 labels.
template <class F>
void with_labels(const Tensor& y_true, F&& f) {
  switch (y_true.dtype()) {
    case DType::float32: return f(y_true.data<float>());
    case DType::int32: return f(y_true.data<int32_t>());
    case DType::int64: return f(y_true.data<int64_t>());
  }
}

/// The host update: adds the rows' values (metric_rows.hpp). Element-wise metrics see all
/// elements as one row and divide the sum by C, as Keras averages over the last axis.
void add_rows(const RowSpec& spec, const Layout& l, const Tensor& y_true, const Tensor& y_pred,
              double& total, double& count) {
  const float* p = y_pred.data<float>();
  double sum = 0;
  with_labels(y_true, [&](const auto* t) {
    if (spec.elementwise()) {
      sum = rows::value(spec, p, t, y_pred.size()) / static_cast<double>(l.c);
      return;
    }
    const int64_t stride = spec.sparse() ? 1 : l.c;
    for (int64_t r = 0; r < l.n * l.t; ++r)
      sum += rows::value(spec, p + r * l.c, t + r * stride, l.c);
  });
  total += sum;
  count += static_cast<double>(l.n * l.t);
}

}  // namespace

double Metric::result() const {
  double total = total_, count = count_;
  if (device_.values.defined()) {
    double on_device[2];
    ops::read_doubles(device_.values, on_device);
    total += on_device[0];
    count += on_device[1];
  }
  return count > 0 ? total / count : 0.0;
}

void Metric::reset_state() {
  total_ = 0;
  count_ = 0;
  if (device_.values.defined()) ops::zero_doubles(device_.values);
}

bool Metric::enqueue_update(const RowSpec& spec, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_pred.defined() || !y_pred.device().is_cuda()) return false;
  if (!device_.values.defined() || device_.values.device() != y_pred.device())
    device_.values = ops::device_doubles(2, y_pred.device());
  ops::metric_on_device(spec, y_true, y_pred, device_.values);
  return true;
}

void Mean::update_on_device(const Tensor& values, int64_t first, const double* coeffs, int n,
                            double constant, double weight) {
  if (!device_.values.defined() || device_.values.device() != values.device())
    device_.values = ops::device_doubles(2, values.device());
  ops::mean_on_device(device_.values, values, first, coeffs, n, constant, weight);
}

void Accuracy::update_state(const Tensor&, const Tensor&) {
  throw Error("metric \"" + name() +
              "\" has not been resolved: compile() turns \"accuracy\" into binary, categorical "
              "or sparse categorical accuracy from the loss (see resolve_accuracy)");
}

// Sparse metrics take one class index per row, the others one label per prediction. The
// class's own formula (Class::row_spec, not a subclass's override) decides.
#define FITRUN_METRIC_UPDATE(Class)                                                  \
  void Class::update_state(const Tensor& y_true, const Tensor& y_pred) {             \
    const RowSpec spec = Class::row_spec();                                          \
    const Layout l = spec.sparse() ? sparse_layout(name(), y_true, y_pred)           \
                                   : dense_layout(name(), y_true, y_pred);           \
    if (!enqueue_update(spec, y_true, y_pred))                                       \
      add_rows(spec, l, y_true, y_pred, total_, count_);                             \
  }
FITRUN_METRIC_UPDATE(SparseCategoricalAccuracy)
FITRUN_METRIC_UPDATE(CategoricalAccuracy)
// A prediction counts as 1 when strictly above the threshold, and must equal its label.
FITRUN_METRIC_UPDATE(BinaryAccuracy)
FITRUN_METRIC_UPDATE(MeanAbsoluteError)
FITRUN_METRIC_UPDATE(MeanSquaredError)
FITRUN_METRIC_UPDATE(SparseTopKCategoricalAccuracy)
#undef FITRUN_METRIC_UPDATE

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
