#include "fitrun/layer.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include "fitrun/random.hpp"
#include "io/keras_json.hpp"

namespace fitrun {

// ---------------------------------------------------------------- naming
namespace {
std::map<std::string, int>& name_counters() {
  static std::map<std::string, int> counters;
  return counters;
}

/// Keras' to_snake_case: "Dense" -> "dense", "BatchNormalization" -> "batch_normalization",
/// "Conv2D" -> "conv2d".
std::string snake_case(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(s[i - 1]));
      bool next_lower = i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1]));
      bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(s[i - 1]));
      if (i > 0 && (prev_lower || (prev_upper && next_lower))) out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

void reset_layer_name_counters() { name_counters().clear(); }

std::string unique_layer_name(const std::string& class_name) {
  std::string base = snake_case(class_name);
  int n = name_counters()[base]++;
  return n == 0 ? base : base + "_" + std::to_string(n);
}

// ---------------------------------------------------------------- CallContext
Tensor& CallContext::scratch(int slot, const Shape& shape, DType dtype) {
  if (static_cast<int>(scratch_.size()) <= slot) scratch_.resize(static_cast<size_t>(slot) + 1);
  Tensor& t = scratch_[static_cast<size_t>(slot)];
  if (!t.defined() || t.shape() != shape || t.dtype() != dtype || t.device() != device) {
    t = Tensor(shape, dtype, device);
    ++scratch_allocations_;
  }
  return t;
}

// ---------------------------------------------------------------- Layer
Layer::Layer(std::string name) : name_(std::move(name)), seed_(global_generator().next_u64()) {}

const std::string& Layer::name() const {
  if (name_.empty()) name_ = unique_layer_name(class_name());
  return name_;
}

void Layer::ensure_built(const std::vector<Shape>& input_shapes) {
  if (built_) return;
  std::vector<Shape> shapes;
  for (const Shape& s : input_shapes) shapes.push_back(s.with_batch(-1));
  compute_output_shape(shapes);  // validates before any weight exists
  build(shapes);
  build_shapes_ = shapes;
  built_ = true;
}

std::vector<VariablePtr> Layer::trainable_weights() const {
  std::vector<VariablePtr> out;
  for (const auto& v : weights())
    if (v->trainable && trainable) out.push_back(v);
  return out;
}

std::vector<VariablePtr> Layer::non_trainable_weights() const {
  std::vector<VariablePtr> out;
  for (const auto& v : weights())
    if (!v->trainable || !trainable) out.push_back(v);
  return out;
}

std::vector<Layer::WeightGroup> Layer::weight_tree() const {
  std::vector<VariablePtr> vars = trainable_weights();
  for (const auto& v : non_trainable_weights()) vars.push_back(v);
  return {{"", name(), std::move(vars)}};
}

int64_t Layer::count_params() const {
  int64_t n = 0;
  for (const auto& v : weights()) n += v->value.size();
  return n;
}

json Layer::get_config() const {
  json c = {{"name", name()}, {"trainable", trainable}, {"dtype", io::dtype_policy(dtype_policy_.name())}};
  // Keras 3 writes the key only when set.
  if (activity_regularizer) c["activity_regularizer"] = regularizers::serialize(*activity_regularizer);
  return c;
}

void Layer::compute_mask(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                         Tensor& mask) {
  (void)inputs;
  if (const Tensor* in = ctx.input_mask(0)) mask.copy_from(*in);
}

VariablePtr Layer::add_weight(const std::string& wname, const Shape& shape,
                              const InitializerRef& init, bool is_trainable) {
  // A bound on one weight's size, so that a config from a file (units: 10^12) fails cleanly
  // instead of exhausting memory; the same limit as the HDF5 reader's.
  constexpr int64_t kMaxWeightElements = int64_t(1) << 31;
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d > 0 && elements > (kMaxWeightElements - 1) / d)
      shape_error("weight \"" + wname + "\" of shape " + shape.to_string() +
                  " would have 2^31 elements or more");
    elements *= d > 0 ? d : 1;
  }
  auto v = std::make_shared<Variable>();
  v->name = wname;
  v->path = name() + "/" + wname;
  v->value = Tensor(shape);
  v->trainable = is_trainable;
  // Each weight gets its own stream derived from the layer seed and its index, so adding a
  // layer elsewhere in the model does not change this layer's initial values.
  Generator gen(seed_ ^ (0x9e3779b97f4a7c15ULL * (weights_.size() + 1)));
  init->fill(v->value, gen);
  if (is_trainable) v->grad = Tensor::zeros(shape);
  weights_.push_back(v);
  return v;
}

VariablePtr Layer::add_weight(const std::string& wname, const Shape& shape,
                              const InitializerRef& init, const RegularizerRef& regularizer,
                              const ConstraintRef& constraint, bool is_trainable) {
  VariablePtr v = add_weight(wname, shape, init, is_trainable);
  v->regularizer = regularizer.ptr();
  v->constraint = constraint.ptr();
  return v;
}

void Layer::shape_error(const std::string& what) const {
  throw ShapeError("layer \"" + name() + "\" (" + class_name() + "): " + what);
}

void Layer::expect_inputs(const std::vector<Shape>& shapes, size_t min, size_t max) const {
  if (shapes.size() < min || shapes.size() > max) {
    std::string expected = min == max ? std::to_string(min)
                                      : std::to_string(min) + " to " +
                                            (max > 1000 ? std::string("any number of")
                                                        : std::to_string(max));
    shape_error("expected " + expected + " input(s), got " + std::to_string(shapes.size()));
  }
}

// ---------------------------------------------------------------- several outputs
std::vector<Shape> Layer::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  return {compute_output_shape(input_shapes)};
}

void Layer::forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                          const std::vector<Tensor*>& outputs) {
  forward(ctx, inputs, *outputs[0]);
}

void Layer::backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                           const std::vector<const Tensor*>& outputs,
                           const std::vector<const Tensor*>& grad_outputs,
                           const std::vector<Tensor*>& grad_inputs) {
  backward(ctx, inputs, *outputs[0], *grad_outputs[0], grad_inputs);
}

// ---------------------------------------------------------------- functional calls
std::vector<KerasTensor> Layer::call_shared(std::shared_ptr<Layer> self,
                                            const std::vector<KerasTensor>& inputs) {
  std::vector<Shape> shapes;
  for (const auto& x : inputs) shapes.push_back(x.shape());
  if (built_) {
    // A shared layer must see compatible shapes on every call.
    if (shapes.size() != build_shapes_.size())
      shape_error("called with " + std::to_string(shapes.size()) + " inputs, built for " +
                  std::to_string(build_shapes_.size()));
    for (size_t i = 0; i < shapes.size(); ++i)
      if (shapes[i].with_batch(-1) != build_shapes_[i])
        shape_error("input " + std::to_string(i) + " has shape " + shapes[i].to_string() +
                    ", but the layer was built for " + build_shapes_[i].to_string());
  }
  std::vector<Shape> outs = compute_output_shapes(shapes);
  if (outs.size() != static_cast<size_t>(num_outputs()))
    shape_error("compute_output_shapes gave " + std::to_string(outs.size()) +
                " shapes for " + std::to_string(num_outputs()) + " outputs");
  ensure_built(shapes);
  auto node = std::make_shared<Node>();
  node->layer = std::move(self);
  node->inputs = inputs;
  node->call_index = call_count_++;
  node->output_shapes = outs;
  std::vector<KerasTensor> result;
  for (size_t k = 0; k < outs.size(); ++k)
    result.emplace_back(outs[k], DType::float32, node, static_cast<int>(k));
  return result;
}

std::shared_ptr<Layer> Layer::graph_self(bool temporary) {
  std::shared_ptr<Layer> self = weak_from_this().lock();
  if (self) return self;
  if (temporary) return std::move(*this).take();
  throw ConfigError("layer \"" + name() +
                    "\" is a local object and cannot join a model graph; call it as a "
                    "temporary (Dense(8)(x)) or hold it with fitrun::shared(...) to share it");
}

void Layer::expect_outputs(size_t n, const char* how) const {
  const auto have = static_cast<size_t>(num_outputs());
  if (have == n) return;
  std::string what = "layer \"" + name() + "\" (" + class_name() + ") gives " +
                     std::to_string(have) + " output" + (have == 1 ? "" : "s");
  if (n == 1)
    throw ConfigError(what + " (e.g. return_state); call it with call_multi(x) to get them all");
  throw ConfigError(what + ", but " + how + " asked for " + std::to_string(n));
}

KerasTensor Layer::operator()(const KerasTensor& input) & {
  return (*this)(std::vector<KerasTensor>{input});
}

KerasTensor Layer::operator()(const std::vector<KerasTensor>& inputs) & {
  expect_outputs(1, "a call");
  std::shared_ptr<Layer> self = graph_self(false);
  return call_shared(std::move(self), inputs)[0];
}

KerasTensor Layer::operator()(const KerasTensor& input) && {
  return std::move(*this)(std::vector<KerasTensor>{input});
}

KerasTensor Layer::operator()(const std::vector<KerasTensor>& inputs) && {
  expect_outputs(1, "a call");
  std::shared_ptr<Layer> self = graph_self(true);
  return self->call_shared(self, inputs)[0];
}

std::vector<KerasTensor> Layer::call_multi(const KerasTensor& input) & {
  return call_multi(std::vector<KerasTensor>{input});
}

std::vector<KerasTensor> Layer::call_multi(const std::vector<KerasTensor>& inputs) & {
  std::shared_ptr<Layer> self = graph_self(false);
  return call_shared(std::move(self), inputs);
}

std::vector<KerasTensor> Layer::call_multi(const KerasTensor& input) && {
  return std::move(*this).call_multi(std::vector<KerasTensor>{input});
}

std::vector<KerasTensor> Layer::call_multi(const std::vector<KerasTensor>& inputs) && {
  std::shared_ptr<Layer> self = graph_self(true);
  return self->call_shared(self, inputs);
}

// ---------------------------------------------------------------- registry
void register_builtin_layers(std::map<std::string, LayerFactory>& registry);  // layers/registry.cpp

namespace {
std::map<std::string, LayerFactory>& registry() {
  static std::map<std::string, LayerFactory> r = [] {
    std::map<std::string, LayerFactory> builtin;
    register_builtin_layers(builtin);
    return builtin;
  }();
  return r;
}
}  // namespace

void register_layer(const std::string& class_name, LayerFactory factory) {
  registry()[class_name] = std::move(factory);
}

std::vector<std::string> registered_layers() {
  std::vector<std::string> names;
  for (const auto& [n, f] : registry()) names.push_back(n);
  return names;
}

LayerPtr layer_from_config(const std::string& class_name, const json& config) {
  auto& r = registry();
  auto it = r.find(class_name);
  if (it == r.end()) {
    std::string known;
    for (const auto& [n, f] : r) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("unknown layer class \"" + class_name + "\"; registered: " + known);
  }
  return it->second(config);
}

std::shared_ptr<Layer> Layer::get(const std::string& class_name) {
  return layer_from_config(class_name, json::object());
}

}  // namespace fitrun
