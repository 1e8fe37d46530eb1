#pragma once
// Masking: marks timesteps whose features all equal mask_value as padding.
#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// Input (N, T, features): a timestep whose features all equal `mask_value` is masked (its
/// output is zeroed and the output's mask (N, T) is 0 there); other timesteps pass unchanged.
class Masking : public LayerOf<Masking> {
 public:
  explicit Masking(float mask_value = 0.f, std::string name = "");
  std::string class_name() const override { return "Masking"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  bool produces_mask(const std::vector<bool>&) const override { return true; }
  void compute_mask(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                    Tensor& mask) override;
  json get_config() const override;

  float mask_value() const { return mask_value_; }

 private:
  float mask_value_;
};

}  // namespace fitrun::layers
