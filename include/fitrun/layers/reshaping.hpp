#pragma once
// Flatten and Reshape: views with a new per-sample shape (no data movement).
#include "fitrun/layer.hpp"

namespace fitrun::layers {

class Flatten : public LayerOf<Flatten> {
 public:
  explicit Flatten(std::string name = "");
  std::string class_name() const override { return "Flatten"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
};

/// Reshape to `target_shape` (per sample, one entry may be -1).
class Reshape : public LayerOf<Reshape> {
 public:
  explicit Reshape(Shape target_shape, std::string name = "");
  std::string class_name() const override { return "Reshape"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;

 private:
  Shape target_;
};

}  // namespace fitrun::layers
