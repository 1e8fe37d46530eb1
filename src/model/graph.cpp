#include "model/graph.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "fitrun/layers/input_layer.hpp"

namespace fitrun::detail {

Graph::Graph(const std::vector<KerasTensor>& inputs, const std::vector<KerasTensor>& outputs,
             const std::string& model_name) {
  if (inputs.empty()) throw ConfigError("model \"" + model_name + "\": no inputs given");
  if (outputs.empty()) throw ConfigError("model \"" + model_name + "\": no outputs given");
  std::map<const Node*, int> id;  // a call's node (its first output)
  std::set<const Node*> model_inputs;
  for (const auto& x : inputs) {
    if (!x.defined() || !dynamic_cast<layers::InputLayer*>(x.layer()))
      throw ConfigError("model \"" + model_name +
                        "\": every input must come from fitrun::Input(...), got " +
                        x.to_string());
    model_inputs.insert(x.node().get());
  }
  // The node of output `t.tensor_index()` of the call with node `call`.
  auto output_of = [&](int call, const KerasTensor& t) {
    const std::vector<int>& outs = nodes[static_cast<size_t>(call)].outputs;
    const auto k = static_cast<size_t>(t.tensor_index());
    if (k >= outs.size())
      throw ConfigError("model \"" + model_name + "\": layer \"" + t.layer()->name() +
                        "\" has " + std::to_string(outs.size()) + " output(s), no output " +
                        std::to_string(k));
    return outs[k];
  };
  // Depth-first from the outputs: a node is placed after all of its inputs.
  std::set<const Node*> visiting;
  std::function<int(const KerasTensor&)> visit = [&](const KerasTensor& t) -> int {
    const Node* n = t.node().get();
    if (auto it = id.find(n); it != id.end()) return output_of(it->second, t);
    if (visiting.count(n))
      throw ConfigError("model \"" + model_name + "\": the layer graph has a cycle");
    visiting.insert(n);
    const std::vector<Shape> shapes =
        n->output_shapes.empty() ? std::vector<Shape>{t.shape()} : n->output_shapes;
    GraphNode g;
    g.layer = t.node()->layer;
    g.shape = shapes[0];
    g.dtype = t.dtype();
    g.call_index = t.node()->call_index;
    g.is_input = t.node()->inputs.empty();
    if (g.is_input && !model_inputs.count(n))
      throw ConfigError("model \"" + model_name + "\": graph disconnected: an output depends on " +
                        "input \"" + g.layer->name() + "\", which is not among the model's inputs");
    for (const auto& in : t.node()->inputs) g.inputs.push_back(visit(in));
    visiting.erase(n);
    if (!g.is_input) {
      std::vector<bool> in_masks;
      for (int in : g.inputs) in_masks.push_back(nodes[static_cast<size_t>(in)].has_mask);
      g.has_mask = g.layer->produces_mask(in_masks);
    }
    const int my_id = static_cast<int>(nodes.size());
    for (int in : g.inputs) nodes[static_cast<size_t>(in)].consumers.push_back(my_id);
    g.outputs.push_back(my_id);
    nodes.push_back(std::move(g));
    // The call's other outputs follow it: each reads the call, so what flows to them (which
    // values need gradients) reaches the call.
    for (size_t k = 1; k < shapes.size(); ++k) {
      GraphNode e;
      const GraphNode& call = nodes[static_cast<size_t>(my_id)];
      e.layer = call.layer;
      e.inputs = {my_id};
      e.shape = shapes[k];
      e.dtype = call.dtype;
      e.call_index = call.call_index;
      e.tensor_index = static_cast<int>(k);
      const int extra_id = static_cast<int>(nodes.size());
      nodes.push_back(std::move(e));
      nodes[static_cast<size_t>(my_id)].consumers.push_back(extra_id);
      nodes[static_cast<size_t>(my_id)].outputs.push_back(extra_id);
    }
    id[n] = my_id;
    return output_of(my_id, t);
  };
  for (const auto& x : inputs) {  // inputs first, in the given order
    GraphNode g;
    g.layer = x.node()->layer;
    g.shape = x.shape();
    g.dtype = x.dtype();
    g.is_input = true;
    g.outputs.push_back(static_cast<int>(nodes.size()));
    id[x.node().get()] = static_cast<int>(nodes.size());
    input_nodes.push_back(static_cast<int>(nodes.size()));
    nodes.push_back(std::move(g));
  }
  for (const auto& y : outputs) output_nodes.push_back(visit(y));

  std::set<const Layer*> seen;
  for (const auto& n : nodes)
    if (!n.is_input && seen.insert(n.layer.get()).second) layers.push_back(n.layer);
}

}  // namespace fitrun::detail
