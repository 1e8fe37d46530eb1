#include "layers/rnn_dropout.hpp"

#include "fitrun/ops.hpp"

namespace fitrun::layers::rnn_dropout {

void draw(Tensor& masks, Tensor& ones, float rate, uint64_t seed, uint64_t step) {
  ones.fill(1);
  ops::dropout_forward(ones, rate, seed, step, masks, ones);
}

MaskedMatmul::MaskedMatmul(CallContext& ctx, int slot, const Tensor& masks, int64_t div,
                           const Tensor& W, const Tensor& bias, int64_t rows)
    : masks_(masks), W_(W), bias_(bias), m_(masks.dim(0)), n_(masks.dim(1)), div_(div),
      block_(W.dim(1) / masks.dim(0)) {
  const int64_t f = W.dim(0), g = W.dim(1);
  // Held by value: a later scratch() call may move the slots.
  xd_ = ctx.scratch(slot, {rows, f});
  dxq_ = ctx.scratch(slot + 1, {rows, f});
  if (m_ == 1) return;
  wq_ = ctx.scratch(slot + 2, {m_, f, block_});
  yq_ = ctx.scratch(slot + 3, {rows, block_});
  dwq_ = ctx.scratch(slot + 4, {f, block_});
  dbq_ = ctx.scratch(slot + 5, {block_});
  // Each gate's column block of W (and of the bias) as its own contiguous matrix, once a call.
  const float* w = W.data<float>();
  float* wq = wq_.data<float>();
  for (int64_t q = 0; q < m_; ++q)
    for (int64_t r = 0; r < f; ++r)
      for (int64_t k = 0; k < block_; ++k) wq[(q * f + r) * block_ + k] = w[r * g + q * block_ + k];
  if (bias.defined()) {
    bq_ = ctx.scratch(slot + 6, {m_, block_});
    bq_.copy_from(bias.reshape({m_, block_}));
  }
}

void MaskedMatmul::mask_rows(const Tensor& x, int64_t q, Tensor& y, bool accumulate) const {
  const int64_t rows = x.dim(0), f = x.dim(1);
  const float* px = x.data<float>();
  const float* pm = masks_.data<float>() + q * n_ * f;
  float* py = y.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const float* m = pm + ((r / div_) % n_) * f;
    const float* xr = px + r * f;
    float* yr = py + r * f;
    if (accumulate)
      for (int64_t k = 0; k < f; ++k) yr[k] += xr[k] * m[k];
    else
      for (int64_t k = 0; k < f; ++k) yr[k] = xr[k] * m[k];
  }
}

namespace {
/// dst (R, block) = src[:, block q] of src (R, g), or the reverse (scatter).
void copy_block(const Tensor& src, Tensor& dst, int64_t q, int64_t block, bool gather) {
  const int64_t rows = src.dim(0);
  const int64_t g = gather ? src.dim(1) : dst.dim(1);
  const float* s = src.data<float>();
  float* d = dst.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < block; ++k) {
      if (gather) d[r * block + k] = s[r * g + q * block + k];
      else d[r * g + q * block + k] = s[r * block + k];
    }
}
}  // namespace

void MaskedMatmul::forward(const Tensor& x, Tensor& out) {
  if (m_ == 1) {
    mask_rows(x, 0, xd_, false);
    ops::dense_forward(xd_, W_, bias_, ActivationFn::linear, out);
    return;
  }
  const int64_t f = W_.dim(0);
  for (int64_t q = 0; q < m_; ++q) {
    mask_rows(x, q, xd_, false);
    const Tensor bq = bias_.defined() ? bq_.slice(q, q + 1).reshape({block_}) : Tensor();
    ops::dense_forward(xd_, wq_.slice(q, q + 1).reshape({f, block_}), bq, ActivationFn::linear,
                       yq_);
    copy_block(yq_, out, q, block_, false);
  }
}

void MaskedMatmul::backward_data(const Tensor& dout, Tensor& dx) {
  if (m_ == 1) {
    ops::dense_backward_data(dout, W_, dxq_);
    mask_rows(dxq_, 0, dx, false);
    return;
  }
  const int64_t f = W_.dim(0);
  dx.fill(0);
  for (int64_t q = 0; q < m_; ++q) {
    copy_block(dout, yq_, q, block_, true);
    ops::dense_backward_data(yq_, wq_.slice(q, q + 1).reshape({f, block_}), dxq_);
    mask_rows(dxq_, q, dx, true);
  }
}

void MaskedMatmul::backward_weights(const Tensor& x, const Tensor& dout, Tensor& dW, Tensor& db,
                                    bool accumulate) {
  if (m_ == 1) {
    mask_rows(x, 0, xd_, false);
    ops::dense_backward_weights(xd_, dout, dW, db, accumulate);
    return;
  }
  const int64_t f = W_.dim(0), g = W_.dim(1);
  float* pw = dW.data<float>();
  float* pb = db.defined() ? db.data<float>() : nullptr;
  for (int64_t q = 0; q < m_; ++q) {
    mask_rows(x, q, xd_, false);
    copy_block(dout, yq_, q, block_, true);
    Tensor none;
    ops::dense_backward_weights(xd_, yq_, dwq_, pb ? dbq_ : none, false);
    const float* w = dwq_.data<float>();
    for (int64_t r = 0; r < f; ++r)
      for (int64_t k = 0; k < block_; ++k) {
        float& d = pw[r * g + q * block_ + k];
        d = (accumulate ? d : 0.f) + w[r * block_ + k];
      }
    if (pb) {
      const float* b = dbq_.data<float>();
      for (int64_t k = 0; k < block_; ++k) {
        float& d = pb[q * block_ + k];
        d = (accumulate ? d : 0.f) + b[k];
      }
    }
  }
}

}  // namespace fitrun::layers::rnn_dropout
