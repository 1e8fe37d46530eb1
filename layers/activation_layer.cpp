#include "fitrun/layers/activation_layer.hpp"

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"

namespace fitrun::layers {

Activation::Activation(const std::string& activation, std::string name)
    : LayerOf<Activation>(std::move(name)), fn_(parse_activation(activation)),
      alpha_(fn_ == fitrun::ActivationFn::leaky_relu ? 0.2f : 0.f) {
  supports_masking_ = true;  // per element: a sequence mask passes through (Keras)
}

Activation::Activation(fitrun::ActivationFn fn, float alpha, std::string name)
    : LayerOf<Activation>(std::move(name)), fn_(fn), alpha_(alpha) {}

Shape Activation::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  return s[0];
}

void Activation::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::activation_forward(fn_, alpha_, *in[0], y);
}

void Activation::backward(CallContext&, const std::vector<const Tensor*>& in, const Tensor& y,
                          const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::activation_backward(fn_, alpha_, *in[0], y, dy, *grad_inputs[0]);
}

json Activation::get_config() const {
  json c = Layer::get_config();
  c["activation"] = activation_name(fn_);
  return c;
}

LeakyReLU::LeakyReLU(float negative_slope, std::string name)
    : Activation(fitrun::ActivationFn::leaky_relu, negative_slope, std::move(name)) {}

json LeakyReLU::get_config() const {
  json c = Layer::get_config();
  c["negative_slope"] = io::keras_float(alpha_);
  return c;
}

}  // namespace fitrun::layers
