#include "fitrun/layers/merging.hpp"

#include "fitrun/ops.hpp"

namespace fitrun::layers {

Add::Add(std::string name) : LayerOf<Add>(std::move(name)) {}

Shape Add::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 2, 1 << 20);
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i].drop_batch() != s[0].drop_batch())
      shape_error("inputs must have the same shape, got " + s[0].to_string() + " and " +
                  s[i].to_string());
  return s[0];
}

void Add::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::add(*in[0], *in[1], y);
  for (size_t i = 2; i < in.size(); ++i) ops::add_inplace(y, *in[i]);
}

void Add::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                   const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  for (Tensor* g : grad_inputs)
    if (g) ops::copy(dy, *g);
}

Concatenate::Concatenate(int axis, std::string name)
    : LayerOf<Concatenate>(std::move(name)), axis_(axis) {}

Shape Concatenate::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1 << 20);
  const int rank = s[0].rank();
  const int axis = axis_ < 0 ? axis_ + rank : axis_;
  if (axis <= 0 || axis >= rank)
    shape_error("axis " + std::to_string(axis_) + " is out of range for inputs of shape " +
                s[0].to_string());
  Shape out = s[0];
  for (size_t i = 1; i < s.size(); ++i) {
    bool ok = s[i].rank() == rank;
    for (int d = 1; ok && d < rank; ++d)
      if (d != axis && s[i][d] != s[0][d]) ok = false;
    if (!ok)
      shape_error("inputs must match except on the concatenation axis " + std::to_string(axis_) +
                  ", got " + s[0].to_string() + " and " + s[i].to_string());
    out[axis] += s[i][axis];
  }
  return out;
}

namespace {
int normalized_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }
}  // namespace

void Concatenate::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::concat(in.data(), static_cast<int>(in.size()), normalized_axis(axis_, y.rank()), y);
}

void Concatenate::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                           const Tensor& y, const Tensor& dy,
                           const std::vector<Tensor*>& grad_inputs) {
  // split() needs every part's shape: inputs whose gradient is not wanted get scratch space.
  auto& parts = ctx.state<std::vector<Tensor*>>();
  parts.resize(in.size());
  for (size_t i = 0; i < in.size(); ++i)
    parts[i] = grad_inputs[i] ? grad_inputs[i]
                              : &ctx.scratch(static_cast<int>(i), in[i]->shape());
  ops::split(dy, normalized_axis(axis_, y.rank()), parts.data(), static_cast<int>(parts.size()),
             false);
}

json Concatenate::get_config() const {
  json c = Layer::get_config();
  c["axis"] = axis_;
  return c;
}

}  // namespace fitrun::layers
