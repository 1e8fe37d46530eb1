#pragma once
// Model files: model.save() / load_model() as Keras 3's .keras zip or Keras' legacy .h5, and
// save_weights / load_weights in Keras' .h5 and Keras 3's .weights.h5 layouts (load_weights
// also reads a .keras archive). A file fitrun
// writes opens in Keras, and a Keras file opens in fitrun for the layers both have (see
// docs/model-files.md).
//
// Every write is atomic: the file is written to "<path>.tmp-XXXXXX" in the same folder, flushed
// to disk and renamed over `path`, so a failed or interrupted save never damages a good file.
// Reading checks every shape and size against the model before allocating, and a truncated,
// corrupt or mismatched file gives an IOError naming the file (and the .keras member), the HDF5
// path and the expected vs found shape.
#include <memory>
#include <string>

namespace fitrun {

class Model;

struct SaveOptions {
  /// Also write the compile state (training_config) and the optimizer's state (iteration,
  /// learning rate, slots), so that load_model() returns a compiled model that resumes
  /// training exactly.
  bool include_optimizer = true;
};

struct LoadWeightsOptions {
  /// Legacy .h5 only: match layers by name instead of by order (layers absent from the file
  /// keep their weights).
  bool by_name = false;
  /// With by_name (and for .weights.h5): skip layers whose weight count or shapes differ,
  /// with a warning, instead of failing.
  bool skip_mismatch = false;
};

/// A model saved by Model::save() or by Keras' model.save("m.keras") (Keras 3) or
/// model.save("m.h5") (tf.keras 2.x or Keras 3), with its weights; compiled, with its optimizer
/// state, when the file has a compile_config / training_config and `compile` is true. Throws IOError for an unreadable file, ConfigError for a model config
/// fitrun cannot build.
std::shared_ptr<Model> load_model(const std::string& path, bool compile = true);

}  // namespace fitrun
