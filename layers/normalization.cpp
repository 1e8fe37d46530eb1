// BatchNormalization and LayerNormalization on ops::batch_norm_* / ops::layer_norm_*. The
// batch statistics of a training forward stay in the call's scratch for the backward.
#include "fitrun/layers/normalization.hpp"

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"

namespace fitrun::layers {

namespace {
json initializer_json(const InitializerRef& init) { return io::serialize_initializer(*init); }

/// The channel axis must be the last one (fitrun computes channels_last).
void check_last_axis(const Layer& l, int axis, const Shape& s) {
  if (s.rank() < 2)
    throw ShapeError("layer \"" + l.name() + "\" (" + l.class_name() +
                     "): expected an input of rank >= 2, got " + s.to_string());
  if (axis != -1 && axis != s.rank() - 1)
    throw ShapeError("layer \"" + l.name() + "\" (" + l.class_name() + "): axis " +
                     std::to_string(axis) + " of input " + s.to_string() +
                     " is not supported; only the last axis (channels_last) is");
  if (s.dim(-1) <= 0)
    throw ShapeError("layer \"" + l.name() + "\" (" + l.class_name() +
                     "): the last dimension must be known, got " + s.to_string());
}

struct BnState {
  bool batch_stats = false;  // the last forward normalized with batch statistics
};
}  // namespace

// ================================================================ BatchNormalization
BatchNormalization::BatchNormalization(BatchNormalizationOptions options)
    : LayerOf<BatchNormalization>(options.name), options_(std::move(options)) {
  activity_regularizer = options_.activity_regularizer;
  if (!(options_.momentum >= 0.f && options_.momentum <= 1.f))
    throw ConfigError("BatchNormalization: momentum must be in [0, 1], got " +
                      std::to_string(options_.momentum));
  if (!(options_.epsilon > 0.f))
    throw ConfigError("BatchNormalization: epsilon must be positive, got " +
                      std::to_string(options_.epsilon));
}

Shape BatchNormalization::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  check_last_axis(*this, options_.axis, s[0]);
  if (built() && s[0].dim(-1) != moving_mean_->value.size())
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                ", got input shape " + s[0].to_string());
  return s[0];
}

void BatchNormalization::build(const std::vector<Shape>& s) {
  const int64_t c = s[0].dim(-1);
  if (options_.scale)
    gamma_ = add_weight("gamma", {c}, options_.gamma_initializer, options_.gamma_regularizer,
                        options_.gamma_constraint);
  if (options_.center)
    beta_ = add_weight("beta", {c}, options_.beta_initializer, options_.beta_regularizer,
                       options_.beta_constraint);
  moving_mean_ = add_weight("moving_mean", {c}, options_.moving_mean_initializer, false);
  moving_variance_ =
      add_weight("moving_variance", {c}, options_.moving_variance_initializer, false);
}

void BatchNormalization::forward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                 Tensor& y) {
  const Tensor& x = *in[0];
  const Tensor gamma = gamma_ ? gamma_->value : Tensor();
  const Tensor beta = beta_ ? beta_->value : Tensor();
  // Keras: a frozen (non-trainable) BatchNormalization runs in inference mode.
  const bool batch_stats = ctx.training && trainable;
  ctx.state<BnState>().batch_stats = batch_stats;
  if (!batch_stats) {
    ops::batch_norm_forward_inference(x, gamma, beta, moving_mean_->value,
                                      moving_variance_->value, options_.epsilon, y);
    return;
  }
  const int64_t c = x.dim(-1);
  Tensor mean = ctx.scratch(0, {c}), var = ctx.scratch(1, {c});
  ops::batch_norm_forward_training(x, gamma, beta, options_.epsilon, y, mean, var);
  ops::moving_average_update(moving_mean_->value, mean, options_.momentum);
  ops::moving_average_update(moving_variance_->value, var, options_.momentum);
}

void BatchNormalization::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                  const Tensor&, const Tensor& dy,
                                  const std::vector<Tensor*>& grad_inputs) {
  const bool want_weights = trainable && (gamma_ || beta_);
  if (!grad_inputs[0] && !want_weights) return;
  const Tensor& x = *in[0];
  const int64_t c = x.dim(-1);
  const bool batch_stats = ctx.state<BnState>().batch_stats;
  const Tensor mean = batch_stats ? ctx.scratch(0, {c}) : moving_mean_->value;
  const Tensor var = batch_stats ? ctx.scratch(1, {c}) : moving_variance_->value;
  Tensor dx = grad_inputs[0] ? *grad_inputs[0] : ctx.scratch(2, x.shape());
  const Tensor gamma = gamma_ ? gamma_->value : Tensor();
  const Tensor beta = beta_ ? beta_->value : Tensor();
  Tensor dgamma = trainable && gamma_ ? gamma_->grad : Tensor();
  Tensor dbeta = trainable && beta_ ? beta_->grad : Tensor();
  ops::batch_norm_backward(x, dy, gamma, beta, mean, var, options_.epsilon, !batch_stats, dx,
                           dgamma, dbeta, ctx.accumulate_grads);
}

json BatchNormalization::get_config() const {
  json c = Layer::get_config();
  c["axis"] = options_.axis;
  c["momentum"] = io::keras_float(options_.momentum);
  c["epsilon"] = io::keras_float(options_.epsilon);
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["beta_initializer"] = initializer_json(options_.beta_initializer);
  c["gamma_initializer"] = initializer_json(options_.gamma_initializer);
  c["moving_mean_initializer"] = initializer_json(options_.moving_mean_initializer);
  c["moving_variance_initializer"] = initializer_json(options_.moving_variance_initializer);
  c["beta_regularizer"] = io::serialize_or_null(options_.beta_regularizer);
  c["gamma_regularizer"] = io::serialize_or_null(options_.gamma_regularizer);
  c["beta_constraint"] = io::serialize_or_null(options_.beta_constraint);
  c["gamma_constraint"] = io::serialize_or_null(options_.gamma_constraint);
  c["synchronized"] = false;
  return c;
}

// ================================================================ LayerNormalization
LayerNormalization::LayerNormalization(LayerNormalizationOptions options)
    : LayerOf<LayerNormalization>(options.name), options_(std::move(options)) {
  activity_regularizer = options_.activity_regularizer;
  supports_masking_ = true;  // per timestep: a sequence mask passes through (Keras)
  if (!(options_.epsilon > 0.f))
    throw ConfigError("LayerNormalization: epsilon must be positive, got " +
                      std::to_string(options_.epsilon));
}

Shape LayerNormalization::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  check_last_axis(*this, options_.axis, s[0]);
  if (built() && s[0].dim(-1) != build_input_shapes()[0].dim(-1))
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                ", got input shape " + s[0].to_string());
  return s[0];
}

void LayerNormalization::build(const std::vector<Shape>& s) {
  const int64_t c = s[0].dim(-1);
  if (options_.scale)
    gamma_ = add_weight("gamma", {c}, options_.gamma_initializer, options_.gamma_regularizer,
                        options_.gamma_constraint);
  if (options_.center)
    beta_ = add_weight("beta", {c}, options_.beta_initializer, options_.beta_regularizer,
                       options_.beta_constraint);
}

void LayerNormalization::forward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                 Tensor& y) {
  const Tensor& x = *in[0];
  const int64_t rows = x.size() / x.dim(-1);
  Tensor mean = ctx.scratch(0, {rows}), var = ctx.scratch(1, {rows});
  ops::layer_norm_forward(x, gamma_ ? gamma_->value : Tensor(), beta_ ? beta_->value : Tensor(),
                          options_.epsilon, y, mean, var);
}

void LayerNormalization::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                  const Tensor&, const Tensor& dy,
                                  const std::vector<Tensor*>& grad_inputs) {
  const bool want_weights = trainable && (gamma_ || beta_);
  if (!grad_inputs[0] && !want_weights) return;
  const Tensor& x = *in[0];
  const int64_t rows = x.size() / x.dim(-1);
  const Tensor mean = ctx.scratch(0, {rows}), var = ctx.scratch(1, {rows});
  Tensor dx = grad_inputs[0] ? *grad_inputs[0] : ctx.scratch(2, x.shape());
  Tensor dgamma = trainable && gamma_ ? gamma_->grad : Tensor();
  Tensor dbeta = trainable && beta_ ? beta_->grad : Tensor();
  ops::layer_norm_backward(x, dy, gamma_ ? gamma_->value : Tensor(),
                           beta_ ? beta_->value : Tensor(), mean, var, options_.epsilon, dx,
                           dgamma, dbeta, ctx.accumulate_grads);
}

json LayerNormalization::get_config() const {
  json c = Layer::get_config();
  c["axis"] = options_.axis;
  c["epsilon"] = io::keras_float(options_.epsilon);
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["beta_initializer"] = initializer_json(options_.beta_initializer);
  c["gamma_initializer"] = initializer_json(options_.gamma_initializer);
  c["beta_regularizer"] = io::serialize_or_null(options_.beta_regularizer);
  c["gamma_regularizer"] = io::serialize_or_null(options_.gamma_regularizer);
  c["beta_constraint"] = io::serialize_or_null(options_.beta_constraint);
  c["gamma_constraint"] = io::serialize_or_null(options_.gamma_constraint);
  c["rms_scaling"] = false;
  return c;
}

}  // namespace fitrun::layers
