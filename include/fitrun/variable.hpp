#pragma once
#include <memory>
#include <string>

#include "fitrun/tensor.hpp"

namespace fitrun {

namespace constraints { class Constraint; }
namespace regularizers { class Regularizer; }

/// A layer weight: its value, its gradient (for trainable ones) and Keras' name.
struct Variable {
  std::string name;  // "kernel"
  std::string path;  // "dense/kernel", unique in a model
  Tensor value;
  Tensor grad;       // same shape as value; undefined for non-trainable variables
  bool trainable = true;
  /// Keras' variable.constraint: applied by the optimizer after every update (may be null).
  std::shared_ptr<constraints::Constraint> constraint;
  /// Keras' weight regularizer (kernel_regularizer, ...): its penalty is added to the loss
  /// and its gradient to `grad` by the train step (may be null).
  std::shared_ptr<regularizers::Regularizer> regularizer;
};
using VariablePtr = std::shared_ptr<Variable>;

}  // namespace fitrun
