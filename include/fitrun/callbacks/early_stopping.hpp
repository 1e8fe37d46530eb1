#pragma once
#include <optional>
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::callbacks {

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  /// An improvement must beat the best value by more than this (its sign is ignored).
  double min_delta = 0.0;
  /// Epochs without improvement before training stops.
  int patience = 0;
  int verbose = 0;
  std::string mode = "auto";  // "auto", "min" or "max"
  /// Training also stops unless the monitored value beats this within `patience` epochs.
  std::optional<double> baseline;
  /// At the end of training, put back the weights of the best epoch (as Keras 3, also when
  /// training was not stopped early).
  bool restore_best_weights = false;
  /// Epochs to wait before watching at all (warm-up).
  int start_from_epoch = 0;
};

/// Keras' EarlyStopping: sets model.stop_training when the monitored value stopped improving.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_end(const Logs&) override;
  std::string class_name() const override { return "EarlyStopping"; }
  json get_config() const override;

  /// The epoch (0-based) at which training was stopped; 0 when it was not.
  int stopped_epoch() const { return stopped_epoch_; }
  /// The epoch of the best value seen, and that value (none before the first one).
  int best_epoch() const { return best_epoch_; }
  std::optional<double> best() const { return best_; }
  /// Epochs since the last improvement.
  int wait() const { return wait_; }

 private:
  bool is_improvement(double value, double reference) const;
  void snapshot();

  EarlyStoppingOptions o_;
  bool maximize_;
  int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  std::optional<double> best_;
  std::vector<Tensor> best_weights_;
};

}  // namespace fitrun::callbacks
