// Convolution layers on ops::conv2d_*: every layer is a 2-D channels_last convolution on views
// of its tensors (Conv1D adds a height of 1; DepthwiseConv2D is a grouped convolution with one
// input channel per group, whose Keras kernel (kh, kw, in, m) is already oneDNN's grouped
// layout; Conv2DTranspose runs the convolution's backward-data as its forward).
#include "fitrun/layers/conv.hpp"

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"
#include "layers/spatial_util.hpp"

namespace fitrun::layers {

using detail::PadMode;

namespace {
/// Keras' default slope for the "leaky_relu" activation string.
constexpr float kLeakySlope = 0.2f;

json initializer_json(const InitializerRef& init) { return io::serialize_initializer(*init); }

void check_positive(int64_t v, const char* what, const std::string& layer) {
  if (v <= 0)
    throw ConfigError(layer + ": " + what + " must be positive, got " + std::to_string(v));
}

void check_options(const ConvOptions& o, const std::string& layer) {
  check_positive(o.strides.h, "strides", layer);
  check_positive(o.strides.w, "strides", layer);
  check_positive(o.dilation_rate.h, "dilation_rate", layer);
  check_positive(o.dilation_rate.w, "dilation_rate", layer);
  check_positive(o.groups, "groups", layer);
  check_positive(o.depth_multiplier, "depth_multiplier", layer);
  if ((o.strides.h > 1 || o.strides.w > 1) && (o.dilation_rate.h > 1 || o.dilation_rate.w > 1))
    throw ConfigError(layer + ": strides > 1 together with dilation_rate > 1 is not supported "
                      "(as in Keras)");
  detail::parse_padding(o.padding, layer.c_str(), false);
}

/// The 2-D geometry of a convolution of `in` (N, H, W, C) by a kh×kw kernel.
struct Plan2D {
  detail::AxisPlan h, w;
  ops::Conv2DParams p;
};
Plan2D plan2d(const Shape& in, Size2 k, Size2 s, Size2 d, PadMode m, int64_t groups,
              ComputeDType compute = ComputeDType::float32) {
  Plan2D r;
  r.h = detail::plan_axis(in[1], k.h, s.h, d.h, m);
  r.w = detail::plan_axis(in[2], k.w, s.w, d.w, m);
  r.p.stride_h = s.h;
  r.p.stride_w = s.w;
  r.p.dilation_h = d.h;
  r.p.dilation_w = d.w;
  r.p.pad_top = r.h.before;
  r.p.pad_bottom = r.h.after;
  r.p.pad_left = r.w.before;
  r.p.pad_right = r.w.after;
  r.p.groups = groups;
  r.p.compute = compute;
  return r;
}

std::string dims_text(Size2 s) { return std::to_string(s.h) + "x" + std::to_string(s.w); }

/// The ShapeError Layer::shape_error throws, for helpers outside the layer classes.
[[noreturn]] void fail(const Layer& l, const std::string& what) {
  throw ShapeError("layer \"" + l.name() + "\" (" + l.class_name() + "): " + what);
}

/// Checks the spatial output is not empty ("valid" with a window larger than the input).
void check_fits(const Layer& layer, const Plan2D& pl, const Shape& input, Size2 k, Size2 d) {
  if (pl.h.out == 0 || pl.w.out == 0)
    fail(layer, "the kernel " + dims_text(k) +
                    (d.h > 1 || d.w > 1 ? " (dilation " + dims_text(d) + ")" : "") +
                    " does not fit in input " + input.to_string() + " with padding \"valid\"");
}

/// y4 = act(conv(x4, k4) + bias): fused when oneDNN can, else through a pre-activation
/// kept in scratch slot 0 for the backward.
void conv_act_forward(CallContext& ctx, const Tensor& x4, const Tensor& k4, const Tensor& bias,
                      const ops::Conv2DParams& p, ActivationFn act, Tensor& y4) {
  if (ops::conv_fusable(act)) {
    ops::conv2d_forward(x4, k4, bias, p, act, y4);
    return;
  }
  Tensor pre = ctx.scratch(0, y4.shape());
  ops::conv2d_forward(x4, k4, bias, p, ActivationFn::linear, pre);
  ops::activation_forward(act, kLeakySlope, pre, y4);
}

/// dL/d(pre-activation) from dL/dy (dy itself for "linear"); scratch slot 1. Returned by
/// value (a view): a later scratch() call may move the context's slots.
Tensor pre_activation_grad(CallContext& ctx, ActivationFn act, const Tensor& y4,
                                  const Tensor& dy4) {
  if (act == ActivationFn::linear) return dy4;
  Tensor pre = ops::conv_fusable(act) ? y4 : ctx.scratch(0, y4.shape());
  Tensor d = ctx.scratch(1, y4.shape());
  ops::activation_backward(act, kLeakySlope, pre, y4, dy4, d);
  return d;
}

/// Weight and input gradients of one convolution given dL/d(pre-activation).
void conv_grads(CallContext& ctx, bool trainable, const Tensor& x4, const Tensor& k4,
                Tensor* dk4, const VariablePtr& bias, const ops::Conv2DParams& p,
                const Tensor& dpre4, Tensor* dx4) {
  if (trainable && dk4) {
    Tensor no_bias;
    ops::conv2d_backward_weights(x4, dpre4, p, *dk4, bias ? bias->grad : no_bias,
                                 ctx.accumulate_grads);
  }
  if (dx4) ops::conv2d_backward_data(dpre4, k4, p, *dx4);
}

Shape nhwc(int64_t n, int64_t h, int64_t w, int64_t c) { return Shape{n, h, w, c}; }

/// Common config keys of the 2-D convolutions.
json conv_config(json c, const ConvOptions& o, Size2 kernel, ActivationFn act) {
  c["kernel_size"] = detail::size2_to_json(kernel);
  c["strides"] = detail::size2_to_json(o.strides);
  c["padding"] = o.padding;
  c["data_format"] = "channels_last";
  c["dilation_rate"] = detail::size2_to_json(o.dilation_rate);
  c["activation"] = activation_name(act);
  c["use_bias"] = o.use_bias;
  c["kernel_initializer"] = initializer_json(o.kernel_initializer);
  c["bias_initializer"] = initializer_json(o.bias_initializer);
  c["kernel_regularizer"] = io::serialize_or_null(o.kernel_regularizer);
  c["bias_regularizer"] = io::serialize_or_null(o.bias_regularizer);
  c["kernel_constraint"] = io::serialize_or_null(o.kernel_constraint);
  c["bias_constraint"] = io::serialize_or_null(o.bias_constraint);
  return c;
}

/// Renames the kernel_* keys of conv_config to `prefix`_* (depthwise_initializer, ...).
void rename_kernel_keys(json& c, const std::string& prefix) {
  for (const char* k : {"initializer", "regularizer", "constraint"}) {
    c[prefix + "_" + k] = c["kernel_" + std::string(k)];
    c.erase("kernel_" + std::string(k));
  }
}

/// Rank-4 input with known spatial and channel sizes.
void require_image(const Layer& l, const Shape& s) {
  if (s.rank() != 4)
    fail(l, "expected an input of rank 4 (batch, height, width, channels), got " +
                                  s.to_string());
  if (s[3] <= 0)
    fail(l, "the channel dimension must be known, got " + s.to_string());
}
}  // namespace

// ================================================================ Conv2D
Conv2D::Conv2D(int64_t filters, Size2 kernel_size, const std::string& activation,
               ConvOptions options)
    : LayerOf<Conv2D>(options.name),
      filters_(filters),
      kernel_size_(kernel_size),
      activation_(parse_activation(activation)),
      options_(std::move(options)) {
  activity_regularizer = options_.activity_regularizer;
  check_positive(filters, "filters", "Conv2D");
  check_positive(kernel_size.h, "kernel_size", "Conv2D");
  check_positive(kernel_size.w, "kernel_size", "Conv2D");
  check_options(options_, "Conv2D");
  if (filters % options_.groups)
    throw ConfigError("Conv2D: filters (" + std::to_string(filters) +
                      ") must be divisible by groups (" + std::to_string(options_.groups) + ")");
}

Shape Conv2D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  require_image(*this, s[0]);
  const int64_t c = s[0][3];
  if (c % options_.groups)
    shape_error("input channels (" + std::to_string(c) + ") must be divisible by groups (" +
                std::to_string(options_.groups) + "), input " + s[0].to_string());
  if (built() && c != build_input_shapes()[0][3])
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                ", got input shape " + s[0].to_string());
  const auto pl = plan2d(s[0], kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "Conv2D", false), options_.groups);
  check_fits(*this, pl, s[0], kernel_size_, options_.dilation_rate);
  return nhwc(s[0][0], pl.h.out, pl.w.out, filters_);
}

void Conv2D::build(const std::vector<Shape>& s) {
  kernel_ = add_weight("kernel", {kernel_size_.h, kernel_size_.w, s[0][3] / options_.groups,
                                  filters_},
                       options_.kernel_initializer,
                       options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer,
                       options_.bias_regularizer, options_.bias_constraint);
}

void Conv2D::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const auto pl = plan2d(in[0]->shape(), kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "Conv2D", false), options_.groups,
                         compute_dtype());
  conv_act_forward(ctx, *in[0], kernel_->value, bias_ ? bias_->value : Tensor(), pl.p,
                   activation_, y);
}

void Conv2D::backward(CallContext& ctx, const std::vector<const Tensor*>& in, const Tensor& y,
                      const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  const auto pl = plan2d(in[0]->shape(), kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "Conv2D", false), options_.groups,
                         compute_dtype());
  const Tensor dpre = pre_activation_grad(ctx, activation_, y, dy);
  conv_grads(ctx, trainable, *in[0], kernel_->value, &kernel_->grad, bias_, pl.p, dpre,
             grad_inputs[0]);
}

json Conv2D::get_config() const {
  json c = conv_config(Layer::get_config(), options_, kernel_size_, activation_);
  c["filters"] = filters_;
  c["groups"] = options_.groups;
  return c;
}

// ================================================================ Conv1D
namespace {
Shape as_image(const Shape& s) { return Shape{s[0], 1, s[1], s[2]}; }
}  // namespace

Conv1D::Conv1D(int64_t filters, int64_t kernel_size, const std::string& activation,
               Conv1DOptions options)
    : LayerOf<Conv1D>(options.name),
      filters_(filters),
      kernel_size_(kernel_size),
      activation_(parse_activation(activation)),
      options_(std::move(options)) {
  activity_regularizer = options_.activity_regularizer;
  check_positive(filters, "filters", "Conv1D");
  check_positive(kernel_size, "kernel_size", "Conv1D");
  check_positive(options_.strides, "strides", "Conv1D");
  check_positive(options_.dilation_rate, "dilation_rate", "Conv1D");
  check_positive(options_.groups, "groups", "Conv1D");
  detail::parse_padding(options_.padding, "Conv1D", true);
  if (filters % options_.groups)
    throw ConfigError("Conv1D: filters (" + std::to_string(filters) +
                      ") must be divisible by groups (" + std::to_string(options_.groups) + ")");
}

Shape Conv1D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != 3)
    shape_error("expected an input of rank 3 (batch, steps, channels), got " + s[0].to_string());
  const int64_t c = s[0][2];
  if (c <= 0) shape_error("the channel dimension must be known, got " + s[0].to_string());
  if (c % options_.groups)
    shape_error("input channels (" + std::to_string(c) + ") must be divisible by groups (" +
                std::to_string(options_.groups) + "), input " + s[0].to_string());
  if (built() && c != build_input_shapes()[0][2])
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                ", got input shape " + s[0].to_string());
  const auto a = detail::plan_axis(s[0][1], kernel_size_, options_.strides,
                                   options_.dilation_rate,
                                   detail::parse_padding(options_.padding, "Conv1D", true));
  if (a.out == 0)
    shape_error("the kernel " + std::to_string(kernel_size_) + " does not fit in input " +
                s[0].to_string() + " with padding \"valid\"");
  return Shape{s[0][0], a.out, filters_};
}

void Conv1D::build(const std::vector<Shape>& s) {
  kernel_ = add_weight("kernel", {kernel_size_, s[0][2] / options_.groups, filters_},
                       options_.kernel_initializer,
                       options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer,
                       options_.bias_regularizer, options_.bias_constraint);
}

namespace {
ops::Conv2DParams conv1d_params(const Shape& x, int64_t k, const Conv1DOptions& o,
                                ComputeDType compute) {
  const auto a = detail::plan_axis(x[1], k, o.strides, o.dilation_rate,
                                   detail::parse_padding(o.padding, "Conv1D", true));
  ops::Conv2DParams p;
  p.stride_w = o.strides;
  p.dilation_w = o.dilation_rate;
  p.pad_left = a.before;
  p.pad_right = a.after;
  p.groups = o.groups;
  p.compute = compute;
  return p;
}
}  // namespace

void Conv1D::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const Shape& xs = in[0]->shape();
  const Tensor k = kernel_->value;
  Tensor y4 = y.reshape(as_image(y.shape()));
  conv_act_forward(ctx, in[0]->reshape(as_image(xs)), k.reshape({1, k.dim(0), k.dim(1), k.dim(2)}),
                   bias_ ? bias_->value : Tensor(), conv1d_params(xs, kernel_size_, options_, compute_dtype()),
                   activation_, y4);
}

void Conv1D::backward(CallContext& ctx, const std::vector<const Tensor*>& in, const Tensor& y,
                      const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  const Shape& xs = in[0]->shape();
  const Shape ks{1, kernel_->value.dim(0), kernel_->value.dim(1), kernel_->value.dim(2)};
  const Tensor y4 = y.reshape(as_image(y.shape())), dy4 = dy.reshape(as_image(dy.shape()));
  const Tensor dpre = pre_activation_grad(ctx, activation_, y4, dy4);
  Tensor dk = kernel_->grad.reshape(ks);
  Tensor dx;
  if (grad_inputs[0]) dx = grad_inputs[0]->reshape(as_image(xs));
  conv_grads(ctx, trainable, in[0]->reshape(as_image(xs)), kernel_->value.reshape(ks), &dk, bias_,
             conv1d_params(xs, kernel_size_, options_, compute_dtype()), dpre, grad_inputs[0] ? &dx : nullptr);
}

json Conv1D::get_config() const {
  json c = Layer::get_config();
  c["filters"] = filters_;
  c["kernel_size"] = json::array({kernel_size_});
  c["strides"] = json::array({options_.strides});
  c["padding"] = options_.padding;
  c["data_format"] = "channels_last";
  c["dilation_rate"] = json::array({options_.dilation_rate});
  c["groups"] = options_.groups;
  c["activation"] = activation_name(activation_);
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = initializer_json(options_.kernel_initializer);
  c["bias_initializer"] = initializer_json(options_.bias_initializer);
  c["kernel_regularizer"] = io::serialize_or_null(options_.kernel_regularizer);
  c["bias_regularizer"] = io::serialize_or_null(options_.bias_regularizer);
  c["kernel_constraint"] = io::serialize_or_null(options_.kernel_constraint);
  c["bias_constraint"] = io::serialize_or_null(options_.bias_constraint);
  return c;
}

// ================================================================ DepthwiseConv2D
DepthwiseConv2D::DepthwiseConv2D(Size2 kernel_size, const std::string& activation,
                                 ConvOptions options)
    : LayerOf<DepthwiseConv2D>(options.name),
      kernel_size_(kernel_size),
      activation_(parse_activation(activation)),
      options_(std::move(options)) {
  activity_regularizer = options_.activity_regularizer;
  check_positive(kernel_size.h, "kernel_size", "DepthwiseConv2D");
  check_positive(kernel_size.w, "kernel_size", "DepthwiseConv2D");
  check_options(options_, "DepthwiseConv2D");
  if (options_.groups != 1) throw ConfigError("DepthwiseConv2D: groups is not an argument");
}

Shape DepthwiseConv2D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  require_image(*this, s[0]);
  if (built() && s[0][3] != build_input_shapes()[0][3])
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                ", got input shape " + s[0].to_string());
  const auto pl = plan2d(s[0], kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "DepthwiseConv2D", false), 1);
  check_fits(*this, pl, s[0], kernel_size_, options_.dilation_rate);
  return nhwc(s[0][0], pl.h.out, pl.w.out, s[0][3] * options_.depth_multiplier);
}

void DepthwiseConv2D::build(const std::vector<Shape>& s) {
  kernel_ = add_weight("kernel", {kernel_size_.h, kernel_size_.w, s[0][3],
                                  options_.depth_multiplier},
                       options_.kernel_initializer,
                       options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {s[0][3] * options_.depth_multiplier}, options_.bias_initializer,
                       options_.bias_regularizer, options_.bias_constraint);
}

namespace {
/// The depthwise kernel (kh, kw, C, m) as a grouped Conv2D kernel (kh, kw, 1, C*m).
Shape grouped_view(const Tensor& k) { return Shape{k.dim(0), k.dim(1), 1, k.dim(2) * k.dim(3)}; }
}  // namespace

void DepthwiseConv2D::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const int64_t c = in[0]->dim(3);
  const auto pl = plan2d(in[0]->shape(), kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "DepthwiseConv2D", false), c,
                         compute_dtype());
  conv_act_forward(ctx, *in[0], kernel_->value.reshape(grouped_view(kernel_->value)),
                   bias_ ? bias_->value : Tensor(), pl.p, activation_, y);
}

void DepthwiseConv2D::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                               const Tensor& y, const Tensor& dy,
                               const std::vector<Tensor*>& grad_inputs) {
  const int64_t c = in[0]->dim(3);
  const auto pl = plan2d(in[0]->shape(), kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "DepthwiseConv2D", false), c,
                         compute_dtype());
  const Shape ks = grouped_view(kernel_->value);
  const Tensor dpre = pre_activation_grad(ctx, activation_, y, dy);
  Tensor dk = kernel_->grad.reshape(ks);
  conv_grads(ctx, trainable, *in[0], kernel_->value.reshape(ks), &dk, bias_, pl.p, dpre,
             grad_inputs[0]);
}

json DepthwiseConv2D::get_config() const {
  json c = conv_config(Layer::get_config(), options_, kernel_size_, activation_);
  c["depth_multiplier"] = options_.depth_multiplier;
  rename_kernel_keys(c, "depthwise");
  return c;
}

// ================================================================ SeparableConv2D
SeparableConv2D::SeparableConv2D(int64_t filters, Size2 kernel_size,
                                 const std::string& activation, ConvOptions options)
    : LayerOf<SeparableConv2D>(options.name),
      filters_(filters),
      kernel_size_(kernel_size),
      activation_(parse_activation(activation)),
      options_(std::move(options)) {
  activity_regularizer = options_.activity_regularizer;
  check_positive(filters, "filters", "SeparableConv2D");
  check_positive(kernel_size.h, "kernel_size", "SeparableConv2D");
  check_positive(kernel_size.w, "kernel_size", "SeparableConv2D");
  check_options(options_, "SeparableConv2D");
  if (options_.groups != 1) throw ConfigError("SeparableConv2D: groups is not an argument");
}

Shape SeparableConv2D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  require_image(*this, s[0]);
  if (built() && s[0][3] != build_input_shapes()[0][3])
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                ", got input shape " + s[0].to_string());
  const auto pl = plan2d(s[0], kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "SeparableConv2D", false), 1);
  check_fits(*this, pl, s[0], kernel_size_, options_.dilation_rate);
  return nhwc(s[0][0], pl.h.out, pl.w.out, filters_);
}

void SeparableConv2D::build(const std::vector<Shape>& s) {
  const int64_t c = s[0][3], m = options_.depth_multiplier;
  depthwise_ = add_weight("depthwise_kernel", {kernel_size_.h, kernel_size_.w, c, m},
                          options_.kernel_initializer,
                       options_.kernel_regularizer, options_.kernel_constraint);
  pointwise_ = add_weight("pointwise_kernel", {1, 1, c * m, filters_},
                          options_.pointwise_initializer,
                          options_.pointwise_regularizer, options_.pointwise_constraint);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer,
                       options_.bias_regularizer, options_.bias_constraint);
}

void SeparableConv2D::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const Tensor& x = *in[0];
  const int64_t c = x.dim(3);
  const auto pl = plan2d(x.shape(), kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "SeparableConv2D", false), c,
                         compute_dtype());
  Tensor mid = ctx.scratch(2, nhwc(y.dim(0), y.dim(1), y.dim(2), depthwise_->value.dim(2) *
                                                                    depthwise_->value.dim(3)));
  ops::conv2d_forward(x, depthwise_->value.reshape(grouped_view(depthwise_->value)), Tensor(),
                      pl.p, ActivationFn::linear, mid);
  conv_act_forward(ctx, mid, pointwise_->value, bias_ ? bias_->value : Tensor(),
                   ops::Conv2DParams{.compute = compute_dtype()}, activation_, y);
}

void SeparableConv2D::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                               const Tensor& y, const Tensor& dy,
                               const std::vector<Tensor*>& grad_inputs) {
  const Tensor& x = *in[0];
  const int64_t c = x.dim(3);
  const auto pl = plan2d(x.shape(), kernel_size_, options_.strides, options_.dilation_rate,
                         detail::parse_padding(options_.padding, "SeparableConv2D", false), c,
                         compute_dtype());
  const Shape mid_shape =
      nhwc(y.dim(0), y.dim(1), y.dim(2), depthwise_->value.dim(2) * depthwise_->value.dim(3));
  Tensor dmid = ctx.scratch(3, mid_shape);
  const Tensor mid = ctx.scratch(2, mid_shape);
  const Tensor dpre = pre_activation_grad(ctx, activation_, y, dy);
  conv_grads(ctx, trainable, mid, pointwise_->value, &pointwise_->grad, bias_, ops::Conv2DParams{.compute = compute_dtype()},
             dpre, &dmid);
  const Shape ks = grouped_view(depthwise_->value);
  Tensor dk = depthwise_->grad.reshape(ks);
  conv_grads(ctx, trainable, x, depthwise_->value.reshape(ks), &dk, nullptr, pl.p, dmid,
             grad_inputs[0]);
}

json SeparableConv2D::get_config() const {
  json c = conv_config(Layer::get_config(), options_, kernel_size_, activation_);
  c["filters"] = filters_;
  c["depth_multiplier"] = options_.depth_multiplier;
  rename_kernel_keys(c, "depthwise");
  c["pointwise_initializer"] = initializer_json(options_.pointwise_initializer);
  c["pointwise_regularizer"] = io::serialize_or_null(options_.pointwise_regularizer);
  c["pointwise_constraint"] = io::serialize_or_null(options_.pointwise_constraint);
  return c;
}

// ================================================================ Conv2DTranspose
Conv2DTranspose::Conv2DTranspose(int64_t filters, Size2 kernel_size,
                                 const std::string& activation, ConvOptions options,
                                 Size2 output_padding)
    : LayerOf<Conv2DTranspose>(options.name),
      filters_(filters),
      kernel_size_(kernel_size),
      activation_(parse_activation(activation)),
      options_(std::move(options)),
      output_padding_(output_padding) {
  activity_regularizer = options_.activity_regularizer;
  check_positive(filters, "filters", "Conv2DTranspose");
  check_positive(kernel_size.h, "kernel_size", "Conv2DTranspose");
  check_positive(kernel_size.w, "kernel_size", "Conv2DTranspose");
  check_options(options_, "Conv2DTranspose");
  if (options_.groups != 1) throw ConfigError("Conv2DTranspose: groups must be 1");
  const bool has_op = output_padding.h >= 0 || output_padding.w >= 0;
  if (has_op && (output_padding.h < 0 || output_padding.w < 0 ||
                 output_padding.h >= options_.strides.h || output_padding.w >= options_.strides.w))
    throw ConfigError("Conv2DTranspose: output_padding must be >= 0 and smaller than strides, "
                      "got (" + std::to_string(output_padding.h) + ", " +
                      std::to_string(output_padding.w) + ")");
}

namespace {
/// Keras' deconv_output_length for one axis.
int64_t transpose_length(int64_t in, int64_t k, int64_t s, int64_t d, PadMode m, int64_t op) {
  if (in < 0) return -1;
  const int64_t keff = (k - 1) * d + 1;
  if (op < 0)
    return m == PadMode::valid ? in * s + std::max<int64_t>(keff - s, 0) : in * s;
  const int64_t pad = m == PadMode::same ? keff / 2 : 0;
  return (in - 1) * s + keff - 2 * pad + op;
}

/// Padding of the convolution output -> input that this transpose inverts.
void transpose_pads(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t& before,
                    int64_t& after) {
  const int64_t total = std::max<int64_t>((in - 1) * s + (k - 1) * d + 1 - out, 0);
  before = total / 2;
  after = total - before;
}
}  // namespace

Shape Conv2DTranspose::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  require_image(*this, s[0]);
  if (built() && s[0][3] != build_input_shapes()[0][3])
    shape_error("built for input shape " + build_input_shapes()[0].to_string() +
                ", got input shape " + s[0].to_string());
  const PadMode m = detail::parse_padding(options_.padding, "Conv2DTranspose", false);
  const int64_t oh = transpose_length(s[0][1], kernel_size_.h, options_.strides.h,
                                      options_.dilation_rate.h, m, output_padding_.h);
  const int64_t ow = transpose_length(s[0][2], kernel_size_.w, options_.strides.w,
                                      options_.dilation_rate.w, m, output_padding_.w);
  if (oh == 0 || ow == 0) shape_error("empty output for input " + s[0].to_string());
  return nhwc(s[0][0], oh, ow, filters_);
}

void Conv2DTranspose::build(const std::vector<Shape>& s) {
  kernel_ = add_weight("kernel", {kernel_size_.h, kernel_size_.w, filters_, s[0][3]},
                       options_.kernel_initializer,
                       options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias) bias_ = add_weight("bias", {filters_}, options_.bias_initializer,
                       options_.bias_regularizer, options_.bias_constraint);
}

namespace {
ops::Conv2DParams transpose_params(const Shape& x, const Shape& y, Size2 k, const ConvOptions& o,
                                   ComputeDType compute) {
  ops::Conv2DParams p;
  p.compute = compute;
  p.stride_h = o.strides.h;
  p.stride_w = o.strides.w;
  p.dilation_h = o.dilation_rate.h;
  p.dilation_w = o.dilation_rate.w;
  transpose_pads(x[1], y[1], k.h, o.strides.h, o.dilation_rate.h, p.pad_top, p.pad_bottom);
  transpose_pads(x[2], y[2], k.w, o.strides.w, o.dilation_rate.w, p.pad_left, p.pad_right);
  return p;
}
}  // namespace

void Conv2DTranspose::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const auto p = transpose_params(in[0]->shape(), y.shape(), kernel_size_, options_, compute_dtype());
  // The pre-activation goes into y itself when the activation's backward needs only y.
  const bool in_place = ops::conv_fusable(activation_);
  Tensor pre = in_place ? y : ctx.scratch(0, y.shape());
  ops::conv2d_backward_data(*in[0], kernel_->value, p, pre);
  if (bias_) ops::bias_add(pre, bias_->value, pre);
  if (activation_ != ActivationFn::linear) ops::activation_forward(activation_, kLeakySlope, pre, y);
}

void Conv2DTranspose::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                               const Tensor& y, const Tensor& dy,
                               const std::vector<Tensor*>& grad_inputs) {
  const auto p = transpose_params(in[0]->shape(), y.shape(), kernel_size_, options_, compute_dtype());
  const Tensor dpre = pre_activation_grad(ctx, activation_, y, dy);
  if (trainable) {
    if (bias_) ops::sum_rows(dpre, bias_->grad, ctx.accumulate_grads);
    Tensor no_bias;
    ops::conv2d_backward_weights(dpre, *in[0], p, kernel_->grad, no_bias, ctx.accumulate_grads);
  }
  if (grad_inputs[0])
    ops::conv2d_forward(dpre, kernel_->value, Tensor(), p, ActivationFn::linear, *grad_inputs[0]);
}

json Conv2DTranspose::get_config() const {
  json c = conv_config(Layer::get_config(), options_, kernel_size_, activation_);
  c["filters"] = filters_;
  c["output_padding"] = output_padding_.h < 0 ? json(nullptr)
                                                : detail::size2_to_json(output_padding_);
  return c;
}

}  // namespace fitrun::layers
