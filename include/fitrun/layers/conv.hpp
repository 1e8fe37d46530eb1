#pragma once
// Convolution layers, channels_last (inputs (batch, [height,] width, channels)) with Keras'
// kernel layouts and defaults:
//   Conv1D           kernel (k, in/groups, filters)
//   Conv2D           kernel (kh, kw, in/groups, filters)
//   DepthwiseConv2D  kernel (kh, kw, in, depth_multiplier)
//   SeparableConv2D  depthwise_kernel (kh, kw, in, depth_multiplier),
//                    pointwise_kernel (1, 1, in*depth_multiplier, filters)
//   Conv2DTranspose  kernel (kh, kw, filters, in)
// each with bias (filters) when use_bias. Padding "valid" or "same" (TensorFlow's: the output
// is ceil(in/stride) and an odd total padding puts the extra row/column at the end); Conv1D also
// takes "causal". Bias and the activations relu, sigmoid, tanh, elu and exponential run fused
// inside the convolution.
#include <string>

#include "fitrun/activation.hpp"
#include "fitrun/layer.hpp"
#include "fitrun/layers/spatial.hpp"

namespace fitrun::layers {

/// Options of Conv2D, DepthwiseConv2D, SeparableConv2D and Conv2DTranspose (Keras' keyword
/// arguments after kernel_size and activation).
struct ConvOptions {
  Size2 strides = 1;
  std::string padding = "valid";  // "valid" or "same"
  Size2 dilation_rate = 1;
  int64_t groups = 1;             // Conv2D only: input channels split into groups
  int64_t depth_multiplier = 1;   // DepthwiseConv2D, SeparableConv2D: filters per input channel
  bool use_bias = true;
  InitializerRef kernel_initializer = "glorot_uniform";  // SeparableConv2D: the depthwise one
  InitializerRef pointwise_initializer = "glorot_uniform";  // SeparableConv2D only
  InitializerRef bias_initializer = "zeros";
  std::string name;
  // after name: positional initialization of the fields above keeps working
  // Penalties added to the loss and constraints applied after every update (Keras' names;
  // DepthwiseConv2D/SeparableConv2D save kernel_* as depthwise_*).
  RegularizerRef kernel_regularizer, pointwise_regularizer, bias_regularizer;
  RegularizerRef activity_regularizer;  // a penalty on the output
  ConstraintRef kernel_constraint, pointwise_constraint, bias_constraint;
};

/// Options of Conv1D.
struct Conv1DOptions {
  int64_t strides = 1;
  std::string padding = "valid";  // "valid", "same" or "causal"
  int64_t dilation_rate = 1;
  int64_t groups = 1;
  bool use_bias = true;
  InitializerRef kernel_initializer = "glorot_uniform";
  InitializerRef bias_initializer = "zeros";
  std::string name;
  // after name: positional initialization of the fields above keeps working
  RegularizerRef kernel_regularizer, bias_regularizer, activity_regularizer;
  ConstraintRef kernel_constraint, bias_constraint;
};

/// 2-D convolution: Conv2D(32, 3, "relu"), Conv2D(64, {3, 3}, "", {.strides = 2,
/// .padding = "same"}). Input (batch, height, width, channels).
class Conv2D : public LayerOf<Conv2D> {
 public:
  Conv2D(int64_t filters, Size2 kernel_size, const std::string& activation = "",
         ConvOptions options = {});
  std::string class_name() const override { return "Conv2D"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  int64_t filters() const { return filters_; }
  Size2 kernel_size() const { return kernel_size_; }
  ActivationFn activation() const { return activation_; }
  const ConvOptions& options() const { return options_; }
  const VariablePtr& kernel() const { return kernel_; }
  const VariablePtr& bias() const { return bias_; }

 private:
  int64_t filters_;
  Size2 kernel_size_;
  ActivationFn activation_;
  ConvOptions options_;
  VariablePtr kernel_, bias_;
};

/// 1-D convolution over (batch, steps, channels): Conv1D(16, 5, "relu").
class Conv1D : public LayerOf<Conv1D> {
 public:
  Conv1D(int64_t filters, int64_t kernel_size, const std::string& activation = "",
         Conv1DOptions options = {});
  std::string class_name() const override { return "Conv1D"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  int64_t filters() const { return filters_; }
  int64_t kernel_size() const { return kernel_size_; }
  const VariablePtr& kernel() const { return kernel_; }
  const VariablePtr& bias() const { return bias_; }

 private:
  int64_t filters_, kernel_size_;
  ActivationFn activation_;
  Conv1DOptions options_;
  VariablePtr kernel_, bias_;
};

/// Per-channel convolution: each input channel is convolved with depth_multiplier filters of
/// its own; output channel c*depth_multiplier + m. Kernel (kh, kw, in, depth_multiplier).
class DepthwiseConv2D : public LayerOf<DepthwiseConv2D> {
 public:
  explicit DepthwiseConv2D(Size2 kernel_size, const std::string& activation = "",
                           ConvOptions options = {});
  std::string class_name() const override { return "DepthwiseConv2D"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const VariablePtr& kernel() const { return kernel_; }
  const VariablePtr& bias() const { return bias_; }

 private:
  Size2 kernel_size_;
  ActivationFn activation_;
  ConvOptions options_;
  VariablePtr kernel_, bias_;
};

/// Depthwise convolution (strides, padding and dilation apply here) followed by a 1×1
/// convolution to `filters` channels, then bias and activation.
class SeparableConv2D : public LayerOf<SeparableConv2D> {
 public:
  SeparableConv2D(int64_t filters, Size2 kernel_size, const std::string& activation = "",
                  ConvOptions options = {});
  std::string class_name() const override { return "SeparableConv2D"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const VariablePtr& depthwise_kernel() const { return depthwise_; }
  const VariablePtr& pointwise_kernel() const { return pointwise_; }
  const VariablePtr& bias() const { return bias_; }

 private:
  int64_t filters_;
  Size2 kernel_size_;
  ActivationFn activation_;
  ConvOptions options_;
  VariablePtr depthwise_, pointwise_, bias_;
};

/// Transposed convolution (the gradient of Conv2D with respect to its input), kernel
/// (kh, kw, filters, in). Output size: "valid" (in-1)*stride + max(kernel, stride) and
/// "same" in*stride (kernel dilated), or (in-1)*stride + kernel - 2*pad + output_padding when
/// output_padding is given (pad = kernel/2 for "same", 0 for "valid").
class Conv2DTranspose : public LayerOf<Conv2DTranspose> {
 public:
  Conv2DTranspose(int64_t filters, Size2 kernel_size, const std::string& activation = "",
                  ConvOptions options = {}, Size2 output_padding = {-1, -1});
  std::string class_name() const override { return "Conv2DTranspose"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const VariablePtr& kernel() const { return kernel_; }
  const VariablePtr& bias() const { return bias_; }

 private:
  int64_t filters_;
  Size2 kernel_size_;
  ActivationFn activation_;
  ConvOptions options_;
  Size2 output_padding_;  // (-1, -1): none
  VariablePtr kernel_, bias_;
};

}  // namespace fitrun::layers
