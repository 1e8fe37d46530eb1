#include "fitrun/layers/input_layer.hpp"

#include "io/keras_json.hpp"

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
  // Keras 3's InputLayer config (its dtype is a plain string, not a DTypePolicy).
  return {{"batch_shape", io::shape_json(shape_)}, {"dtype", dtype_name(dtype_)},
          {"sparse", false}, {"ragged", false}, {"name", name()}, {"optional", false}};
}

}  // namespace fitrun::layers
