#pragma once
// Weight constraints (keras.constraints): projections the optimizer applies to a variable after
// every update (Variable::constraint). Formulas as Keras 3's constraints.py, with its
// epsilon 1e-7 in the norm divisions.
#include <memory>
#include <string>
#include <vector>

#include "fitrun/json.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::constraints {

class Constraint {
 public:
  virtual ~Constraint() = default;
  /// Projects `w` in place. Allocates only on the first call for a shape.
  virtual void apply(Tensor& w) const = 0;
  virtual std::string class_name() const = 0;
  virtual json get_config() const { return json::object(); }

  /// "max_norm", "non_neg", "unit_norm", "min_max_norm" or the class names (defaults).
  static std::shared_ptr<Constraint> get(const std::string& name);
};
using ConstraintPtr = std::shared_ptr<Constraint>;

/// A constraint on the L2 norm of slices: the norm is taken over `axis` (0 for a Dense kernel
/// (in, out): one norm per output unit; {0, 1, 2} for a Conv2D kernel).
class NormConstraint : public Constraint {
 public:
  explicit NormConstraint(std::vector<int> axis) : axis_(std::move(axis)) {}
  void apply(Tensor& w) const override;
  const std::vector<int>& axis() const { return axis_; }

 protected:
  /// The scale for a slice of norm `norm`.
  virtual float scale(float norm) const = 0;
  json axis_json() const;

 private:
  std::vector<int> axis_;
  mutable std::vector<double> norms_;     // per slice, reused
  mutable std::vector<int64_t> slice_of_;  // element -> slice, for the last shape seen
  mutable Shape shape_;
};

/// Rescales slices whose norm exceeds max_value to norm max_value.
class MaxNorm : public NormConstraint {
 public:
  explicit MaxNorm(double max_value = 2.0, std::vector<int> axis = {0});
  std::string class_name() const override { return "MaxNorm"; }
  json get_config() const override;

 protected:
  float scale(float norm) const override;

 private:
  double max_value_;
};

/// Rescales every slice to norm 1.
class UnitNorm : public NormConstraint {
 public:
  explicit UnitNorm(std::vector<int> axis = {0}) : NormConstraint(std::move(axis)) {}
  std::string class_name() const override { return "UnitNorm"; }
  json get_config() const override;

 protected:
  float scale(float norm) const override;
};

/// Moves each slice's norm toward [min_value, max_value]: desired = rate * clip(norm) +
/// (1 - rate) * norm.
class MinMaxNorm : public NormConstraint {
 public:
  explicit MinMaxNorm(double min_value = 0.0, double max_value = 1.0, double rate = 1.0,
                      std::vector<int> axis = {0});
  std::string class_name() const override { return "MinMaxNorm"; }
  json get_config() const override;

 protected:
  float scale(float norm) const override;

 private:
  double min_value_, max_value_, rate_;
};

/// Sets negative weights to zero.
class NonNeg : public Constraint {
 public:
  void apply(Tensor& w) const override;
  std::string class_name() const override { return "NonNeg"; }
};

/// A constraint from a name ("max_norm") or Keras' {"class_name", "config"}; errors name `path`.
ConstraintPtr constraint_from_config(const json& value, const std::string& path = "");
/// Keras 3's serialized form {"module": "keras.constraints", "class_name", "config", ...}.
json serialize(const Constraint& c);

}  // namespace fitrun::constraints

namespace fitrun {
using ConstraintRef = Ref<constraints::Constraint>;
}
