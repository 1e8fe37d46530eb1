// ZeroPadding2D, Cropping2D, UpSampling2D, Permute and RepeatVector on the spatial reshaping
// ops; each backward is the adjoint copy (crop <-> pad, block sum for upsampling, inverse
// permutation, sum over repeats).
#include "fitrun/layers/reshaping_image.hpp"

#include "fitrun/ops.hpp"

namespace fitrun::layers {

namespace {
std::string sides(const Padding2D& p) {
  return "((" + std::to_string(p.top) + ", " + std::to_string(p.bottom) + "), (" +
         std::to_string(p.left) + ", " + std::to_string(p.right) + "))";
}
json sides_json(const Padding2D& p) {
  return json::array({json::array({p.top, p.bottom}), json::array({p.left, p.right})});
}
void check_sides(const Padding2D& p, const char* layer, const char* what) {
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
    throw ConfigError(std::string(layer) + ": " + what + " must be >= 0, got " + sides(p));
}
}  // namespace

// ================================================================ ZeroPadding2D
ZeroPadding2D::ZeroPadding2D(Padding2D padding, std::string name)
    : LayerOf<ZeroPadding2D>(std::move(name)), padding_(padding) {
  check_sides(padding_, "ZeroPadding2D", "padding");
}

Shape ZeroPadding2D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != 4)
    shape_error("expected an input of rank 4 (batch, height, width, channels), got " +
                s[0].to_string());
  Shape out = s[0];
  if (out[1] >= 0) out[1] += padding_.top + padding_.bottom;
  if (out[2] >= 0) out[2] += padding_.left + padding_.right;
  return out;
}

void ZeroPadding2D::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::zero_pad2d(*in[0], padding_.top, padding_.left, y);
}

void ZeroPadding2D::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                             const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::crop2d(dy, padding_.top, padding_.left, *grad_inputs[0]);
}

json ZeroPadding2D::get_config() const {
  json c = Layer::get_config();
  c["padding"] = sides_json(padding_);
  c["data_format"] = "channels_last";
  return c;
}

// ================================================================ Cropping2D
Cropping2D::Cropping2D(Padding2D cropping, std::string name)
    : LayerOf<Cropping2D>(std::move(name)), cropping_(cropping) {
  check_sides(cropping_, "Cropping2D", "cropping");
}

Shape Cropping2D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != 4)
    shape_error("expected an input of rank 4 (batch, height, width, channels), got " +
                s[0].to_string());
  Shape out = s[0];
  if (out[1] >= 0) out[1] -= cropping_.top + cropping_.bottom;
  if (out[2] >= 0) out[2] -= cropping_.left + cropping_.right;
  if ((s[0][1] >= 0 && out[1] <= 0) || (s[0][2] >= 0 && out[2] <= 0))
    shape_error("cropping " + sides(cropping_) + " leaves nothing of input " + s[0].to_string());
  return out;
}

void Cropping2D::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::crop2d(*in[0], cropping_.top, cropping_.left, y);
}

void Cropping2D::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                          const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::zero_pad2d(dy, cropping_.top, cropping_.left, *grad_inputs[0]);
}

json Cropping2D::get_config() const {
  json c = Layer::get_config();
  c["cropping"] = sides_json(cropping_);
  c["data_format"] = "channels_last";
  return c;
}

// ================================================================ UpSampling2D
UpSampling2D::UpSampling2D(Size2 size, const std::string& interpolation, std::string name)
    : LayerOf<UpSampling2D>(std::move(name)), size_(size) {
  if (size.h <= 0 || size.w <= 0)
    throw ConfigError("UpSampling2D: size must be positive, got (" + std::to_string(size.h) +
                      ", " + std::to_string(size.w) + ")");
  if (interpolation != "nearest")
    throw ConfigError("UpSampling2D: only interpolation \"nearest\" is supported, got \"" +
                      interpolation + "\"");
}

Shape UpSampling2D::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != 4)
    shape_error("expected an input of rank 4 (batch, height, width, channels), got " +
                s[0].to_string());
  Shape out = s[0];
  if (out[1] >= 0) out[1] *= size_.h;
  if (out[2] >= 0) out[2] *= size_.w;
  return out;
}

void UpSampling2D::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::upsample2d_nearest(*in[0], size_.h, size_.w, y);
}

void UpSampling2D::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                            const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::upsample2d_nearest_backward(dy, size_.h, size_.w, *grad_inputs[0]);
}

json UpSampling2D::get_config() const {
  json c = Layer::get_config();
  c["size"] = json::array({size_.h, size_.w});
  c["data_format"] = "channels_last";
  c["interpolation"] = "nearest";
  return c;
}

// ================================================================ Permute
Permute::Permute(std::vector<int> dims, std::string name)
    : LayerOf<Permute>(std::move(name)), dims_(std::move(dims)) {
  const int n = static_cast<int>(dims_.size());
  std::string text;
  for (int d : dims_) text += (text.empty() ? "" : ", ") + std::to_string(d);
  if (n < 1 || n > 5)
    throw ConfigError("Permute: dims must list 1 to 5 axes, got (" + text + ")");
  std::vector<bool> seen(static_cast<size_t>(n) + 1, false);
  for (int d : dims_) {
    if (d < 1 || d > n || seen[static_cast<size_t>(d)])
      throw ConfigError("Permute: dims must be a permutation of 1.." + std::to_string(n) +
                        " (1-based, the batch axis excluded), got (" + text + ")");
    seen[static_cast<size_t>(d)] = true;
  }
  perm_[0] = inverse_[0] = 0;
  for (int k = 0; k < n; ++k) perm_[k + 1] = dims_[static_cast<size_t>(k)];
  for (int k = 0; k <= n; ++k) inverse_[perm_[k]] = k;
}

Shape Permute::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != static_cast<int>(dims_.size()) + 1)
    shape_error("dims lists " + std::to_string(dims_.size()) + " axes, but input " +
                s[0].to_string() + " has " + std::to_string(s[0].rank() - 1) +
                " besides the batch");
  Shape out;
  for (int k = 0; k < s[0].rank(); ++k) out.push_back(s[0][perm_[k]]);
  return out;
}

void Permute::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::permute(*in[0], perm_, y);
}

void Permute::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                       const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::permute(dy, inverse_, *grad_inputs[0]);
}

json Permute::get_config() const {
  json c = Layer::get_config();
  c["dims"] = dims_;
  return c;
}

// ================================================================ RepeatVector
RepeatVector::RepeatVector(int64_t n, std::string name)
    : LayerOf<RepeatVector>(std::move(name)), n_(n) {
  if (n <= 0) throw ConfigError("RepeatVector: n must be positive, got " + std::to_string(n));
}

Shape RepeatVector::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != 2)
    shape_error("expected an input of rank 2 (batch, features), got " + s[0].to_string());
  return Shape{s[0][0], n_, s[0][1]};
}

void RepeatVector::forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) {
  ops::repeat_vector(*in[0], n_, y);
}

void RepeatVector::backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&,
                            const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  if (grad_inputs[0]) ops::repeat_vector_backward(dy, n_, *grad_inputs[0]);
}

json RepeatVector::get_config() const {
  json c = Layer::get_config();
  c["n"] = n_;
  return c;
}

}  // namespace fitrun::layers
