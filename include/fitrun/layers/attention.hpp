#pragma once
// MultiHeadAttention with Keras' arguments and weight shapes.
#include "fitrun/layer.hpp"

namespace fitrun::layers {

struct MultiHeadAttentionOptions {
  int64_t value_dim = -1;   // -1: key_dim
  float dropout = 0.f;      // on the attention probabilities, in training
  bool use_bias = true;
  int64_t output_shape = -1;  // -1: the query's last dimension
  bool use_causal_mask = false;  // query i attends to keys j <= i only
  InitializerRef kernel_initializer = "glorot_uniform";
  InitializerRef bias_initializer = "zeros";
  std::string name;
};

/// Keras' MultiHeadAttention called on [query, value] or [query, value, key] (key = value when
/// absent), each (batch, steps, features). Per head h:
///   softmax(Q_h·K_hᵀ / sqrt(key_dim) + mask) · V_h, the heads concatenated and projected.
/// Weights (Keras' shapes): query/kernel (dq, heads, key_dim), query/bias (heads, key_dim),
/// key/kernel (dk, heads, key_dim), value/kernel (dv, heads, value_dim),
/// attention_output/kernel (heads, value_dim, out), attention_output/bias (out).
/// Masks: the Keras masks of query and value (from Embedding(mask_zero) or Masking) and
/// use_causal_mask; a masked score gets -1e9 before the softmax, as in Keras. The output
/// carries the query's mask.
class MultiHeadAttention : public LayerOf<MultiHeadAttention> {
 public:
  MultiHeadAttention(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options = {});
  std::string class_name() const override { return "MultiHeadAttention"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  int64_t num_heads() const { return heads_; }
  int64_t key_dim() const { return key_dim_; }
  int64_t value_dim() const { return value_dim_; }
  const MultiHeadAttentionOptions& options() const { return options_; }

 private:
  int64_t heads_, key_dim_, value_dim_;
  MultiHeadAttentionOptions options_;
  VariablePtr wq_, bq_, wk_, bk_, wv_, bv_, wo_, bo_;
};

}  // namespace fitrun::layers
