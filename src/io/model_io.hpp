#pragma once
// Internal helpers shared by the io sources (model_config.cpp, compile_config.cpp, saving.cpp).
#include <memory>
#include <string>
#include <vector>

#include "fitrun/io/saving.hpp"
#include "fitrun/json.hpp"
#include "fitrun/model.hpp"

namespace fitrun::io {

/// The Keras release whose file layouts and config dialect fitrun writes.
inline constexpr const char* kKerasVersion = "3.10.0";

namespace h5 {
class File;
}

/// Keras 3's .weights.h5 tree (keras-formats.md §3.1), which is also a .keras archive's
/// model.weights.h5: the model's weights, the optimizer's state under /optimizer/vars when
/// `with_optimizer` and the model is compiled, and fitrun's step counter and shuffle seed.
void write_weights_h5(const h5::File& f, const Model& model, bool with_optimizer);

/// Loads weights from an open file in Keras' legacy or Keras 3 layout, with the optimizer's
/// state when the model is compiled. Throws IOError naming the file and the HDF5 path; on an
/// error the model's weights are unchanged.
void read_weights_h5(const h5::File& f, Model& model, const LoadWeightsOptions& o);

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
