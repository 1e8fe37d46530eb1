#pragma once
// KerasTensor: a symbolic tensor of the functional API. It carries a shape (batch dimension
// -1) and remembers which layer call produced it, so Model(inputs, outputs) can find the graph.
#include <memory>
#include <string>
#include <vector>

#include "fitrun/dtype.hpp"
#include "fitrun/shape.hpp"

namespace fitrun {

class Layer;
class KerasTensor;

/// One call of a layer on graph tensors.
struct Node {
  std::shared_ptr<Layer> layer;
  std::vector<KerasTensor> inputs;
  int call_index = 0;  // the layer's n-th call
};

class KerasTensor {
 public:
  KerasTensor() = default;
  KerasTensor(Shape shape, DType dtype, std::shared_ptr<Node> node);

  const Shape& shape() const;
  DType dtype() const;
  const std::shared_ptr<Node>& node() const;
  /// The producing layer (an InputLayer for model inputs).
  Layer* layer() const;
  bool defined() const { return v_ != nullptr; }
  /// Identity of the value (two copies of one KerasTensor compare equal).
  const void* id() const { return v_.get(); }
  std::string to_string() const;

 private:
  struct Value {
    Shape shape;
    DType dtype;
    std::shared_ptr<Node> node;
  };
  std::shared_ptr<Value> v_;
};

struct InputOptions {
  std::string name;
  DType dtype = DType::float32;
  int64_t batch_size = -1;  // -1: any batch size
};

/// A model input of per-sample shape `shape` (without the batch dimension): Input({28, 28, 1}).
KerasTensor Input(Shape shape, const InputOptions& options = {});

}  // namespace fitrun
