#include "fitrun/layers/dense.hpp"

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"

namespace fitrun::layers {

namespace {
/// Keras' default slope for the "leaky_relu" activation string.
constexpr float kLeakySlope = 0.2f;
}

Dense::Dense(int64_t units, const std::string& activation, DenseOptions options)
    : LayerOf<Dense>(options.name),
      units_(units),
      activation_(parse_activation(activation)),
      options_(std::move(options)) {
  supports_masking_ = true;  // per timestep: a sequence mask passes through (Keras)
  activity_regularizer = options_.activity_regularizer;
  if (units <= 0)
    throw ConfigError("Dense: units must be a positive integer, got " + std::to_string(units));
}

Shape Dense::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() < 2) shape_error("expected an input of rank >= 2, got " + s[0].to_string());
  if (built() && s[0].dim(-1) != kernel_->value.dim(0))
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                " (last dimension " + std::to_string(kernel_->value.dim(0)) +
                "), got input shape " + s[0].to_string());
  Shape out = s[0];
  out[out.rank() - 1] = units_;
  return out;
}

void Dense::build(const std::vector<Shape>& s) {
  const int64_t in = s[0].dim(-1);
  if (in <= 0) shape_error("the last input dimension must be known, got " + s[0].to_string());
  kernel_ = add_weight("kernel", {in, units_}, options_.kernel_initializer,
                       options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {units_}, options_.bias_initializer, options_.bias_regularizer,
                       options_.bias_constraint);
}

void Dense::forward(CallContext& ctx, const std::vector<const Tensor*>& inputs, Tensor& y) {
  const Tensor& x = *inputs[0];
  const Tensor bias = bias_ ? bias_->value : Tensor();
  if (ops::dense_fusable(activation_)) {
    ops::dense_forward(x, kernel_->value, bias, activation_, y, compute_dtype());
    return;
  }
  // The pre-activation is kept for the backward pass of activations that need their input.
  Tensor& pre = ctx.scratch(0, y.shape());
  ops::dense_forward(x, kernel_->value, bias, ActivationFn::linear, pre, compute_dtype());
  ops::activation_forward(activation_, kLeakySlope, pre, y);
}

void Dense::backward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                     const Tensor& y, const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  const Tensor* dpre = &dy;
  if (activation_ != ActivationFn::linear) {
    Tensor& d = ctx.scratch(1, y.shape());
    const Tensor& pre = ops::dense_fusable(activation_) ? y : ctx.scratch(0, y.shape());
    ops::activation_backward(activation_, kLeakySlope, pre, y, dy, d);
    dpre = &d;
  }
  if (trainable) {
    Tensor no_bias;
    ops::dense_backward_weights(*inputs[0], *dpre, kernel_->grad, bias_ ? bias_->grad : no_bias,
                                ctx.accumulate_grads, compute_dtype());
  }
  if (grad_inputs[0]) ops::dense_backward_data(*dpre, kernel_->value, *grad_inputs[0], compute_dtype());
}

json Dense::get_config() const {
  json c = Layer::get_config();
  c["units"] = units_;
  c["activation"] = activation_name(activation_);
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = io::serialize_initializer(*options_.kernel_initializer);
  c["bias_initializer"] = io::serialize_initializer(*options_.bias_initializer);
  c["kernel_regularizer"] = io::serialize_or_null(options_.kernel_regularizer);
  c["bias_regularizer"] = io::serialize_or_null(options_.bias_regularizer);
  c["kernel_constraint"] = io::serialize_or_null(options_.kernel_constraint);
  c["bias_constraint"] = io::serialize_or_null(options_.bias_constraint);
  return c;
}

}  // namespace fitrun::layers
