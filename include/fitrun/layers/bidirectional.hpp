#pragma once
// Bidirectional: runs a recurrent layer over the sequence forwards and a copy of it backwards,
// and merges the two outputs, as Keras' Bidirectional does.
#include <string>

#include "fitrun/layer.hpp"

namespace fitrun::layers {

struct BidirectionalOptions {
  /// How the two outputs combine: "concat" (last axis doubles), "sum", "mul", "ave", or "none"
  /// (Keras' merge_mode=None): no merge, the two directions as two outputs [forward, backward],
  /// the backward one in input order (call_multi).
  std::string merge_mode = "concat";
  /// The layer that reads the sequence backwards; null: a copy of `layer` with
  /// go_backwards = true. When given it must have the other go_backwards value and the same
  /// return_sequences, and it is used as is (its name too).
  LayerRef backward_layer;
  std::string name;
};

/// Wraps SimpleRNN, LSTM or GRU. Like Keras, the wrapper builds its own forward copy of `layer`
/// (from its config, named "forward_<name>", fresh weights) and a backward one
/// ("backward_<name>", go_backwards = true). With return_sequences the backward outputs are
/// flipped back to time order before merging and a masked timestep outputs zeros; the input's
/// mask passes through then. Weights: the forward layer's, then the backward layer's, with
/// Keras' paths "<name>/forward_lstm/lstm_cell/kernel".
/// With return_state on the wrapped layer a call gives [output, forward states..., backward
/// states...] (call_multi), the backward states being those after the reversed pass; with
/// merge_mode "none", [forward output, backward output, states...]. Only the first output
/// carries the input's mask.
/// Throws ConfigError for another layer class, an unknown merge mode or mismatched layers.
class Bidirectional : public LayerOf<Bidirectional> {
 public:
  explicit Bidirectional(LayerRef layer, BidirectionalOptions options = {});
  std::string class_name() const override { return "Bidirectional"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<VariablePtr> weights() const override;
  /// Keras 3's tree: "" (empty), then forward_layer/... and backward_layer/... with the inner
  /// layers' trees ("forward_layer/cell" holds the forward LSTM's kernel, recurrent_kernel, bias).
  std::vector<WeightGroup> weight_tree() const override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  /// With return_state (on the wrapped layer): Keras' [output, forward states..., backward
  /// states...] — 5 outputs for LSTM (h, c each way), 3 for GRU and SimpleRNN; else 1. One more
  /// with merge_mode "none" (the two unmerged outputs come first).
  int num_outputs() const override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  void forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                     const std::vector<Tensor*>& outputs) override;
  void backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                      const std::vector<const Tensor*>& outputs,
                      const std::vector<const Tensor*>& grad_outputs,
                      const std::vector<Tensor*>& grad_inputs) override;
  bool produces_mask(const std::vector<bool>& input_has_mask) const override;
  json get_config() const override;
  /// With stateful inner layers: resets both.
  void reset_states();

  const LayerPtr& forward_layer() const { return forward_; }
  const LayerPtr& backward_layer() const { return backward_; }
  const std::string& merge_mode() const { return merge_mode_; }

 private:
  /// The inner layers' output shape for this layer's output shape.
  Shape inner_shape(const Shape& output) const;
  /// The outputs before the states: 2 with merge_mode "none", else 1.
  int heads() const { return merge_mode_ == "none" ? 2 : 1; }
  /// The call; `outputs` (null, or all outputs with return_state) receives the states;
  /// `y_back` (merge_mode "none") the backward output, y then being the forward one.
  void run_forward(CallContext& ctx, const Tensor& x, Tensor& y,
                   const std::vector<Tensor*>* outputs, Tensor* y_back);
  /// Its backward; `grad_outputs` (null, or all output gradients) adds the states' gradients;
  /// `dy_back` is the backward output's gradient with merge_mode "none".
  void run_backward(CallContext& ctx, const Tensor& x, const Tensor& y, const Tensor& dy,
                    const std::vector<const Tensor*>* outputs,
                    const std::vector<const Tensor*>* grad_outputs, const Tensor* dy_back,
                    Tensor* dx);

  LayerPtr forward_, backward_;
  std::string merge_mode_;
  bool return_sequences_ = false;
};

}  // namespace fitrun::layers
