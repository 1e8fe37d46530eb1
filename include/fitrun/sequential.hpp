#pragma once
#include <initializer_list>
#include <vector>

#include "fitrun/model.hpp"

namespace fitrun {

/// An element of Sequential's list: a layer (by value, shared pointer or name) or an Input.
class SequentialItem {
 public:
  template <class T, class = std::enable_if_t<std::is_constructible_v<LayerRef, T&&>>>
  SequentialItem(T&& layer) : layer(std::forward<T>(layer)) {}
  SequentialItem(const KerasTensor& input) : input(input) {}
  LayerRef layer;
  KerasTensor input;
};

/// A plain stack of layers: Sequential model({Input({64}), Dense(32, "relu"), Dense(10)}).
/// Without an Input, the model is built from the first data it sees (as in Keras).
class Sequential : public Model {
 public:
  explicit Sequential(std::string name = "");
  Sequential(std::initializer_list<SequentialItem> items, std::string name = "");

  /// Appends a layer. Shapes are checked now when the input shape is known.
  void add(LayerRef layer);
  /// Sets the per-sample input shape (Keras' Input(shape)).
  void add(const KerasTensor& input);

  std::string class_name() const override { return "Sequential"; }
  std::shared_ptr<Layer> take() && override {
    return std::make_shared<Sequential>(std::move(*this));
  }
  Sequential(Sequential&&) noexcept = default;
  json get_config() const override;

 protected:
  void ensure_graph(const TensorList& x) override;

 private:
  void rebuild(const Shape& per_sample, DType dtype);
  std::vector<LayerPtr> stack_;
  std::vector<KerasTensor> outputs_;  // each layer's output in the graph
  KerasTensor input_;
};

}  // namespace fitrun
