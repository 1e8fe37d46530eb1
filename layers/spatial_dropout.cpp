// SpatialDropout1D/2D: a (batch, channels) keep-mask drawn like Dropout's (ops::dropout_forward
// on ones, so the same seed/step rule), broadcast over the spatial axes.
#include "fitrun/layers/spatial_dropout.hpp"

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"

namespace fitrun::layers {

SpatialDropout2D::SpatialDropout2D(float rate, std::string name, std::optional<uint32_t> seed)
    : SpatialDropout2D(rate, std::move(name), seed, 4) {}

SpatialDropout2D::SpatialDropout2D(float rate, std::string name, std::optional<uint32_t> seed,
                                   int rank)
    : LayerOf<SpatialDropout2D>(std::move(name)),
      rate_(rate),
      // 31 bits, as Dropout: a seed any Keras version accepts when it reads the config.
      noise_seed_(seed ? *seed : static_cast<uint32_t>(Layer::seed() >> 33)),
      rank_(rank) {
  if (!(rate >= 0.f && rate < 1.f))
    throw ConfigError(std::string(rank == 4 ? "SpatialDropout2D" : "SpatialDropout1D") +
                      ": rate must be in [0, 1), got " + std::to_string(rate));
}

Shape SpatialDropout2D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != rank_)
    shape_error("expected an input of rank " + std::to_string(rank_) +
                (rank_ == 4 ? " (batch, height, width, channels)" : " (batch, steps, channels)") +
                ", got " + s[0].to_string());
  return s[0];
}

void SpatialDropout2D::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const Tensor& x = *in[0];
  if (!ctx.training || rate_ == 0.f) {
    ops::copy(x, y);
    return;
  }
  const Shape mask_shape{x.dim(0), x.dim(-1)};
  Tensor ones = ctx.scratch(1, mask_shape), unused = ctx.scratch(2, mask_shape);
  Tensor mask = ctx.scratch(0, mask_shape);
  ops::fill(ones, 1.f);
  // A fresh mask per step and per call of a shared layer, reproducible from the step number.
  ops::dropout_forward(ones, rate_, noise_seed_ ^ (static_cast<uint64_t>(ctx.call_index) << 32),
                       ctx.step, mask, unused);
  ops::scale_channels(x, mask, y);
}

void SpatialDropout2D::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                const Tensor&, const Tensor& dy,
                                const std::vector<Tensor*>& grad_inputs) {
  if (!grad_inputs[0]) return;
  if (!ctx.training || rate_ == 0.f) {
    ops::copy(dy, *grad_inputs[0]);
    return;
  }
  const Tensor& x = *in[0];
  ops::scale_channels(dy, ctx.scratch(0, Shape{x.dim(0), x.dim(-1)}), *grad_inputs[0]);
}

json SpatialDropout2D::get_config() const {
  json c = Layer::get_config();
  c["rate"] = io::keras_float(rate_);
  c["seed"] = noise_seed_;
  if (rank_ == 4) c["data_format"] = "channels_last";
  return c;
}

SpatialDropout1D::SpatialDropout1D(float rate, std::string name, std::optional<uint32_t> seed)
    : SpatialDropout2D(rate, std::move(name), seed, 3) {}

std::shared_ptr<Layer> SpatialDropout1D::take() && {
  return std::make_shared<SpatialDropout1D>(std::move(*this));
}

}  // namespace fitrun::layers
