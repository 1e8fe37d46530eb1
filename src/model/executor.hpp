#pragma once
// Runs a Graph for one batch size: all activation and gradient buffers, per-call layer state
// and the backward wiring are set up once in the Plan, so a step only executes.
#include <deque>
#include <memory>
#include <vector>

#include "model/graph.hpp"

namespace fitrun::detail {

class Plan {
 public:
  /// `input_grads`: also compute gradients with respect to the model inputs (nested models,
  /// gradient checks).
  Plan(const Graph& graph, int64_t batch, bool input_grads);

  int64_t batch() const { return batch_; }
  /// Binds the model inputs (views; nothing is copied).
  void bind_inputs(const std::vector<const Tensor*>& inputs);
  void bind_input(size_t k, const Tensor& t) { values_[graph_.input_nodes[k]] = t; }
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

 private:
  struct Accumulate {
    Tensor* from;
    Tensor* into;
  };
  const Graph& graph_;
  int64_t batch_;
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
};

}  // namespace fitrun::detail
