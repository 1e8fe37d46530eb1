#pragma once
// Models from and to Keras' JSON configs: model.to_json() / model_from_json(), the same text
// Keras writes and reads. fitrun writes Keras 3's dialect and reads both Keras 3's and
// tf.keras 2.x's (batch_shape or batch_input_shape, {"args", "kwargs"} or nested-list inbound
// nodes, DTypePolicy objects or dtype strings, entries with or without "module"). See
// docs/model-files.md for the layers and keys supported.
//
// A config names classes, never code: only registered layer classes can be created
// (fitrun::register_layer adds your own).
#include <memory>
#include <string>

#include "fitrun/json.hpp"
#include "fitrun/model.hpp"

namespace fitrun {

/// The model that model.to_json() (fitrun, Keras 3 or tf.keras 2.x) describes: a Sequential
/// or a functional Model. When the text holds a Keras 3 "compile_config", the model comes back
/// compiled.
/// Throws ConfigError naming the JSON path at fault, e.g.
///   /config/layers/2/config/units: expected a positive integer, got -1
/// and, for a class that is not registered, naming the class and listing the registered ones.
std::shared_ptr<Model> model_from_json(const std::string& json_text);

/// The same from parsed JSON: {"class_name": "Sequential" | "Functional" | "Model",
/// "config": {...}}, or a bare Sequential/Functional config (what model.get_config() returns).
/// Error paths start at `path` ("" for the document root).
std::shared_ptr<Model> model_from_config(const json& config, const std::string& path = "");

}  // namespace fitrun
