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
  std::map<const Node*, int> id;
  std::set<const Node*> model_inputs;
  for (const auto& x : inputs) {
    if (!x.defined() || !dynamic_cast<layers::InputLayer*>(x.layer()))
      throw ConfigError("model \"" + model_name +
                        "\": every input must come from fitrun::Input(...), got " +
                        x.to_string());
    model_inputs.insert(x.node().get());
  }
  // Depth-first from the outputs: a node is placed after all of its inputs.
  std::set<const Node*> visiting;
  std::function<int(const KerasTensor&)> visit = [&](const KerasTensor& t) -> int {
    const Node* n = t.node().get();
    if (auto it = id.find(n); it != id.end()) return it->second;
    if (visiting.count(n))
      throw ConfigError("model \"" + model_name + "\": the layer graph has a cycle");
    visiting.insert(n);
    GraphNode g;
    g.layer = t.node()->layer;
    g.shape = t.shape();
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
    nodes.push_back(std::move(g));
    id[n] = my_id;
    return my_id;
  };
  for (const auto& x : inputs) {  // inputs first, in the given order
    GraphNode g;
    g.layer = x.node()->layer;
    g.shape = x.shape();
    g.dtype = x.dtype();
    g.is_input = true;
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
