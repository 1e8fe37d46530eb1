#include "fitrun/layers/time_distributed.hpp"

namespace fitrun::layers {

namespace {
/// (N, T, d...) -> (N·T, d...), with -1 kept for an unknown batch.
Shape merge_steps(const Shape& s) {
  std::vector<int64_t> d = s.to_vector();
  const int64_t n = d[0] < 0 ? -1 : d[0] * d[1];
  d.erase(d.begin());
  d[0] = n;
  return Shape(d);
}
/// The wrapped layer's own call context, kept across forward and backward.
struct Inner {
  CallContext ctx;
};
}  // namespace

TimeDistributed::TimeDistributed(LayerRef layer, std::string name)
    : LayerOf<TimeDistributed>(std::move(name)), layer_(layer.ptr()) {
  if (!layer_) throw ConfigError("TimeDistributed: the wrapped layer is null");
  if (layer_->num_outputs() != 1)
    throw ConfigError("TimeDistributed: the wrapped layer \"" + layer_->name() + "\" gives " +
                      std::to_string(layer_->num_outputs()) + " outputs; it must give one");
  supports_masking_ = true;
}

Shape TimeDistributed::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() < 3)
    shape_error("expected an input (batch, timesteps, ...) of rank >= 3, got " + s[0].to_string());
  if (s[0].dim(1) <= 0) shape_error("the number of timesteps must be known, got " + s[0].to_string());
  const Shape inner = layer_->compute_output_shape({merge_steps(s[0])});
  std::vector<int64_t> out = inner.to_vector();
  out[0] = s[0].dim(1);
  out.insert(out.begin(), s[0].dim(0));
  return Shape(out);
}

void TimeDistributed::build(const std::vector<Shape>& s) {
  layer_->ensure_built({merge_steps(s[0])});
}

void TimeDistributed::forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                              Tensor& y) {
  const Tensor& x = *inputs[0];
  CallContext& inner = ctx.state<Inner>().ctx;
  inner.training = ctx.training;
  inner.step = ctx.step;
  inner.call_index = ctx.call_index;
  const Tensor xr = x.reshape(merge_steps(x.shape()));
  Tensor yr = y.reshape(merge_steps(y.shape()));
  layer_->forward(inner, {&xr}, yr);
}

void TimeDistributed::backward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                               const Tensor& y, const Tensor& dy,
                               const std::vector<Tensor*>& grad_inputs) {
  const Tensor& x = *inputs[0];
  CallContext& inner = ctx.state<Inner>().ctx;
  inner.accumulate_grads = ctx.accumulate_grads;
  layer_->trainable = trainable;
  const Tensor xr = x.reshape(merge_steps(x.shape()));
  const Tensor yr = y.reshape(merge_steps(y.shape()));
  const Tensor dyr = dy.reshape(merge_steps(dy.shape()));
  Tensor dxr;
  if (grad_inputs[0]) dxr = grad_inputs[0]->reshape(merge_steps(x.shape()));
  layer_->backward(inner, {&xr}, yr, dyr, {grad_inputs[0] ? &dxr : nullptr});
}

json TimeDistributed::get_config() const {
  json c = Layer::get_config();
  c["layer"] = {{"module", "keras.layers"},
                {"class_name", layer_->class_name()},
                {"config", layer_->get_config()},
                {"registered_name", nullptr}};
  return c;
}

std::vector<Layer::WeightGroup> TimeDistributed::weight_tree() const {
  std::vector<WeightGroup> out{{"", name(), {}}};
  for (auto g : layer_->weight_tree()) {
    g.path = g.path.empty() ? "layer" : "layer/" + g.path;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace fitrun::layers
