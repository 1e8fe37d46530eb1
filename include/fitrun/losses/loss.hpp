#pragma once
// Loss: reduces (y_true, y_pred) to a scalar and writes dL/dy_pred in the same pass.
#include <memory>
#include <string>

#include "fitrun/json.hpp"
#include "fitrun/losses/row_spec.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::losses {

/// Keras' reductions. sum_over_batch_size (the default) divides by the number of samples
/// (times timesteps for sequence outputs).
enum class Reduction { sum_over_batch_size, sum, none };

class Loss {
 public:
  explicit Loss(std::string name, Reduction reduction = Reduction::sum_over_batch_size)
      : name_(std::move(name)), reduction_(reduction) {}
  virtual ~Loss() = default;

  /// Loss value for the batch. When `grad` is non-null, writes dL/dy_pred (scaled by `scale`,
  /// e.g. a loss weight) into it. `sample_weight`, if non-null, is one weight per sample.
  /// Throws ShapeError when y_true does not fit y_pred. Tensors on a GPU (a loss with a
  /// device path) compute there; the value is then read back (one host sync).
  double compute(const Tensor& y_true, const Tensor& y_pred, Tensor* grad, float scale = 1.f,
                 const Tensor* sample_weight = nullptr) const;
  /// compute() on a GPU without a host read: every tensor on one CUDA device (sample_weight
  /// float32), the batch loss written as a float64 into result[slot] (ops::device_doubles).
  /// Sparse labels are not range-checked there (an invalid one gives a NaN loss): the model
  /// checks host labels before copying them. Throws unless has_device_path().
  void compute_on_device(const Tensor& y_true, const Tensor& y_pred, Tensor* grad, float scale,
                         const Tensor* sample_weight, Tensor& result, int64_t slot) const;
  /// The formula the device kernels compute; kind none (a user's subclass) has no device
  /// path, and a model on a GPU computes such a loss on host copies of its outputs.
  virtual RowSpec row_spec() const { return {}; }
  bool has_device_path() const { return row_spec().kind != RowSpec::Kind::none; }

  /// Checks (at compile/fit time) that labels of per-sample shape `y_true` suit predictions of
  /// per-sample shape `y_pred`; throws ShapeError naming the loss and both shapes.
  virtual void check_shapes(const Shape& y_true, const Shape& y_pred) const;
  /// Checks the values of host labels that the device kernels take unchecked (sparse class
  /// indices); a model calls it before copying labels to a GPU. Throws naming the loss.
  virtual void check_label_values(const Tensor& y_true, const Tensor& y_pred) const {}
  /// The dtype labels should have (int32 for sparse losses).
  virtual DType label_dtype() const { return DType::float32; }

  const std::string& name() const { return name_; }
  virtual std::string class_name() const = 0;
  virtual json get_config() const;
  Reduction reduction() const { return reduction_; }

  /// "sparse_categorical_crossentropy", "mse", "CategoricalCrossentropy", ...
  static std::shared_ptr<Loss> get(const std::string& name);

 protected:
  /// Per-sample losses into `per_sample` (N) and, when grad is non-null, per-element
  /// d(per_sample[i])/d(y_pred) into grad. y_pred is viewed as (N, D).
  virtual void per_sample(const Tensor& y_true, const Tensor& y_pred, float* per_sample,
                          float* grad) const = 0;
  /// per_sample for the element-wise row_spec() kinds (binary crossentropy, regression).
  void elementwise_per_sample(const Tensor& y_true, const Tensor& y_pred, float* per_sample,
                              float* grad) const;

 private:
  int64_t check_inputs(const Tensor& y_true, const Tensor& y_pred, const Tensor* grad,
                       const Tensor* sample_weight) const;
  /// What the weighted sum of per-sample losses is multiplied by (the reduction).
  double reduction_factor(const Tensor& y_pred) const;
  std::string name_;
  Reduction reduction_;
};

using LossPtr = std::shared_ptr<Loss>;

struct CrossentropyOptions {
  bool from_logits = false;
  float label_smoothing = 0.f;
  Reduction reduction = Reduction::sum_over_batch_size;
};

class SparseCategoricalCrossentropy : public Loss {
 public:
  explicit SparseCategoricalCrossentropy(CrossentropyOptions o = {});
  std::string class_name() const override { return "SparseCategoricalCrossentropy"; }
  RowSpec row_spec() const override {
    return {RowSpec::Kind::sparse_crossentropy, opts_.from_logits};
  }
  json get_config() const override;
  void check_shapes(const Shape& y_true, const Shape& y_pred) const override;
  DType label_dtype() const override { return DType::int32; }
  void check_label_values(const Tensor& y_true, const Tensor& y_pred) const override;
  bool from_logits() const { return opts_.from_logits; }

 protected:
  void per_sample(const Tensor&, const Tensor&, float*, float*) const override;

 private:
  CrossentropyOptions opts_;
};

class CategoricalCrossentropy : public Loss {
 public:
  explicit CategoricalCrossentropy(CrossentropyOptions o = {});
  std::string class_name() const override { return "CategoricalCrossentropy"; }
  RowSpec row_spec() const override {
    return {RowSpec::Kind::categorical_crossentropy, opts_.from_logits, opts_.label_smoothing};
  }
  json get_config() const override;
  void check_shapes(const Shape& y_true, const Shape& y_pred) const override;
  bool from_logits() const { return opts_.from_logits; }

 protected:
  void per_sample(const Tensor&, const Tensor&, float*, float*) const override;

 private:
  CrossentropyOptions opts_;
};

class BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(CrossentropyOptions o = {});
  std::string class_name() const override { return "BinaryCrossentropy"; }
  RowSpec row_spec() const override {
    return {RowSpec::Kind::binary_crossentropy, opts_.from_logits, opts_.label_smoothing};
  }
  json get_config() const override;
  bool from_logits() const { return opts_.from_logits; }

 protected:
  void per_sample(const Tensor&, const Tensor&, float*, float*) const override;

 private:
  CrossentropyOptions opts_;
};

class MeanSquaredError : public Loss {
 public:
  explicit MeanSquaredError(Reduction r = Reduction::sum_over_batch_size)
      : Loss("mean_squared_error", r) {}
  std::string class_name() const override { return "MeanSquaredError"; }
  RowSpec row_spec() const override { return {RowSpec::Kind::squared_error}; }

 protected:
  void per_sample(const Tensor&, const Tensor&, float*, float*) const override;
};

class MeanAbsoluteError : public Loss {
 public:
  explicit MeanAbsoluteError(Reduction r = Reduction::sum_over_batch_size)
      : Loss("mean_absolute_error", r) {}
  std::string class_name() const override { return "MeanAbsoluteError"; }
  RowSpec row_spec() const override { return {RowSpec::Kind::absolute_error}; }

 protected:
  void per_sample(const Tensor&, const Tensor&, float*, float*) const override;
};

class Huber : public Loss {
 public:
  explicit Huber(float delta = 1.f, Reduction r = Reduction::sum_over_batch_size)
      : Loss("huber_loss", r), delta_(delta) {}
  std::string class_name() const override { return "Huber"; }
  RowSpec row_spec() const override { return {RowSpec::Kind::huber, false, 0.f, delta_}; }
  json get_config() const override;

 protected:
  void per_sample(const Tensor&, const Tensor&, float*, float*) const override;

 private:
  float delta_;
};

}  // namespace fitrun::losses

namespace fitrun {
using LossRef = Ref<losses::Loss>;
}
