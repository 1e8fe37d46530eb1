// ModelCheckpoint, as keras/src/callbacks/model_checkpoint.py (Keras 3) decides when and where
// to save.
#include "fitrun/callbacks/model_checkpoint.hpp"

#include <cmath>
#include <filesystem>
#include <limits>

#include "callbacks/console.hpp"
#include "callbacks/monitor.hpp"
#include "fitrun/callbacks/python_format.hpp"
#include "fitrun/error.hpp"
#include "fitrun/model.hpp"

namespace fitrun::callbacks {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

ModelCheckpoint::ModelCheckpoint(std::string filepath, ModelCheckpointOptions o)
    : filepath_(std::move(filepath)), o_(std::move(o)) {
  detail::check_mode(o_.mode, "ModelCheckpoint");
  const bool h5 = ends_with(filepath_, ".h5") || ends_with(filepath_, ".hdf5");
  const bool keras = ends_with(filepath_, ".keras");
  if (o_.save_weights_only ? !h5 : !(h5 || keras) || ends_with(filepath_, ".weights.h5"))
    throw ConfigError("ModelCheckpoint: filepath \"" + filepath_ + "\" must end in " +
                      (o_.save_weights_only ? "\".weights.h5\" or \".h5\" (save_weights_only)"
                                            : "\".keras\" or \".h5\" (a whole model; "
                                              "\".weights.h5\" needs save_weights_only=true)"));
  maximize_ = detail::higher_is_better(o_.monitor, o_.mode);
  best_ = o_.initial_value_threshold.value_or(maximize_ ? -std::numeric_limits<double>::infinity()
                                                        : std::numeric_limits<double>::infinity());
}

std::string ModelCheckpoint::file_path(int epoch, std::optional<int> batch, const Logs& logs) const {
  std::map<std::string, FormatValue> values;
  for (const auto& [k, v] : logs) values[k] = v;
  values["epoch"] = int64_t(epoch) + 1;
  if (batch && !logs.count("batch")) values["batch"] = int64_t(*batch) + 1;
  try {
    return python_format(filepath_, values);
  } catch (const ConfigError& e) {
    throw ConfigError("ModelCheckpoint: cannot fill in the filepath template: " +
                      std::string(e.what()));
  }
}

void ModelCheckpoint::on_train_batch_end(int batch, const Logs& logs) {
  if (counter_.should_save(batch, o_.save_freq)) save(epoch_, batch, logs);
}

void ModelCheckpoint::on_epoch_end(int epoch, const Logs& logs) {
  if (o_.save_freq.per_epoch()) save(epoch, std::nullopt, logs);
}

void ModelCheckpoint::save(int epoch, std::optional<int> batch, const Logs& logs) {
  const std::string path = file_path(epoch, batch, logs);
  if (o_.save_best_only) {
    const auto current = detail::monitor_value(logs, o_.monitor, "ModelCheckpoint");
    if (!current) return;
    const bool improved = maximize_ ? *current > best_ : *current < best_;
    if (!improved) {
      if (o_.verbose > 0)
        detail::console_print("\nEpoch {}: {} did not improve from {:.5f}\n", epoch + 1, o_.monitor, best_);
      return;
    }
    if (o_.verbose > 0)
      detail::console_print("\nEpoch {}: {} improved from {:.5f} to {:.5f}, saving model to {}\n",
                            epoch + 1, o_.monitor, best_, *current, path);
    best_ = *current;
  } else if (o_.verbose > 0) {
    detail::console_print("\nEpoch {}: saving model to {}\n", epoch + 1, path);
  }
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec) throw IOError("ModelCheckpoint: cannot create folder \"" + folder.string() + "\": " + ec.message());
  if (o_.save_weights_only)
    model()->save_weights(path);
  else
    model()->save(path);
  last_saved_ = path;
}

json ModelCheckpoint::get_config() const {
  return {{"filepath", filepath_},
          {"monitor", o_.monitor},
          {"verbose", o_.verbose},
          {"save_best_only", o_.save_best_only},
          {"save_weights_only", o_.save_weights_only},
          {"mode", o_.mode},
          {"save_freq", o_.save_freq.to_json()},
          {"initial_value_threshold",
           o_.initial_value_threshold ? json(*o_.initial_value_threshold) : json(nullptr)}};
}

}  // namespace fitrun::callbacks
