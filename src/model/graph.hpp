#pragma once
// The static graph of a Model: layer calls in topological order, each producing one value,
// with every decision the executor needs taken here once (who consumes what, which gradients
// are wanted, which writes accumulate).
#include <memory>
#include <vector>

#include "fitrun/keras_tensor.hpp"
#include "fitrun/layer.hpp"

namespace fitrun::detail {

struct GraphNode {
  LayerPtr layer;
  std::vector<int> inputs;  // node ids whose outputs feed this node
  Shape shape;              // output shape (batch -1)
  DType dtype = DType::float32;
  int call_index = 0;
  bool is_input = false;
  bool has_mask = false;  // the output carries a Keras mask (Layer::produces_mask)
  std::vector<int> consumers;  // node ids that read this node's output
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
