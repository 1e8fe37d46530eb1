#pragma once
// Models from files: a Keras config (.json, what to_json() writes) or a saved model (.keras or
// .h5).
#include <filesystem>
#include <memory>

#include "fitrun/model.hpp"

namespace fitrun::cli {

/// The model in `path` (.json, .keras or .h5/.hdf5; compiled when the file holds compile
/// settings).
/// Throws fitrun::Error whose message does not repeat the file name ("/config/layers/1/...",
/// "truncated or corrupt HDF5 file ..."), for the caller to put its own prefix before.
std::shared_ptr<Model> open_model_file(const std::filesystem::path& path);

/// A model file named on the command line: checked to exist and opened; any problem is an
/// InvalidInput line naming it ("m.h5: truncated or corrupt HDF5 file ...").
std::shared_ptr<Model> open_model_argument(const std::string& name);

}  // namespace fitrun::cli
