#pragma once
// Dropout of the recurrent layers (Keras 3's DropoutRNNCell): keep-masks drawn once per call,
// one per sample and per gate block, and the matmul x·W whose input rows are scaled by them.
// Internal to layers/recurrent.cpp.
#include <cstdint>

#include "fitrun/layer.hpp"

namespace fitrun::layers::rnn_dropout {

/// Fills `masks` (count, N, features) with keep-masks scaled by 1/(1-rate), a function of
/// `seed` and `step` only (so a training step can be recomputed exactly). `ones` is a scratch
/// tensor of the same shape.
void draw(Tensor& masks, Tensor& ones, float rate, uint64_t seed, uint64_t step);

/// out (R, g) = for each column block q of M: (x ⊙ mask_q) · W[:, block q] + bias[block q],
/// where row r of x (R, F) belongs to sample (r / div) % N of masks (M, N, F). With M = 1 this
/// is one matmul of the masked input; with M gate blocks, one per block on a copy of that
/// block of W (oneDNN needs contiguous weights). Temporaries live in the call's scratch from
/// slot `slot` on (8 slots).
class MaskedMatmul {
 public:
  MaskedMatmul() = default;
  MaskedMatmul(CallContext& ctx, int slot, const Tensor& masks, int64_t div, const Tensor& W,
               const Tensor& bias, int64_t rows);
  void forward(const Tensor& x, Tensor& out);
  /// dx (R, F) = Σ_q (dout[:, block q] · W_qᵀ) ⊙ mask_q.
  void backward_data(const Tensor& dout, Tensor& dx);
  /// dW[:, block q] (+)= (x ⊙ mask_q)ᵀ · dout[:, block q]; db likewise (when defined).
  void backward_weights(const Tensor& x, const Tensor& dout, Tensor& dW, Tensor& db,
                        bool accumulate);

 private:
  /// y (=, or += when accumulate) x ⊙ mask_q, row by row.
  void mask_rows(const Tensor& x, int64_t q, Tensor& y, bool accumulate) const;

  Tensor masks_, W_, bias_;
  int64_t m_ = 1, n_ = 1, div_ = 1, block_ = 0;
  Tensor wq_, bq_, xd_, yq_, dxq_, dwq_, dbq_;  // scratch
};

}  // namespace fitrun::layers::rnn_dropout
