#pragma once
// Runs a Graph for one batch size on one device: all activation and gradient buffers, per-call
// layer state and the backward wiring are set up once in the Plan, so a step only executes.
// On a GPU the plan also owns the device copies of the inputs, labels and sample weights, the
// float64 device results of the losses, and the host copies of the outputs and their gradients
// for losses and metrics without a device path.
#include <deque>
#include <memory>
#include <vector>

#include "fitrun/tensor_list.hpp"
#include "model/captured_step.hpp"
#include "model/graph.hpp"

namespace fitrun::detail {

/// Seconds per graph node, summed over the steps run while a plan profiles.
struct LayerTimes {
  std::vector<double> forward, backward;
};

class Plan {
 public:
  /// `input_grads`: also compute gradients with respect to the model inputs (nested models,
  /// gradient checks).
  Plan(const Graph& graph, int64_t batch, bool input_grads, Device device = Device::cpu());

  int64_t batch() const { return batch_; }
  Device device() const { return device_; }
  /// Binds the model inputs: views when they are on the plan's device, else copied into
  /// device buffers the plan owns (stage_input).
  void bind_inputs(const std::vector<const Tensor*>& inputs);
  void bind_input(size_t k, const Tensor& t);
  /// Copies input k into the plan's own buffer for it (made once per shape, so the step reads
  /// the same address every time, as a captured CUDA graph needs): from the host a synchronous
  /// copy, from the plan's device one queued on its stream.
  void stage_input(size_t k, const Tensor& t);
  /// Copies the batch's labels and sample weights (undefined: none) into buffers the plan owns,
  /// as stage_input, next to the inputs: for losses and metrics computed on the device. The
  /// prefetcher stages them with every batch; label(k) and sample_weight() read them, and so
  /// do bind_label/bind_sample_weight until the next bind_input.
  void stage_targets(const TensorList& y, const Tensor& sample_weight);
  bool targets_staged() const { return targets_staged_; }
  const Tensor& label(size_t k) const { return staged_labels_.at(k); }
  /// The last staged sample weights; undefined when that batch had none.
  const Tensor& sample_weight() const { return sample_weight_; }
  /// Copies inputs bound as views of the caller's device tensors into the plan's own buffers
  /// (stage_input): a captured step reads the same addresses on every replay.
  void own_inputs();
  void forward(bool training, uint64_t step);
  /// The sum of the layers' activity-regularizer penalties on the last forward's outputs
  /// (part of the loss, as Keras' model.losses).
  double activity_penalty() const { return activity_penalty_; }
  /// Runs the backward pass. Before it, the caller writes dL/d(output k) into output_grad(k).
  /// `accumulate_weights` adds into weight gradients instead of overwriting them;
  /// `loss_scale` multiplies the activity regularizers' gradients like the loss gradient's.
  void backward(bool accumulate_weights, float loss_scale = 1.f);

  const Tensor& output(size_t k) const { return values_[graph_.output_nodes[k]]; }
  Tensor& output_grad(size_t k) { return grads_[graph_.output_nodes[k]]; }
  /// dL/d(input k); defined only when the plan was made with input_grads.
  const Tensor& input_grad(size_t k) const { return grads_[graph_.input_nodes[k]]; }

  /// Output k on the CPU: the output itself on a CPU plan, else a host copy made now.
  const Tensor& host_output(size_t k);
  /// Where the host-side loss writes dL/d(output k): output_grad(k) itself on a CPU plan, else
  /// a host buffer that upload_output_grads() copies to the device.
  Tensor& host_output_grad(size_t k);
  void upload_output_grads();

  /// Labels of output k and the sample weights, on the plan's device: those stage_targets
  /// copied for this batch, else the tensor itself when it is there, else a copy in a buffer
  /// the plan owns (made once per shape and dtype, so its address is stable from step to step).
  const Tensor& bind_label(size_t k, const Tensor& y);
  const Tensor& bind_sample_weight(const Tensor& w);
  /// Float64 device results of the device loss path (ops::device_doubles), made once: one
  /// batch loss per output, and the step's (total loss, 1).
  Tensor& loss_values();
  Tensor& step_total();

  /// While set, forward/backward synchronize the device around every layer and add its time
  /// to `times` (sized to the graph's nodes); null turns it off.
  void set_profile(LayerTimes* times) { profile_ = times; }

  /// Scratch (re)allocations of every call so far (CallContext::scratch_allocations).
  uint64_t scratch_allocations() const;
  /// This plan's training step as a CUDA graph (captured_step.hpp).
  CapturedStep& captured_step() { return captured_; }
  const CapturedStep& captured_step() const { return captured_; }

 private:
  /// Runs node i's forward or backward pass `f`: timed while profiling, and a backend failure
  /// rethrown naming the layer and the pass.
  template <class F>
  void run_pass(size_t i, bool backward, F&& f);
  const Tensor& on_device(const Tensor& t, Tensor& staged);
  struct Accumulate {
    Tensor* from;
    Tensor* into;
  };
  const Graph& graph_;
  int64_t batch_;
  Device device_;
  std::vector<Tensor> staged_inputs_, staged_labels_;  // the plan's copies of a batch
  std::vector<Tensor> staged_weights_;                 // [0]: sample weights' buffer
  Tensor sample_weight_;                               // staged_weights_[0] or undefined
  bool targets_staged_ = false;                        // stage_targets since bind_input
  Tensor loss_values_, step_total_;                    // see loss_values()
  std::vector<Tensor> host_outputs_, host_grads_;  // host copies of outputs and their grads
  LayerTimes* profile_ = nullptr;
  double activity_penalty_ = 0;
  std::vector<Tensor> values_, grads_;
  std::vector<Tensor> masks_;  // Keras masks, defined for nodes whose output carries one
  std::vector<CallContext> ctx_;
  std::vector<std::vector<const Tensor*>> in_ptrs_;
  std::vector<std::vector<Tensor*>> grad_ptrs_;
  // Per call: its output values and their gradients (GraphNode::outputs; one for most layers).
  std::vector<std::vector<Tensor*>> out_ptrs_;
  std::vector<std::vector<const Tensor*>> out_cptrs_, out_grad_ptrs_;
  std::vector<bool> unwritten_grad_;  // per value: a gradient no loss or consumer writes
  std::deque<Tensor> grad_scratch_;  // for second and later writers of a grad (stable addresses)
  std::vector<std::vector<Accumulate>> accumulate_;  // per node, after its backward
  std::vector<bool> runs_backward_;
  std::vector<bool> first_weight_write_;           // per node: overwrite the layer's grads
  CapturedStep captured_;
};

}  // namespace fitrun::detail
