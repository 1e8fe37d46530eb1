#pragma once
// Model's private state, shared by model.cpp (structure, compile, steps), training.cpp
// (fit/evaluate/predict) and summary.cpp.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>

#include "fitrun/model.hpp"
#include "fitrun/datasets/dataset.hpp"
#include "model/executor.hpp"
#include "model/graph.hpp"
#include "model/prefetcher.hpp"

namespace fitrun {

struct Model::Impl {
  std::unique_ptr<detail::Graph> graph;
  std::vector<KerasTensor> inputs, outputs;
  /// Plans by batch size (the last, smaller batch of an epoch is a second entry).
  std::map<int64_t, std::unique_ptr<detail::Plan>> plans, plans_with_input_grads;

  // compile() state
  bool compiled = false;
  optimizers::OptimizerPtr optimizer;
  std::vector<losses::LossPtr> losses;       // one per output
  std::vector<float> loss_weights;           // one per output
  std::vector<double> loss_coeffs;           // the same as doubles, for the device total
  std::vector<std::vector<metrics::MetricPtr>> metrics;  // per output
  std::vector<metrics::Mean> output_loss_trackers;       // per output (multi-output models)
  metrics::Mean loss_tracker{"loss"};
  std::vector<VariablePtr> trainable;        // cached for the optimizer
  std::vector<VariablePtr> regularized;      // weights with a regularizer (penalty in the loss)
  std::vector<VariablePtr> variables;        // every weight once (a captured step's key)
  bool jit_compile = true;                   // CompileOptions::jit_compile
  std::string last_capture_refusal;          // Model::cuda_graph_refusal()
  std::vector<metrics::MetricPtr> pending_metrics;  // as given to compile()
  bool compile_finished = false;
  uint64_t compile_generation = 0;  // compile() calls (a captured step's key)

  Device device;  // where the weights live and the plans run (Model::to)

  callbacks::History history;
  uint64_t step = 0;  // training steps run (drives Dropout's masks)
  uint64_t shuffle_seed = 0;

  detail::Plan& plan(int64_t batch, bool input_grads = false);
  /// Moves any weight (and optimizer state) not on `device` there: weights built, loaded or
  /// replaced after Model::to follow the model. Runs when a plan is made and at the start of
  /// fit/evaluate/predict (not per step: listing the weights allocates).
  void place_weights();
  /// Resolves compile() against the graph (loss per output, "accuracy" by loss); runs once the
  /// graph exists (a Sequential without Input gets it from the first data).
  void finish_compile(const std::string& model_name);
  /// Throws unless compile() was called.
  void require_compiled(const std::string& model_name, const char* what) const;
  /// Checks x/y against the model's inputs/outputs; returns the sample count.
  int64_t check_data(const std::string& model_name, const TensorList& x, const TensorList* y) const;
  /// The plan for x's batch size, with x bound to it.
  detail::Plan& bound_plan(const TensorList& x);
  /// Forward (training mode), loss and backward on the batch bound to `p`: fills every
  /// trainable variable's grad (regularizers' included); returns the loss (Model::
  /// compute_gradients). train() adds the optimizer update and counts the step.
  double gradients(detail::Plan& p, const TensorList& y, const Tensor* sample_weight);
  double train(detail::Plan& p, const TensorList& y, const Tensor* sample_weight);
  /// Loss of the batch bound to `p` (and, if `grads`, dL/d(outputs) in the plan, multiplied by
  /// `grad_scale`, the optimizer's loss scale); updates the loss trackers and metrics.
  /// `sample_weight` (one per sample, may be null) weights each sample's loss as Keras does;
  /// `penalty` (the weights' regularization) is added to the total loss.
  /// On a GPU plan whose losses and metrics all have device paths (device_path_for), all of
  /// this is device work: labels and weights copied into plan buffers, kernels enqueued, no
  /// host read unless the value is wanted (`read_value`; else it returns NaN).
  double loss_and_metrics(detail::Plan& p, const TensorList& y, bool grads,
                          const Tensor* sample_weight = nullptr, double penalty = 0.0,
                          float grad_scale = 1.f, bool read_value = true);
  /// Whether this step's losses and metrics can run on the GPU: a GPU model, every loss and
  /// metric with a device path, float32 sample weights (others take the host-copy path).
  bool device_path_for(const Tensor* sample_weight) const;
  /// Whether a training step's loss and metric updates are pure device work with no host
  /// value in them (what CUDA graph capture needs): device_path_for, and no weight or activity
  /// regularizer (their penalties are host doubles added as a constant each step).
  bool losses_on_device() const;
  /// The first layer with an activity regularizer (its penalty is a host double), or null.
  const Layer* activity_regularized_layer() const;
  /// Checks host labels' values (sparse class indices) on the host: device kernels cannot throw.
  void check_host_labels(const detail::Plan& p, const TensorList& y) const;
  /// The step total (penalty + weighted losses) the device loss path left in p, read back.
  double read_step_loss(detail::Plan& p) const;
  /// fit() sets it: train_step then leaves the loss on the device (no read-back per step).
  bool defer_loss_read = false;
  /// Why this model's training steps cannot be captured as CUDA graphs on plan `p`, into `why`
  /// ("" when they can): captured steps must be pure device work.
  void capture_refusal(const detail::Plan& p, const Tensor* sample_weight,
                       std::string& why) const;
  /// gradients() as a captured CUDA graph (when capture_refusal says nothing).
  double captured_gradients(detail::Plan& p, const TensorList& y, const Tensor* sample_weight,
                            float scale);
  /// Refills `p`'s captured-step key: the addresses of every weight and gradient.
  void fill_capture_key(detail::Plan& p) const;
  /// Sum of the regularizers' penalties of the model's weights (Keras' sum(model.losses)).
  double regularization_penalty() const;
  void reset_metrics();
  /// Inference forward passes over the n samples of data.x in batches of bs, calling
  /// before(step) ahead of each and done(step, begin, end, plan) after it to read the outputs.
  /// On a GPU the next batch (labels and sample weights included) is prefetched meanwhile.
  template <class B, class F>
  void forward_batches(const datasets::Element& data, int64_t n, int64_t bs, B&& before,
                       F&& done) {
    std::unique_ptr<detail::Prefetcher> pf;
    if (detail::prefetches(device) && detail::Prefetcher::accepts(data))
      pf = std::make_unique<detail::Prefetcher>(device);
    datasets::Element batch = data;  // views of rows [b, e), reassigned per batch
    const auto rows = [&](int64_t b, int64_t e) -> const datasets::Element& {
      for (size_t k = 0; k < data.x.size(); ++k) batch.x[k] = data.x[k].slice(b, e);
      for (size_t k = 0; k < data.y.size(); ++k) batch.y[k] = data.y[k].slice(b, e);
      if (data.sample_weight.defined()) batch.sample_weight = data.sample_weight.slice(b, e);
      return batch;
    };
    for (int64_t s = 0, b = 0; b < n; ++s, b += bs) {
      const int64_t e = std::min(n, b + bs);
      before(static_cast<int>(s));
      detail::Plan& p = plan(e - b);
      if (pf) {
        if (pf->empty()) pf->push(rows(b, e));
        pf->pop(p);
        if (e < n) pf->push(rows(e, std::min(n, e + bs)));  // travels during this batch
      } else {
        for (size_t k = 0; k < data.x.size(); ++k) p.bind_input(k, data.x[k].slice(b, e));
      }
      p.forward(false, step);
      done(static_cast<int>(s), b, e, p);
    }
  }
  /// Keras' epoch loop, shared by fit on arrays and on a Dataset: callbacks, metric resets,
  /// Ctrl-C, validation every validation_freq epochs, the EMA swap at the end.
  /// batch(epoch, step, skip) trains the next batch (with `skip`, only moves past it: a resumed
  /// run) and returns false when the data ran out; validate(epoch_logs) adds the val_ logs.
  /// steps < 0: one pass of unknown length per epoch.
  callbacks::History& run_fit(Model& model, const FitOptions& o, int64_t steps,
                              const std::function<bool(int, int64_t, bool)>& batch,
                              const std::function<void(Logs&)>& validate);
  /// Current values of the loss trackers and metrics, with `prefix` ("val_") on every key.
  void collect_logs(Logs& logs, const std::string& prefix = "") const;
  /// Names used in logs for output k's loss and metrics ("loss"/"accuracy" for one output,
  /// "<output layer>_loss" for several).
  std::string prefix(size_t k) const;
};

}  // namespace fitrun
