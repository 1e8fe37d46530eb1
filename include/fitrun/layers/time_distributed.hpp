#pragma once
// TimeDistributed: applies a layer to every timestep of a sequence.
#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// Input (N, T, ...): the wrapped layer runs once on the (N·T, ...) view (the same weights for
/// every step) and the output is (N, T, ...). The input's mask passes through.
class TimeDistributed : public LayerOf<TimeDistributed> {
 public:
  explicit TimeDistributed(LayerRef layer, std::string name = "");
  std::string class_name() const override { return "TimeDistributed"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<VariablePtr> weights() const override { return layer_->weights(); }
  /// Keras 3's tree: "" (empty), then "layer/..." with the wrapped layer's tree.
  std::vector<WeightGroup> weight_tree() const override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const LayerPtr& layer() const { return layer_; }

 private:
  LayerPtr layer_;
};

}  // namespace fitrun::layers
