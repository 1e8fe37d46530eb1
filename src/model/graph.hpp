#pragma once
// The static graph of a Model: one node per value in topological order, with every decision
// the executor needs taken here once (who consumes what, which gradients are wanted, which
// writes accumulate). A layer call is the node of its first output; a call with several
// outputs (Layer::num_outputs) is followed by one node per extra output, which runs nothing.
#include <memory>
#include <vector>

#include "fitrun/keras_tensor.hpp"
#include "fitrun/layer.hpp"

namespace fitrun::detail {

struct GraphNode {
  LayerPtr layer;
  /// Node ids whose values feed this call; for an extra output, {the call that computes it}.
  std::vector<int> inputs;
  Shape shape;              // this value's shape (batch -1)
  DType dtype = DType::float32;
  int call_index = 0;
  bool is_input = false;
  bool has_mask = false;  // the value carries a Keras mask (Layer::produces_mask; output 0 only)
  std::vector<int> consumers;  // node ids that read this node's value
  /// Which output of its layer call this value is (Keras' tensor_index).
  int tensor_index = 0;
  /// On a call's node: the ids of all its outputs in order, this node first.
  std::vector<int> outputs;
  /// Whether this node runs its layer: a call (not a model input, not an extra output).
  bool is_call() const { return !is_input && tensor_index == 0; }
};

class Graph {
 public:
  Graph(const std::vector<KerasTensor>& inputs, const std::vector<KerasTensor>& outputs,
        const std::string& model_name);

  std::vector<GraphNode> nodes;  // topological order
  std::vector<int> input_nodes;  // in the model's input order
  std::vector<int> output_nodes; // in the model's output order
  /// Distinct layers in graph order, input layers excluded (Keras' model.layers).
  std::vector<LayerPtr> layers;
};

}  // namespace fitrun::detail
