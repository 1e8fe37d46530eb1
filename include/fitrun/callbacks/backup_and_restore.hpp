#pragma once
#include <string>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/callbacks/save_freq.hpp"

namespace fitrun::callbacks {

struct BackupAndRestoreOptions {
  /// "epoch" or a number of batches.
  SaveFreq save_freq = "epoch";
  /// Remove backup_dir when training ends normally (not when it was interrupted or failed).
  bool delete_checkpoint = true;
};

/// Keras' BackupAndRestore: keeps backup_dir/latest.weights.h5 (weights, optimizer state,
/// training-step count and shuffle seed) and backup_dir/training_metadata.json
/// ({"epoch", "batch", "train_steps"}: where training stands). A fit() that starts with a
/// backup present loads it and resumes at that epoch and batch, so a killed run, started
/// again with the same arguments, ends with the weights an uninterrupted run would have
/// (fitrun resumes mid-epoch; Keras 3 restarts the epoch). Ctrl-C saves a backup at the
/// batch reached. Both files are written atomically; a kill between the two is detected from
/// the step count stored in the weights file.
class BackupAndRestore : public Callback {
 public:
  explicit BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_train_batch_end(int batch, const Logs&) override;
  void on_epoch_end(int epoch, const Logs&) override;
  void on_train_end(const Logs&) override;
  std::string class_name() const override { return "BackupAndRestore"; }
  json get_config() const override;

  std::string weights_path() const { return dir_ + "/latest.weights.h5"; }
  std::string metadata_path() const { return dir_ + "/training_metadata.json"; }

 private:
  void save(int epoch, int64_t batch);

  std::string dir_;
  BackupAndRestoreOptions o_;
  BatchCounter counter_;
  int epoch_ = 0;
  int64_t batches_done_ = 0;  // batches of epoch_ trained, including those before a restart
};

}  // namespace fitrun::callbacks
