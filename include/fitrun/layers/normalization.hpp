#pragma once
// BatchNormalization and LayerNormalization over the last axis (channels_last), with Keras'
// defaults, weight order and moving-statistics rule.
#include <string>

#include "fitrun/layer.hpp"

namespace fitrun::layers {

struct BatchNormalizationOptions {
  int axis = -1;           // the channel axis; only the last one is supported
  float momentum = 0.99f;
  float epsilon = 1e-3f;
  bool center = true;      // learn beta
  bool scale = true;       // learn gamma
  InitializerRef beta_initializer = "zeros";
  InitializerRef gamma_initializer = "ones";
  InitializerRef moving_mean_initializer = "zeros";
  InitializerRef moving_variance_initializer = "ones";
  std::string name;
  // after name: positional initialization of the fields above keeps working
  RegularizerRef beta_regularizer, gamma_regularizer, activity_regularizer;
  ConstraintRef beta_constraint, gamma_constraint;
};

/// y = gamma·(x − mean)/sqrt(var + epsilon) + beta per channel. In training (fit) mean/var are
/// the batch's (biased variance over every axis but the last) and the moving statistics are
/// updated as Keras does: moving = moving·momentum + batch·(1 − momentum). In inference
/// (evaluate, predict), and whenever the layer is not trainable, the moving statistics are used.
/// Weights: gamma, beta (trainable, when scale/center), moving_mean, moving_variance
/// (non-trainable), each (channels).
class BatchNormalization : public LayerOf<BatchNormalization> {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  std::string class_name() const override { return "BatchNormalization"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const BatchNormalizationOptions& options() const { return options_; }
  const VariablePtr& gamma() const { return gamma_; }
  const VariablePtr& beta() const { return beta_; }
  const VariablePtr& moving_mean() const { return moving_mean_; }
  const VariablePtr& moving_variance() const { return moving_variance_; }

 private:
  BatchNormalizationOptions options_;
  VariablePtr gamma_, beta_, moving_mean_, moving_variance_;
};

struct LayerNormalizationOptions {
  int axis = -1;  // only the last axis is supported
  float epsilon = 1e-3f;
  bool center = true;
  bool scale = true;
  InitializerRef beta_initializer = "zeros";
  InitializerRef gamma_initializer = "ones";
  std::string name;
  // after name: positional initialization of the fields above keeps working
  RegularizerRef beta_regularizer, gamma_regularizer, activity_regularizer;
  ConstraintRef beta_constraint, gamma_constraint;
};

/// Normalizes each sample over its last axis (mean and biased variance of that axis), then
/// y = gamma·x̂ + beta with gamma, beta (last axis). The same in training and inference.
class LayerNormalization : public LayerOf<LayerNormalization> {
 public:
  explicit LayerNormalization(LayerNormalizationOptions options = {});
  std::string class_name() const override { return "LayerNormalization"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const VariablePtr& gamma() const { return gamma_; }
  const VariablePtr& beta() const { return beta_; }

 private:
  LayerNormalizationOptions options_;
  VariablePtr gamma_, beta_;
};

}  // namespace fitrun::layers
