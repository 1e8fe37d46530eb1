#include "fitrun/layers/dropout.hpp"

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"

namespace fitrun::layers {

Dropout::Dropout(float rate, std::string name, std::optional<uint32_t> seed)
    : LayerOf<Dropout>(std::move(name)),
      rate_(rate),
      // 31 bits: a seed any Keras version accepts when it reads the config.
      noise_seed_(seed ? *seed : static_cast<uint32_t>(Layer::seed() >> 33)) {
  supports_masking_ = true;  // per element: a sequence mask passes through (Keras)
  if (!(rate >= 0.f && rate < 1.f))
    throw ConfigError("Dropout: rate must be in [0, 1), got " + std::to_string(rate));
}

Shape Dropout::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  return s[0];
}

void Dropout::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  if (!ctx.training || rate_ == 0.f) {
    ops::copy(*in[0], y);
    return;
  }
  Tensor& mask = ctx.scratch(0, y.shape());
  // A fresh mask per step and per call of a shared layer, reproducible from the step number.
  ops::dropout_forward(*in[0], rate_, noise_seed_ ^ (static_cast<uint64_t>(ctx.call_index) << 32),
                       ctx.step, mask, y);
}

void Dropout::backward(CallContext& ctx, const std::vector<const Tensor*>&, const Tensor& y,
                       const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (!grad_inputs[0]) return;
  if (!ctx.training || rate_ == 0.f) {
    ops::copy(dy, *grad_inputs[0]);
    return;
  }
  ops::dropout_backward(dy, ctx.scratch(0, y.shape()), *grad_inputs[0]);
}

json Dropout::get_config() const {
  json c = Layer::get_config();
  c["rate"] = io::keras_float(rate_);
  c["noise_shape"] = nullptr;
  c["seed"] = noise_seed_;
  return c;
}

}  // namespace fitrun::layers
