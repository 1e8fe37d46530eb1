#include "fitrun/layers/input_layer.hpp"

namespace fitrun::layers {

InputLayer::InputLayer(Shape shape, DType dtype, std::string name)
    : LayerOf<InputLayer>(std::move(name)), shape_(shape), dtype_(dtype) {
  for (int i = 1; i < shape.rank(); ++i)
    if (shape[i] <= 0)
      throw ConfigError("Input: every dimension of the shape must be positive, got " +
                        shape.drop_batch().to_string());
}

void InputLayer::forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) {
  // Model inputs are bound to the step's batch buffers; there is nothing to compute.
}

json InputLayer::get_config() const {
  json shape = json::array();
  for (int64_t d : shape_) shape.push_back(d < 0 ? json(nullptr) : json(d));
  return {{"name", name()}, {"batch_shape", shape}, {"dtype", dtype_name(dtype_)},
          {"sparse", false}};
}

}  // namespace fitrun::layers
