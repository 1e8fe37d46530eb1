#pragma once
// Internal helpers shared by the io sources (model_config.cpp, compile_config.cpp, saving.cpp).
#include <memory>
#include <string>
#include <vector>

#include "fitrun/json.hpp"
#include "fitrun/model.hpp"

namespace fitrun::io {

/// compile() from a Keras 3 compile_config or a tf.keras training_config; errors name `path`.
/// `lenient_metrics` (files written by Keras): a metric fitrun does not have is skipped with a
/// warning instead of failing the load.
void compile_model_from_config(Model& model, const json& config, const std::string& path,
                               bool lenient_metrics = false);

/// {"class_name", "config"}: the model_config attribute of a legacy .h5 file (Keras 3 writes the
/// outer entry in the legacy form there).
json model_file_config(const Model& model);

/// Keras' model.layers order: a Sequential's stack; for a functional model, Keras' map_graph
/// order (layers by decreasing depth from the outputs, ties by first visit), InputLayers
/// included. Files list and match layers in this order, so it must be Keras' own.
std::vector<LayerPtr> keras_layer_order(const Model& model);

/// A layer's weights as Keras saves them: trainable then non-trainable, a nested model's in its
/// own Keras order.
std::vector<VariablePtr> keras_weights(const Layer& layer);

/// The variables an optimizer updates, in Keras' order (model.trainable_variables).
std::vector<VariablePtr> keras_trainable_variables(const Model& model);

/// Rethrows `e` as a ConfigError whose message starts with `path` (unless it already does).
[[noreturn]] void rethrow_at(const std::string& path, const std::exception& e);

}  // namespace fitrun::io
