#include "fitrun/keras_tensor.hpp"

#include "fitrun/layer.hpp"
#include "fitrun/layers/input_layer.hpp"

namespace fitrun {

KerasTensor::KerasTensor(Shape shape, DType dtype, std::shared_ptr<Node> node, int tensor_index)
    : v_(std::make_shared<Value>(Value{shape, dtype, std::move(node), tensor_index})) {}

const Shape& KerasTensor::shape() const {
  if (!v_) throw Error("use of an undefined KerasTensor");
  return v_->shape;
}
DType KerasTensor::dtype() const { return v_ ? v_->dtype : DType::float32; }
const std::shared_ptr<Node>& KerasTensor::node() const {
  if (!v_) throw Error("use of an undefined KerasTensor");
  return v_->node;
}
Layer* KerasTensor::layer() const { return node() ? node()->layer.get() : nullptr; }
int KerasTensor::tensor_index() const { return v_ ? v_->tensor_index : 0; }

std::string KerasTensor::to_string() const {
  if (!v_) return "<KerasTensor undefined>";
  return "<KerasTensor shape=" + v_->shape.to_string() + ", dtype=" + dtype_name(v_->dtype) +
         ", name=" + (layer() ? layer()->name() : std::string("?")) +
         (v_->tensor_index > 0 ? "[" + std::to_string(v_->tensor_index) + "]" : "") + ">";
}

KerasTensor Input(Shape shape, const InputOptions& options) {
  Shape full;
  full.push_back(options.batch_size);
  for (int64_t d : shape) full.push_back(d);
  auto layer = std::make_shared<layers::InputLayer>(full, options.dtype, options.name);
  auto node = std::make_shared<Node>();
  node->layer = layer;
  node->output_shapes = {full};
  return KerasTensor(full, options.dtype, node);
}

}  // namespace fitrun
