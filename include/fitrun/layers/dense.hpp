#pragma once
#include "fitrun/activation.hpp"
#include "fitrun/layer.hpp"

namespace fitrun::layers {

struct DenseOptions {
  bool use_bias = true;
  InitializerRef kernel_initializer = "glorot_uniform";
  InitializerRef bias_initializer = "zeros";
  std::string name;
  // after name: positional initialization of the fields above keeps working
  RegularizerRef kernel_regularizer, bias_regularizer;  // penalties added to the loss
  RegularizerRef activity_regularizer;                  // a penalty on the output
  ConstraintRef kernel_constraint, bias_constraint;     // applied after every update
};

/// y = activation(x·kernel + bias) on the last axis; kernel (in, units) as in Keras. The
/// bias and activations relu/sigmoid/tanh/elu run fused in one oneDNN primitive.
class Dense : public LayerOf<Dense> {
 public:
  explicit Dense(int64_t units, const std::string& activation = "", DenseOptions options = {});
  std::string class_name() const override { return "Dense"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  int64_t units() const { return units_; }
  ActivationFn activation() const { return activation_; }
  const VariablePtr& kernel() const { return kernel_; }
  const VariablePtr& bias() const { return bias_; }

 private:
  int64_t units_;
  ActivationFn activation_;
  DenseOptions options_;
  VariablePtr kernel_, bias_;
};

}  // namespace fitrun::layers
