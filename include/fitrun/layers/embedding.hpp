#pragma once
// Embedding: integer token ids -> dense vectors, with Keras' mask_zero.
#include "fitrun/layer.hpp"

namespace fitrun::layers {

struct EmbeddingOptions {
  InitializerRef embeddings_initializer = "uniform";  // Keras: RandomUniform(-0.05, 0.05)
  /// Token 0 is padding: the output carries a mask that is 0 where the input is 0, so that
  /// RNNs, GlobalAveragePooling1D and attention skip those positions.
  bool mask_zero = false;
  std::string name;
  // after name: positional initialization of the fields above keeps working
  RegularizerRef embeddings_regularizer, activity_regularizer;
  ConstraintRef embeddings_constraint;
};

/// y[..., :] = embeddings[x[...]]: input (N, ...) of ids (int32, int64 or float32 holding
/// whole numbers), output (N, ..., output_dim); weight "embeddings" (input_dim, output_dim).
/// An id outside [0, input_dim) is an Error naming the layer and the id.
class Embedding : public LayerOf<Embedding> {
 public:
  Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions options = {});
  std::string class_name() const override { return "Embedding"; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void build(const std::vector<Shape>& input_shapes) override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  bool produces_mask(const std::vector<bool>& input_has_mask) const override;
  void compute_mask(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                    Tensor& mask) override;
  json get_config() const override;

  int64_t input_dim() const { return input_dim_; }
  int64_t output_dim() const { return output_dim_; }
  const VariablePtr& embeddings() const { return embeddings_; }

 private:
  int64_t input_dim_, output_dim_;
  EmbeddingOptions options_;
  VariablePtr embeddings_;
};

}  // namespace fitrun::layers
