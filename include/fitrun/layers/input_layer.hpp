#pragma once
#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// The producer of a model input; created by fitrun::Input(). Holds the per-sample shape.
class InputLayer : public LayerOf<InputLayer> {
 public:
  InputLayer(Shape shape, DType dtype = DType::float32, std::string name = "");
  std::string class_name() const override { return "InputLayer"; }
  Shape compute_output_shape(const std::vector<Shape>&) const override { return shape_; }
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override {}
  json get_config() const override;
  /// Full shape with batch dimension (-1).
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }

 private:
  Shape shape_;
  DType dtype_;
};

}  // namespace fitrun::layers
