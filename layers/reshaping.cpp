#include "fitrun/layers/reshaping.hpp"

#include "fitrun/ops.hpp"

namespace fitrun::layers {

Flatten::Flatten(std::string name) : LayerOf<Flatten>(std::move(name)) {}

Shape Flatten::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() < 2) shape_error("expected an input of rank >= 2, got " + s[0].to_string());
  Shape per_sample = s[0].drop_batch();
  if (!per_sample.fully_defined())
    shape_error("all dimensions but the batch must be known, got " + s[0].to_string());
  return Shape{s[0][0], per_sample.num_elements()};
}

// Flatten and Reshape move no data: the row-major bytes are already in the new order.
void Flatten::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::copy(*in[0], y);
}

void Flatten::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                       const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::copy(dy, *grad_inputs[0]);
}

json Flatten::get_config() const {
  json c = Layer::get_config();
  c["data_format"] = "channels_last";
  return c;
}

Reshape::Reshape(Shape target_shape, std::string name)
    : LayerOf<Reshape>(std::move(name)), target_(target_shape) {
  int unknown = 0;
  for (int64_t d : target_) {
    if (d == -1) ++unknown;
    else if (d <= 0)
      throw ConfigError("Reshape: target_shape entries must be positive or -1, got " +
                        target_.to_string());
  }
  if (unknown > 1)
    throw ConfigError("Reshape: at most one -1 in target_shape, got " + target_.to_string());
}

Shape Reshape::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  const int64_t n = s[0].drop_batch().num_elements();
  Shape out{s[0][0]};
  int64_t known = 1;
  for (int64_t d : target_)
    if (d != -1) known *= d;
  for (int64_t d : target_) out.push_back(d == -1 ? (known ? n / known : 0) : d);
  if (out.drop_batch().num_elements() != n || (known && n % known))
    shape_error("cannot reshape input " + s[0].to_string() + " to target shape " +
                target_.to_string());
  return out;
}

void Reshape::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::copy(*in[0], y);
}

void Reshape::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                       const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::copy(dy, *grad_inputs[0]);
}

json Reshape::get_config() const {
  json c = Layer::get_config();
  c["target_shape"] = target_.to_vector();
  return c;
}

}  // namespace fitrun::layers
