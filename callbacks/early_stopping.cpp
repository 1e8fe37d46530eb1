// EarlyStopping, step for step as keras/src/callbacks/early_stopping.py (Keras 3).
#include "fitrun/callbacks/early_stopping.hpp"

#include <cmath>

#include "callbacks/console.hpp"
#include "callbacks/monitor.hpp"
#include "fitrun/error.hpp"
#include "fitrun/model.hpp"

namespace fitrun::callbacks {

EarlyStopping::EarlyStopping(EarlyStoppingOptions o) : o_(std::move(o)) {
  detail::check_mode(o_.mode, "EarlyStopping");
  if (o_.patience < 0)
    throw ConfigError("EarlyStopping: patience must be >= 0, got " + std::to_string(o_.patience));
  if (!std::isfinite(o_.min_delta))
    throw ConfigError("EarlyStopping: min_delta must be a finite number");
  o_.min_delta = std::fabs(o_.min_delta);
  maximize_ = detail::higher_is_better(o_.monitor, o_.mode);
}

void EarlyStopping::on_train_begin(const Logs&) {  // instances may be reused
  wait_ = 0;
  stopped_epoch_ = 0;
  best_epoch_ = 0;
  best_.reset();
  best_weights_.clear();
}

bool EarlyStopping::is_improvement(double value, double reference) const {
  return maximize_ ? value - o_.min_delta > reference : value + o_.min_delta < reference;
}

void EarlyStopping::snapshot() {
  best_weights_.clear();
  for (const VariablePtr& v : model()->weights()) best_weights_.push_back(v->value.clone());
}

void EarlyStopping::on_epoch_end(int epoch, const Logs& logs) {
  const auto current = detail::monitor_value(logs, o_.monitor, "EarlyStopping");
  if (!current || epoch < o_.start_from_epoch) return;
  // Without any improvement the weights of the first watched epoch are the best.
  if (o_.restore_best_weights && best_weights_.empty()) {
    snapshot();
    best_epoch_ = epoch;
  }
  ++wait_;
  if (!best_ || is_improvement(*current, *best_)) {
    best_ = *current;
    best_epoch_ = epoch;
    if (o_.restore_best_weights) snapshot();
    // Patience restarts only once the baseline, too, is beaten.
    if (!o_.baseline || is_improvement(*current, *o_.baseline)) wait_ = 0;
    return;
  }
  if (wait_ >= o_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model()->stop_training = true;
  }
}

void EarlyStopping::on_train_end(const Logs&) {
  if (stopped_epoch_ > 0 && o_.verbose > 0) detail::console_print("Epoch {}: early stopping\n", stopped_epoch_ + 1);
  if (!o_.restore_best_weights || best_weights_.empty()) return;
  if (o_.verbose > 0)
    detail::console_print("Restoring model weights from the end of the best epoch: {}.\n",
                          best_epoch_ + 1);
  const auto weights = model()->weights();
  for (size_t i = 0; i < weights.size() && i < best_weights_.size(); ++i)
    weights[i]->value.copy_from(best_weights_[i]);
}

json EarlyStopping::get_config() const {
  return {{"monitor", o_.monitor},
          {"min_delta", o_.min_delta},
          {"patience", o_.patience},
          {"verbose", o_.verbose},
          {"mode", o_.mode},
          {"baseline", o_.baseline ? json(*o_.baseline) : json(nullptr)},
          {"restore_best_weights", o_.restore_best_weights},
          {"start_from_epoch", o_.start_from_epoch}};
}

}  // namespace fitrun::callbacks
