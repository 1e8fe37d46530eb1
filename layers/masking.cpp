#include "fitrun/layers/masking.hpp"

#include "io/keras_json.hpp"

namespace fitrun::layers {

Masking::Masking(float mask_value, std::string name)
    : LayerOf<Masking>(std::move(name)), mask_value_(mask_value) {}

Shape Masking::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() < 3) shape_error("expected an input (batch, timesteps, features), got " +
                                   s[0].to_string());
  return s[0];
}

void Masking::forward(CallContext& ctx, const std::vector<const Tensor*>& inputs, Tensor& y) {
  const Tensor& x = *inputs[0];
  const int64_t f = x.dim(-1), steps = x.size() / f;
  // The keep flags are computed once here and reused by compute_mask and backward.
  Tensor& keep = ctx.scratch(0, {steps});
  const float* in = x.data<float>();
  float* out = y.data<float>();
  float* k = keep.data<float>();
  for (int64_t s = 0; s < steps; ++s) {
    bool any = false;
    for (int64_t j = 0; j < f && !any; ++j) any = in[s * f + j] != mask_value_;
    k[s] = any ? 1.f : 0.f;
    for (int64_t j = 0; j < f; ++j) out[s * f + j] = any ? in[s * f + j] : 0.f;
  }
}

void Masking::backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor&,
                       const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (!grad_inputs[0]) return;
  const int64_t f = inputs[0]->dim(-1), steps = inputs[0]->size() / f;
  const float* k = ctx.scratch(0, {steps}).data<float>();
  const float* d = dy.data<float>();
  float* dx = grad_inputs[0]->data<float>();
  for (int64_t s = 0; s < steps; ++s)
    for (int64_t j = 0; j < f; ++j) dx[s * f + j] = k[s] * d[s * f + j];
}

void Masking::compute_mask(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                           Tensor& mask) {
  const int64_t f = inputs[0]->dim(-1), steps = inputs[0]->size() / f;
  mask.copy_from(ctx.scratch(0, {steps}));
  // An incoming mask (a masked sequence fed to Masking again) still applies.
  if (const Tensor* in = ctx.input_mask(0)) {
    float* m = mask.data<float>();
    const float* p = in->data<float>();
    for (int64_t s = 0; s < steps; ++s) m[s] *= p[s];
  }
}

json Masking::get_config() const {
  json c = Layer::get_config();
  c["mask_value"] = io::keras_float(mask_value_);
  return c;
}

}  // namespace fitrun::layers
