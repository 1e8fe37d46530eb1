#pragma once
// Internal pieces the attention layers share (MultiHeadAttention in layers/attention.cpp,
// Attention and AdditiveAttention in layers/dense_attention.cpp): Keras' score masks and the
// softmax + dropout that turns scores into attention weights, forward and backward.
#include <cstdint>

#include "fitrun/layer.hpp"

namespace fitrun::layers::detail {

/// Keras' bias for a masked score in float32: s - 1e9 rounds to -1e9, so a masked key gets a
/// weight of exactly 0, and a query row with every key masked attends uniformly.
constexpr float kMaskedScore = -1e9f;

/// Adds kMaskedScore to the scores (batch·heads, tq, tv) Keras masks: where the query mask
/// (batch, tq) or the value mask (batch, tv) is 0, and above the diagonal (j > i) when
/// `causal`. Either mask may be null; does nothing when nothing masks.
void mask_scores(Tensor& scores, int64_t heads, const Tensor* query_mask,
                 const Tensor* value_mask, bool causal);

/// Scratch slots (in the caller's CallContext) of the attention weights.
struct WeightSlots {
  int probs, dropped, dropout_mask;
};

/// P = softmax(scores) over the last axis, then, in training with rate > 0, Keras' dropout
/// of P. Returns the weights the context is computed from: P, or its dropped-out copy.
Tensor attention_weights(CallContext& ctx, const Tensor& scores, float rate, uint64_t seed,
                         const WeightSlots& slots);

/// dscores from d(weights) for the same call: undoes the dropout in `dweights` (in place),
/// then the softmax.
void attention_weights_backward(CallContext& ctx, const Tensor& scores, float rate,
                                const WeightSlots& slots, Tensor& dweights, Tensor& dscores);

}  // namespace fitrun::layers::detail
