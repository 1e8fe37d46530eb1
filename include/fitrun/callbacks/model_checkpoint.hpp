#pragma once
#include <optional>
#include <string>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/callbacks/save_freq.hpp"

namespace fitrun::callbacks {

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  int verbose = 0;
  /// Save only when `monitor` improved on the best value so far.
  bool save_best_only = false;
  /// Model::save_weights (".weights.h5" or ".h5") instead of Model::save (".keras" or ".h5").
  bool save_weights_only = false;
  std::string mode = "auto";  // "auto", "min" or "max"
  /// "epoch" or a number of batches.
  SaveFreq save_freq = "epoch";
  /// The best value to start from: with save_best_only nothing is saved until it is beaten.
  std::optional<double> initial_value_threshold;
};

/// Keras' ModelCheckpoint. `filepath` is a Python str.format() template filled with
/// epoch (1-based), batch (1-based, with a batch save_freq) and every log value:
///   ModelCheckpoint("ckpt/weights-{epoch:02d}-{val_loss:.3f}.weights.h5",
///                   {.save_best_only = true, .save_weights_only = true})
/// Missing folders are created; every save is atomic (Model::save / save_weights).
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string filepath, ModelCheckpointOptions options = {});
  void on_epoch_begin(int epoch, const Logs&) override { epoch_ = epoch; }
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  std::string class_name() const override { return "ModelCheckpoint"; }
  json get_config() const override;

  /// The best monitored value so far (±inf before any, or initial_value_threshold).
  double best() const { return best_; }
  /// The file the template gives for these values (what the next save would write).
  std::string file_path(int epoch, std::optional<int> batch, const Logs& logs) const;
  /// The path of the last file written ("" before any).
  const std::string& last_saved() const { return last_saved_; }

 private:
  void save(int epoch, std::optional<int> batch, const Logs& logs);

  std::string filepath_;
  ModelCheckpointOptions o_;
  bool maximize_;
  double best_;
  int epoch_ = 0;
  BatchCounter counter_;
  std::string last_saved_;
};

}  // namespace fitrun::callbacks
