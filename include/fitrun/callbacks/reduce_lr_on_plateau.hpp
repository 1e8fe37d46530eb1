#pragma once
#include <string>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks {

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  /// new_lr = lr * factor; must be < 1.
  double factor = 0.1;
  /// Epochs without improvement before the learning rate is reduced.
  int patience = 10;
  int verbose = 0;
  std::string mode = "auto";  // "auto", "min" or "max"
  /// An improvement must beat the best value by more than this.
  double min_delta = 1e-4;
  /// Epochs to wait after a reduction before counting again.
  int cooldown = 0;
  /// The learning rate never goes below this.
  double min_lr = 0.0;
};

/// Keras' ReduceLROnPlateau: multiplies the optimizer's learning rate by `factor` when the
/// monitored value stops improving. The optimizer must have a plain learning rate (not a
/// schedule), as in Keras.
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  std::string class_name() const override { return "ReduceLROnPlateau"; }
  json get_config() const override;

  int wait() const { return wait_; }
  int cooldown_counter() const { return cooldown_counter_; }
  double best() const { return best_; }

 private:
  bool improved(double value) const;

  ReduceLROnPlateauOptions o_;
  bool maximize_;
  double best_ = 0;
  int wait_ = 0, cooldown_counter_ = 0;
};

}  // namespace fitrun::callbacks
