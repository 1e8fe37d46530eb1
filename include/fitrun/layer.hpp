#pragma once
// Layer: the unit a model is built from. A layer holds its config, its weights and its shape
// logic, and computes through fitrun::ops; it never calls a backend directly.
//
// Writing a layer: derive from LayerOf<YourLayer>, implement class_name, compute_output_shape,
// forward and backward (and build to create weights, get_config to be saved). Check it with
// fitrun::testing::check_gradients. A layer whose call gives several tensors (a recurrent layer
// with return_state) also overrides num_outputs, compute_output_shapes, forward_multi and
// backward_multi; everything else keeps the one-output functions.
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

#include "fitrun/constraints.hpp"
#include "fitrun/error.hpp"
#include "fitrun/json.hpp"
#include "fitrun/keras_tensor.hpp"
#include "fitrun/initializers.hpp"
#include "fitrun/mixed_precision.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/regularizers.hpp"
#include "fitrun/shape.hpp"
#include "fitrun/tensor.hpp"
#include "fitrun/variable.hpp"

namespace fitrun {

/// What a layer sees during one call: the mode, its call index (for shared layers) and a
/// per-call scratch area that lives as long as the model's plan for this batch shape, so that
/// masks, workspaces and temporaries are allocated once and reused every step.
class CallContext {
 public:
  bool training = false;
  /// Overwrite (false) or add to (true) weight gradients: true for the second and later calls
  /// of a shared layer within one backward pass.
  bool accumulate_grads = false;
  /// Which call of the layer this is (0 for an unshared layer).
  int call_index = 0;
  /// The model's training-step counter: random layers (Dropout) derive this step's randomness
  /// from it, so a step can be recomputed exactly (gradient checks, resumed runs).
  uint64_t step = 0;
  /// The device the model runs on: scratch() allocates there, and layers that make their own
  /// temporaries make them there.
  Device device;

  /// Per-call state of type T, default-constructed on first use.
  template <class T> T& state() {
    if (!state_ || state_type_ != std::type_index(typeid(T))) {
      state_ = std::make_shared<T>();
      state_type_ = std::type_index(typeid(T));
    }
    return *static_cast<T*>(state_.get());
  }
  /// Scratch tensor `slot` with the given shape, on `device`; reallocated only when the shape
  /// changes.
  Tensor& scratch(int slot, const Shape& shape, DType dtype = DType::float32);
  /// How many times scratch() has (re)allocated: a captured CUDA graph of the step holds the
  /// old addresses, so the model recaptures when this changes.
  uint64_t scratch_allocations() const { return scratch_allocations_; }

  /// Keras masks of the inputs, one entry per input, null where an input carries none. A mask
  /// is float32 (1 = keep, 0 = masked) with the input's shape minus its last axis, e.g. (N, T)
  /// for a sequence (N, T, features). Only layers that accept masks read them.
  std::vector<const Tensor*> input_masks;
  const Tensor* input_mask(size_t i = 0) const {
    return i < input_masks.size() ? input_masks[i] : nullptr;
  }

 private:
  std::shared_ptr<void> state_;
  std::type_index state_type_ = std::type_index(typeid(void));
  std::vector<Tensor> scratch_;
  uint64_t scratch_allocations_ = 0;
};

class Layer : public std::enable_shared_from_this<Layer> {
 public:
  /// `name` empty: a unique Keras-style name from class_name ("dense", "dense_1", ...),
  /// assigned on first use of name().
  explicit Layer(std::string name = "");
  virtual ~Layer() = default;
  Layer(Layer&&) = default;
  Layer& operator=(Layer&&) = delete;
  Layer(const Layer&) = delete;

  /// Keras' class name ("Dense"); the key in the layer registry and in saved configs.
  virtual std::string class_name() const = 0;
  const std::string& name() const;
  void set_name(std::string name) { name_ = std::move(name); }

  // ---- shapes and weights ----
  /// Output shape for the given input shapes (batch dimension included, -1 when unknown).
  /// Throws ShapeError naming this layer and the offending shapes.
  virtual Shape compute_output_shape(const std::vector<Shape>& input_shapes) const = 0;
  /// Creates the weights for the given input shapes. Called once by ensure_built().
  virtual void build(const std::vector<Shape>& input_shapes) { (void)input_shapes; }
  /// Builds on the first call, then checks later input shapes stay compatible.
  void ensure_built(const std::vector<Shape>& input_shapes);
  bool built() const { return built_; }
  /// Input shapes seen at build (batch dimension -1).
  const std::vector<Shape>& build_input_shapes() const { return build_shapes_; }

  /// All variables in creation order (trainable and not), like Keras' layer.weights.
  virtual std::vector<VariablePtr> weights() const { return weights_; }
  std::vector<VariablePtr> trainable_weights() const;
  std::vector<VariablePtr> non_trainable_weights() const;
  int64_t count_params() const;
  /// One node of Keras 3's object tree as its .weights.h5 stores it: the variables that the
  /// sub-object at `path` owns ("" for the layer itself, "cell", "forward_layer/cell",
  /// "query_dense"), written to <layer>/<path>/vars/{0,1,...}; `name` is that sub-object's
  /// Keras name (the vars group's "name" attribute: "lstm_cell", "forward_lstm", "query").
  struct WeightGroup {
    std::string path;
    std::string name;
    std::vector<VariablePtr> variables;
  };
  /// This layer's Keras 3 weight tree, parents before children; together the groups hold
  /// weights() exactly once. Default: {{"", name(), trainable then non-trainable weights}}.
  /// Layers built from sub-objects in Keras (RNN cells, wrappers, MultiHeadAttention's dense
  /// projections) override it; empty groups stand for sub-objects without variables.
  virtual std::vector<WeightGroup> weight_tree() const;
  bool trainable = true;
  /// Keras' dtype policy, taken from mixed_precision::global_policy() when the layer is made.
  /// Variables are always float32; under "mixed_bfloat16" Dense and the convolution layers
  /// multiply in bfloat16 (compute_dtype()), every other layer computes in float32.
  const mixed_precision::DTypePolicy& dtype_policy() const { return dtype_policy_; }
  void set_dtype_policy(const mixed_precision::DTypePolicy& policy) { dtype_policy_ = policy; }
  ComputeDType compute_dtype() const { return dtype_policy_.compute(); }
  /// Keras' activity_regularizer: a penalty on this layer's output added to the loss, as
  /// Keras 3 adds it (not divided by the batch size, unlike tf.keras 2). May be null.
  RegularizerRef activity_regularizer;

  // ---- computation ----
  /// y = f(inputs). `output` is preallocated with compute_output_shape's shape.
  virtual void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                       Tensor& output) = 0;
  /// Given dL/d(output), writes dL/d(input i) into *grad_inputs[i] (skipping null entries)
  /// and dL/dW into each trainable variable's grad (added when ctx.accumulate_grads).
  virtual void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                        const Tensor& output, const Tensor& grad_output,
                        const std::vector<Tensor*>& grad_inputs) = 0;

  // ---- several outputs (Keras returns a list: LSTM(return_state=True)(x) is [output, h, c]) ----
  /// How many tensors one call gives; 1 unless a layer overrides it (and the three below).
  virtual int num_outputs() const { return 1; }
  /// The shapes of all outputs, num_outputs() of them, output 0 first. Default:
  /// {compute_output_shape(input_shapes)}. Throws ShapeError as compute_output_shape.
  virtual std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const;
  /// forward() for every output: outputs[k] is preallocated with compute_output_shapes()[k].
  /// Default: forward(ctx, inputs, *outputs[0]).
  virtual void forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                             const std::vector<Tensor*>& outputs);
  /// backward() given dL/d(output k) for every output (all defined; zeros for an output that
  /// nothing reads). Default: backward(ctx, inputs, *outputs[0], *grad_outputs[0], grad_inputs).
  virtual void backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                              const std::vector<const Tensor*>& outputs,
                              const std::vector<const Tensor*>& grad_outputs,
                              const std::vector<Tensor*>& grad_inputs);

  /// Keras' get_config(): {"name": ..., "trainable": ..., layer arguments...}.
  virtual json get_config() const;

  // ---- masks (Keras' mask propagation; see docs/sequence-layers.md) ----
  /// Whether the output carries a mask, given which inputs carry one. By default a layer that
  /// supports masking passes input 0's mask on; others drop it.
  virtual bool produces_mask(const std::vector<bool>& input_has_mask) const {
    return supports_masking_ && !input_has_mask.empty() && input_has_mask[0];
  }
  /// Writes the output's mask (the output's shape minus its last axis) after forward, when
  /// produces_mask said so. By default copies input 0's mask.
  virtual void compute_mask(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                            Tensor& mask);

  // ---- the functional API ----
  /// Calls the layer on graph tensors, creating a node: Dense(8)(x). A layer called more than
  /// once shares its weights between calls. Requires num_outputs() == 1 (else a ConfigError
  /// pointing to call_multi).
  KerasTensor operator()(const KerasTensor& input) &;
  KerasTensor operator()(const std::vector<KerasTensor>& inputs) &;
  KerasTensor operator()(const KerasTensor& input) &&;
  KerasTensor operator()(const std::vector<KerasTensor>& inputs) &&;
  /// The same call, giving all num_outputs() outputs in Keras' order:
  ///   std::vector<KerasTensor> outs = LSTM(8, {.return_state = true}).call_multi(x);  // y, h, c
  /// call_multi<N> gives a std::array for structured bindings (a ConfigError naming the layer
  /// unless N == num_outputs()):
  ///   auto [y, h, c] = LSTM(8, {.return_state = true}).call_multi<3>(x);
  std::vector<KerasTensor> call_multi(const KerasTensor& input) &;
  std::vector<KerasTensor> call_multi(const std::vector<KerasTensor>& inputs) &;
  std::vector<KerasTensor> call_multi(const KerasTensor& input) &&;
  std::vector<KerasTensor> call_multi(const std::vector<KerasTensor>& inputs) &&;
  template <size_t N> std::array<KerasTensor, N> call_multi(const KerasTensor& input) & {
    expect_outputs(N, "call_multi<N>");
    return to_array<N>(call_multi(input));
  }
  template <size_t N> std::array<KerasTensor, N> call_multi(const KerasTensor& input) && {
    expect_outputs(N, "call_multi<N>");
    return to_array<N>(std::move(*this).call_multi(input));
  }
  template <size_t N>
  std::array<KerasTensor, N> call_multi(const std::vector<KerasTensor>& inputs) & {
    expect_outputs(N, "call_multi<N>");
    return to_array<N>(call_multi(inputs));
  }
  template <size_t N>
  std::array<KerasTensor, N> call_multi(const std::vector<KerasTensor>& inputs) && {
    expect_outputs(N, "call_multi<N>");
    return to_array<N>(std::move(*this).call_multi(inputs));
  }
  /// Number of times this layer has been called on graph tensors.
  int call_count() const { return call_count_; }

  /// Moves this (temporary) layer into shared ownership; implemented by LayerOf.
  virtual std::shared_ptr<Layer> take() && = 0;

  /// A layer of a registered class with its default config: Ref<Layer>("Flatten").
  static std::shared_ptr<Layer> get(const std::string& class_name);

 protected:
  /// Creates a variable "name" of `shape`, filled by `init` from this layer's generator.
  VariablePtr add_weight(const std::string& name, const Shape& shape,
                         const InitializerRef& init, bool trainable = true);
  /// The same, with Keras' weight regularizer and constraint (either may be null).
  VariablePtr add_weight(const std::string& name, const Shape& shape,
                         const InitializerRef& init, const RegularizerRef& regularizer,
                         const ConstraintRef& constraint, bool trainable = true);
  /// Throws ShapeError "<name>: <what>".
  [[noreturn]] void shape_error(const std::string& what) const;
  /// Checks the number of inputs (min..max) and throws a ShapeError naming the layer.
  void expect_inputs(const std::vector<Shape>& shapes, size_t min, size_t max) const;
  /// The seed this layer uses for its own randomness (drawn from the global seed at creation).
  uint64_t seed() const { return seed_; }
  /// Keras' supports_masking: the layer works per timestep, so its input's mask applies to its
  /// output unchanged.
  bool supports_masking_ = false;

 private:
  std::vector<KerasTensor> call_shared(std::shared_ptr<Layer> self,
                                       const std::vector<KerasTensor>& inputs);
  /// The layer that joins the graph: this one, or a moved copy of a temporary.
  std::shared_ptr<Layer> graph_self(bool temporary);
  /// Throws a ConfigError unless the layer has exactly `n` outputs (`how`: the call used).
  void expect_outputs(size_t n, const char* how) const;
  template <size_t N> static std::array<KerasTensor, N> to_array(std::vector<KerasTensor> outs) {
    std::array<KerasTensor, N> a;
    for (size_t k = 0; k < N; ++k) a[k] = std::move(outs[k]);
    return a;
  }

  mutable std::string name_;
  std::vector<VariablePtr> weights_;
  std::vector<Shape> build_shapes_;
  bool built_ = false;
  int call_count_ = 0;
  uint64_t seed_ = 0;
  mixed_precision::DTypePolicy dtype_policy_ = mixed_precision::global_policy();
};

using LayerPtr = std::shared_ptr<Layer>;
using LayerRef = Ref<Layer>;

/// Base for concrete layers: supplies take() so temporaries can join a graph.
template <class Derived>
class LayerOf : public Layer {
 public:
  using Layer::Layer;
  std::shared_ptr<Layer> take() && override {
    return std::make_shared<Derived>(std::move(static_cast<Derived&>(*this)));
  }
  /// Keras' per-layer dtype argument on a temporary: Dense(10).with_dtype_policy("float32").
  Derived&& with_dtype_policy(const mixed_precision::DTypePolicy& policy) && {
    set_dtype_policy(policy);
    return std::move(static_cast<Derived&>(*this));
  }
};

/// A layer in shared ownership that can be called several times (a shared layer):
///   auto encoder = fitrun::shared(Dense(16, "relu"));  auto a = encoder(x1), b = encoder(x2);
template <class L>
class Shared : public std::shared_ptr<L> {
 public:
  explicit Shared(std::shared_ptr<L> p) : std::shared_ptr<L>(std::move(p)) {}
  KerasTensor operator()(const KerasTensor& x) const { return (*this->get())(x); }
  KerasTensor operator()(const std::vector<KerasTensor>& xs) const { return (*this->get())(xs); }
  std::vector<KerasTensor> call_multi(const KerasTensor& x) const { return this->get()->call_multi(x); }
  std::vector<KerasTensor> call_multi(const std::vector<KerasTensor>& xs) const {
    return this->get()->call_multi(xs);
  }
};
template <class L>
Shared<std::decay_t<L>> shared(L&& layer) {
  return Shared<std::decay_t<L>>(std::make_shared<std::decay_t<L>>(std::forward<L>(layer)));
}

/// The layer registry: class name -> factory from a Keras config. Built-in layers are
/// registered on first use (no reliance on static initialization order, which cling breaks).
using LayerFactory = std::function<LayerPtr(const json& config)>;
void register_layer(const std::string& class_name, LayerFactory factory);
/// Creates a layer from Keras' {"class_name", "config"}; unknown classes throw a ConfigError
/// listing the registered ones.
LayerPtr layer_from_config(const std::string& class_name, const json& config);
std::vector<std::string> registered_layers();

/// Names a layer would get: "dense", "dense_1", ... (Keras' snake_case of the class name).
std::string unique_layer_name(const std::string& class_name);

}  // namespace fitrun
