// Pooling layers on ops::pool2d_*. 1-D layers view (N, L, C) as (N, 1, L, C); global pooling
// is one window covering the whole image. Max pooling keeps oneDNN's workspace (the arg-max of
// each window) in the call's state from the training forward to the backward.
#include "fitrun/layers/pooling.hpp"

#include "fitrun/ops.hpp"
#include "layers/spatial_util.hpp"

namespace fitrun::layers {

namespace {
struct PoolState {
  Tensor workspace;
  bool has_workspace = false;  // the last forward was a training forward of max pooling
};

void check_positive(int64_t v, const char* what, const std::string& layer) {
  if (v <= 0)
    throw ConfigError(layer + ": " + what + " must be positive, got " + std::to_string(v));
}

/// (N, 1, L, C) for a rank-3 tensor, the tensor itself for rank 4.
Tensor as_image(const Tensor& t) {
  return t.rank() == 3 ? t.reshape({t.dim(0), 1, t.dim(1), t.dim(2)}) : t;
}

/// Max-pool backward needs a training forward's workspace; recompute one if the forward ran
/// in inference mode (a gradient check in inference mode, for instance).
void pool_backward(CallContext& ctx, const Tensor& x4, const Tensor& y4, const Tensor& dy4,
                   const ops::Pool2DParams& p, Tensor& dx4) {
  PoolState& st = ctx.state<PoolState>();
  if (p.alg == ops::PoolAlg::max && !st.has_workspace) {
    Tensor tmp = ctx.scratch(0, y4.shape());
    ops::pool2d_forward(x4, p, true, tmp, st.workspace);
    st.has_workspace = true;
  }
  ops::pool2d_backward(dy4, st.workspace, p, dx4);
}

void pool_forward(CallContext& ctx, const Tensor& x4, const ops::Pool2DParams& p, Tensor& y4) {
  PoolState& st = ctx.state<PoolState>();
  ops::pool2d_forward(x4, p, ctx.training, y4, st.workspace);
  st.has_workspace = ctx.training && p.alg == ops::PoolAlg::max;
}
}  // namespace

// ================================================================ windowed pooling
Pooling::Pooling(bool max, int spatial_rank, Size2 pool_size, Size2 strides, std::string padding,
                 std::string name, const char* cls)
    : Layer(std::move(name)),
      max_(max),
      rank_(spatial_rank),
      pool_(pool_size),
      strides_(strides.h == 0 && strides.w == 0 ? pool_size : strides),
      padding_(std::move(padding)) {
  check_positive(pool_.h, "pool_size", cls);
  check_positive(pool_.w, "pool_size", cls);
  check_positive(strides_.h, "strides", cls);
  check_positive(strides_.w, "strides", cls);
  detail::parse_padding(padding_, cls, false);
}

namespace {
/// Output length and padding of both axes (height first; 1-D input has a height of 1).
struct PoolPlan {
  detail::AxisPlan h, w;
};
PoolPlan pool_plan(const Shape& image, Size2 pool, Size2 strides, const std::string& padding,
                   const char* cls) {
  const auto m = detail::parse_padding(padding, cls, false);
  return {detail::plan_axis(image[1], pool.h, strides.h, 1, m),
          detail::plan_axis(image[2], pool.w, strides.w, 1, m)};
}
}  // namespace

Shape Pooling::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  const int want = rank_ + 2;
  if (s[0].rank() != want)
    shape_error("expected an input of rank " + std::to_string(want) +
                (rank_ == 2 ? " (batch, height, width, channels)" : " (batch, steps, channels)") +
                ", got " + s[0].to_string());
  const Shape image = rank_ == 2 ? s[0] : Shape{s[0][0], 1, s[0][1], s[0][2]};
  const PoolPlan pl = pool_plan(image, pool_, strides_, padding_, "pooling");
  if (pl.h.out == 0 || pl.w.out == 0)
    shape_error("pool size " + (rank_ == 2 ? std::to_string(pool_.h) + "x" : std::string()) +
                std::to_string(pool_.w) + " does not fit in input " + s[0].to_string() +
                " with padding \"valid\"");
  if (rank_ == 2) return Shape{s[0][0], pl.h.out, pl.w.out, s[0][3]};
  return Shape{s[0][0], pl.w.out, s[0][2]};
}

namespace {
ops::Pool2DParams pool_params(bool max, const Shape& image, Size2 pool, Size2 strides,
                              const std::string& padding, const char* cls) {
  const PoolPlan pl = pool_plan(image, pool, strides, padding, cls);
  ops::Pool2DParams p;
  p.alg = max ? ops::PoolAlg::max : ops::PoolAlg::avg;
  p.kernel_h = pool.h;
  p.kernel_w = pool.w;
  p.stride_h = strides.h;
  p.stride_w = strides.w;
  p.pad_top = pl.h.before;
  p.pad_bottom = pl.h.after;
  p.pad_left = pl.w.before;
  p.pad_right = pl.w.after;
  return p;
}
}  // namespace

void Pooling::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const Tensor x4 = as_image(*in[0]);
  Tensor y4 = as_image(y);
  pool_forward(ctx, x4, pool_params(max_, x4.shape(), pool_, strides_, padding_, "pooling"),
               y4);
}

void Pooling::backward(CallContext& ctx, const std::vector<const Tensor*>& in, const Tensor& y,
                       const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (!grad_inputs[0]) return;
  const Tensor x4 = as_image(*in[0]);
  Tensor dx4 = as_image(*grad_inputs[0]);
  pool_backward(ctx, x4, as_image(y), as_image(dy),
                pool_params(max_, x4.shape(), pool_, strides_, padding_, "pooling"), dx4);
}

json Pooling::get_config() const {
  json c = Layer::get_config();
  if (rank_ == 2) {
    c["pool_size"] = detail::size2_to_json(pool_);
    c["strides"] = detail::size2_to_json(strides_);
  } else {
    c["pool_size"] = json::array({pool_.w});
    c["strides"] = json::array({strides_.w});
  }
  c["padding"] = padding_;
  c["data_format"] = "channels_last";
  return c;
}

MaxPooling2D::MaxPooling2D(Size2 pool_size, Pooling2DOptions o)
    : Pooling(true, 2, pool_size, o.strides, std::move(o.padding), std::move(o.name),
              "MaxPooling2D") {}
std::shared_ptr<Layer> MaxPooling2D::take() && {
  return std::make_shared<MaxPooling2D>(std::move(*this));
}

AveragePooling2D::AveragePooling2D(Size2 pool_size, Pooling2DOptions o)
    : Pooling(false, 2, pool_size, o.strides, std::move(o.padding), std::move(o.name),
              "AveragePooling2D") {}
std::shared_ptr<Layer> AveragePooling2D::take() && {
  return std::make_shared<AveragePooling2D>(std::move(*this));
}

MaxPooling1D::MaxPooling1D(int64_t pool_size, Pooling1DOptions o)
    : Pooling(true, 1, Size2(1, pool_size), Size2(1, o.strides ? o.strides : pool_size),
              std::move(o.padding), std::move(o.name), "MaxPooling1D") {}
std::shared_ptr<Layer> MaxPooling1D::take() && {
  return std::make_shared<MaxPooling1D>(std::move(*this));
}

AveragePooling1D::AveragePooling1D(int64_t pool_size, Pooling1DOptions o)
    : Pooling(false, 1, Size2(1, pool_size), Size2(1, o.strides ? o.strides : pool_size),
              std::move(o.padding), std::move(o.name), "AveragePooling1D") {}
std::shared_ptr<Layer> AveragePooling1D::take() && {
  return std::make_shared<AveragePooling1D>(std::move(*this));
}

// ================================================================ global pooling
GlobalPooling::GlobalPooling(bool max, int spatial_rank, GlobalPoolingOptions o, const char*)
    : Layer(std::move(o.name)), max_(max), rank_(spatial_rank), keepdims_(o.keepdims) {}

Shape GlobalPooling::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  const int want = rank_ + 2;
  if (s[0].rank() != want)
    shape_error("expected an input of rank " + std::to_string(want) +
                (rank_ == 2 ? " (batch, height, width, channels)" : " (batch, steps, channels)") +
                ", got " + s[0].to_string());
  for (int i = 1; i < want; ++i)
    if (s[0][i] == 0) shape_error("cannot pool an empty input " + s[0].to_string());
  const int64_t n = s[0][0], c = s[0][want - 1];
  if (!keepdims_) return Shape{n, c};
  return rank_ == 2 ? Shape{n, 1, 1, c} : Shape{n, 1, c};
}

namespace {
ops::Pool2DParams global_params(bool max, const Tensor& x4) {
  ops::Pool2DParams p;
  p.alg = max ? ops::PoolAlg::max : ops::PoolAlg::avg;
  p.kernel_h = x4.dim(1);
  p.kernel_w = x4.dim(2);
  return p;
}
Shape pooled_image(const Tensor& x4) { return Shape{x4.dim(0), 1, 1, x4.dim(3)}; }
}  // namespace

namespace {
/// GlobalAveragePooling1D under a Keras mask (N, T): the mean over the unmasked steps only
/// (zero when a sample has none). `backward` spreads dy over those steps instead.
void masked_average_1d(const Tensor& x, const Tensor& mask, const Tensor& dy, Tensor& out,
                       bool backward) {
  const int64_t n = x.dim(0), steps = x.dim(1), c = x.dim(2);
  const float* m = mask.data<float>();
  const float* xp = x.data<float>();
  const float* d = dy.defined() ? dy.data<float>() : nullptr;
  float* o = out.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    float count = 0;
    for (int64_t t = 0; t < steps; ++t) count += m[i * steps + t];
    const float inv = count > 0 ? 1.f / count : 0.f;
    if (backward) {
      for (int64_t t = 0; t < steps; ++t)
        for (int64_t k = 0; k < c; ++k)
          o[(i * steps + t) * c + k] = d[i * c + k] * m[i * steps + t] * inv;
      continue;
    }
    for (int64_t k = 0; k < c; ++k) o[i * c + k] = 0;
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t k = 0; k < c; ++k)
        o[i * c + k] += xp[(i * steps + t) * c + k] * m[i * steps + t] * inv;
  }
}
}  // namespace

void GlobalPooling::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  if (rank_ == 1 && !max_ && ctx.input_mask(0)) {
    masked_average_1d(*in[0], *ctx.input_mask(0), Tensor(), y, false);
    return;
  }
  const Tensor x4 = as_image(*in[0]);
  Tensor y4 = y.reshape(pooled_image(x4));
  pool_forward(ctx, x4, global_params(max_, x4), y4);
}

void GlobalPooling::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                             const Tensor& y, const Tensor& dy,
                             const std::vector<Tensor*>& grad_inputs) {
  if (!grad_inputs[0]) return;
  if (rank_ == 1 && !max_ && ctx.input_mask(0)) {
    masked_average_1d(*in[0], *ctx.input_mask(0), dy, *grad_inputs[0], true);
    return;
  }
  const Tensor x4 = as_image(*in[0]);
  Tensor dx4 = as_image(*grad_inputs[0]);
  pool_backward(ctx, x4, y.reshape(pooled_image(x4)), dy.reshape(pooled_image(x4)),
                global_params(max_, x4), dx4);
}

json GlobalPooling::get_config() const {
  json c = Layer::get_config();
  c["data_format"] = "channels_last";
  c["keepdims"] = keepdims_;
  return c;
}

GlobalAveragePooling2D::GlobalAveragePooling2D(GlobalPoolingOptions o)
    : GlobalPooling(false, 2, std::move(o), "GlobalAveragePooling2D") {}
std::shared_ptr<Layer> GlobalAveragePooling2D::take() && {
  return std::make_shared<GlobalAveragePooling2D>(std::move(*this));
}

GlobalMaxPooling2D::GlobalMaxPooling2D(GlobalPoolingOptions o)
    : GlobalPooling(true, 2, std::move(o), "GlobalMaxPooling2D") {}
std::shared_ptr<Layer> GlobalMaxPooling2D::take() && {
  return std::make_shared<GlobalMaxPooling2D>(std::move(*this));
}

GlobalAveragePooling1D::GlobalAveragePooling1D(GlobalPoolingOptions o)
    : GlobalPooling(false, 1, std::move(o), "GlobalAveragePooling1D") {}
std::shared_ptr<Layer> GlobalAveragePooling1D::take() && {
  return std::make_shared<GlobalAveragePooling1D>(std::move(*this));
}

GlobalMaxPooling1D::GlobalMaxPooling1D(GlobalPoolingOptions o)
    : GlobalPooling(true, 1, std::move(o), "GlobalMaxPooling1D") {}
std::shared_ptr<Layer> GlobalMaxPooling1D::take() && {
  return std::make_shared<GlobalMaxPooling1D>(std::move(*this));
}

}  // namespace fitrun::layers
