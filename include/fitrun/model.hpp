#pragma once
// Model: a graph of layers (functional API) with Keras' training API. Sequential derives from
// it. A Model is itself a Layer, so models nest.
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/callbacks/history.hpp"
#include "fitrun/io/saving.hpp"
#include "fitrun/layer.hpp"
#include "fitrun/losses/loss.hpp"
#include "fitrun/metrics/metric.hpp"
#include "fitrun/optimizers/optimizer.hpp"
#include "fitrun/tensor_list.hpp"

namespace fitrun {

namespace datasets {
class Dataset;
}

struct ValidationData {
  TensorList x, y;
  /// One weight per validation sample (Keras' (x, y, sample_weight) tuple); may be empty.
  Tensor sample_weight;
};

/// fit() arguments with Keras' names and defaults.
struct FitOptions {
  int batch_size = 32;
  int epochs = 1;
  /// 0 silent, 1 progress bar, 2 one line per epoch.
  int verbose = 1;
  std::vector<CallbackRef> callbacks;
  /// Fraction of the *last* samples (before shuffling) held out for validation, as in Keras.
  double validation_split = 0.0;
  std::optional<ValidationData> validation_data;
  bool shuffle = true;
  int initial_epoch = 0;
  /// 0: a full pass over the data.
  int steps_per_epoch = 0;
  int validation_freq = 1;
  int validation_batch_size = 0;  // 0: batch_size
  /// One weight per sample, multiplying that sample's loss (Keras' sample_weight); split with
  /// validation_split like x and y. Training only, as in Keras.
  Tensor sample_weight;
  /// {class index: weight}: each sample's loss is multiplied by its class' weight (labels as
  /// integers, or one-hot rows by their argmax; absent classes weigh 1). Training only; not
  /// together with sample_weight; single-output models only (Keras' rules).
  std::map<int, float> class_weight;
  /// Validation on a Dataset (batched) instead of validation_data/validation_split.
  std::shared_ptr<const datasets::Dataset> validation_dataset;
  /// Batches of validation_dataset per validation (0: a full pass).
  int validation_steps = 0;
};

struct EvaluateOptions {
  int batch_size = 32;
  int verbose = 1;
  std::vector<CallbackRef> callbacks;
  /// One weight per sample for the loss (Keras' sample_weight); may be empty.
  Tensor sample_weight;
  /// Batches to evaluate on a Dataset (0: a full pass).
  int steps = 0;
};

struct PredictOptions {
  int batch_size = 32;
  int verbose = 0;
  std::vector<CallbackRef> callbacks;
  /// Batches to predict on a Dataset (0: a full pass).
  int steps = 0;
};

/// compile() arguments beyond optimizer/loss/metrics.
struct CompileOptions {
  /// Weight of each output's loss in the total (empty: all 1).
  std::vector<float> loss_weights;
  /// Keras' jit_compile ("auto" by default): on a GPU, each training step's forward, loss and
  /// backward are captured once as a CUDA graph and replayed (docs/gpu.md); false runs every
  /// kernel eagerly. No effect on the CPU.
  bool jit_compile = true;
};

namespace detail {
class Graph;
class Executor;
}  // namespace detail

class Model : public LayerOf<Model> {
 public:
  /// A functional model from its inputs to its outputs.
  Model(const KerasTensor& inputs, const KerasTensor& outputs, std::string name = "");
  Model(const std::vector<KerasTensor>& inputs, const std::vector<KerasTensor>& outputs,
        std::string name = "");
  Model(const std::vector<KerasTensor>& inputs, const KerasTensor& output, std::string name = "");
  Model(Model&&) noexcept;
  ~Model() override;

  std::string class_name() const override { return "Functional"; }

  // ---- structure ----
  /// Layers in graph order (input layers excluded, as Keras' model.layers).
  std::vector<LayerPtr> layers() const;
  /// The layer named `name`; throws ConfigError listing the names when absent.
  LayerPtr get_layer(const std::string& name) const;
  const std::vector<KerasTensor>& inputs() const;
  const std::vector<KerasTensor>& outputs() const;
  std::vector<VariablePtr> weights() const override;
  /// Prints Keras' summary table (layer, output shape, params; connections for graphs).
  void summary(std::ostream& os = std::cout, int line_length = 0) const;
  std::string summary_string(int line_length = 0) const;

  // ---- training setup ----
  /// compile("adam", "sparse_categorical_crossentropy", {"accuracy"}). `losses` holds one
  /// loss per output, or one for all; `metrics` applies to every output.
  void compile(OptimizerRef optimizer, LossRef loss, std::vector<MetricRef> metrics = {},
               CompileOptions options = {});
  void compile(OptimizerRef optimizer, std::vector<LossRef> losses,
               std::vector<MetricRef> metrics = {}, CompileOptions options = {});
  bool compiled() const;
  optimizers::Optimizer& optimizer() const;

  // ---- devices ----
  /// Runs the model on `device` from now on (PyTorch's model.to): its weights, gradients and
  /// optimizer state move there, and fit/evaluate/predict copy each batch there. Weights
  /// created or loaded later follow. Returns *this. A model starts on the CPU.
  Model& to(Device device);
  Device device() const;
  const std::vector<losses::LossPtr>& loss_functions() const;

  // ---- training and inference ----
  callbacks::History& fit(const TensorList& x, const TensorList& y, const FitOptions& o = {});
  /// fit on a batched Dataset of (x, y[, sample_weight]) elements (batch_size and shuffle
  /// do not apply: the dataset batches and shuffles). A dataset that repeats forever needs
  /// steps_per_epoch; with steps_per_epoch the pass continues across epochs, as in Keras.
  callbacks::History& fit(const datasets::Dataset& data, const FitOptions& o = {});
  /// evaluate/predict on a batched Dataset (EvaluateOptions::steps / PredictOptions::steps
  /// batches, or a full pass).
  Logs evaluate(const datasets::Dataset& data, const EvaluateOptions& o = {});
  TensorList predict(const datasets::Dataset& data, const PredictOptions& o = {});
  /// The keys of evaluate()'s logs in Keras' order ("loss", then per-output losses, then the
  /// metrics), for Keras' return_dict=False form: evaluate_values().
  std::vector<std::string> metrics_names() const;
  /// evaluate() as the list Keras' return_dict=False gives: values in metrics_names() order.
  std::vector<double> evaluate_values(const TensorList& x, const TensorList& y,
                                      const EvaluateOptions& o = {});
  /// Loss and metrics on (x, y): {"loss": ..., "accuracy": ...}.
  Logs evaluate(const TensorList& x, const TensorList& y, const EvaluateOptions& o = {});
  TensorList predict(const TensorList& x, const PredictOptions& o = {});
  /// One gradient step on one batch; returns the batch's logs (metrics of this batch only).
  Logs train_on_batch(const TensorList& x, const TensorList& y);
  Logs test_on_batch(const TensorList& x, const TensorList& y);
  TensorList predict_on_batch(const TensorList& x);
  /// The history of the last fit().
  callbacks::History& history();

  /// Set by a callback to end fit() after the current batch/epoch.
  bool stop_training = false;
  /// Set by a callback's on_train_begin to start fit() elsewhere than FitOptions::initial_epoch
  /// (BackupAndRestore, as Keras' model._initial_epoch): the first `batch` batches of `epoch`
  /// are skipped, as they were trained before a restart. fit() clears it when it starts.
  struct ResumePoint {
    int epoch = -1;
    int64_t batch = 0;
  } resume_from;

  // ---- lower level (used by fit, tests and custom loops) ----
  /// Forward (training mode), loss, backward and the optimizer update on one batch whose
  /// inputs/labels are already in the step buffers; allocates nothing after the first call
  /// for a given batch size. Returns the weighted total loss. `sample_weight` (one weight per
  /// sample, may be null) weights each sample's loss as Keras does.
  double train_step(const TensorList& x, const TensorList& y,
                    const Tensor* sample_weight = nullptr);
  /// Forward and backward only: fills every trainable variable's grad (regularizer gradients
  /// included, times the optimizer's loss scale); returns the loss (with the regularization
  /// penalty, unscaled).
  double compute_gradients(const TensorList& x, const TensorList& y,
                           const Tensor* sample_weight = nullptr);
  /// Where a training step's time goes: one warm-up train step on the batch x/y, then `steps`
  /// more with the device drained around every layer's forward and backward, the loss and the
  /// optimizer update. Returns a table of milliseconds per step by layer. The draining makes
  /// these steps slower than plain ones: it finds the expensive layers, it does not time a step.
  std::string profile_train_step(const TensorList& x, const TensorList& y, int steps = 10);
  /// Whether a training step's loss and metric updates are pure device work (no host read,
  /// no host value): a model on a GPU whose losses and metrics all have device paths
  /// (Loss::row_spec, Metric::row_spec) and no weight or activity regularizer. Otherwise they
  /// run on host copies of the outputs (custom losses or metrics) or add a host penalty.
  bool losses_on_device() const;

  // ---- Layer interface (a Model used as a layer of another model) ----
  /// Output 0's shape; a model with several outputs gives them all through call_multi.
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                const Tensor& output, const Tensor& grad_output,
                const std::vector<Tensor*>& grad_inputs) override;
  /// The model's outputs (1 before it has a graph).
  int num_outputs() const override;
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) const override;
  void forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                     const std::vector<Tensor*>& outputs) override;
  void backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                      const std::vector<const Tensor*>& outputs,
                      const std::vector<const Tensor*>& grad_outputs,
                      const std::vector<Tensor*>& grad_inputs) override;
  /// Keras' Functional config: {"name", "trainable", "layers" (each with "inbound_nodes"),
  /// "input_layers", "output_layers"}, in Keras 3's dialect.
  json get_config() const override;

  // ---- configs and files (Keras' formats; src/io, see fitrun/io/*.hpp) ----
  /// Keras' to_json(): {"module", "class_name", "config", "build_config"} plus "compile_config"
  /// when compiled, in Keras 3's dialect; model_from_json() reads it back.
  std::string to_json(int indent = -1) const;
  /// A Sequential or functional model from Keras' {"class_name", "config"} (Keras 3 or
  /// tf.keras 2.x) or from a bare get_config(). Throws ConfigError naming the JSON path.
  static std::shared_ptr<Model> from_config(const json& config);
  /// Keras' compile config {"optimizer", "loss", "loss_weights", "metrics", ...}; null when the
  /// model is not compiled.
  json get_compile_config() const;
  /// compile() from a Keras 3 compile_config or a tf.keras training_config.
  void compile_from_config(const json& config);
  /// Keras' model.save(): ".keras" (Keras 3's zip) or ".h5"/".hdf5" (legacy HDF5): config,
  /// weights, compile state and optimizer state. Atomic; throws IOError naming the file.
  void save(const std::string& path, const SaveOptions& options = {}) const;
  /// Weights only: ".weights.h5" in Keras 3's layout (with the optimizer's state when
  /// compiled), ".h5"/".hdf5" in the legacy layout.
  void save_weights(const std::string& path) const;
  /// Loads weights saved by save_weights()/save() (or Keras; a .keras archive's too) into this
  /// model: by layer order (or by name), checking every shape. Nothing changes when it throws.
  void load_weights(const std::string& path, const LoadWeightsOptions& options = {});
  /// Training steps run so far (drives Dropout's masks); saved with the model so that a
  /// resumed run continues exactly.
  uint64_t train_steps() const;
  void set_train_steps(uint64_t steps);
  /// Keras' model.jit_compile (CompileOptions::jit_compile): whether training steps on a GPU
  /// are captured as CUDA graphs. Settable after compile(), as in Keras.
  bool jit_compile() const;
  void set_jit_compile(bool on);
  /// Training steps replayed from a captured CUDA graph (CompileOptions::jit_compile) since the
  /// model's plans were made; 0 on the CPU.
  uint64_t cuda_graph_replays() const;
  /// Why the last training step was not replayed from a CUDA graph ("" when it was, or while
  /// its plan warms up), e.g. "the model is on the CPU".
  std::string cuda_graph_refusal() const;
  /// Seed of fit()'s shuffling: epoch e's sample order is a function of (seed, e), so a run
  /// resumed with initial_epoch = e sees the same batches as an uninterrupted one. Saved with
  /// the model.
  uint64_t shuffle_seed() const;
  void set_shuffle_seed(uint64_t seed);

 protected:
  /// For Sequential, which builds its graph later.
  explicit Model(std::string name);
  void set_graph(const std::vector<KerasTensor>& inputs, const std::vector<KerasTensor>& outputs);
  virtual void ensure_graph(const TensorList& x);
  bool has_graph() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fitrun
