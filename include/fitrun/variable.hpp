#pragma once
#include <memory>
#include <string>

#include "fitrun/tensor.hpp"

namespace fitrun {

/// A layer weight: its value, its gradient (for trainable ones) and Keras' name.
struct Variable {
  std::string name;  // "kernel"
  std::string path;  // "dense/kernel", unique in a model
  Tensor value;
  Tensor grad;       // same shape as value; undefined for non-trainable variables
  bool trainable = true;
};
using VariablePtr = std::shared_ptr<Variable>;

}  // namespace fitrun
