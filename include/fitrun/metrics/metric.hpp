#pragma once
// Metrics: stateful accumulators (update_state / result / reset_state) as in Keras. Values are
// running means over the epoch, weighted by sample count.
#include <memory>
#include <string>

#include "fitrun/ref.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::metrics {

class Metric {
 public:
  explicit Metric(std::string name) : name_(std::move(name)) {}
  virtual ~Metric() = default;
  /// Adds a batch (y_pred viewed as (N, D)).
  virtual void update_state(const Tensor& y_true, const Tensor& y_pred) = 0;
  virtual double result() const { return count_ > 0 ? total_ / count_ : 0.0; }
  virtual void reset_state() { total_ = 0; count_ = 0; }
  /// The log key ("accuracy", "mae").
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  virtual std::string class_name() const = 0;
  virtual std::shared_ptr<Metric> clone() const = 0;

  /// "accuracy"/"acc" (resolved later from the loss), "mae", "sparse_categorical_accuracy"...
  static std::shared_ptr<Metric> get(const std::string& name);

 protected:
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

#define FITRUN_METRIC(Class, default_name)                                        \
  class Class : public Metric {                                                   \
   public:                                                                        \
    explicit Class(std::string name = default_name) : Metric(std::move(name)) {}  \
    void update_state(const Tensor& y_true, const Tensor& y_pred) override;       \
    std::string class_name() const override { return #Class; }                    \
    std::shared_ptr<Metric> clone() const override {                              \
      return std::make_shared<Class>(*this);                                      \
    }                                                                             \
  };

FITRUN_METRIC(SparseCategoricalAccuracy, "sparse_categorical_accuracy")
FITRUN_METRIC(CategoricalAccuracy, "categorical_accuracy")
FITRUN_METRIC(MeanAbsoluteError, "mean_absolute_error")
FITRUN_METRIC(MeanSquaredError, "mean_squared_error")
#undef FITRUN_METRIC

class BinaryAccuracy : public Metric {
 public:
  explicit BinaryAccuracy(std::string name = "binary_accuracy", float threshold = 0.5f)
      : Metric(std::move(name)), threshold_(threshold) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred) override;
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
