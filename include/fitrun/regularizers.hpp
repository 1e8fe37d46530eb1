#pragma once
// Weight regularizers (keras.regularizers): a penalty added to the training loss, as Keras 3's
// regularizers.py computes it: l1 * sum(|w|) + l2 * sum(w^2) (no 1/2). A layer attaches one to
// a weight through Variable::regularizer (Dense/Conv's kernel_regularizer, bias_regularizer);
// the train step adds the penalty to the loss and its gradient to the weight's grad.
#include <memory>
#include <string>

#include "fitrun/json.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::regularizers {

class Regularizer {
 public:
  Regularizer(double l1, double l2) : l1_(l1), l2_(l2) {}
  virtual ~Regularizer() = default;
  /// The penalty of `w`.
  double penalty(const Tensor& w) const;
  /// grad += scale * d(penalty)/dw (l1 * sign(w) + 2 * l2 * w).
  void add_gradient(const Tensor& w, Tensor& grad, float scale = 1.f) const;
  virtual std::string class_name() const = 0;
  virtual json get_config() const = 0;
  double l1() const { return l1_; }
  double l2() const { return l2_; }

  /// "l1", "l2", "l1_l2" or the class names (Keras' defaults).
  static std::shared_ptr<Regularizer> get(const std::string& name);

 private:
  double l1_, l2_;
};
using RegularizerPtr = std::shared_ptr<Regularizer>;

class L1 : public Regularizer {
 public:
  explicit L1(double l1 = 0.01);
  std::string class_name() const override { return "L1"; }
  json get_config() const override;
};

class L2 : public Regularizer {
 public:
  explicit L2(double l2 = 0.01);
  std::string class_name() const override { return "L2"; }
  json get_config() const override;
};

class L1L2 : public Regularizer {
 public:
  explicit L1L2(double l1 = 0.0, double l2 = 0.0);
  std::string class_name() const override { return "L1L2"; }
  json get_config() const override;
};

/// A regularizer from a name ("l2") or Keras' {"class_name", "config"}; errors name `path`.
RegularizerPtr regularizer_from_config(const json& value, const std::string& path = "");
/// Keras 3's serialized form {"module": "keras.regularizers", "class_name", "config", ...}.
json serialize(const Regularizer& r);

}  // namespace fitrun::regularizers

namespace fitrun {
using RegularizerRef = Ref<regularizers::Regularizer>;
}
