#include "fitrun/sequential.hpp"

namespace fitrun {

Sequential::Sequential(std::string name) : Model(std::move(name)) {}

Sequential::Sequential(std::initializer_list<SequentialItem> items, std::string name)
    : Model(std::move(name)) {
  for (const auto& item : items) {
    if (item.input.defined()) {
      add(item.input);
    } else {
      add(item.layer);
    }
  }
}

void Sequential::add(const KerasTensor& input) {
  if (input_.defined() || !stack_.empty())
    throw ConfigError("Sequential \"" + name() +
                      "\": an Input can only be the first element of the stack");
  input_ = input;
}

void Sequential::add(LayerRef layer) {
  if (!layer) throw ConfigError("Sequential \"" + name() + "\": cannot add a null layer");
  if (layer->num_outputs() != 1)  // Keras' rule too
    throw ConfigError("Sequential \"" + name() + "\": layer \"" + layer->name() + "\" gives " +
                      std::to_string(layer->num_outputs()) + " outputs (return_state); every "
                      "layer of a Sequential must give one: use the functional API");
  for (const auto& l : stack_)
    if (l == layer.ptr())
      throw ConfigError("Sequential \"" + name() + "\": layer \"" + layer->name() +
                        "\" is already in the stack");
  stack_.push_back(layer.ptr());
  if (input_.defined()) rebuild(input_.shape().drop_batch(), input_.dtype());
}

void Sequential::rebuild(const Shape& per_sample, DType dtype) {
  if (stack_.empty()) return;
  KerasTensor x = input_.defined() ? input_ : Input(per_sample, {"", dtype});
  input_ = x;
  // Each layer is called once: earlier layers keep the outputs of their first call, so adding
  // a layer only extends the graph (and checks the new layer's shapes at add() time).
  KerasTensor y = x;
  outputs_.resize(stack_.size());
  for (size_t i = 0; i < stack_.size(); ++i) {
    if (!outputs_[i].defined()) outputs_[i] = (*stack_[i])(std::vector<KerasTensor>{y});
    y = outputs_[i];
  }
  set_graph({x}, {y});
}

void Sequential::ensure_graph(const TensorList& x) {
  if (has_graph()) return;
  if (stack_.empty()) throw ConfigError("Sequential \"" + name() + "\" has no layers");
  if (x.empty() || !x[0].defined() || x[0].rank() < 1)
    throw ShapeError("Sequential \"" + name() + "\": cannot infer the input shape from the data");
  rebuild(x[0].shape().drop_batch(), x[0].dtype() == DType::float32 ? DType::float32 : x[0].dtype());
}

// get_config() is with the other Keras configs in src/io/model_config.cpp.

}  // namespace fitrun
