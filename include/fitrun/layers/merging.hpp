#pragma once
// Merging layers: Add and Concatenate of several inputs.
#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// Elementwise sum of inputs of identical shape.
class Add : public LayerOf<Add> {
 public:
  explicit Add(std::string name = "");
  std::string class_name() const override { return "Add"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
};

/// Joins inputs along `axis` (default the last).
class Concatenate : public LayerOf<Concatenate> {
 public:
  explicit Concatenate(int axis = -1, std::string name = "");
  std::string class_name() const override { return "Concatenate"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;

 private:
  int axis_;
};

}  // namespace fitrun::layers
