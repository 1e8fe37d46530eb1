#include "fitrun/layers/embedding.hpp"

#include <cstring>

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"

namespace fitrun::layers {

namespace {
/// The id at flat index i of an id tensor of any of fitrun's dtypes.
inline int64_t id_at(const Tensor& x, int64_t i) {
  switch (x.dtype()) {
    case DType::int32: return x.data<int32_t>()[i];
    case DType::int64: return x.data<int64_t>()[i];
    default: return static_cast<int64_t>(x.data<float>()[i]);
  }
}
}  // namespace

Embedding::Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions options)
    : LayerOf<Embedding>(options.name),
      input_dim_(input_dim),
      output_dim_(output_dim),
      options_(std::move(options)) {
  activity_regularizer = options_.activity_regularizer;
  if (input_dim <= 0)
    throw ConfigError("Embedding: input_dim must be a positive integer, got " +
                      std::to_string(input_dim));
  if (output_dim <= 0)
    throw ConfigError("Embedding: output_dim must be a positive integer, got " +
                      std::to_string(output_dim));
}

Shape Embedding::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() + 1 > Shape::kMaxRank) shape_error("input rank too large: " + s[0].to_string());
  std::vector<int64_t> out = s[0].to_vector();
  out.push_back(output_dim_);
  return Shape(out);
}

void Embedding::build(const std::vector<Shape>&) {
  embeddings_ = add_weight("embeddings", {input_dim_, output_dim_},
                           options_.embeddings_initializer, options_.embeddings_regularizer,
                           options_.embeddings_constraint);
}

void Embedding::forward(CallContext&, const std::vector<const Tensor*>& inputs, Tensor& y) {
  const Tensor& x = *inputs[0];
  const float* w = embeddings_->value.data<float>();
  float* out = y.data<float>();
  const size_t row = static_cast<size_t>(output_dim_) * sizeof(float);
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t id = id_at(x, i);
    if (id < 0 || id >= input_dim_)
      throw Error("layer \"" + name() + "\" (Embedding): id " + std::to_string(id) +
                  " is outside [0, input_dim = " + std::to_string(input_dim_) + ")");
    std::memcpy(out + i * output_dim_, w + id * output_dim_, row);
  }
}

void Embedding::backward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                         const Tensor&, const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  // Ids are not differentiable: a float input gets a zero gradient.
  if (grad_inputs[0]) grad_inputs[0]->fill(0);
  if (!trainable) return;
  Tensor& dw = embeddings_->grad;
  if (!ctx.accumulate_grads) dw.fill(0);
  const Tensor& x = *inputs[0];
  float* g = dw.data<float>();
  const float* d = dy.data<float>();
  for (int64_t i = 0; i < x.size(); ++i) {
    float* row = g + id_at(x, i) * output_dim_;
    const float* src = d + i * output_dim_;
    for (int64_t k = 0; k < output_dim_; ++k) row[k] += src[k];
  }
}

bool Embedding::produces_mask(const std::vector<bool>&) const { return options_.mask_zero; }

void Embedding::compute_mask(CallContext&, const std::vector<const Tensor*>& inputs,
                             Tensor& mask) {
  const Tensor& x = *inputs[0];
  float* m = mask.data<float>();
  for (int64_t i = 0; i < x.size(); ++i) m[i] = id_at(x, i) != 0 ? 1.f : 0.f;
}

json Embedding::get_config() const {
  json c = Layer::get_config();
  c["input_dim"] = input_dim_;
  c["output_dim"] = output_dim_;
  c["embeddings_initializer"] = io::serialize_initializer(*options_.embeddings_initializer);
  c["embeddings_regularizer"] = io::serialize_or_null(options_.embeddings_regularizer);
  c["embeddings_constraint"] = io::serialize_or_null(options_.embeddings_constraint);
  c["activity_regularizer"] = io::serialize_or_null(activity_regularizer);
  c["mask_zero"] = options_.mask_zero;
  return c;
}

}  // namespace fitrun::layers
