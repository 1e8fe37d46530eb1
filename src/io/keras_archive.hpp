#pragma once
// Keras 3's native .keras format (keras-formats.md §3.2): a zip holding metadata.json,
// config.json (the model's to_json(), with compile_config when compiled) and model.weights.h5
// (the Keras 3 .weights.h5 tree, with the optimizer's state under /optimizer/vars).
#include <memory>
#include <string>

#include "fitrun/io/saving.hpp"

namespace fitrun {
class Model;
}

namespace fitrun::io {

/// Writes `model` to `path` atomically; the optimizer's state and compile config only when
/// `with_optimizer`.
void save_keras_archive(const Model& model, const std::string& path, bool with_optimizer);

/// The model in a .keras archive, compiled (with its optimizer state) when `compile` and the
/// config has a compile_config. Errors name the archive and the member:
/// "m.keras: model.weights.h5: /layers/dense/vars/0: expected shape (4, 6), found (4, 8)".
std::shared_ptr<Model> load_keras_archive(const std::string& path, bool compile);

/// Model::load_weights from the archive's model.weights.h5, as Keras' load_weights("m.keras").
void load_weights_from_keras_archive(Model& model, const std::string& path,
                                     const LoadWeightsOptions& options);

}  // namespace fitrun::io
