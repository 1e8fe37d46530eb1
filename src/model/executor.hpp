#pragma once
// Runs a Graph for one batch size on one device: all activation and gradient buffers, per-call
// layer state and the backward wiring are set up once in the Plan, so a step only executes.
// On a GPU the plan also owns the device copies of the inputs and the host copies of the
// outputs and their gradients, through which the (host) losses and metrics see the outputs.
#include <deque>
#include <memory>
#include <vector>

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
  /// device buffers the plan owns (allocated once).
  void bind_inputs(const std::vector<const Tensor*>& inputs);
  /// `own_copy`: copy an input already on the plan's device into the plan's buffer too (a
  /// captured step reads the same addresses every replay).
  void bind_input(size_t k, const Tensor& t, bool own_copy = false);
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

  /// While set, forward/backward synchronize the device around every layer and add its time
  /// to `times` (sized to the graph's nodes); null turns it off.
  void set_profile(LayerTimes* times) { profile_ = times; }

  /// This plan's training step as a CUDA graph (captured_step.hpp).
  CapturedStep& captured_step() { return captured_; }
  const CapturedStep& captured_step() const { return captured_; }

 private:
  /// Runs node i's forward or backward pass `f`: timed while profiling, and a backend failure
  /// rethrown naming the layer and the pass.
  template <class F>
  void run_pass(size_t i, bool backward, F&& f);
  struct Accumulate {
    Tensor* from;
    Tensor* into;
  };
  const Graph& graph_;
  int64_t batch_;
  Device device_;
  std::vector<Tensor> staged_inputs_;             // device copies of host inputs
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
