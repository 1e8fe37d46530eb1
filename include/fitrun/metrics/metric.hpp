#pragma once
// Metrics: stateful accumulators (update_state / result / reset_state) as in Keras. Values are
// running means over the epoch, weighted by sample count.
#include <memory>
#include <string>

#include "fitrun/metrics/row_spec.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::metrics {

class Metric {
 public:
  explicit Metric(std::string name) : name_(std::move(name)) {}
  virtual ~Metric() = default;
  /// Adds a batch (y_pred viewed as (N, D)). Built-in metrics also take tensors on a GPU:
  /// they then only enqueue kernels that add into totals kept in device memory.
  virtual void update_state(const Tensor& y_true, const Tensor& y_pred) = 0;
  /// The running value; reads device totals back (one host sync) when there are any.
  virtual double result() const;
  virtual void reset_state();
  /// The formula the device kernels compute; kind none (a user's subclass) means update_state
  /// needs host tensors, and a model on a GPU gives it host copies of its outputs.
  virtual RowSpec row_spec() const { return {}; }
  /// The log key ("accuracy", "mae").
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  virtual std::string class_name() const = 0;
  virtual std::shared_ptr<Metric> clone() const = 0;

  /// "accuracy"/"acc" (resolved later from the loss), "mae", "sparse_categorical_accuracy"...
  static std::shared_ptr<Metric> get(const std::string& name);

 protected:
  /// update_state's GPU branch for built-in metrics: enqueues the kernels of `spec` (shapes
  /// already checked); false (nothing done) when y_pred is on the host.
  bool enqueue_update(const RowSpec& spec, const Tensor& y_true, const Tensor& y_pred);
  /// (total, count) as float64 in device memory (ops::device_doubles), made on first use.
  /// A copied metric (clone) starts without it.
  struct DeviceTotals {
    Tensor values;
    DeviceTotals() = default;
    DeviceTotals(const DeviceTotals&) {}
    DeviceTotals& operator=(const DeviceTotals&) { return *this; }
  };
  DeviceTotals device_;
  double total_ = 0;
  double count_ = 0;

 private:
  std::string name_;
};

using MetricPtr = std::shared_ptr<Metric>;

/// Stand-in for "accuracy" until compile() picks binary/categorical/sparse from the loss.
class Accuracy : public Metric {
 public:
  explicit Accuracy(std::string name = "accuracy") : Metric(std::move(name)) {}
  void update_state(const Tensor&, const Tensor&) override;
  std::string class_name() const override { return "Accuracy"; }
  std::shared_ptr<Metric> clone() const override { return std::make_shared<Accuracy>(*this); }
};

#define FITRUN_METRIC(Class, kind, default_name)                                      \
  class Class : public Metric {                                                   \
   public:                                                                        \
    explicit Class(std::string name = default_name) : Metric(std::move(name)) {}  \
    void update_state(const Tensor& y_true, const Tensor& y_pred) override;       \
    RowSpec row_spec() const override { return {RowSpec::Kind::kind}; }           \
    std::string class_name() const override { return #Class; }                    \
    std::shared_ptr<Metric> clone() const override {                              \
      return std::make_shared<Class>(*this);                                      \
    }                                                                             \
  };

FITRUN_METRIC(SparseCategoricalAccuracy, sparse_categorical_accuracy, "sparse_categorical_accuracy")
FITRUN_METRIC(CategoricalAccuracy, categorical_accuracy, "categorical_accuracy")
FITRUN_METRIC(MeanAbsoluteError, absolute_error, "mean_absolute_error")
FITRUN_METRIC(MeanSquaredError, squared_error, "mean_squared_error")
#undef FITRUN_METRIC

class BinaryAccuracy : public Metric {
 public:
  explicit BinaryAccuracy(std::string name = "binary_accuracy", float threshold = 0.5f)
      : Metric(std::move(name)), threshold_(threshold) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred) override;
  RowSpec row_spec() const override { return {RowSpec::Kind::binary_accuracy, threshold_}; }
  std::string class_name() const override { return "BinaryAccuracy"; }
  std::shared_ptr<Metric> clone() const override { return std::make_shared<BinaryAccuracy>(*this); }

 private:
  float threshold_;
};

class SparseTopKCategoricalAccuracy : public Metric {
 public:
  explicit SparseTopKCategoricalAccuracy(int k = 5,
                                         std::string name = "sparse_top_k_categorical_accuracy")
      : Metric(std::move(name)), k_(k) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred) override;
  RowSpec row_spec() const override {
    return {RowSpec::Kind::sparse_top_k_categorical_accuracy, 0.5f, k_};
  }
  std::string class_name() const override { return "SparseTopKCategoricalAccuracy"; }
  std::shared_ptr<Metric> clone() const override {
    return std::make_shared<SparseTopKCategoricalAccuracy>(*this);
  }

 private:
  int k_;
};

/// Mean of values weighted by counts (the loss tracker).
class Mean : public Metric {
 public:
  explicit Mean(std::string name = "mean") : Metric(std::move(name)) {}
  void update_state(const Tensor&, const Tensor&) override {}
  void update(double value, double weight = 1.0) { total_ += value * weight; count_ += weight; }
  /// The same in device memory, enqueued on values' GPU without a host read:
  /// total += weight * (constant + Σ_j coeffs[j] * values[first + j]), count += weight, where
  /// `values` holds float64s (ops::device_doubles).
  void update_on_device(const Tensor& values, int64_t first, const double* coeffs, int n,
                        double constant, double weight);
  std::string class_name() const override { return "Mean"; }
  std::shared_ptr<Metric> clone() const override { return std::make_shared<Mean>(*this); }
};

/// What "accuracy"/"acc" means for a model, as Keras decides it at compile time: binary
/// accuracy for BinaryCrossentropy or a one-unit output, sparse categorical accuracy for
/// SparseCategoricalCrossentropy, categorical accuracy otherwise. `loss_class_name` is the
/// loss's class_name() (or its snake_case name); `y_pred_per_sample` the output's shape without
/// the batch dimension. The returned metric is called `name` (the log key, e.g. "accuracy").
std::shared_ptr<Metric> resolve_accuracy(const std::string& loss_class_name,
                                         const Shape& y_pred_per_sample,
                                         const std::string& name = "accuracy");

}  // namespace fitrun::metrics

namespace fitrun {
using MetricRef = Ref<metrics::Metric>;
}
