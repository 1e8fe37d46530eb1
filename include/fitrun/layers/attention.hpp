#pragma once
// Keras' attention layers: MultiHeadAttention, Attention (Luong) and AdditiveAttention
// (Bahdanau), with Keras' arguments and weight shapes.
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
  /// Keras 3's tree: "" (empty), query_dense, key_dense, value_dense, output_dense (each kernel
  /// then bias; named query, key, value, attention_output), _softmax and _dropout_layer (empty).
  std::vector<WeightGroup> weight_tree() const override;

  int64_t num_heads() const { return heads_; }
  int64_t key_dim() const { return key_dim_; }
  int64_t value_dim() const { return value_dim_; }
  const MultiHeadAttentionOptions& options() const { return options_; }

 private:
  int64_t heads_, key_dim_, value_dim_;
  MultiHeadAttentionOptions options_;
  VariablePtr wq_, bq_, wk_, bk_, wv_, bv_, wo_, bo_;
};

struct AttentionOptions {
  bool use_scale = false;           // a trainable scalar `scale` (initialized to 1)
  std::string score_mode = "dot";   // "dot": q·kᵀ; "concat": Σ tanh(q + k)
  float dropout = 0.f;              // on the attention weights, in training
  bool use_causal_mask = false;     // query i attends to keys j <= i only
  std::string name;
};

/// Keras' Attention (dot-product, a.k.a. Luong-style) called on [query, value] or
/// [query, value, key] (key = value when absent): query (batch, Tq, dim), value (batch, Tv, dv),
/// key (batch, Tv, dim). No projections; with s = scale (1 without use_scale) and
/// c = concat_score_weight:
///   dot:     scores = s · q·kᵀ
///   concat:  scores[i, j] = c · Σ_d tanh(s · (q[i, d] + k[j, d]))
///   output = softmax(scores + mask) · value,  (batch, Tq, dv)
/// Weights (Keras 3): `scale` () when use_scale, `concat_score_weight` () for "concat", both
/// initialized to 1. Masks: the value mask and use_causal_mask exclude keys (a masked score gets
/// -1e9, as in Keras); the query mask zeroes the output's masked steps and is the output's mask.
class Attention : public LayerOf<Attention> {
 public:
  explicit Attention(AttentionOptions options = {});
  std::string class_name() const override { return "Attention"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const AttentionOptions& options() const { return options_; }

 private:
  AttentionOptions options_;
  VariablePtr scale_, concat_score_weight_;
};

struct AdditiveAttentionOptions {
  bool use_scale = true;        // a trainable `scale` (dim) weighting the tanh terms
  float dropout = 0.f;          // on the attention weights, in training
  bool use_causal_mask = false; // query i attends to keys j <= i only
  std::string name;
};

/// Keras' AdditiveAttention (Bahdanau-style), called as Attention is:
///   scores[i, j] = Σ_d w[d] · tanh(q[i, d] + k[j, d]),  w = scale (dim) or 1
///   output = softmax(scores + mask) · value
/// Weight (Keras 3): `scale` (dim) when use_scale, initialized glorot_uniform. Masks as for
/// Attention.
class AdditiveAttention : public LayerOf<AdditiveAttention> {
 public:
  explicit AdditiveAttention(AdditiveAttentionOptions options = {});
  std::string class_name() const override { return "AdditiveAttention"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  const AdditiveAttentionOptions& options() const { return options_; }

 private:
  AdditiveAttentionOptions options_;
  VariablePtr scale_;
};

}  // namespace fitrun::layers
