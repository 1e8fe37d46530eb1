#pragma once
// KerasTensor: a symbolic tensor of the functional API. It carries a shape (batch dimension
// -1) and remembers which layer call produced it and which of that call's outputs it is
// (Keras' [layer, node_index, tensor_index]), so Model(inputs, outputs) can find the graph.
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
  /// The shapes of the call's outputs (one for most layers; Layer::num_outputs() of them).
  std::vector<Shape> output_shapes;
};

class KerasTensor {
 public:
  KerasTensor() = default;
  KerasTensor(Shape shape, DType dtype, std::shared_ptr<Node> node, int tensor_index = 0);

  const Shape& shape() const;
  DType dtype() const;
  const std::shared_ptr<Node>& node() const;
  /// The producing layer (an InputLayer for model inputs).
  Layer* layer() const;
  /// Which output of its layer call this is: 0, or k for the k-th extra output (the states
  /// of a recurrent layer with return_state).
  int tensor_index() const;
  bool defined() const { return v_ != nullptr; }
  /// Identity of the value (two copies of one KerasTensor compare equal).
  const void* id() const { return v_.get(); }
  std::string to_string() const;

 private:
  struct Value {
    Shape shape;
    DType dtype;
    std::shared_ptr<Node> node;
    int tensor_index = 0;
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
