#pragma once
// callback_from_config: callbacks built from Keras' serialized form, as run configs list them:
//
//   {"class_name": "EarlyStopping", "config": {"monitor": "val_loss", "patience": 3}}
//
// The config keys are Keras' constructor arguments; unknown keys are errors (Keras refuses
// unknown keyword arguments too). Errors are ConfigError naming the JSON path of the bad value:
//   /callbacks/1/config/patience: expected an integer >= 0, got "x"
// LambdaCallback and LearningRateScheduler take C++ functions, so they have no config form:
// asking for them gives an error that says to construct them in C++.
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/json.hpp"

namespace fitrun::callbacks {

/// A callback from {"class_name": ..., "config": {...}} ("config" may be omitted: defaults;
/// "module" and "registered_name" are accepted and ignored). `json_path` is where `j` sits in
/// its document ("/callbacks/1"), for error messages. Throws ConfigError.
CallbackPtr callback_from_config(const json& j, const std::string& json_path = "");

/// The class names callback_from_config builds, sorted.
std::vector<std::string> registered_callbacks();

/// Callbacks that exist in C++ but take functions, so no config can describe them.
std::vector<std::string> cpp_only_callbacks();

}  // namespace fitrun::callbacks
