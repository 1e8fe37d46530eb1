#pragma once
// SimpleRNN, LSTM and GRU with Keras' arguments, equations and weight layouts:
//   kernel (input_dim, gates·units), recurrent_kernel (units, gates·units), bias (gates·units)
//   — gate blocks i, f, c, o for LSTM and z, r, h for GRU; a reset_after GRU has bias
//   (2, 3·units): row 0 for the input side, row 1 for the recurrent side.
// Inputs are (batch, timesteps, features); a Keras mask (N, T) from Embedding(mask_zero) or
// Masking makes masked timesteps carry the previous state unchanged. How the computation runs
// is in docs/sequence-layers.md.
#include <cstdint>
#include <optional>
#include <string>

#include "fitrun/activation.hpp"
#include "fitrun/layer.hpp"

namespace fitrun::layers {

struct RNNOptions {
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";  // gates (LSTM, GRU)
  bool use_bias = true;
  InitializerRef kernel_initializer = "glorot_uniform";
  InitializerRef recurrent_initializer = "orthogonal";
  InitializerRef bias_initializer = "zeros";
  bool unit_forget_bias = true;  // LSTM: the forget gate's bias starts at 1
  bool reset_after = true;       // GRU: apply the reset gate after the recurrent matmul
  bool return_sequences = false; // output (N, T, units) instead of the last output (N, units)
  bool go_backwards = false;     std::string name;
  // after name: positional initialization of the fields above keeps working
  // process the sequence in reverse (outputs in that order)
  RegularizerRef kernel_regularizer, recurrent_regularizer, bias_regularizer;
  RegularizerRef activity_regularizer;  // a penalty on the output
  ConstraintRef kernel_constraint, recurrent_constraint, bias_constraint;
  /// Keras 3's dropout in training: the fraction of the inputs (dropout) and of the recurrent
  /// state (recurrent_dropout) zeroed, with one mask per sequence (the same at every step).
  float dropout = 0.f;
  float recurrent_dropout = 0.f;
  /// The dropout masks' seed; unset: drawn from the layer's seed.
  std::optional<uint32_t> seed;
  /// With return_sequences, a masked timestep outputs zeros instead of the carried-over state
  /// (Keras sets it on the layers inside a Bidirectional).
  bool zero_output_for_mask = false;
  /// Keras' stateful: each call starts from the state the previous call ended with (sample i
  /// of a batch continues sample i of the previous batch), until reset_states(). The batch
  /// size must stay the same between resets.
  bool stateful = false;
  /// Keras' return_state: a call gives [output, h] (LSTM: [output, h, c]), the final state(s)
  /// (batch, units) after the last step (masked steps carry them); call the layer with
  /// call_multi (see docs/sequence-layers.md). Inside a Bidirectional: [output, forward
  /// states..., backward states...].
  bool return_state = false;
};

/// The shared machinery of the three recurrent layers; use SimpleRNN, LSTM or GRU.
class RNN : public Layer {
 public:
  enum class Cell { simple, lstm, gru };
  RNN(Cell cell, int64_t units, RNNOptions options);

  /// The output's shape (output 0: the sequence or the last output).
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  /// With return_state: 1 + the states (h; LSTM h and c), each (batch, units); else 1.
  int num_outputs() const override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  void forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                     const std::vector<Tensor*>& outputs) override;
  void backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                      const std::vector<const Tensor*>& outputs,
                      const std::vector<const Tensor*>& grad_outputs,
                      const std::vector<Tensor*>& grad_inputs) override;
  /// Whether this call needs the per-step loop: a mask, dropout in training, or a stateful
  /// layer. (A fused whole-sequence kernel can only serve the other calls.)
  bool needs_step_loop(const CallContext& ctx) const;
  /// With return_sequences the input's mask applies to the output; otherwise none.
  bool produces_mask(const std::vector<bool>& input_has_mask) const override;
  json get_config() const override;
  /// Keras 3 keeps the variables on the cell: {"" (empty), "cell" (kernel, recurrent_kernel,
  /// bias), named "lstm_cell" / "gru_cell" / "simple_rnn_cell"}.
  std::vector<WeightGroup> weight_tree() const override;
  /// stateful: forgets the carried state; the next call starts from zeros (with any batch size).
  void reset_states();
  /// stateful: the carried state (h, and c for LSTM), (batch, units), as Keras' layer.states:
  /// undefined before the first call and after reset_states(); its values may be set.
  Tensor& state_h() { return state_h_; }
  Tensor& state_c() { return state_c_; }

  Cell cell() const { return cell_; }
  int64_t units() const { return units_; }
  const RNNOptions& options() const { return options_; }
  /// Gate blocks per step: 1 (SimpleRNN), 4 (LSTM), 3 (GRU).
  int64_t gates() const { return cell_ == Cell::lstm ? 4 : cell_ == Cell::gru ? 3 : 1; }
  const VariablePtr& kernel() const { return kernel_; }
  const VariablePtr& recurrent_kernel() const { return recurrent_kernel_; }
  const VariablePtr& bias() const { return bias_; }

 private:
  /// The call: y, and the final states into h_out / c_out when not null (return_state).
  void run_forward(CallContext& ctx, const Tensor& x, Tensor& y, Tensor* h_out, Tensor* c_out);
  /// Its backward, with the final states' gradients dh_out / dc_out when not null.
  void run_backward(CallContext& ctx, const Tensor& x, const Tensor& y, const Tensor& dy,
                    const Tensor* dh_out, const Tensor* dc_out, Tensor* dx);

  Cell cell_;
  int64_t units_;
  RNNOptions options_;
  ActivationFn act_, recurrent_act_;
  uint32_t noise_seed_;  // the dropout masks' seed
  VariablePtr kernel_, recurrent_kernel_, bias_;
  Tensor state_h_, state_c_;  // stateful: carried across calls
};

/// h_t = activation(x_t·kernel + h_{t-1}·recurrent_kernel + bias).
class SimpleRNN : public RNN {
 public:
  explicit SimpleRNN(int64_t units, RNNOptions options = {}) : RNN(Cell::simple, units, std::move(options)) {}
  std::string class_name() const override { return "SimpleRNN"; }
  std::shared_ptr<Layer> take() && override { return std::make_shared<SimpleRNN>(std::move(*this)); }
};

/// Keras' LSTM: i, f, o = recurrent_activation(...), c̃ = activation(...),
/// c_t = f·c_{t-1} + i·c̃, h_t = o·activation(c_t).
class LSTM : public RNN {
 public:
  explicit LSTM(int64_t units, RNNOptions options = {}) : RNN(Cell::lstm, units, std::move(options)) {}
  std::string class_name() const override { return "LSTM"; }
  std::shared_ptr<Layer> take() && override { return std::make_shared<LSTM>(std::move(*this)); }
};

/// Keras' GRU: z, r = recurrent_activation(...), h̃ = activation(x·W_h + r·(h·U_h + b_h))
/// (reset_after) or activation(x·W_h + (r·h)·U_h + b_h), h_t = z·h_{t-1} + (1 − z)·h̃.
class GRU : public RNN {
 public:
  explicit GRU(int64_t units, RNNOptions options = {}) : RNN(Cell::gru, units, std::move(options)) {}
  std::string class_name() const override { return "GRU"; }
  std::shared_ptr<Layer> take() && override { return std::make_shared<GRU>(std::move(*this)); }
};

}  // namespace fitrun::layers
