#pragma once
#include "fitrun/activation.hpp"
#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// Applies an activation function by Keras name: Activation("softmax").
class Activation : public LayerOf<Activation> {
 public:
  explicit Activation(const std::string& activation, std::string name = "");
  std::string class_name() const override { return "Activation"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  fitrun::ActivationFn function() const { return fn_; }

 protected:
  Activation(fitrun::ActivationFn fn, float alpha, std::string name);
  fitrun::ActivationFn fn_;
  float alpha_ = 0.f;
};

/// Leaky ReLU with Keras 3's negative_slope (default 0.3).
class LeakyReLU : public Activation {
 public:
  explicit LeakyReLU(float negative_slope = 0.3f, std::string name = "");
  std::string class_name() const override { return "LeakyReLU"; }
  json get_config() const override;
  std::shared_ptr<Layer> take() && override { return std::make_shared<LeakyReLU>(std::move(*this)); }
};

}  // namespace fitrun::layers
